/* SPDX-License-Identifier: MIT */
/* vsock_conn.c: guest connections to host Unix sockets: states, credit, "CONNECT <port>". */
#include "vsockd/vsock_internal.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* A header from the host side (CID 2) of CONN. */
void vsock_conn_hdr(const struct vsock_conn *c, uint16_t op, uint32_t flags,
		    struct virtio_vsock_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(VSOCK_HOST_CID);
	h->dst_cid = htole64(c->vm->cid);
	h->src_port = htole32(c->host_port);
	h->dst_port = htole32(c->guest_port);
	h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h->op = htole16(op);
	h->flags = htole32(flags);
	h->buf_alloc = htole32(VSOCK_BACKEND_BUF_ALLOC);
	h->fwd_cnt = htole32(c->fwd_cnt);
}

void vsock_conn_ctl(struct vsock_conn *c, uint16_t op, uint32_t flags)
{
	struct virtio_vsock_hdr h;

	vsock_conn_hdr(c, op, flags, &h);
	if (op == VIRTIO_VSOCK_OP_CREDIT_UPDATE || op == VIRTIO_VSOCK_OP_RESPONSE ||
	    op == VIRTIO_VSOCK_OP_RW)
		c->fwd_sent = c->fwd_cnt;
	vsock_rx_enqueue(c->vm, &h, NULL, 0);
}

uint32_t vsock_conn_credit(const struct vsock_conn *c)
{
	uint32_t used = c->tx_cnt - c->peer_fwd_cnt;

	return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

void vsock_conn_rearm(struct vsock_conn *c)
{
	struct epoll_event ev = { .data.ptr = &c->watch };
	uint32_t want = 0;

	if (c->fd < 0 || c->unwatched)
		return;
	if (c->state == VSOCK_CONN_LINE)
		want |= EPOLLIN;
	if (c->state == VSOCK_CONN_ESTABLISHED && !c->host_eof && !c->guest_no_recv &&
	    !c->rx_blocked && vsock_conn_credit(c) > 0)
		want |= EPOLLIN;
	if (c->buf_len)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	if (epoll_ctl(c->vm->b->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

void vsock_conn_kill(struct vsock_conn *c)
{
	if (c->fd >= 0) {
		if (!c->unwatched)
			epoll_ctl(c->vm->b->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	free(c->buf);
	c->buf = NULL;
	c->buf_len = 0;
	c->state = VSOCK_CONN_DEAD;
}

static void vsock_conn_event(void *ctx, uint32_t events);

static struct vsock_conn *vsock_conn_new(struct vsock_vm *vm, int fd,
					  enum vsock_conn_state st)
{
	struct epoll_event ev = { .events = 0 };
	struct vsock_conn *c;

	if (vm->nconns >= VSOCK_BACKEND_MAX_CONNS)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->vm = vm;
	c->fd = fd;
	c->state = st;
	c->watch.fn = vsock_conn_event;
	c->watch.ctx = c;
	ev.data.ptr = &c->watch;
	if (epoll_ctl(vm->b->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return NULL;
	}
	c->next = vm->conns;
	vm->conns = c;
	vm->nconns++;
	return c;
}

static struct vsock_conn *vsock_conn_find(struct vsock_vm *vm, uint32_t guest_port,
					   uint32_t host_port)
{
	struct vsock_conn *c;

	for (c = vm->conns; c; c = c->next)
		if (c->state != VSOCK_CONN_DEAD && c->state != VSOCK_CONN_CLOSING &&
		    c->state != VSOCK_CONN_LINE && c->guest_port == guest_port &&
		    c->host_port == host_port)
			return c;
	return NULL;
}

/* Write what the guest sent and the host has not taken; advance fwd_cnt. */
static int vsock_conn_flush(struct vsock_conn *c)
{
	ssize_t n;

	while (c->buf_len) {
		n = send(c->fd, c->buf, c->buf_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
		memmove(c->buf, c->buf + n, c->buf_len - (uint32_t)n);
		c->buf_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (!c->buf_len && c->guest_no_send && c->state == VSOCK_CONN_ESTABLISHED)
		shutdown(c->fd, SHUT_WR);
	if (!c->buf_len && c->state == VSOCK_CONN_CLOSING)
		vsock_conn_kill(c);
	/* Tell the guest about freed space before it runs dry. */
	if (c->state == VSOCK_CONN_ESTABLISHED &&
	    c->fwd_cnt - c->fwd_sent >= VSOCK_BACKEND_BUF_ALLOC / 4)
		vsock_conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	return 0;
}

static void vsock_conn_line(struct vsock_conn *c)
{
	struct vsock_vm *vm = c->vm;
	unsigned long port;
	char *end;
	ssize_t n;
	uint32_t i;

	/* One byte at a time: what follows the line is stream data for the guest. */
	while (c->line_len < VSOCK_LINE_MAX - 1) {
		n = recv(c->fd, c->line + c->line_len, 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			vsock_conn_kill(c);
			return;
		}
		if (c->line[c->line_len] == '\n')
			break;
		c->line_len++;
	}
	c->line[c->line_len] = '\0';
	if (strncmp(c->line, "CONNECT ", 8) != 0)
		goto bad;
	errno = 0;
	port = strtoul(c->line + 8, &end, 10);
	if (errno || end == c->line + 8 || (*end && *end != '\r') || port > UINT32_MAX)
		goto bad;
	if (!vsock_backend_running(vm))
		goto bad;
	/* An ephemeral host port not already used with this guest port. */
	for (i = 0; i < 16384; i++) {
		uint32_t p = VSOCK_FIRST_HOST_PORT + (vm->next_port++ % 16384);

		if (!vsock_conn_find(vm, (uint32_t)port, p)) {
			c->host_port = p;
			break;
		}
	}
	if (!c->host_port)
		goto bad;
	c->guest_port = (uint32_t)port;
	c->state = VSOCK_CONN_CONNECTING;
	vsock_conn_ctl(c, VIRTIO_VSOCK_OP_REQUEST, 0);
	vsock_conn_rearm(c);
	vsock_rx_fill(vm, NULL);
	return;
bad:
	vsock_conn_kill(c);
}

static void vsock_conn_event(void *ctx, uint32_t events)
{
	struct vsock_conn *c = ctx;
	struct vsock_vm *vm = c->vm;

	if (c->state == VSOCK_CONN_DEAD)
		return;
	if (c->state == VSOCK_CONN_LINE) {
		vsock_conn_line(c);
		return;
	}
	if ((events & EPOLLOUT) && vsock_conn_flush(c) < 0) {
		vsock_conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
		vsock_conn_kill(c);
	}
	if (c->state == VSOCK_CONN_ESTABLISHED && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		vsock_rx_fill(vm, c);
	if ((events & (EPOLLHUP | EPOLLERR)) && c->state != VSOCK_CONN_DEAD) {
		if (c->state == VSOCK_CONN_ESTABLISHED && !c->buf_len) {
			/* The host hung up; HUP cannot be masked, so stop watching
			 * and let rx kicks finish reading what is left, then wait
			 * for the guest to close. */
			epoll_ctl(vm->b->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			c->unwatched = true;
		} else {
			vsock_conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
			vsock_conn_kill(c);
		}
	}
	/* Deliver what this produced: RST, SHUTDOWN, or a CREDIT_UPDATE after
	 * the host drained our buffer (else the guest sender stalls). */
	if (vm->q_head)
		vsock_rx_fill(vm, NULL);
	if (c->state != VSOCK_CONN_DEAD)
		vsock_conn_rearm(c);
}

void vsock_conn_accept(void *ctx, uint32_t events)
{
	struct vsock_vm *vm = ctx;
	struct vsock_conn *c;
	int fd;

	fd = accept4(vm->host_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!vsock_backend_running(vm)) {
		close(fd); /* no guest to talk to: the host sees EOF, not a hang */
		return;
	}
	c = vsock_conn_new(vm, fd, VSOCK_CONN_LINE);
	if (!c) {
		close(fd);
		return;
	}
	vsock_conn_rearm(c);
}

/* Guest REQUEST to CID 2: connect to "<host_sock>_<port>". */
static void vsock_conn_request(struct vsock_vm *vm, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_conn *c;
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%" PRIu32, vm->host_path,
		     le32toh(h->dst_port));
	if (!*vm->host_path || n < 0 || (size_t)n >= sizeof(sa.sun_path))
		goto refuse;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto refuse;
	/* Unix connect does not go in progress: it succeeds or fails now. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		goto refuse;
	}
	c = vsock_conn_new(vm, fd, VSOCK_CONN_ESTABLISHED);
	if (!c) {
		close(fd);
		goto refuse;
	}
	c->guest_port = le32toh(h->src_port);
	c->host_port = le32toh(h->dst_port);
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	vsock_conn_ctl(c, VIRTIO_VSOCK_OP_RESPONSE, 0);
	vsock_conn_rearm(c);
	return;
refuse:
	vsock_rx_reply_rst(vm, h);
}

/* A guest packet for a host connection. Returns negative only for abuse. */
int vsock_conn_packet(struct vsock_vm *vm, const struct virtio_vsock_hdr *h,
		      const uint8_t *data, uint32_t len)
{
	uint16_t op = le16toh(h->op);
	uint32_t flags = le32toh(h->flags), old_credit;
	struct vsock_conn *c;
	char ok[32];
	int n;

	c = vsock_conn_find(vm, le32toh(h->src_port), le32toh(h->dst_port));
	if (op == VIRTIO_VSOCK_OP_REQUEST) {
		if (c)
			vsock_rx_reply_rst(vm, h);
		else
			vsock_conn_request(vm, h);
		return 0;
	}
	if (!c) {
		vsock_rx_reply_rst(vm, h);
		return 0;
	}
	old_credit = vsock_conn_credit(c);
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	if (!old_credit && vsock_conn_credit(c)) {
		c->rx_blocked = false;
		if (c->unwatched)
			vsock_rx_fill(vm, c);
	}
	switch (op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state != VSOCK_CONN_CONNECTING)
			goto reset;
		c->state = VSOCK_CONN_ESTABLISHED;
		n = snprintf(ok, sizeof(ok), "OK %" PRIu32 "\n", c->host_port);
		if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
			goto reset;
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state != VSOCK_CONN_ESTABLISHED || c->guest_no_send)
			goto reset;
		if (len > VSOCK_BACKEND_BUF_ALLOC - c->buf_len) {
			vsock_backend_log(vm, "port %" PRIu32 ": sent %" PRIu32
					  " bytes beyond the credit we gave", c->guest_port, len);
			return -EPROTO;
		}
		if (!c->buf) {
			c->buf = malloc(VSOCK_BACKEND_BUF_ALLOC);
			if (!c->buf)
				goto reset;
		}
		memcpy(c->buf + c->buf_len, data, len);
		c->buf_len += len;
		if (vsock_conn_flush(c) < 0)
			goto reset;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		vsock_conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
			c->guest_no_send = true;
		if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
			c->guest_no_recv = true;
		if (c->guest_no_send && c->guest_no_recv) {
			/* The guest closed: answer RST as Linux expects, keep the
			 * fd only until the host took every byte. */
			vsock_conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
			c->state = VSOCK_CONN_CLOSING;
		}
		if (vsock_conn_flush(c) < 0)
			vsock_conn_kill(c);
		break;
	case VIRTIO_VSOCK_OP_RST:
		vsock_conn_kill(c);
		break;
	default:
		goto reset;
	}
	vsock_conn_rearm(c);
	return 0;
reset:
	vsock_conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
	vsock_conn_kill(c);
	return 0;
}
