/* SPDX-License-Identifier: MIT */
/* test_agent_cmdline.c: the agent's uvmlab.* kernel cmdline parser, good and hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "../../../guests/agent/agent_cmdline.c"

static void parse(const char *s, struct agent_cmdline *cl)
{
	assert_int_equal(agent_cmdline_parse(s, strlen(s), cl), 0);
}

static void test_full(void **state)
{
	struct agent_cmdline cl;
	const uint8_t mac0[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	const uint8_t mac1[6] = { 0x52, 0x54, 0, 0xab, 0xcd, 0xef };

	(void)state;
	parse("console=ttyS0 panic=-1 uvmlab.vm=net uvmlab.role=router uvmlab.marker=0x402 "
	      "uvmlab.if=02:00:00:00:00:01,198.18.1.10/24 "
	      "uvmlab.if=52:54:00:AB:cd:ef,198.18.2.1/30 uvmlab.gw=198.18.1.1 "
	      "uvmlab.forward=1 quiet\n",
	      &cl);
	assert_string_equal(cl.vm, "net");
	assert_string_equal(cl.role, "router");
	assert_int_equal(cl.marker_port, 0x402);
	assert_int_equal(cl.n_ifs, 2);
	assert_memory_equal(cl.ifs[0].mac, mac0, 6);
	assert_int_equal(ntohl(cl.ifs[0].addr), 0xc612010a);
	assert_int_equal(cl.ifs[0].prefix, 24);
	assert_memory_equal(cl.ifs[1].mac, mac1, 6);
	assert_int_equal(cl.ifs[1].prefix, 30);
	assert_int_equal(cl.has_gw, 1);
	assert_int_equal(ntohl(cl.gw), 0xc6120101);
	assert_int_equal(cl.forward, 1);
	assert_int_equal(cl.n_bad, 0);
}

static void test_absent(void **state)
{
	struct agent_cmdline cl;

	(void)state;
	parse("console=ttyS0 vm=x role=y uvmlabvm=z", &cl);
	assert_string_equal(cl.vm, "");
	assert_int_equal(cl.marker_port, 0);
	assert_int_equal(cl.n_ifs, 0);
	assert_int_equal(cl.has_gw, 0);
	assert_int_equal(cl.n_bad, 0);
	assert_int_equal(agent_cmdline_parse("", 0, &cl), 0);
}

static void test_bad(void **state)
{
	struct agent_cmdline cl;
	char many[4096];
	size_t n = 0;
	int i;

	(void)state;
	parse("uvmlab.vm= uvmlab.marker=0x10000 uvmlab.marker=12z uvmlab.marker=0x "
	      "uvmlab.if=02:00:00:00:00:0g,1.2.3.4/8 uvmlab.if=02:00:00:00:00:01,1.2.3.4/33 "
	      "uvmlab.if=02:00:00:00:00:01,1.2.3.4 uvmlab.if=02:00:00:00:00:01;1.2.3.4/8 "
	      "uvmlab.if=02:00:00:00:00:01,1.2.3/8 uvmlab.gw=300.1.1.1 uvmlab.forward=2 "
	      "uvmlab.nosuch=1 uvmlab.vm uvmlab.role=0123456789012345678901234567890123456789 "
	      "uvmlab.if=02:00:00:00:00:01,1.2.3.4/",
	      &cl);
	assert_int_equal(cl.n_bad, 15);
	assert_int_equal(cl.n_ifs, 0);
	assert_int_equal(cl.marker_port, 0);
	assert_int_equal(cl.has_gw, 0);
	assert_int_equal(cl.forward, 0);
	assert_string_equal(cl.role, "");

	/* More NICs than fit: the extras are refused, the rest kept. */
	for (i = 0; i < AGENT_CMDLINE_MAX_IFS + 2; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n,
				      "uvmlab.if=02:00:00:00:00:%02x,10.0.0.%d/24 ", i, i);
	parse(many, &cl);
	assert_int_equal(cl.n_ifs, AGENT_CMDLINE_MAX_IFS);
	assert_int_equal(cl.n_bad, 2);

	/* Not NUL-terminated: the parser must stop at LEN. */
	assert_int_equal(agent_cmdline_parse("uvmlab.vm=abcdef", 12, &cl), 0);
	assert_string_equal(cl.vm, "ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
