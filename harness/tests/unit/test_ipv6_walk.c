/* SPDX-License-Identifier: MIT */
/* test_ipv6_walk.c: the IPv6 extension-header rules both BPF programs follow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/ipv6_walk.h"

/* Run the walk as the BPF programs do over BUF (the bytes after the fixed
 * IPv6 header), starting at next header NH. Returns 1 when an L4 header
 * follows (*NH its protocol, *OFF its offset in BUF), 0 when not. */
static int walk(const uint8_t *buf, uint32_t len, uint8_t *nh, uint32_t *off)
{
	*off = 0;
	for (int i = 0; i < IPV6_WALK_EXT_MAX && ipv6_walk_is_ext(*nh); i++)
		if (*off + 4 > len || !ipv6_walk_next(nh, off, buf + *off))
			return 0;
	return 1;
}

static void test_extension_headers(void **state)
{
	(void)state;
	assert_true(ipv6_walk_is_ext(0));  /* hop-by-hop */
	assert_true(ipv6_walk_is_ext(43)); /* routing */
	assert_true(ipv6_walk_is_ext(44)); /* fragment */
	assert_true(ipv6_walk_is_ext(51)); /* AH */
	assert_true(ipv6_walk_is_ext(60)); /* destination options */
	assert_false(ipv6_walk_is_ext(6));
	assert_false(ipv6_walk_is_ext(17));
	assert_false(ipv6_walk_is_ext(58));
	assert_false(ipv6_walk_is_ext(59)); /* no next header: nothing to walk */
}

static void test_lengths(void **state)
{
	/* hop-by-hop (8 bytes), dst opts of 16 (len 1), AH of 12 (len 1), then TCP */
	static const uint8_t buf[64] = {
		[0] = 60, [1] = 0,
		[8] = 51, [9] = 1,
		[24] = 6, [25] = 1,
	};
	uint32_t off;
	uint8_t nh = 0;

	(void)state;
	assert_int_equal(walk(buf, sizeof(buf), &nh, &off), 1);
	assert_int_equal(nh, 6);
	assert_int_equal(off, 8 + 16 + 12);
}

static void test_fragments(void **state)
{
	/* First fragment (offset 0, more fragments): UDP follows. */
	static const uint8_t first[16] = { [0] = 17, [3] = 1 };
	/* Offset 1 (8 bytes in): payload only, recorded as its next header. */
	static const uint8_t later[16] = { [0] = 17, [3] = 8 };
	uint32_t off;
	uint8_t nh = 44;

	(void)state;
	assert_int_equal(walk(first, sizeof(first), &nh, &off), 1);
	assert_int_equal(nh, 17);
	assert_int_equal(off, 8);
	nh = 44;
	assert_int_equal(walk(later, sizeof(later), &nh, &off), 0);
	assert_int_equal(nh, 17);
	assert_int_equal(off, 0);
}

static void test_truncated_and_bounded(void **state)
{
	/* A routing header cut off inside its first 4 bytes. */
	static const uint8_t cut[3] = { 6, 0, 0 };
	/* More hop-by-hop headers than the walk takes. */
	static uint8_t chain[8 * (IPV6_WALK_EXT_MAX + 1)];
	uint32_t off;
	uint8_t nh = 43;

	(void)state;
	assert_int_equal(walk(cut, sizeof(cut), &nh, &off), 0);
	assert_int_equal(nh, 43); /* the header it could not get past */
	nh = 0;
	assert_int_equal(walk(chain, sizeof(chain), &nh, &off), 1);
	assert_int_equal(nh, 0);
	assert_int_equal(off, 8 * IPV6_WALK_EXT_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extension_headers),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_truncated_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
