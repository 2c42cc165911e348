/* SPDX-License-Identifier: MIT */
/* fuzz_virtq.c: descriptor tables, rings and indices written by a hostile driver. */
#include "vhost/vhost_user.h"
#include "vhost/virtq.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_GPA 0x40000ull
#define FUZZ_MEM 0x8000u

/* Input: byte 0 picks the ring size and EVENT_IDX, the rest is guest memory
 * (rings at fixed offsets, descriptors anywhere). Every popped chain is read
 * and written in full so a bad iovec shows up under ASan. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem_buf;
	struct vhost_user_mem mem = { .n = 0 };
	struct virtq_chain ch;
	struct virtq vq;
	uint8_t scratch[512];
	uint32_t num, i;
	int ret;

	if (size < 1)
		return 0;
	if (!mem_buf)
		mem_buf = aligned_alloc(4096, FUZZ_MEM);
	memset(mem_buf, 0, FUZZ_MEM);
	memcpy(mem_buf, data + 1, size - 1 < FUZZ_MEM ? size - 1 : FUZZ_MEM);
	num = 1u << (data[0] & 7);
	if (vhost_user_mem_add(&mem, FUZZ_GPA, 0x7f0000000000ull, mem_buf, FUZZ_MEM) < 0)
		return 0;
	if (virtq_init(&vq, num, mem_buf, mem_buf + 0x1000, mem_buf + 0x2000,
		       (uint16_t)(data[0] >> 4), data[0] & 8) < 0)
		return 0;
	for (i = 0; i < 64; i++) {
		ret = virtq_pop(&vq, &mem, &ch);
		if (ret <= 0)
			break;
		for (uint64_t off = 0; off < ch.out_len; off += sizeof(scratch))
			virtq_chain_read(&ch, off, scratch, sizeof(scratch));
		memset(scratch, 0xa5, sizeof(scratch));
		for (uint64_t off = 0; off < ch.in_len; off += sizeof(scratch))
			virtq_chain_write(&ch, off, scratch, sizeof(scratch));
		virtq_push(&vq, ch.head, (uint32_t)ch.in_len);
		virtq_should_notify(&vq);
		if (i % 7 == 3)
			virtq_enable_kick(&vq);
	}
	return 0;
}
