/* SPDX-License-Identifier: MIT */
/* test_virtq.c: split virtqueue walking against malformed descriptor tables in a local buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "vhost/virtq.c"

#define GPA 0x100000ull
#define UVA 0x7f0000000000ull
#define MEMSZ 0x10000u
#define NUM 8u
#define DESC_OFF 0x0u
#define AVAIL_OFF 0x1000u
#define USED_OFF 0x2000u
#define DATA_OFF 0x4000u
#define IND_OFF 0x3000u

struct fx {
	uint8_t *buf;
	struct vhost_user_mem mem;
	struct virtq vq;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->buf = aligned_alloc(4096, MEMSZ);
	assert_non_null(f->buf);
	memset(f->buf, 0, MEMSZ);
	assert_int_equal(vhost_user_mem_add(&f->mem, GPA, UVA, f->buf, MEMSZ), 0);
	f->desc = (void *)(f->buf + DESC_OFF);
	f->avail = (void *)(f->buf + AVAIL_OFF);
	f->used = (void *)(f->buf + USED_OFF);
	assert_int_equal(virtq_init(&f->vq, NUM, f->desc, f->avail, f->used, 0, false), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	free(f->buf);
	free(f);
	return 0;
}

static void set_desc(struct vring_desc *t, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	t[i].addr = htole64(addr);
	t[i].len = htole32(len);
	t[i].flags = htole16(flags);
	t[i].next = htole16(next);
}

static void offer(struct fx *f, uint16_t head)
{
	uint16_t idx = le16toh(f->avail->idx);

	f->avail->ring[idx % NUM] = htole16(head);
	f->avail->idx = htole16(idx + 1);
}

static void test_simple_chain(void **state)
{
	struct fx *f = *state;
	struct virtq_chain ch;
	uint8_t out[8];

	memcpy(f->buf + DATA_OFF, "hello", 5);
	set_desc(f->desc, 0, GPA + DATA_OFF, 5, VRING_DESC_F_NEXT, 1);
	set_desc(f->desc, 1, GPA + DATA_OFF + 0x100, 100, VRING_DESC_F_WRITE, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), 1);
	assert_int_equal(ch.head, 0);
	assert_int_equal(ch.n_out, 1);
	assert_int_equal(ch.n_in, 1);
	assert_int_equal(ch.out_len, 5);
	assert_int_equal(ch.in_len, 100);
	assert_int_equal(virtq_chain_read(&ch, 1, out, sizeof(out)), 4);
	assert_memory_equal(out, "ello", 4);
	assert_int_equal(virtq_chain_write(&ch, 98, "xyz", 3), 2);
	assert_memory_equal(f->buf + DATA_OFF + 0x100 + 98, "xy", 2);
	virtq_push(&f->vq, ch.head, 2);
	assert_int_equal(le16toh(f->used->idx), 1);
	assert_int_equal(le32toh(f->used->ring[0].len), 2);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), 0);
}

static void test_loop(void **state)
{
	struct fx *f = *state;
	struct virtq_chain ch;

	set_desc(f->desc, 0, GPA + DATA_OFF, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f->desc, 1, GPA + DATA_OFF, 16, VRING_DESC_F_NEXT, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -ELOOP);
}

static void test_self_loop_zero_len(void **state)
{
	struct fx *f = *state;
	struct virtq_chain ch;

	/* Zero-length hops still count, so even an empty loop ends. */
	set_desc(f->desc, 3, GPA + DATA_OFF, 0, VRING_DESC_F_NEXT, 3);
	offer(f, 3);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -ELOOP);
}

static void test_zero_len_ok(void **state)
{
	struct fx *f = *state;
	struct virtq_chain ch;

	set_desc(f->desc, 2, GPA + DATA_OFF, 0, 0, 0);
	offer(f, 2);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), 1);
	assert_int_equal(ch.n_out + ch.n_in, 0);
}

static void test_ranges(void **state)
{
	struct fx *f = *state;
	struct virtq_chain ch;

	set_desc(f->desc, 0, GPA + DATA_OFF, 16, VRING_DESC_F_NEXT, 9); /* next >= num */
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -ERANGE);

	f->vq.last_avail = f->avail->idx; /* fresh start */
	offer(f, 8); /* head >= num */
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -ERANGE);

	f->vq.last_avail = f->avail->idx;
	set_desc(f->desc, 1, GPA + MEMSZ - 8, 16, 0, 0); /* runs past the end */
	offer(f, 1);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -EFAULT);

	f->vq.last_avail = f->avail->idx;
	set_desc(f->desc, 1, GPA + DATA_OFF, 0xffffffffu, 0, 0); /* huge length */
	offer(f, 1);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -E2BIG);

	f->vq.last_avail = f->avail->idx;
	set_desc(f->desc, 1, UINT64_MAX - 4, 16, 0, 0); /* wraps the address space */
	offer(f, 1);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -EFAULT);

	f->vq.last_avail = f->avail->idx;
	set_desc(f->desc, 1, GPA - 16, 32, 0, 0); /* starts below guest memory */
	offer(f, 1);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -EFAULT);
}

static void test_avail_jump(void **state)
{
	struct fx *f = *state;
	struct virtq_chain ch;

	f->avail->idx = htole16(NUM + 1);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -EOVERFLOW);
	f->avail->idx = htole16(0xffff); /* backwards counts as a jump too */
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -EOVERFLOW);
}

static void test_write_then_read(void **state)
{
	struct fx *f = *state;
	struct virtq_chain ch;

	set_desc(f->desc, 0, GPA + DATA_OFF, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(f->desc, 1, GPA + DATA_OFF, 16, 0, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -EBADMSG);
}

static void test_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_desc *ind = (void *)(f->buf + IND_OFF);
	struct virtq_chain ch;

	set_desc(ind, 0, GPA + DATA_OFF, 44, VRING_DESC_F_NEXT, 1);
	set_desc(ind, 1, GPA + DATA_OFF + 64, 100, 0, 0);
	set_desc(f->desc, 0, GPA + IND_OFF, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), 1);
	assert_int_equal(ch.out_len, 144);

	/* nested indirect */
	set_desc(ind, 1, GPA + IND_OFF, 16, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -EBADMSG);

	/* loop inside the table */
	f->vq.last_avail = f->avail->idx;
	set_desc(ind, 1, GPA + DATA_OFF, 4, VRING_DESC_F_NEXT, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -ELOOP);

	/* next beyond the table */
	f->vq.last_avail = f->avail->idx;
	set_desc(ind, 1, GPA + DATA_OFF, 4, VRING_DESC_F_NEXT, 2);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -ERANGE);

	/* INDIRECT with NEXT, zero or ragged table length, table outside memory */
	f->vq.last_avail = f->avail->idx;
	set_desc(f->desc, 0, GPA + IND_OFF, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -EBADMSG);
	f->vq.last_avail = f->avail->idx;
	set_desc(f->desc, 0, GPA + IND_OFF, 0, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -EBADMSG);
	f->vq.last_avail = f->avail->idx;
	set_desc(f->desc, 0, GPA + IND_OFF, 20, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -EBADMSG);
	f->vq.last_avail = f->avail->idx;
	set_desc(f->desc, 0, GPA + MEMSZ - 16, 32, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -EFAULT);
}

static void test_too_many_segments(void **state)
{
	struct fx *f = *state;
	struct vring_desc *ind = (void *)(f->buf + IND_OFF);
	struct virtq_chain ch;
	uint16_t i;

	for (i = 0; i < VIRTQ_MAX_SEGS + 1; i++)
		set_desc(ind, i, GPA + DATA_OFF, 1, i < VIRTQ_MAX_SEGS ? VRING_DESC_F_NEXT : 0, i + 1);
	set_desc(f->desc, 0, GPA + IND_OFF, (VIRTQ_MAX_SEGS + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->mem, &ch), -E2BIG);
}

static void test_event_idx(void **state)
{
	struct fx *f = *state;
	uint16_t *used_event = &f->avail->ring[NUM];
	uint16_t *avail_event = (uint16_t *)&f->used->ring[NUM];

	assert_int_equal(virtq_init(&f->vq, NUM, f->desc, f->avail, f->used, 0, true), 0);
	*used_event = htole16(0);
	virtq_push(&f->vq, 0, 0);
	assert_true(virtq_should_notify(&f->vq));  /* first one always */
	virtq_push(&f->vq, 1, 0);
	assert_false(virtq_should_notify(&f->vq)); /* driver asked for idx 0 only */
	*used_event = htole16(2);
	virtq_push(&f->vq, 2, 0);
	assert_true(virtq_should_notify(&f->vq));  /* crossed used_event */

	f->avail->idx = htole16(0);
	assert_false(virtq_enable_kick(&f->vq));
	assert_int_equal(le16toh(*avail_event), 0);
	f->avail->idx = htole16(1);
	assert_true(virtq_enable_kick(&f->vq));     /* raced: caller must poll */
}

static void test_no_interrupt_flag(void **state)
{
	struct fx *f = *state;

	f->avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	virtq_push(&f->vq, 0, 0);
	assert_false(virtq_should_notify(&f->vq));
	f->avail->flags = 0;
	virtq_push(&f->vq, 0, 0);
	assert_true(virtq_should_notify(&f->vq));
}

static void test_init_rejects(void **state)
{
	struct fx *f = *state;
	struct virtq vq;

	assert_int_equal(virtq_init(&vq, 3, f->desc, f->avail, f->used, 0, false), -EINVAL);
	assert_int_equal(virtq_init(&vq, 0, f->desc, f->avail, f->used, 0, false), -EINVAL);
	assert_int_equal(virtq_init(&vq, 65536, f->desc, f->avail, f->used, 0, false), -EINVAL);
	assert_int_equal(virtq_init(&vq, 8, f->buf + 8, f->avail, f->used, 0, false), -EINVAL);
	assert_int_equal(virtq_init(&vq, 8, f->desc, f->buf + 1, f->used, 0, false), -EINVAL);
	assert_int_equal(virtq_init(&vq, 8, f->desc, f->avail, f->buf + 2, 0, false), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_simple_chain),
		T(test_loop),
		T(test_self_loop_zero_len),
		T(test_zero_len_ok),
		T(test_ranges),
		T(test_avail_jump),
		T(test_write_then_read),
		T(test_indirect),
		T(test_too_many_segments),
		T(test_event_idx),
		T(test_no_interrupt_flag),
		T(test_init_rejects),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
