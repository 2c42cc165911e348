/* SPDX-License-Identifier: MIT */
/* vhost_user_dev.c: one vhost-user device: message loop, features, rings, eventfds. */
#include "vhost/vhost_user.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/virtio_config.h>

/* Every device gets these on top of its own bits: we implement them here. */
#define VHOST_USER_DEV_BASE_FEATURES \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES) | \
	 (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_RING_F_INDIRECT_DESC))

static void vhost_user_dev_log(const struct vhost_user_dev *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vhost_user_dev_log(const struct vhost_user_dev *dev, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vhost-user %s: ", dev->name ? dev->name : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t vhost_user_dev_features(const struct vhost_user_dev *dev)
{
	return dev->ops->features | VHOST_USER_DEV_BASE_FEATURES;
}

static uint64_t vhost_user_dev_protocol(const struct vhost_user_dev *dev)
{
	uint64_t p = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK;

	if (dev->ops->get_config)
		p |= 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
	return p;
}

static void vhost_user_dev_close_fd(struct vhost_user_dev *dev, int *fd, bool watched)
{
	if (*fd < 0)
		return;
	if (watched && dev->epfd >= 0)
		epoll_ctl(dev->epfd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

static void vhost_user_dev_stop_ring(struct vhost_user_dev *dev, struct vhost_user_vring *vr)
{
	vhost_user_dev_close_fd(dev, &vr->kick_fd, true);
	vr->started = false;
}

/* Drain a kick eventfd and let the backend work the ring. */
static void vhost_user_dev_on_kick(void *ctx, uint32_t events)
{
	struct vhost_user_vring *vr = ctx;
	struct vhost_user_dev *dev = vr->dev;
	uint64_t v;

	if (dev->dead)
		return;
	if (read(vr->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN && errno != EINTR) {
		vhost_user_dev_log(dev, "ring %u: kick fd: %s", vr->idx, strerror(errno));
		dev->dead = true;
	}
	if (!dev->dead && dev->ops->kick(dev->opaque, vr->idx) < 0)
		dev->dead = true;
	if (dev->dead && dev->ops->disconnected)
		dev->ops->disconnected(dev->opaque);
}

/* Point the ring at guest memory; called on ADDR and again after a new
 * memory table, since the old translations are gone. */
static int vhost_user_dev_map_ring(struct vhost_user_dev *dev, struct vhost_user_vring *vr)
{
	uint32_t num = vr->vq.num;
	uint16_t last = vr->vq.last_avail, used = vr->vq.used_idx;
	void *desc, *avail, *usedp;
	int ret;

	if (!vr->have_addr || !num)
		return 0;
	desc = vhost_user_mem_uva(&dev->mem, vr->desc_uva, virtq_desc_size(num));
	avail = vhost_user_mem_uva(&dev->mem, vr->avail_uva, virtq_avail_size(num));
	usedp = vhost_user_mem_uva(&dev->mem, vr->used_uva, virtq_used_size(num));
	if (!desc || !avail || !usedp) {
		vhost_user_dev_log(dev, "ring %u: addresses outside guest memory", vr->idx);
		return -EFAULT;
	}
	ret = virtq_init(&vr->vq, num, desc, avail, usedp, last,
			 dev->acked_features & (1ull << VIRTIO_RING_F_EVENT_IDX));
	if (ret < 0) {
		vhost_user_dev_log(dev, "ring %u: bad size or alignment", vr->idx);
		vr->vq.num = num;
		return ret;
	}
	vr->vq.used_idx = used;
	return 0;
}

static struct vhost_user_vring *vhost_user_dev_ring(struct vhost_user_dev *dev, uint32_t idx)
{
	idx &= VHOST_USER_VRING_IDX_MASK;
	if (idx >= dev->ops->nqueues || idx >= VHOST_USER_MAX_QUEUES)
		return NULL;
	return &dev->vr[idx];
}

static int vhost_user_dev_reply_u64(struct vhost_user_dev *dev, uint32_t req, uint64_t v)
{
	return vhost_user_msg_reply(dev->sock, req, &v, sizeof(v));
}

static void vhost_user_dev_reset_rings(struct vhost_user_dev *dev)
{
	uint32_t i;

	for (i = 0; i < VHOST_USER_MAX_QUEUES; i++) {
		struct vhost_user_vring *vr = &dev->vr[i];

		vhost_user_dev_stop_ring(dev, vr);
		vhost_user_dev_close_fd(dev, &vr->call_fd, false);
		memset(&vr->vq, 0, sizeof(vr->vq));
		vr->have_addr = false;
		vr->enabled = false;
	}
}

/* Install a kick/call fd from a u64 index message; NOFD means polling or
 * no interrupts, which we do not support for kick. */
static int vhost_user_dev_set_fd(struct vhost_user_dev *dev, struct vhost_user_msg *m,
				 struct vhost_user_vring *vr, bool kick)
{
	int fd = -1;

	if (!(m->p.u64 & VHOST_USER_VRING_NOFD)) {
		fd = vhost_user_msg_take_fd(m, 0);
		if (fd < 0)
			return -EBADMSG;
	} else if (kick) {
		return -EOPNOTSUPP;
	}
	if (!kick) {
		vhost_user_dev_close_fd(dev, &vr->call_fd, false);
		vr->call_fd = fd;
		return 0;
	}
	vhost_user_dev_close_fd(dev, &vr->kick_fd, true);
	vr->kick_fd = fd;
	if (dev->epfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &vr->kick_watch };

		if (epoll_ctl(dev->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
	}
	vr->started = true;
	/* Without PROTOCOL_FEATURES the ring is live as soon as it starts. */
	if (!(dev->acked_features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		vr->enabled = true;
	return 0;
}

int vhost_user_dev_dispatch(struct vhost_user_dev *dev, struct vhost_user_msg *m)
{
	struct vhost_user_vring *vr = NULL;
	bool own_reply = false, kick_after = false;
	uint32_t i;
	int ret = 0;

	switch (m->request) {
	case VHOST_USER_GET_FEATURES:
		own_reply = true;
		ret = vhost_user_dev_reply_u64(dev, m->request, vhost_user_dev_features(dev));
		break;
	case VHOST_USER_SET_FEATURES:
		if (m->p.u64 & ~vhost_user_dev_features(dev)) {
			vhost_user_dev_log(dev, "driver acked features we never offered");
			ret = -EINVAL;
			break;
		}
		dev->acked_features = m->p.u64;
		for (i = 0; i < VHOST_USER_MAX_QUEUES; i++)
			dev->vr[i].vq.event_idx = m->p.u64 & (1ull << VIRTIO_RING_F_EVENT_IDX);
		break;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		own_reply = true;
		ret = vhost_user_dev_reply_u64(dev, m->request, vhost_user_dev_protocol(dev));
		break;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		dev->acked_protocol = m->p.u64 & vhost_user_dev_protocol(dev);
		break;
	case VHOST_USER_GET_QUEUE_NUM:
		own_reply = true;
		ret = vhost_user_dev_reply_u64(dev, m->request, dev->ops->nqueues);
		break;
	case VHOST_USER_SET_OWNER:
		break;
	case VHOST_USER_RESET_OWNER:
		vhost_user_dev_reset_rings(dev);
		dev->acked_features = 0;
		break;
	case VHOST_USER_SET_MEM_TABLE:
		ret = vhost_user_mem_set(&dev->mem, m);
		if (ret < 0) {
			vhost_user_dev_log(dev, "memory table: %s", strerror(-ret));
			break;
		}
		for (i = 0; i < VHOST_USER_MAX_QUEUES && !ret; i++)
			ret = vhost_user_dev_map_ring(dev, &dev->vr[i]);
		break;
	case VHOST_USER_SET_VRING_NUM:
		vr = vhost_user_dev_ring(dev, m->p.state.index);
		if (!vr || m->p.state.num == 0 || m->p.state.num > VIRTQ_MAX_SIZE ||
		    (m->p.state.num & (m->p.state.num - 1))) {
			ret = -EINVAL;
			break;
		}
		vr->vq.num = m->p.state.num;
		vr->vq.desc = NULL;
		vr->have_addr = false;
		break;
	case VHOST_USER_SET_VRING_ADDR:
		vr = vhost_user_dev_ring(dev, m->p.addr.index);
		if (!vr || !vr->vq.num) {
			ret = -EINVAL;
			break;
		}
		vr->desc_uva = m->p.addr.desc_user_addr;
		vr->avail_uva = m->p.addr.avail_user_addr;
		vr->used_uva = m->p.addr.used_user_addr;
		vr->have_addr = true;
		ret = vhost_user_dev_map_ring(dev, vr);
		break;
	case VHOST_USER_SET_VRING_BASE:
		vr = vhost_user_dev_ring(dev, m->p.state.index);
		if (!vr || m->p.state.num > 0xffff) {
			ret = -EINVAL;
			break;
		}
		vr->vq.last_avail = (uint16_t)m->p.state.num;
		vr->vq.used_idx = (uint16_t)m->p.state.num;
		vr->vq.signalled_valid = false;
		break;
	case VHOST_USER_GET_VRING_BASE: {
		struct vhost_vring_state st;

		own_reply = true;
		vr = vhost_user_dev_ring(dev, m->p.state.index);
		if (!vr) {
			ret = -EINVAL;
			break;
		}
		vhost_user_dev_stop_ring(dev, vr);
		memset(&st, 0, sizeof(st));
		st.index = m->p.state.index;
		st.num = vr->vq.last_avail;
		ret = vhost_user_msg_reply(dev->sock, m->request, &st, sizeof(st));
		break;
	}
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
		vr = vhost_user_dev_ring(dev, (uint32_t)m->p.u64);
		if (!vr) {
			ret = -EINVAL;
			break;
		}
		ret = vhost_user_dev_set_fd(dev, m, vr, m->request == VHOST_USER_SET_VRING_KICK);
		kick_after = m->request == VHOST_USER_SET_VRING_KICK;
		break;
	case VHOST_USER_SET_VRING_ERR:
		/* We never report ring errors through it; the fd is closed below. */
		break;
	case VHOST_USER_SET_VRING_ENABLE:
		vr = vhost_user_dev_ring(dev, m->p.state.index);
		if (!vr || m->p.state.num > 1) {
			ret = -EINVAL;
			break;
		}
		vr->enabled = m->p.state.num;
		kick_after = vr->enabled;
		break;
	case VHOST_USER_GET_CONFIG: {
		struct vhost_user_config cfg;

		own_reply = true;
		cfg = m->p.config;
		if (!dev->ops->get_config) {
			ret = -EOPNOTSUPP;
			break;
		}
		memset(cfg.region, 0, sizeof(cfg.region));
		ret = dev->ops->get_config(dev->opaque, cfg.offset, cfg.region, cfg.size);
		if (ret < 0)
			cfg.size = 0; /* QEMU treats a short reply as failure */
		ret = vhost_user_msg_reply(dev->sock, m->request, &cfg, 12 + cfg.size);
		break;
	}
	case VHOST_USER_SET_CONFIG:
		break; /* vsock config is read-only for the driver */
	default:
		vhost_user_dev_log(dev, "request %u not supported", m->request);
		ret = -EOPNOTSUPP;
		break;
	}
	vhost_user_msg_close_fds(m);
	if (!own_reply && (m->flags & VHOST_USER_NEED_REPLY) &&
	    (dev->acked_protocol & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK))) {
		int r = vhost_user_dev_reply_u64(dev, m->request, ret < 0 ? 1 : 0);

		if (r < 0)
			return r;
		/* The front end learned of the failure; unknown requests need not
		 * end the device. */
		if (ret == -EOPNOTSUPP)
			ret = 0;
	} else if (ret == -EOPNOTSUPP && m->request != VHOST_USER_SET_VRING_KICK) {
		ret = 0;
	}
	if (!ret && kick_after && vr && vhost_user_dev_vq(dev, vr->idx))
		ret = dev->ops->kick(dev->opaque, vr->idx);
	return ret;
}

static void vhost_user_dev_on_sock(void *ctx, uint32_t events)
{
	struct vhost_user_dev *dev = ctx;
	struct vhost_user_msg m;
	int ret;

	if (dev->dead)
		return;
	ret = vhost_user_msg_recv(dev->sock, &m);
	if (ret == -ECONNRESET) {
		vhost_user_dev_log(dev, "front end closed the connection");
		dev->dead = true;
	} else if (ret < 0) {
		vhost_user_dev_log(dev, "bad message: %s", strerror(-ret));
		dev->dead = true;
	} else if (vhost_user_dev_dispatch(dev, &m) < 0) {
		vhost_user_dev_log(dev, "request %u failed; dropping the device", m.request);
		dev->dead = true;
	}
	if (dev->dead && dev->ops->disconnected)
		dev->ops->disconnected(dev->opaque);
}

struct virtq *vhost_user_dev_vq(struct vhost_user_dev *dev, uint32_t qidx)
{
	struct vhost_user_vring *vr;

	if (!dev || dev->dead || qidx >= dev->ops->nqueues || qidx >= VHOST_USER_MAX_QUEUES)
		return NULL;
	vr = &dev->vr[qidx];
	if (!vr->started || !vr->enabled || !vr->vq.num || !vr->vq.desc)
		return NULL;
	return &vr->vq;
}

int vhost_user_dev_notify(struct vhost_user_dev *dev, uint32_t qidx)
{
	struct virtq *vq = vhost_user_dev_vq(dev, qidx);
	uint64_t one = 1;

	if (!vq || !virtq_should_notify(vq) || dev->vr[qidx].call_fd < 0)
		return 0;
	if (write(dev->vr[qidx].call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int vhost_user_dev_create(int sock, int epfd, const struct vhost_user_dev_ops *ops,
			  void *opaque, const char *name, struct vhost_user_dev **out)
{
	/* QEMU sends whole messages; a stall mid-message is a broken front end. */
	struct timeval tv = { .tv_sec = 2 };
	struct vhost_user_dev *dev;
	uint32_t i;
	int ret;

	*out = NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		close(sock);
		return -ENOMEM;
	}
	dev->ops = ops;
	dev->opaque = opaque;
	dev->name = name;
	dev->epfd = epfd;
	dev->sock = sock;
	dev->sock_watch.fn = vhost_user_dev_on_sock;
	dev->sock_watch.ctx = dev;
	for (i = 0; i < VHOST_USER_MAX_QUEUES; i++) {
		dev->vr[i].kick_fd = -1;
		dev->vr[i].call_fd = -1;
		dev->vr[i].dev = dev;
		dev->vr[i].idx = i;
		dev->vr[i].kick_watch.fn = vhost_user_dev_on_kick;
		dev->vr[i].kick_watch.ctx = &dev->vr[i];
	}
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (epfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &dev->sock_watch };

		if (epoll_ctl(epfd, EPOLL_CTL_ADD, sock, &ev) < 0) {
			ret = -errno;
			vhost_user_dev_destroy(dev);
			return ret;
		}
	}
	*out = dev;
	return 0;
}

void vhost_user_dev_destroy(struct vhost_user_dev *dev)
{
	uint32_t i;

	if (!dev)
		return;
	for (i = 0; i < VHOST_USER_MAX_QUEUES; i++) {
		vhost_user_dev_close_fd(dev, &dev->vr[i].kick_fd, true);
		vhost_user_dev_close_fd(dev, &dev->vr[i].call_fd, false);
	}
	vhost_user_dev_close_fd(dev, &dev->sock, true);
	vhost_user_mem_clear(&dev->mem);
	free(dev);
}
