/* SPDX-License-Identifier: MIT */
/* vsock_link.c: connections between two guests, allowed pairwise, held to credit. */
#include "vsockd/vsock_internal.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

void vsock_link_free(struct vsock_backend *b, struct vsock_link *l)
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
void vsock_link_reset(struct vsock_backend *b, struct vsock_link *l)
{
	int s;

	for (s = 0; s < 2; s++)
		if (vsock_backend_running(l->vm[s]))
			vsock_rx_rst(l->vm[s], l->vm[!s]->cid, l->port[!s], l->port[s]);
	vsock_link_free(b, l);
}

int vsock_link_packet(struct vsock_vm *vm, struct vsock_vm *peer,
		      const struct virtio_vsock_hdr *h, const uint8_t *data, uint32_t len)
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
			vsock_rx_reply_rst(vm, h);
			return 0;
		}
		l = calloc(1, sizeof(*l));
		if (!l) {
			vsock_rx_reply_rst(vm, h);
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
		vsock_rx_reply_rst(vm, h);
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
	ret = vsock_rx_enqueue(peer, h, data, len);
	if (ret < 0) {
		vsock_backend_log(peer, "queue full; resetting connection from \"%s\"", vm->name);
		vsock_link_reset(b, l);
		vsock_rx_fill(vm, NULL);
		return 0;
	}
	if (op == VIRTIO_VSOCK_OP_RST)
		vsock_link_free(b, l);
	vsock_rx_fill(peer, NULL);
	return 0;
}
