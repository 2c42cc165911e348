/* SPDX-License-Identifier: MIT */
/* vsock_rx.c: packets queued toward a guest and filling its rx ring. */
#include "vsockd/vsock_internal.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---------------------------------------------------------------- queue */

int vsock_rx_enqueue(struct vsock_vm *vm, const struct virtio_vsock_hdr *hdr,
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

void vsock_rx_queue_free(struct vsock_vm *vm)
{
	struct vsock_pkt *p, *n;

	for (p = vm->q_head; p; p = n) {
		n = p->next;
		free(p);
	}
	vm->q_head = vm->q_tail = NULL;
	vm->q_bytes = 0;
}

/* Best effort: a full queue drops the RST, which only hurts the guest that
 * stopped posting buffers. */
void vsock_rx_rst(struct vsock_vm *vm, uint64_t src_cid, uint32_t src_port, uint32_t dst_port)
{
	struct virtio_vsock_hdr h;

	memset(&h, 0, sizeof(h));
	h.src_cid = htole64(src_cid);
	h.dst_cid = htole64(vm->cid);
	h.src_port = htole32(src_port);
	h.dst_port = htole32(dst_port);
	h.type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h.op = htole16(VIRTIO_VSOCK_OP_RST);
	vsock_rx_enqueue(vm, &h, NULL, 0);
}

/* RST answering IN (swap ends). */
void vsock_rx_reply_rst(struct vsock_vm *vm, const struct virtio_vsock_hdr *in)
{
	if (le16toh(in->op) == VIRTIO_VSOCK_OP_RST)
		return;
	vsock_rx_rst(vm, le64toh(in->dst_cid), le32toh(in->dst_port), le32toh(in->src_port));
}

/* ---------------------------------------------------------------- rx ring */

/* Pop an rx buffer big enough for a header, re-arming kicks when empty.
 * Returns 1, 0 (none), or negative when the guest broke the ring. */
static int vsock_rx_pop(struct vsock_vm *vm, struct virtq *vq, struct virtq_chain *ch)
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
static int vsock_rx_drain(struct vsock_vm *vm, struct virtq *vq, bool *pushed)
{
	struct virtq_chain ch;
	int ret;

	while (vm->q_head) {
		struct vsock_pkt *p = vm->q_head;
		struct virtio_vsock_hdr h = p->hdr;
		uint64_t room;
		uint32_t piece;

		ret = vsock_rx_pop(vm, vq, &ch);
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
static int vsock_rx_conn(struct vsock_conn *c, struct virtq *vq, bool *pushed)
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
		credit = vsock_conn_credit(c);
		if (!credit)
			return 0;
		ret = vsock_rx_pop(vm, vq, &ch);
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
				vsock_conn_ctl(c, VIRTIO_VSOCK_OP_SHUTDOWN,
					       VIRTIO_VSOCK_SHUTDOWN_SEND);
			} else {
				vsock_conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
				vsock_conn_kill(c);
			}
			return 0;
		}
		vsock_conn_hdr(c, VIRTIO_VSOCK_OP_RW, 0, &h);
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
void vsock_rx_fill(struct vsock_vm *vm, struct vsock_conn *c)
{
	struct virtq *vq = vhost_user_dev_vq(vm->dev, VSOCK_RXQ);
	bool pushed = false;
	int ret;

	if (!vsock_backend_running(vm) || !vq) {
		if (c)
			c->rx_blocked = true;
		return;
	}
	ret = vsock_rx_drain(vm, vq, &pushed);
	if (ret == -EAGAIN && c)
		c->rx_blocked = true;
	if (ret == 0 && c)
		ret = vsock_rx_conn(c, vq, &pushed);
	/* Control packets produced while reading (SHUTDOWN, RST) go out now. */
	if (ret == 0 && c && vm->q_head)
		vsock_rx_drain(vm, vq, &pushed);
	if (pushed && vsock_backend_running(vm) && vhost_user_dev_notify(vm->dev, VSOCK_RXQ) < 0)
		vsock_backend_drop(vm, "rx call fd failed");
}
