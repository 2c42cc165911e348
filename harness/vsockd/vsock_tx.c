/* SPDX-License-Identifier: MIT */
/* vsock_tx.c: a guest's tx ring: read each packet and dispatch it by destination CID. */
#include "vsockd/vsock_internal.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>

/* One guest packet. Returns negative when the guest must be dropped. */
int vsock_tx_packet(struct vsock_vm *vm, const struct virtio_vsock_hdr *h,
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
		vsock_rx_reply_rst(vm, h);
		return 0;
	}
	if (dst == VSOCK_HOST_CID)
		return vsock_conn_packet(vm, h, data, len);
	peer = vsock_backend_vm_by_cid(vm->b, dst);
	if (!peer || peer == vm) {
		vsock_rx_reply_rst(vm, h);
		return 0;
	}
	return vsock_link_packet(vm, peer, h, data, len);
}

int vsock_tx_ring(struct vsock_vm *vm)
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
		ret = vsock_tx_packet(vm, &h, vm->b->scratch, len);
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
