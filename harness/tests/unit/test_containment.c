/* SPDX-License-Identifier: MIT */
/* test_containment.c: which addresses a frame at the lab's egress may carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "probes/containment.c"

static enum containment_class cls(const char *text)
{
	uint8_t a[16] = { 0 };

	if (inet_pton(AF_INET, text, a) == 1)
		return containment_addr_class(FLOW_FAMILY_IPV4, a);
	assert_int_equal(inet_pton(AF_INET6, text, a), 1);
	return containment_addr_class(FLOW_FAMILY_IPV6, a);
}

static void test_ipv4_ranges(void **state)
{
	(void)state;
	assert_int_equal(cls("198.18.0.1"), CONTAINMENT_LAB);
	assert_int_equal(cls("198.19.255.254"), CONTAINMENT_LAB);
	/* the edges of the /15 */
	assert_int_equal(cls("198.17.255.255"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("198.20.0.0"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("192.0.2.9"), CONTAINMENT_TESTNET);
	assert_int_equal(cls("198.51.100.3"), CONTAINMENT_TESTNET);
	assert_int_equal(cls("203.0.113.80"), CONTAINMENT_TESTNET);
	assert_int_equal(cls("203.0.114.1"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("192.0.3.1"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("0.0.0.0"), CONTAINMENT_LINK);
	assert_int_equal(cls("0.0.0.1"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("255.255.255.255"), CONTAINMENT_LINK);
	assert_int_equal(cls("224.0.0.251"), CONTAINMENT_LINK);
	assert_int_equal(cls("224.0.1.1"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("169.254.7.7"), CONTAINMENT_LINK);
	assert_int_equal(cls("100.64.0.1"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("10.0.0.1"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("8.8.8.8"), CONTAINMENT_OUTSIDE);
}

static void test_ipv6_ranges(void **state)
{
	(void)state;
	assert_int_equal(cls("2001:db8::1"), CONTAINMENT_TESTNET);
	assert_int_equal(cls("2001:db9::1"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("::"), CONTAINMENT_LINK);
	assert_int_equal(cls("::1"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("fe80::1"), CONTAINMENT_LINK);
	assert_int_equal(cls("febf::1"), CONTAINMENT_LINK);
	assert_int_equal(cls("fec0::1"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("ff02::1:ff00:1"), CONTAINMENT_LINK);
	assert_int_equal(cls("ff05::2"), CONTAINMENT_OUTSIDE);
	assert_int_equal(cls("2606:4700::1111"), CONTAINMENT_OUTSIDE);
}

static void test_frames(void **state)
{
	uint8_t lab[16] = { 198, 18, 3, 2 }, web[16] = { 203, 0, 113, 80 }, out[16] = { 100, 64, 0, 1 };
	uint8_t zero[16] = { 0 };

	(void)state;
	assert_int_equal(containment_outside(FLOW_FAMILY_IPV4, lab, web), 0);
	assert_int_equal(containment_outside(FLOW_FAMILY_IPV4, web, lab), 0);
	assert_int_equal(containment_outside(FLOW_FAMILY_IPV4, lab, out), 1);
	assert_int_equal(containment_outside(FLOW_FAMILY_IPV4, out, lab), 1);
	/* ARP is judged by its addresses too */
	assert_int_equal(containment_outside(FLOW_FAMILY_ARP, lab, out), 1);
	assert_int_equal(containment_outside(FLOW_FAMILY_ARP, zero, lab), 0);
	/* no address, nothing to judge */
	assert_int_equal(containment_outside(FLOW_FAMILY_NONE, out, out), 0);
	assert_int_equal(containment_addr_class(99, lab), CONTAINMENT_OUTSIDE);
	assert_string_equal(containment_class_name(CONTAINMENT_OUTSIDE), "outside");
	assert_string_equal(containment_class_name(CONTAINMENT_TESTNET), "internet");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_ranges),
		cmocka_unit_test(test_ipv6_ranges),
		cmocka_unit_test(test_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
