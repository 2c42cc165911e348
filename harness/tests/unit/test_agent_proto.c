/* SPDX-License-Identifier: MIT */
/* test_agent_proto.c: agent frame codec: round trips and every malformed-input path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/agent_proto.c"

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void test_roundtrip(void **state)
{
	struct agent_buf b = { 0 };
	struct agent_attr_view a;
	uint32_t type, len, off = 0, u32;
	uint64_t u64;
	char s[16];
	const uint8_t blob[3] = { 0, 0xff, 7 };

	(void)state;
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_EXEC_RESP), 0);
	assert_int_equal(agent_buf_put_u32(&b, AGENT_ATTR_EXIT_STATUS, 0x01020304u), 0);
	assert_int_equal(agent_buf_put_u64(&b, AGENT_ATTR_BOOTTIME_INIT_NS, 0x1122334455667788ull), 0);
	assert_int_equal(agent_buf_put_str(&b, AGENT_ATTR_VM_NAME, "tor"), 0);
	assert_int_equal(agent_buf_put(&b, AGENT_ATTR_STDOUT, blob, sizeof(blob)), 0);
	assert_int_equal(agent_buf_put(&b, AGENT_ATTR_STDERR, NULL, 0), 0);
	agent_buf_finish(&b);
	assert_int_equal(b.len, 8 + 12 + 16 + 11 + 11 + 8);
	/* Wire bytes are little endian regardless of host. */
	assert_int_equal(b.data[0], AGENT_MSG_EXEC_RESP);
	assert_int_equal(b.data[4], b.len - 8);
	assert_int_equal(b.data[8 + 8], 0x04);

	assert_int_equal(agent_hdr_decode(b.data, &type, &len), 0);
	assert_int_equal(type, AGENT_MSG_EXEC_RESP);
	assert_int_equal(len, b.len - 8);
	const uint8_t *p = b.data + 8;
	assert_int_equal(agent_payload_check(p, len), 0);

	assert_int_equal(agent_attr_next(p, len, &off, &a), 1);
	assert_int_equal(a.tag, AGENT_ATTR_EXIT_STATUS);
	assert_int_equal(agent_attr_u32(&a, &u32), 0);
	assert_int_equal(u32, 0x01020304u);
	assert_int_equal(agent_attr_u64(&a, &u64), -EPROTO);

	assert_int_equal(agent_attr_next(p, len, &off, &a), 1);
	assert_int_equal(agent_attr_u64(&a, &u64), 0);
	assert_true(u64 == 0x1122334455667788ull);
	assert_int_equal(agent_attr_u32(&a, &u32), -EPROTO);

	assert_int_equal(agent_attr_next(p, len, &off, &a), 1);
	assert_int_equal(agent_attr_str(&a, s, sizeof(s)), 0);
	assert_string_equal(s, "tor");
	assert_int_equal(agent_attr_str(&a, s, 4), 0);
	assert_int_equal(agent_attr_str(&a, s, 3), -ENAMETOOLONG);
	assert_int_equal(agent_attr_str(&a, s, 0), -ENAMETOOLONG);

	assert_int_equal(agent_attr_next(p, len, &off, &a), 1);
	assert_int_equal(a.tag, AGENT_ATTR_STDOUT);
	assert_int_equal(a.len, 3);
	assert_memory_equal(a.val, blob, 3);
	/* Bytes with a NUL are fine as bytes but not as a string. */
	assert_int_equal(agent_attr_str(&a, s, sizeof(s)), -EPROTO);

	assert_int_equal(agent_attr_next(p, len, &off, &a), 1);
	assert_int_equal(a.len, 0);
	assert_int_equal(agent_attr_str(&a, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	assert_int_equal(agent_attr_next(p, len, &off, &a), 0);
	assert_int_equal(agent_attr_next(p, len, &off, &a), 0);

	assert_int_equal(agent_attr_find(p, len, AGENT_ATTR_VM_NAME, &a), 1);
	assert_int_equal(a.len, 3);
	assert_int_equal(agent_attr_find(p, len, AGENT_ATTR_PATH, &a), 0);

	/* Restarting drops the old contents but keeps the memory. */
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_HELLO), 0);
	agent_buf_finish(&b);
	assert_int_equal(b.len, 8);
	assert_int_equal(agent_hdr_decode(b.data, &type, &len), 0);
	assert_int_equal(len, 0);
	agent_buf_release(&b);
	assert_null(b.data);
	agent_buf_release(NULL);
}

static void test_hdr_limits(void **state)
{
	uint8_t h[8];
	uint32_t type = 77, len = 77;

	(void)state;
	le32(h, 0);
	le32(h + 4, 0);
	assert_int_equal(agent_hdr_decode(h, &type, &len), -EPROTO);
	le32(h, AGENT_MSG_TYPE_MAX + 1);
	assert_int_equal(agent_hdr_decode(h, &type, &len), -EPROTO);
	assert_int_equal(type, 77);
	le32(h, AGENT_MSG_ERROR);
	le32(h + 4, AGENT_MAX_PAYLOAD);
	assert_int_equal(agent_hdr_decode(h, &type, &len), 0);
	assert_int_equal(len, AGENT_MAX_PAYLOAD);
	le32(h + 4, AGENT_MAX_PAYLOAD + 1);
	assert_int_equal(agent_hdr_decode(h, &type, &len), -EPROTO);
	le32(h + 4, 0xffffffffu);
	assert_int_equal(agent_hdr_decode(h, &type, &len), -EPROTO);
}

static void test_attr_malformed(void **state)
{
	struct agent_attr_view a;
	uint8_t p[32] = { 0 };
	uint32_t off;

	(void)state;
	/* Header cut short. */
	off = 0;
	assert_int_equal(agent_attr_next(p, 7, &off, &a), -EPROTO);
	assert_int_equal(agent_payload_check(p, 7), -EPROTO);
	/* Value runs one past the end. */
	p[0] = AGENT_ATTR_DATA;
	le32(p + 4, 5);
	off = 0;
	assert_int_equal(agent_attr_next(p, 12, &off, &a), -EPROTO);
	off = 0;
	assert_int_equal(agent_attr_next(p, 13, &off, &a), 1);
	assert_int_equal(off, 13);
	/* A huge value length must not wrap the bounds check. */
	le32(p + 4, 0xfffffff8u);
	off = 0;
	assert_int_equal(agent_attr_next(p, 32, &off, &a), -EPROTO);
	/* Reserved field must be zero. */
	le32(p + 4, 0);
	p[2] = 1;
	off = 0;
	assert_int_equal(agent_attr_next(p, 8, &off, &a), -EPROTO);
	p[2] = 0;
	p[3] = 0x80;
	assert_int_equal(agent_payload_check(p, 8), -EPROTO);
	assert_int_equal(agent_attr_find(p, 8, AGENT_ATTR_DATA, &a), -EPROTO);
	p[3] = 0;
	/* Good attribute followed by garbage: find of the first still works,
	 * find of a later tag reports the damage. */
	assert_int_equal(agent_attr_find(p, 12, AGENT_ATTR_DATA, &a), 1);
	assert_int_equal(agent_attr_find(p, 12, AGENT_ATTR_PATH, &a), -EPROTO);
	/* An offset already past the end is an error, not a read. */
	off = 20;
	assert_int_equal(agent_attr_next(p, 8, &off, &a), -EPROTO);
	/* Empty payload is valid. */
	assert_int_equal(agent_payload_check(p, 0), 0);
}

static void test_payload_limit(void **state)
{
	struct agent_buf b = { 0 };
	uint8_t *big = calloc(1, AGENT_MAX_PAYLOAD);

	(void)state;
	assert_non_null(big);
	assert_int_equal(agent_buf_put(&b, 1, "x", 1), -EINVAL);
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_READ_RESP), 0);
	assert_int_equal(agent_buf_put(&b, AGENT_ATTR_DATA, big, AGENT_MAX_PAYLOAD), -E2BIG);
	assert_int_equal(agent_buf_put(&b, AGENT_ATTR_DATA, big,
				       AGENT_MAX_PAYLOAD - AGENT_ATTR_HDR_LEN), 0);
	assert_int_equal(agent_buf_put(&b, AGENT_ATTR_DATA, NULL, 0), -E2BIG);
	agent_buf_finish(&b);
	assert_int_equal(b.len, AGENT_HDR_LEN + AGENT_MAX_PAYLOAD);
	/* A failed put leaves the frame as it was. */
	assert_int_equal(agent_payload_check(b.data + 8, AGENT_MAX_PAYLOAD), 0);
	agent_buf_release(&b);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_hdr_limits),
		cmocka_unit_test(test_attr_malformed),
		cmocka_unit_test(test_payload_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
