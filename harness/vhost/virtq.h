/* SPDX-License-Identifier: MIT */
/* virtq.h: split virtqueues in guest memory, validated against a hostile driver. */
#ifndef UVMLAB_VIRTQ_H
#define UVMLAB_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/uio.h>
#include <linux/virtio_ring.h>

struct vhost_user_mem;

#define VIRTQ_MAX_SIZE 32768u
/* More segments than any Linux driver builds for vsock or net (net uses at
 * most MAX_SKB_FRAGS + 2); a longer chain is treated as malformed. */
#define VIRTQ_MAX_SEGS 64u
/* One chain never describes more than this; vsock packets are <= 64 KiB. */
#define VIRTQ_MAX_CHAIN_BYTES (16u << 20)

struct virtq {
	uint32_t num;                 /* 0: not configured */
	struct vring_desc *desc;      /* host pointers into guest memory */
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;          /* next avail entry we consume */
	uint16_t used_idx;            /* our shadow of used->idx */
	uint16_t signalled_used;      /* used_idx when we last notified */
	bool signalled_valid;
	bool event_idx;               /* VIRTIO_RING_F_EVENT_IDX negotiated */
};

/* One popped chain: readable segments first (out), then writable ones (in). */
struct virtq_chain {
	uint16_t head;
	uint32_t n_out, n_in;
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/* Check NUM and ring placement and set VQ up over host pointers (already
 * translated and bounds-checked by the caller for the sizes virtq_*_size
 * give). Keeps last_avail/used_idx at BASE. Returns 0 or -EINVAL. */
int virtq_init(struct virtq *vq, uint32_t num, void *desc, void *avail, void *used,
	       uint16_t base, bool event_idx);

/* Bytes each ring part occupies for NUM entries (with the event fields). */
uint64_t virtq_desc_size(uint32_t num);
uint64_t virtq_avail_size(uint32_t num);
uint64_t virtq_used_size(uint32_t num);

/* Pop the next available chain into CH, translating descriptor addresses
 * (guest-physical) through MEM. Returns 1 with a chain, 0 when the ring is
 * empty, or a negative errno when the driver broke the rules (index jump,
 * head or next out of range, loop, bad indirect table, writable before
 * readable, address outside guest memory, too many segments or bytes): the
 * ring is then unusable and the device should be dropped. */
int virtq_pop(struct virtq *vq, const struct vhost_user_mem *mem, struct virtq_chain *ch);

/* Give back the last popped chain without consuming it (e.g. a packet that
 * does not fit yet). Only valid right after a successful virtq_pop. */
void virtq_unpop(struct virtq *vq);

/* Publish HEAD as used with LEN bytes written. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* True when the driver wants an interrupt for what was pushed since the last
 * call that returned true (EVENT_IDX or the NO_INTERRUPT flag). */
bool virtq_should_notify(struct virtq *vq);

/* After draining: ask for a kick on the next buffer (avail_event with
 * EVENT_IDX, else clear NO_NOTIFY), then re-check. Returns true if more
 * buffers arrived meanwhile, so the caller must poll again. */
bool virtq_enable_kick(struct virtq *vq);

/* True when the driver has buffers we have not popped. */
bool virtq_has_avail(const struct virtq *vq);

/* Copy LEN bytes from the chain's readable segments starting at OFF into DST;
 * returns bytes copied (short when the chain is shorter). */
uint64_t virtq_chain_read(const struct virtq_chain *ch, uint64_t off, void *dst, uint64_t len);

/* Copy LEN bytes into the chain's writable segments starting at OFF; returns
 * bytes copied (short when the chain is shorter). */
uint64_t virtq_chain_write(const struct virtq_chain *ch, uint64_t off, const void *src, uint64_t len);

#endif
