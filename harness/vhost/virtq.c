/* SPDX-License-Identifier: MIT */
/* virtq.c: split virtqueue descriptor walking, used ring and EVENT_IDX. */
#include "vhost/virtq.h"
#include "vhost/vhost_user.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

/* The guest writes these rings concurrently: every field is read once into a
 * local copy and validated there, never re-read after the check. */
static uint16_t virtq_load16(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

static void virtq_store16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELEASE);
}

uint64_t virtq_desc_size(uint32_t num)
{
	return 16ull * num;
}

uint64_t virtq_avail_size(uint32_t num)
{
	return 6ull + 2ull * num;
}

uint64_t virtq_used_size(uint32_t num)
{
	return 6ull + 8ull * num;
}

int virtq_init(struct virtq *vq, uint32_t num, void *desc, void *avail, void *used,
	       uint16_t base, bool event_idx)
{
	memset(vq, 0, sizeof(*vq));
	if (num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	/* Alignment the spec requires, and what keeps our loads well defined. */
	if (!desc || !avail || !used || ((uintptr_t)desc & 15) || ((uintptr_t)avail & 1) ||
	    ((uintptr_t)used & 3))
		return -EINVAL;
	vq->num = num;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->last_avail = base;
	vq->used_idx = base;
	vq->event_idx = event_idx;
	return 0;
}

bool virtq_has_avail(const struct virtq *vq)
{
	return vq->num && virtq_load16(&vq->avail->idx) != vq->last_avail;
}

static int virtq_add_seg(struct virtq_chain *ch, const struct vhost_user_mem *mem,
			 const struct vring_desc *d)
{
	uint64_t addr = le64toh(d->addr);
	uint32_t len = le32toh(d->len);
	bool write = le16toh(d->flags) & VRING_DESC_F_WRITE;
	void *p;

	if (len == 0)
		return 0; /* harmless: contributes nothing, still counted as a hop */
	if (!write && ch->n_in)
		return -EBADMSG; /* readable after writable */
	if (ch->n_out + ch->n_in >= VIRTQ_MAX_SEGS)
		return -E2BIG;
	if (ch->out_len + ch->in_len + len > VIRTQ_MAX_CHAIN_BYTES)
		return -E2BIG;
	p = vhost_user_mem_gpa(mem, addr, len);
	if (!p)
		return -EFAULT;
	ch->iov[ch->n_out + ch->n_in].iov_base = p;
	ch->iov[ch->n_out + ch->n_in].iov_len = len;
	if (write) {
		ch->n_in++;
		ch->in_len += len;
	} else {
		ch->n_out++;
		ch->out_len += len;
	}
	return 0;
}

/* Walk an indirect table of N entries (from index 0). */
static int virtq_walk_indirect(struct virtq_chain *ch, const struct vhost_user_mem *mem,
			       const struct vring_desc *table, uint32_t n)
{
	struct vring_desc d;
	uint32_t i = 0, hops = 0;
	uint16_t flags;
	int ret;

	for (;;) {
		if (++hops > n)
			return -ELOOP;
		memcpy(&d, &table[i], sizeof(d));
		flags = le16toh(d.flags);
		if (flags & VRING_DESC_F_INDIRECT)
			return -EBADMSG; /* nested indirect */
		ret = virtq_add_seg(ch, mem, &d);
		if (ret < 0)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		i = le16toh(d.next);
		if (i >= n)
			return -ERANGE;
	}
}

int virtq_pop(struct virtq *vq, const struct vhost_user_mem *mem, struct virtq_chain *ch)
{
	uint16_t avail_idx, head, flags;
	struct vring_desc d;
	uint32_t i, hops = 0;
	int ret;

	if (!vq->num)
		return 0;
	avail_idx = virtq_load16(&vq->avail->idx);
	if (avail_idx == vq->last_avail)
		return 0;
	/* More entries than the ring holds means the driver lied about idx. */
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->num)
		return -EOVERFLOW;
	head = virtq_load16(&vq->avail->ring[vq->last_avail & (vq->num - 1)]);
	if (head >= vq->num)
		return -ERANGE;
	memset(ch, 0, offsetof(struct virtq_chain, iov));
	ch->head = head;
	i = head;
	for (;;) {
		if (++hops > vq->num)
			return -ELOOP;
		memcpy(&d, &vq->desc[i], sizeof(d));
		flags = le16toh(d.flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			uint32_t len = le32toh(d.len);
			const struct vring_desc *table;

			if ((flags & VRING_DESC_F_NEXT) || len == 0 || len % sizeof(d) ||
			    len / sizeof(d) > VIRTQ_MAX_SIZE)
				return -EBADMSG;
			table = vhost_user_mem_gpa(mem, le64toh(d.addr), len);
			if (!table || ((uintptr_t)table & 15))
				return -EFAULT;
			ret = virtq_walk_indirect(ch, mem, table, len / (uint32_t)sizeof(d));
			if (ret < 0)
				return ret;
			break;
		}
		ret = virtq_add_seg(ch, mem, &d);
		if (ret < 0)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16toh(d.next);
		if (i >= vq->num)
			return -ERANGE;
	}
	vq->last_avail++;
	return 1;
}

void virtq_unpop(struct virtq *vq)
{
	vq->last_avail--;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx & (vq->num - 1)];

	e->id = htole32(head);
	e->len = htole32(len);
	vq->used_idx++;
	/* Release: the element must be visible before the index that covers it. */
	virtq_store16(&vq->used->idx, vq->used_idx);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, new_idx = vq->used_idx, event;
	bool valid = vq->signalled_valid;

	if (!vq->num)
		return false;
	/* Full barrier: our used->idx store must be ordered before reading the
	 * driver's suppression fields, or both sides may wait for the other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	if (!vq->event_idx)
		return !(virtq_load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	event = virtq_load16(&vq->avail->ring[vq->num]); /* used_event */
	return !valid || vring_need_event(event, new_idx, old);
}

bool virtq_enable_kick(struct virtq *vq)
{
	if (!vq->num)
		return false;
	if (vq->event_idx)
		virtq_store16(&vq->used->ring[vq->num], vq->last_avail); /* avail_event */
	else
		virtq_store16(&vq->used->flags, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_has_avail(vq);
}

uint64_t virtq_chain_read(const struct virtq_chain *ch, uint64_t off, void *dst, uint64_t len)
{
	uint64_t done = 0;
	uint32_t i;

	for (i = 0; i < ch->n_out && done < len; i++) {
		uint64_t seg = ch->iov[i].iov_len, n;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		n = seg - off < len - done ? seg - off : len - done;
		memcpy((uint8_t *)dst + done, (uint8_t *)ch->iov[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint64_t virtq_chain_write(const struct virtq_chain *ch, uint64_t off, const void *src, uint64_t len)
{
	uint64_t done = 0;
	uint32_t i;

	for (i = ch->n_out; i < ch->n_out + ch->n_in && done < len; i++) {
		uint64_t seg = ch->iov[i].iov_len, n;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		n = seg - off < len - done ? seg - off : len - done;
		memcpy((uint8_t *)ch->iov[i].iov_base + off, (const uint8_t *)src + done, n);
		done += n;
		off = 0;
	}
	return done;
}
