/* SPDX-License-Identifier: MIT */
/* fuzz_vhost_user.c: vhost-user message streams into the device library, rings in a local buffer. */
#include "vhost/vhost_user.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define FUZZ_GPA 0x40000ull
#define FUZZ_UVA 0x7f0000000000ull
#define FUZZ_MEM 0x8000u

struct fuzz_ctx {
	struct vhost_user_dev *dev;
};

/* What a backend does on a kick: drain the ring, using every byte. */
static int fuzz_kick(void *opaque, uint32_t qidx)
{
	struct fuzz_ctx *c = opaque;
	struct virtq *vq = vhost_user_dev_vq(c->dev, qidx);
	struct virtq_chain ch;
	uint8_t b[64];
	int i, ret;

	for (i = 0; vq && i < 32; i++) {
		ret = virtq_pop(vq, &c->dev->mem, &ch);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
		virtq_chain_read(&ch, 0, b, sizeof(b));
		virtq_chain_write(&ch, 0, b, sizeof(b));
		virtq_push(vq, ch.head, 1);
		vhost_user_dev_notify(c->dev, qidx);
	}
	return 0;
}

static int fuzz_get_config(void *opaque, uint32_t offset, uint8_t *buf, uint32_t len)
{
	if (offset > 8 || len > 8 - offset)
		return -22;
	memset(buf, 3, len);
	return 0;
}

static const struct vhost_user_dev_ops fuzz_ops = {
	.nqueues = 2,
	.get_config = fuzz_get_config,
	.kick = fuzz_kick,
};

/* Input: a stream of (12-byte header, payload) messages. SET_MEM_TABLE is
 * skipped (mapping fds is the unit test's job); guest memory is a fixed local
 * region (gpa FUZZ_GPA, uva FUZZ_UVA) holding a copy of the input. KICK/CALL get a fresh eventfd
 * unless the message says NOFD. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem_buf;
	struct fuzz_ctx ctx = { 0 };
	struct vhost_user_msg m;
	uint8_t sink[1024];
	size_t off = 0;
	int sv[2];

	if (!mem_buf)
		mem_buf = aligned_alloc(4096, FUZZ_MEM);
	memset(mem_buf, 0, FUZZ_MEM);
	/* The input doubles as guest memory: rings and buffers sit after the
	 * messages, which end at the first header that does not parse. */
	memcpy(mem_buf, data, size < FUZZ_MEM ? size : FUZZ_MEM);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (vhost_user_dev_create(sv[0], -1, &fuzz_ops, &ctx, "fuzz", &ctx.dev) < 0) {
		close(sv[1]);
		return 0;
	}
	vhost_user_mem_add(&ctx.dev->mem, FUZZ_GPA, FUZZ_UVA, mem_buf, FUZZ_MEM);
	while (off + VHOST_USER_HDR_SIZE <= size) {
		const uint8_t *hdr = data + off;
		size_t avail = size - off - VHOST_USER_HDR_SIZE;
		uint32_t psize;
		int i;

		memcpy(&psize, hdr + 8, 4);
		if (vhost_user_msg_parse(&m, hdr, hdr + VHOST_USER_HDR_SIZE, avail) < 0)
			break;
		off += VHOST_USER_HDR_SIZE + psize;
		m.nfds = 0;
		for (i = 0; i < (int)VHOST_USER_MAX_FDS; i++)
			m.fds[i] = -1;
		if (m.request == VHOST_USER_SET_MEM_TABLE)
			continue;
		if ((m.request == VHOST_USER_SET_VRING_KICK || m.request == VHOST_USER_SET_VRING_CALL) &&
		    !(m.p.u64 & VHOST_USER_VRING_NOFD)) {
			m.fds[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			m.nfds = m.fds[0] >= 0;
		}
		if (vhost_user_dev_dispatch(ctx.dev, &m) < 0)
			break;
		while (read(sv[1], sink, sizeof(sink)) > 0)
			;
	}
	vhost_user_dev_destroy(ctx.dev);
	close(sv[1]);
	return 0;
}
