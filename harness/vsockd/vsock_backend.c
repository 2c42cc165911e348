/* SPDX-License-Identifier: MIT */
/* vsock_backend.c: virtio-vsock packets, connections and credit for many VMs. */
#include "vsockd/vsock_backend.h"
#include "vhost/vhost_user.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#define VSOCK_HOST_CID 2u
#define VSOCK_RXQ 0u
#define VSOCK_TXQ 1u
#define VSOCK_HDR ((uint32_t)sizeof(struct virtio_vsock_hdr))
/* Linux never sends more per packet (VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VSOCK_MAX_PAYLOAD (64u * 1024)
#define VSOCK_LINE_MAX 64u
#define VSOCK_FIRST_HOST_PORT 49152u

/* A packet waiting for rx buffers; sent piecewise when buffers are small. */
struct vsock_pkt {
	struct vsock_pkt *next;
	struct virtio_vsock_hdr hdr;
	uint32_t len, off;
	uint8_t data[];
};

enum vsock_conn_state {
	VSOCK_CONN_LINE,        /* host connected, reading "CONNECT <port>\n" */
	VSOCK_CONN_CONNECTING,  /* REQUEST sent to the guest */
	VSOCK_CONN_ESTABLISHED,
	VSOCK_CONN_CLOSING,     /* guest is done; flush what we hold, then close */
	VSOCK_CONN_DEAD,        /* freed by vsock_backend_reap */
};

/* A guest connection whose other end is a Unix socket on the host. */
struct vsock_conn {
	struct vsock_conn *next;
	struct vsock_vm *vm;
	enum vsock_conn_state state;
	uint32_t guest_port, host_port;
	int fd;
	uint32_t events;
	struct vhost_user_watch watch;
	char line[VSOCK_LINE_MAX];
	uint32_t line_len;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt; /* toward the guest */
	uint32_t fwd_cnt, fwd_sent;                    /* from the guest */
	uint8_t *buf;                                  /* guest bytes the host has not taken */
	uint32_t buf_len;
	bool host_eof, guest_no_send, guest_no_recv, rx_blocked;
	bool unwatched; /* host hung up: out of epoll, pumped from kicks */
};

/* Two guests talking; we forward and hold each side to the other's credit. */
struct vsock_link {
	struct vsock_link *next;
	struct vsock_vm *vm[2];
	uint32_t port[2];
	uint32_t buf_alloc[2], fwd_cnt[2], tx_cnt[2];
};

struct vsock_vm {
	struct vsock_backend *b;
	uint32_t index;
	char name[64];
	uint64_t cid;
	char vhost_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int vhost_lfd, host_lfd;
	struct vhost_user_watch vhost_lwatch, host_lwatch;
	struct vhost_user_dev *dev;
	bool dev_dead;
	struct vsock_conn *conns;
	uint32_t nconns;
	struct vsock_pkt *q_head, *q_tail;
	uint64_t q_bytes;
	uint32_t next_port;
	uint64_t spoofed;
};

struct vsock_backend {
	int epfd;
	struct vsock_vm *vms[VSOCK_BACKEND_MAX_VMS];
	uint32_t nvms;
	uint8_t allow[VSOCK_BACKEND_MAX_VMS][VSOCK_BACKEND_MAX_VMS];
	struct vsock_link *links;
	uint8_t scratch[VSOCK_MAX_PAYLOAD];
};

static const struct vhost_user_dev_ops vsock_backend_dev_ops;

static void vsock_backend_log(const struct vsock_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vsock_backend_log(const struct vsock_vm *vm, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vsockd: vm \"%s\": ", vm->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool vsock_backend_running(const struct vsock_vm *vm)
{
	return vm && vm->dev && !vm->dev_dead && !vm->dev->dead;
}

/* Mark VM's device for removal; the reap after this batch frees it. */
static void vsock_backend_drop(struct vsock_vm *vm, const char *why)
{
	if (vm->dev && !vm->dev_dead)
		vsock_backend_log(vm, "dropping device: %s", why);
	vm->dev_dead = true;
	if (vm->dev)
		vm->dev->dead = true;
}

/* ---------------------------------------------------------------- queue */

static int vsock_backend_enqueue(struct vsock_vm *vm, const struct virtio_vsock_hdr *hdr,
				 const void *data, uint32_t len)
{
	struct vsock_pkt *p;

	if (vm->q_bytes + len + VSOCK_HDR > VSOCK_BACKEND_QUEUE_MAX)
		return -ENOBUFS;
	p = malloc(sizeof(*p) + len);
	if (!p)
		return -ENOMEM;
	p->next = NULL;
	p->hdr = *hdr;
	p->hdr.len = htole32(len);
	p->len = len;
	p->off = 0;
	if (len)
		memcpy(p->data, data, len);
	if (vm->q_tail)
		vm->q_tail->next = p;
	else
		vm->q_head = p;
	vm->q_tail = p;
	vm->q_bytes += len + VSOCK_HDR;
	return 0;
}

static void vsock_backend_queue_free(struct vsock_vm *vm)
{
	struct vsock_pkt *p, *n;

	for (p = vm->q_head; p; p = n) {
		n = p->next;
		free(p);
	}
	vm->q_head = vm->q_tail = NULL;
	vm->q_bytes = 0;
}

/* A header from the host side (CID 2) of CONN. */
static void vsock_backend_host_hdr(const struct vsock_conn *c, uint16_t op, uint32_t flags,
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

/* RST answering IN (swap ends). Best effort: a full queue drops it, which
 * only hurts the guest that stopped posting buffers. */
static void vsock_backend_reply_rst(struct vsock_vm *vm, const struct virtio_vsock_hdr *in)
{
	struct virtio_vsock_hdr h;

	if (le16toh(in->op) == VIRTIO_VSOCK_OP_RST)
		return;
	memset(&h, 0, sizeof(h));
	h.src_cid = in->dst_cid;
	h.dst_cid = htole64(vm->cid);
	h.src_port = in->dst_port;
	h.dst_port = in->src_port;
	h.type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h.op = htole16(VIRTIO_VSOCK_OP_RST);
	vsock_backend_enqueue(vm, &h, NULL, 0);
}

static void vsock_backend_conn_ctl(struct vsock_conn *c, uint16_t op, uint32_t flags)
{
	struct virtio_vsock_hdr h;

	vsock_backend_host_hdr(c, op, flags, &h);
	if (op == VIRTIO_VSOCK_OP_CREDIT_UPDATE || op == VIRTIO_VSOCK_OP_RESPONSE ||
	    op == VIRTIO_VSOCK_OP_RW)
		c->fwd_sent = c->fwd_cnt;
	vsock_backend_enqueue(c->vm, &h, NULL, 0);
}

/* ---------------------------------------------------------------- connections */

static uint32_t vsock_backend_credit(const struct vsock_conn *c)
{
	uint32_t used = c->tx_cnt - c->peer_fwd_cnt;

	return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

static void vsock_backend_conn_rearm(struct vsock_conn *c)
{
	struct epoll_event ev = { .data.ptr = &c->watch };
	uint32_t want = 0;

	if (c->fd < 0 || c->unwatched)
		return;
	if (c->state == VSOCK_CONN_LINE)
		want |= EPOLLIN;
	if (c->state == VSOCK_CONN_ESTABLISHED && !c->host_eof && !c->guest_no_recv &&
	    !c->rx_blocked && vsock_backend_credit(c) > 0)
		want |= EPOLLIN;
	if (c->buf_len)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	if (epoll_ctl(c->vm->b->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

static void vsock_backend_conn_kill(struct vsock_conn *c)
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

static void vsock_backend_conn_event(void *ctx, uint32_t events);

static struct vsock_conn *vsock_backend_conn_new(struct vsock_vm *vm, int fd,
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
	c->watch.fn = vsock_backend_conn_event;
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

static struct vsock_conn *vsock_backend_conn_find(struct vsock_vm *vm, uint32_t guest_port,
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
static int vsock_backend_conn_flush(struct vsock_conn *c)
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
		vsock_backend_conn_kill(c);
	/* Tell the guest about freed space before it runs dry. */
	if (c->state == VSOCK_CONN_ESTABLISHED &&
	    c->fwd_cnt - c->fwd_sent >= VSOCK_BACKEND_BUF_ALLOC / 4)
		vsock_backend_conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	return 0;
}

/* ---------------------------------------------------------------- rx ring */

/* Pop an rx buffer big enough for a header, re-arming kicks when empty.
 * Returns 1, 0 (none), or negative when the guest broke the ring. */
static int vsock_backend_rx_pop(struct vsock_vm *vm, struct virtq *vq, struct virtq_chain *ch)
{
	int ret = virtq_pop(vq, &vm->dev->mem, ch);

	if (ret == 0 && virtq_enable_kick(vq))
		ret = virtq_pop(vq, &vm->dev->mem, ch);
	if (ret < 0) {
		vsock_backend_drop(vm, "malformed rx descriptor chain");
		return ret;
	}
	if (ret == 1 && (ch->n_out || ch->in_len < VSOCK_HDR + 1)) {
		vsock_backend_drop(vm, "rx buffer not writable or too small for a packet");
		return -EINVAL;
	}
	return ret;
}

/* Move queued packets into rx buffers. Returns 0 when the queue is empty,
 * -EAGAIN when buffers ran out, other negatives when the device is dropped. */
static int vsock_backend_rx_queue(struct vsock_vm *vm, struct virtq *vq, bool *pushed)
{
	struct virtq_chain ch;
	int ret;

	while (vm->q_head) {
		struct vsock_pkt *p = vm->q_head;
		struct virtio_vsock_hdr h = p->hdr;
		uint64_t room;
		uint32_t piece;

		ret = vsock_backend_rx_pop(vm, vq, &ch);
		if (ret <= 0)
			return ret < 0 ? ret : -EAGAIN;
		room = ch.in_len - VSOCK_HDR;
		piece = p->len - p->off;
		if (piece > room)
			piece = (uint32_t)room;
		h.len = htole32(piece);
		virtq_chain_write(&ch, 0, &h, VSOCK_HDR);
		virtq_chain_write(&ch, VSOCK_HDR, p->data + p->off, piece);
		virtq_push(vq, ch.head, VSOCK_HDR + piece);
		*pushed = true;
		p->off += piece;
		if (p->off < p->len)
			continue;
		vm->q_head = p->next;
		if (!vm->q_head)
			vm->q_tail = NULL;
		vm->q_bytes -= p->len + VSOCK_HDR;
		free(p);
	}
	return 0;
}

/* Read host bytes of C straight into guest rx buffers, within credit. */
static int vsock_backend_rx_conn(struct vsock_conn *c, struct virtq *vq, bool *pushed)
{
	struct vsock_vm *vm = c->vm;
	struct virtq_chain ch;
	struct iovec iov[VIRTQ_MAX_SEGS];
	struct virtio_vsock_hdr h;
	uint32_t credit, space, i, n_iov;
	uint64_t skip;
	ssize_t n;
	int ret;

	while (c->state == VSOCK_CONN_ESTABLISHED && !c->host_eof && !c->guest_no_recv) {
		credit = vsock_backend_credit(c);
		if (!credit)
			return 0;
		ret = vsock_backend_rx_pop(vm, vq, &ch);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			c->rx_blocked = true;
			return 0;
		}
		space = ch.in_len - VSOCK_HDR > VSOCK_MAX_PAYLOAD ? VSOCK_MAX_PAYLOAD
								  : (uint32_t)(ch.in_len - VSOCK_HDR);
		if (space > credit)
			space = credit;
		/* The payload goes after the header, possibly across segments. */
		skip = VSOCK_HDR;
		n_iov = 0;
		for (i = ch.n_out; i < ch.n_out + ch.n_in && space; i++) {
			uint64_t seg = ch.iov[i].iov_len;

			if (skip >= seg) {
				skip -= seg;
				continue;
			}
			iov[n_iov].iov_base = (uint8_t *)ch.iov[i].iov_base + skip;
			iov[n_iov].iov_len = seg - skip < space ? seg - skip : space;
			space -= (uint32_t)iov[n_iov].iov_len;
			n_iov++;
			skip = 0;
		}
		n = readv(c->fd, iov, (int)n_iov);
		if (n <= 0) {
			virtq_unpop(vq);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n == 0) {
				c->host_eof = true;
				vsock_backend_conn_ctl(c, VIRTIO_VSOCK_OP_SHUTDOWN,
						       VIRTIO_VSOCK_SHUTDOWN_SEND);
			} else {
				vsock_backend_conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
				vsock_backend_conn_kill(c);
			}
			return 0;
		}
		vsock_backend_host_hdr(c, VIRTIO_VSOCK_OP_RW, 0, &h);
		h.len = htole32((uint32_t)n);
		c->fwd_sent = c->fwd_cnt;
		virtq_chain_write(&ch, 0, &h, VSOCK_HDR);
		virtq_push(vq, ch.head, VSOCK_HDR + (uint32_t)n);
		c->tx_cnt += (uint32_t)n;
		*pushed = true;
	}
	return 0;
}

/* Fill VM's rx ring: queued packets first (they may be RESPONSEs that must
 * precede data), then host connection C if given. */
static void vsock_backend_rx(struct vsock_vm *vm, struct vsock_conn *c)
{
	struct virtq *vq = vhost_user_dev_vq(vm->dev, VSOCK_RXQ);
	bool pushed = false;
	int ret;

	if (!vsock_backend_running(vm) || !vq) {
		if (c)
			c->rx_blocked = true;
		return;
	}
	ret = vsock_backend_rx_queue(vm, vq, &pushed);
	if (ret == -EAGAIN && c)
		c->rx_blocked = true;
	if (ret == 0 && c)
		ret = vsock_backend_rx_conn(c, vq, &pushed);
	/* Control packets produced while reading (SHUTDOWN, RST) go out now. */
	if (ret == 0 && c && vm->q_head)
		vsock_backend_rx_queue(vm, vq, &pushed);
	if (pushed && vsock_backend_running(vm) && vhost_user_dev_notify(vm->dev, VSOCK_RXQ) < 0)
		vsock_backend_drop(vm, "rx call fd failed");
}

/* ---------------------------------------------------------------- host side */

static void vsock_backend_conn_line(struct vsock_conn *c)
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
			vsock_backend_conn_kill(c);
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

		if (!vsock_backend_conn_find(vm, (uint32_t)port, p)) {
			c->host_port = p;
			break;
		}
	}
	if (!c->host_port)
		goto bad;
	c->guest_port = (uint32_t)port;
	c->state = VSOCK_CONN_CONNECTING;
	vsock_backend_conn_ctl(c, VIRTIO_VSOCK_OP_REQUEST, 0);
	vsock_backend_conn_rearm(c);
	vsock_backend_rx(vm, NULL);
	return;
bad:
	vsock_backend_conn_kill(c);
}

static void vsock_backend_conn_event(void *ctx, uint32_t events)
{
	struct vsock_conn *c = ctx;
	struct vsock_vm *vm = c->vm;

	if (c->state == VSOCK_CONN_DEAD)
		return;
	if (c->state == VSOCK_CONN_LINE) {
		vsock_backend_conn_line(c);
		return;
	}
	if ((events & EPOLLOUT) && vsock_backend_conn_flush(c) < 0) {
		vsock_backend_conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
		vsock_backend_conn_kill(c);
	}
	if (c->state == VSOCK_CONN_ESTABLISHED && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		vsock_backend_rx(vm, c);
	if ((events & (EPOLLHUP | EPOLLERR)) && c->state != VSOCK_CONN_DEAD) {
		if (c->state == VSOCK_CONN_ESTABLISHED && !c->buf_len) {
			/* The host hung up; HUP cannot be masked, so stop watching
			 * and let rx kicks finish reading what is left, then wait
			 * for the guest to close. */
			epoll_ctl(vm->b->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			c->unwatched = true;
		} else {
			vsock_backend_conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
			vsock_backend_conn_kill(c);
		}
	}
	/* Deliver what this produced: RST, SHUTDOWN, or a CREDIT_UPDATE after
	 * the host drained our buffer (else the guest sender stalls). */
	if (vm->q_head)
		vsock_backend_rx(vm, NULL);
	if (c->state != VSOCK_CONN_DEAD)
		vsock_backend_conn_rearm(c);
}

static void vsock_backend_host_accept(void *ctx, uint32_t events)
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
	c = vsock_backend_conn_new(vm, fd, VSOCK_CONN_LINE);
	if (!c) {
		close(fd);
		return;
	}
	vsock_backend_conn_rearm(c);
}

/* Guest REQUEST to CID 2: connect to "<host_sock>_<port>". */
static void vsock_backend_host_request(struct vsock_vm *vm, const struct virtio_vsock_hdr *h)
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
	c = vsock_backend_conn_new(vm, fd, VSOCK_CONN_ESTABLISHED);
	if (!c) {
		close(fd);
		goto refuse;
	}
	c->guest_port = le32toh(h->src_port);
	c->host_port = le32toh(h->dst_port);
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	vsock_backend_conn_ctl(c, VIRTIO_VSOCK_OP_RESPONSE, 0);
	vsock_backend_conn_rearm(c);
	return;
refuse:
	vsock_backend_reply_rst(vm, h);
}

/* A guest packet for a host connection. Returns negative only for abuse. */
static int vsock_backend_host_packet(struct vsock_vm *vm, const struct virtio_vsock_hdr *h,
				     const uint8_t *data, uint32_t len)
{
	uint16_t op = le16toh(h->op);
	uint32_t flags = le32toh(h->flags), old_credit;
	struct vsock_conn *c;
	char ok[32];
	int n;

	c = vsock_backend_conn_find(vm, le32toh(h->src_port), le32toh(h->dst_port));
	if (op == VIRTIO_VSOCK_OP_REQUEST) {
		if (c)
			vsock_backend_reply_rst(vm, h);
		else
			vsock_backend_host_request(vm, h);
		return 0;
	}
	if (!c) {
		vsock_backend_reply_rst(vm, h);
		return 0;
	}
	old_credit = vsock_backend_credit(c);
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	if (!old_credit && vsock_backend_credit(c)) {
		c->rx_blocked = false;
		if (c->unwatched)
			vsock_backend_rx(vm, c);
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
		if (vsock_backend_conn_flush(c) < 0)
			goto reset;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		vsock_backend_conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
			c->guest_no_send = true;
		if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
			c->guest_no_recv = true;
		if (c->guest_no_send && c->guest_no_recv) {
			/* The guest closed: answer RST as Linux expects, keep the
			 * fd only until the host took every byte. */
			vsock_backend_conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
			c->state = VSOCK_CONN_CLOSING;
		}
		if (vsock_backend_conn_flush(c) < 0)
			vsock_backend_conn_kill(c);
		break;
	case VIRTIO_VSOCK_OP_RST:
		vsock_backend_conn_kill(c);
		break;
	default:
		goto reset;
	}
	vsock_backend_conn_rearm(c);
	return 0;
reset:
	vsock_backend_conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
	vsock_backend_conn_kill(c);
	return 0;
}

/* ---------------------------------------------------------------- siblings */

static void vsock_backend_link_free(struct vsock_backend *b, struct vsock_link *l)
{
	struct vsock_link **pp;

	for (pp = &b->links; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	free(l);
}

/* RST both ends of L and forget it. */
static void vsock_backend_link_reset(struct vsock_backend *b, struct vsock_link *l)
{
	struct virtio_vsock_hdr h;
	int s;

	for (s = 0; s < 2; s++) {
		if (!vsock_backend_running(l->vm[s]))
			continue;
		memset(&h, 0, sizeof(h));
		h.src_cid = htole64(l->vm[!s]->cid);
		h.dst_cid = htole64(l->vm[s]->cid);
		h.src_port = htole32(l->port[!s]);
		h.dst_port = htole32(l->port[s]);
		h.type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
		h.op = htole16(VIRTIO_VSOCK_OP_RST);
		vsock_backend_enqueue(l->vm[s], &h, NULL, 0);
	}
	vsock_backend_link_free(b, l);
}

static struct vsock_vm *vsock_backend_vm_by_cid(struct vsock_backend *b, uint64_t cid)
{
	uint32_t i;

	for (i = 0; i < b->nvms; i++)
		if (b->vms[i]->cid == cid)
			return b->vms[i];
	return NULL;
}

static int vsock_backend_sibling_packet(struct vsock_vm *vm, struct vsock_vm *peer,
					const struct virtio_vsock_hdr *h, const uint8_t *data,
					uint32_t len)
{
	struct vsock_backend *b = vm->b;
	uint32_t sp = le32toh(h->src_port), dp = le32toh(h->dst_port);
	uint16_t op = le16toh(h->op);
	struct vsock_link *l;
	uint32_t nlinks = 0;
	int s = 0, o, ret;

	for (l = b->links; l; l = l->next) {
		if (l->vm[0] == vm || l->vm[1] == vm)
			nlinks++;
		if (l->vm[0] == vm && l->port[0] == sp && l->vm[1] == peer && l->port[1] == dp) {
			s = 0;
			break;
		}
		if (l->vm[1] == vm && l->port[1] == sp && l->vm[0] == peer && l->port[0] == dp) {
			s = 1;
			break;
		}
	}
	if (op == VIRTIO_VSOCK_OP_REQUEST) {
		if (l || !b->allow[vm->index][peer->index] || !vsock_backend_running(peer) ||
		    nlinks >= VSOCK_BACKEND_MAX_CONNS) {
			if (!b->allow[vm->index][peer->index])
				vsock_backend_log(vm, "connection to \"%s\" port %" PRIu32
						  " denied (not allowed)", peer->name, dp);
			vsock_backend_reply_rst(vm, h);
			return 0;
		}
		l = calloc(1, sizeof(*l));
		if (!l) {
			vsock_backend_reply_rst(vm, h);
			return 0;
		}
		l->vm[0] = vm;
		l->vm[1] = peer;
		l->port[0] = sp;
		l->port[1] = dp;
		l->next = b->links;
		b->links = l;
		s = 0;
	} else if (!l) {
		vsock_backend_reply_rst(vm, h);
		return 0;
	}
	o = !s;
	l->buf_alloc[s] = le32toh(h->buf_alloc);
	l->fwd_cnt[s] = le32toh(h->fwd_cnt);
	if (op == VIRTIO_VSOCK_OP_RW) {
		uint32_t inflight = l->tx_cnt[s] - l->fwd_cnt[o];

		if (inflight > l->buf_alloc[o] || len > l->buf_alloc[o] - inflight) {
			vsock_backend_log(vm, "port %" PRIu32 ": sent beyond \"%s\"'s credit",
					  sp, peer->name);
			return -EPROTO;
		}
		l->tx_cnt[s] += len;
	}
	ret = vsock_backend_enqueue(peer, h, data, len);
	if (ret < 0) {
		vsock_backend_log(peer, "queue full; resetting connection from \"%s\"", vm->name);
		vsock_backend_link_reset(b, l);
		vsock_backend_rx(vm, NULL);
		return 0;
	}
	if (op == VIRTIO_VSOCK_OP_RST)
		vsock_backend_link_free(b, l);
	vsock_backend_rx(peer, NULL);
	return 0;
}

/* ---------------------------------------------------------------- tx ring */

/* One guest packet. Returns negative when the guest must be dropped. */
static int vsock_backend_packet(struct vsock_vm *vm, const struct virtio_vsock_hdr *h,
				const uint8_t *data, uint32_t len)
{
	uint64_t dst = le64toh(h->dst_cid);
	struct vsock_vm *peer;

	if (le64toh(h->src_cid) != vm->cid) {
		/* Spoofed: we cannot even answer it truthfully. Drop, log once. */
		if (!vm->spoofed++)
			vsock_backend_log(vm, "dropping packets with src_cid %" PRIu64,
					  (uint64_t)le64toh(h->src_cid));
		return 0;
	}
	if (le16toh(h->type) != VIRTIO_VSOCK_TYPE_STREAM) {
		vsock_backend_reply_rst(vm, h);
		return 0;
	}
	if (dst == VSOCK_HOST_CID)
		return vsock_backend_host_packet(vm, h, data, len);
	peer = vsock_backend_vm_by_cid(vm->b, dst);
	if (!peer || peer == vm) {
		vsock_backend_reply_rst(vm, h);
		return 0;
	}
	return vsock_backend_sibling_packet(vm, peer, h, data, len);
}

static int vsock_backend_tx(struct vsock_vm *vm)
{
	struct virtq *vq = vhost_user_dev_vq(vm->dev, VSOCK_TXQ);
	struct virtio_vsock_hdr h;
	struct virtq_chain ch;
	uint32_t len, budget = 256;
	bool pushed = false;
	int ret = 0;

	if (!vq)
		return 0;
	while (budget--) {
		ret = virtq_pop(vq, &vm->dev->mem, &ch);
		if (ret == 0 && virtq_enable_kick(vq))
			continue;
		if (ret < 0)
			vsock_backend_drop(vm, "malformed tx descriptor chain");
		if (ret <= 0)
			break;
		ret = -EBADMSG;
		if (ch.out_len < VSOCK_HDR || virtq_chain_read(&ch, 0, &h, VSOCK_HDR) != VSOCK_HDR) {
			vsock_backend_drop(vm, "tx packet shorter than its header");
			break;
		}
		len = le32toh(h.len);
		if (len > VSOCK_MAX_PAYLOAD || len > ch.out_len - VSOCK_HDR) {
			vsock_backend_drop(vm, "tx packet length beyond its buffers");
			break;
		}
		virtq_chain_read(&ch, VSOCK_HDR, vm->b->scratch, len);
		virtq_push(vq, ch.head, 0);
		pushed = true;
		ret = vsock_backend_packet(vm, &h, vm->b->scratch, len);
		if (ret < 0) {
			vsock_backend_drop(vm, "flow control violated");
			break;
		}
	}
	if (budget == UINT32_MAX && ret >= 0)
		ret = 1; /* more may be waiting: the caller comes back */
	if (pushed && vsock_backend_running(vm) && vhost_user_dev_notify(vm->dev, VSOCK_TXQ) < 0)
		vsock_backend_drop(vm, "tx call fd failed");
	return ret;
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
		while ((ret = vsock_backend_tx(vm)) == 1 && --rounds)
			;
	}
	/* New rx buffers (or tx that freed credit): resume stalled readers. */
	for (c = vm->conns; c; c = c->next) {
		if (c->rx_blocked && c->state == VSOCK_CONN_ESTABLISHED) {
			c->rx_blocked = false;
			vsock_backend_conn_rearm(c);
		}
	}
	vsock_backend_rx(vm, NULL);
	for (c = vm->conns; c; c = c->next) {
		if (c->unwatched && c->state == VSOCK_CONN_ESTABLISHED && !c->host_eof)
			vsock_backend_rx(vm, c);
		vsock_backend_conn_rearm(c);
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
		vsock_backend_conn_kill(c);
	for (l = b->links; l; l = n) {
		n = l->next;
		if (l->vm[0] == vm || l->vm[1] == vm) {
			struct vsock_vm *other = l->vm[0] == vm ? l->vm[1] : l->vm[0];

			vsock_backend_link_reset(b, l);
			vsock_backend_rx(other, NULL);
		}
	}
	vsock_backend_queue_free(vm);
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
	vm->host_lwatch.fn = vsock_backend_host_accept;
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
		vsock_backend_link_free(b, b->links);
	for (i = 0; i < b->nvms; i++) {
		vsock_backend_queue_free(b->vms[i]);
		free(b->vms[i]);
	}
	free(b);
}
