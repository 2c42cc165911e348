/* SPDX-License-Identifier: MIT */
/* lab_stamp.c: a thread that stamps the arrival of bytes on the lab's channels. */
#include "lab/lab_stamp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/util.h"

static void *lab_stamper_main(void *arg)
{
	struct lab_stamper *s = arg;
	struct epoll_event ev[16];

	for (;;) {
		int n = epoll_wait(s->epfd, ev, 16, -1), i;
		uint64_t now = util_mono_ns();

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		pthread_mutex_lock(&s->lock);
		for (i = 0; i < n; i++) {
			uint32_t idx = (uint32_t)ev[i].data.u64, gen = (uint32_t)(ev[i].data.u64 >> 32);
			struct lab_stamp_reg *r;

			if (idx == UINT32_MAX) {
				/* the wake pipe: stop */
				pthread_mutex_unlock(&s->lock);
				return NULL;
			}
			if (idx >= s->n_regs)
				continue;
			r = &s->regs[idx];
			/* a descriptor forgotten (or reused) since epoll_wait returned */
			if (r->fd < 0 || r->gen != gen)
				continue;
			if (r->ring->head < LAB_STAMP_RING)
				r->ring->t[r->ring->head] = now;
			if (r->ring->head < UINT32_MAX)
				r->ring->head++;
		}
		pthread_mutex_unlock(&s->lock);
	}
}

int lab_stamper_start(struct lab_stamper *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT32_MAX };
	int ret;

	memset(s, 0, sizeof(*s));
	s->wake[0] = s->wake[1] = -1;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	if (pipe2(s->wake, O_CLOEXEC) < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake[0], &ev) < 0) {
		ret = -errno;
		goto fail;
	}
	pthread_mutex_init(&s->lock, NULL);
	ret = -pthread_create(&s->thread, NULL, lab_stamper_main, s);
	if (ret < 0) {
		pthread_mutex_destroy(&s->lock);
		goto fail;
	}
	s->running = 1;
	return 0;
fail:
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	close(s->epfd);
	s->epfd = s->wake[0] = s->wake[1] = -1;
	return ret;
}

void lab_stamper_stop(struct lab_stamper *s)
{
	if (!s->running)
		return;
	if (write(s->wake[1], "x", 1) < 0)
		pthread_cancel(s->thread);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	close(s->wake[0]);
	close(s->wake[1]);
	close(s->epfd);
	free(s->regs);
	memset(s, 0, sizeof(*s));
	s->epfd = s->wake[0] = s->wake[1] = -1;
}

int lab_stamper_watch(struct lab_stamper *s, int fd, struct lab_stamp_ring *ring)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	size_t i;
	int ret = 0;

	memset(ring, 0, sizeof(*ring));
	if (!s->running || fd < 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n_regs && s->regs[i].fd >= 0; i++)
		;
	if (i == s->n_regs) {
		struct lab_stamp_reg *r = realloc(s->regs, (s->n_regs + 8) * sizeof(*r));

		if (!r) {
			ret = -ENOMEM;
			goto out;
		}
		s->regs = r;
		for (; s->n_regs < i + 8; s->n_regs++)
			s->regs[s->n_regs] = (struct lab_stamp_reg){ .fd = -1 };
	}
	s->regs[i].fd = fd;
	s->regs[i].gen++;
	s->regs[i].ring = ring;
	ev.data.u64 = (uint64_t)s->regs[i].gen << 32 | (uint32_t)i;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		s->regs[i].fd = -1;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void lab_stamper_forget(struct lab_stamper *s, int fd)
{
	size_t i;

	if (!s->running || fd < 0)
		return;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n_regs; i++)
		if (s->regs[i].fd == fd) {
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
			s->regs[i].fd = -1;
			s->regs[i].gen++;
		}
	pthread_mutex_unlock(&s->lock);
}

uint64_t lab_stamp_take(struct lab_stamper *s, struct lab_stamp_ring *ring, uint64_t now)
{
	uint64_t t = now;

	if (!s->running)
		return now;
	pthread_mutex_lock(&s->lock);
	while (ring->tail < ring->head && ring->tail < LAB_STAMP_RING &&
	       ring->t[ring->tail] <= ring->last)
		ring->tail++;
	if (ring->tail < ring->head && ring->tail < LAB_STAMP_RING && ring->t[ring->tail] <= now)
		t = ring->t[ring->tail++];
	ring->last = t;
	pthread_mutex_unlock(&s->lock);
	return t;
}
