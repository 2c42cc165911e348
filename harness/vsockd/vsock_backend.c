/* SPDX-License-Identifier: MIT */
/* vsock_backend.c: the VM table, vhost-user device glue and lifecycle of the vsock backend. */
#include "vsockd/vsock_internal.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_ids.h>

void vsock_backend_log(const struct vsock_vm *vm, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vsockd: vm \"%s\": ", vm->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool vsock_backend_running(const struct vsock_vm *vm)
{
	return vm && vm->dev && !vm->dev_dead && !vm->dev->dead;
}

/* Mark VM's device for removal; the reap after this batch frees it. */
void vsock_backend_drop(struct vsock_vm *vm, const char *why)
{
	if (vm->dev && !vm->dev_dead)
		vsock_backend_log(vm, "dropping device: %s", why);
	vm->dev_dead = true;
	if (vm->dev)
		vm->dev->dead = true;
}

struct vsock_vm *vsock_backend_vm_by_cid(struct vsock_backend *b, uint64_t cid)
{
	uint32_t i;

	for (i = 0; i < b->nvms; i++)
		if (b->vms[i]->cid == cid)
			return b->vms[i];
	return NULL;
}

/* ---------------------------------------------------------------- device glue */

static int vsock_backend_get_config(void *opaque, uint32_t offset, uint8_t *buf, uint32_t len)
{
	struct vsock_vm *vm = opaque;
	uint64_t cid = htole64(vm->cid);
	uint8_t cfg[sizeof(struct virtio_vsock_config)];

	memset(cfg, 0, sizeof(cfg));
	memcpy(cfg, &cid, sizeof(cid));
	if (offset > sizeof(cfg) || len > sizeof(cfg) - offset)
		return -EINVAL;
	memcpy(buf, cfg + offset, len);
	return 0;
}

static int vsock_backend_kick(void *opaque, uint32_t qidx)
{
	struct vsock_vm *vm = opaque;
	struct vsock_conn *c;
	int ret, rounds = 64;

	if (qidx == VSOCK_TXQ) {
		/* Bounded rounds so one chatty guest cannot starve the loop; a
		 * guest with more to send kicks again or we see it next time. */
		while ((ret = vsock_tx_ring(vm)) == 1 && --rounds)
			;
	}
	/* New rx buffers (or tx that freed credit): resume stalled readers. */
	for (c = vm->conns; c; c = c->next) {
		if (c->rx_blocked && c->state == VSOCK_CONN_ESTABLISHED) {
			c->rx_blocked = false;
			vsock_conn_rearm(c);
		}
	}
	vsock_rx_fill(vm, NULL);
	for (c = vm->conns; c; c = c->next) {
		if (c->unwatched && c->state == VSOCK_CONN_ESTABLISHED && !c->host_eof)
			vsock_rx_fill(vm, c);
		vsock_conn_rearm(c);
	}
	return vm->dev_dead ? -EPROTO : 0;
}

static void vsock_backend_disconnected(void *opaque)
{
	struct vsock_vm *vm = opaque;

	vm->dev_dead = true;
}

static const struct vhost_user_dev_ops vsock_backend_dev_ops = {
	.features = 0,
	.nqueues = 2, /* rx, tx: QEMU 7.2 keeps the event queue itself */
	.get_config = vsock_backend_get_config,
	.kick = vsock_backend_kick,
	.disconnected = vsock_backend_disconnected,
};

static void vsock_backend_vhost_accept(void *ctx, uint32_t events)
{
	struct vsock_vm *vm = ctx;
	int fd, ret;

	fd = accept4(vm->vhost_lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (vm->dev) {
		vsock_backend_log(vm, "second vhost-user connection refused");
		close(fd);
		return;
	}
	ret = vhost_user_dev_create(fd, vm->b->epfd, &vsock_backend_dev_ops, vm, vm->name, &vm->dev);
	if (ret < 0)
		vsock_backend_log(vm, "vhost-user device: %s", strerror(-ret));
	else
		vsock_backend_log(vm, "vhost-user front end connected");
	vm->dev_dead = false;
}

/* ---------------------------------------------------------------- lifecycle */

/* Everything a VM's device held, after it went away: host connections see
 * their socket close, siblings get RST for every shared connection. */
static void vsock_backend_vm_teardown(struct vsock_vm *vm)
{
	struct vsock_backend *b = vm->b;
	struct vsock_link *l, *n;
	struct vsock_conn *c;

	for (c = vm->conns; c; c = c->next)
		vsock_conn_kill(c);
	for (l = b->links; l; l = n) {
		n = l->next;
		if (l->vm[0] == vm || l->vm[1] == vm) {
			struct vsock_vm *other = l->vm[0] == vm ? l->vm[1] : l->vm[0];

			vsock_link_reset(b, l);
			vsock_rx_fill(other, NULL);
		}
	}
	vsock_rx_queue_free(vm);
	vhost_user_dev_destroy(vm->dev);
	vm->dev = NULL;
	vm->dev_dead = false;
}

void vsock_backend_reap(struct vsock_backend *b)
{
	uint32_t i;

	for (i = 0; i < b->nvms; i++) {
		struct vsock_vm *vm = b->vms[i];
		struct vsock_conn **pp = &vm->conns, *c;

		if (vm->dev && (vm->dev_dead || vm->dev->dead)) {
			vsock_backend_vm_teardown(vm);
			vsock_backend_log(vm, "device gone; connections reset");
		}
		while ((c = *pp)) {
			if (c->state == VSOCK_CONN_DEAD) {
				*pp = c->next;
				vm->nconns--;
				free(c);
			} else {
				pp = &c->next;
			}
		}
	}
}

static int vsock_backend_listen(struct vsock_backend *b, const char *path, int *fd,
				struct vhost_user_watch *w)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
	struct stat st;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	/* Replace a stale socket from a killed run, never a regular file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(*fd, 16) < 0 ||
	    epoll_ctl(b->epfd, EPOLL_CTL_ADD, *fd, &ev) < 0) {
		ret = -errno;
		close(*fd);
		*fd = -1;
		return ret;
	}
	return 0;
}

int vsock_backend_create(int epfd, struct vsock_backend **out)
{
	struct vsock_backend *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (!b)
		return -ENOMEM;
	b->epfd = epfd;
	*out = b;
	return 0;
}

int vsock_backend_add_vm(struct vsock_backend *b, const struct vsock_backend_vm_spec *spec)
{
	struct vsock_vm *vm;
	uint32_t i;
	int ret;

	if (!spec->name || !*spec->name || strlen(spec->name) >= sizeof(vm->name) ||
	    spec->cid <= VSOCK_HOST_CID || spec->cid >= UINT32_MAX)
		return -EINVAL;
	if (b->nvms >= VSOCK_BACKEND_MAX_VMS)
		return -ENOSPC;
	for (i = 0; i < b->nvms; i++)
		if (b->vms[i]->cid == spec->cid || !strcmp(b->vms[i]->name, spec->name))
			return -EEXIST;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->b = b;
	vm->index = b->nvms;
	vm->cid = spec->cid;
	vm->vhost_lfd = vm->host_lfd = -1;
	strcpy(vm->name, spec->name);
	vm->vhost_lwatch.fn = vsock_backend_vhost_accept;
	vm->vhost_lwatch.ctx = vm;
	vm->host_lwatch.fn = vsock_conn_accept;
	vm->host_lwatch.ctx = vm;
	ret = -ENAMETOOLONG;
	/* Leave room for "_<port>" after the host socket path. */
	if ((spec->vhost_sock && strlen(spec->vhost_sock) >= sizeof(vm->vhost_path)) ||
	    (spec->host_sock && strlen(spec->host_sock) + 11 >= sizeof(vm->host_path)))
		goto fail;
	b->vms[b->nvms++] = vm;
	if (spec->vhost_sock) {
		ret = vsock_backend_listen(b, spec->vhost_sock, &vm->vhost_lfd, &vm->vhost_lwatch);
		if (ret < 0)
			goto unlist;
		strcpy(vm->vhost_path, spec->vhost_sock);
	}
	if (spec->host_sock) {
		ret = vsock_backend_listen(b, spec->host_sock, &vm->host_lfd, &vm->host_lwatch);
		if (ret < 0)
			goto unlist;
		strcpy(vm->host_path, spec->host_sock);
	}
	return 0;
unlist:
	b->nvms--;
	b->vms[b->nvms] = NULL;
	if (vm->vhost_lfd >= 0) {
		close(vm->vhost_lfd);
		unlink(vm->vhost_path);
	}
fail:
	free(vm);
	return ret;
}

int vsock_backend_allow(struct vsock_backend *b, const char *a, const char *b_name)
{
	int ia = -1, ib = -1;
	uint32_t i;

	for (i = 0; i < b->nvms; i++) {
		if (!strcmp(b->vms[i]->name, a))
			ia = (int)i;
		if (!strcmp(b->vms[i]->name, b_name))
			ib = (int)i;
	}
	if (ia < 0 || ib < 0)
		return -ENOENT;
	b->allow[ia][ib] = b->allow[ib][ia] = 1;
	return 0;
}

void vsock_backend_destroy(struct vsock_backend *b)
{
	uint32_t i;

	if (!b)
		return;
	for (i = 0; i < b->nvms; i++) {
		struct vsock_vm *vm = b->vms[i];

		if (vm->dev)
			vsock_backend_vm_teardown(vm);
		if (vm->vhost_lfd >= 0) {
			close(vm->vhost_lfd);
			unlink(vm->vhost_path);
		}
		if (vm->host_lfd >= 0) {
			close(vm->host_lfd);
			unlink(vm->host_path);
		}
	}
	vsock_backend_reap(b);
	while (b->links)
		vsock_link_free(b, b->links);
	for (i = 0; i < b->nvms; i++) {
		vsock_rx_queue_free(b->vms[i]);
		free(b->vms[i]);
	}
	free(b);
}
