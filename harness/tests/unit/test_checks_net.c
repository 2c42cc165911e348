/* SPDX-License-Identifier: MIT */
/* test_checks_net.c: reading the fake internet's log: who asked, lab or Tor exit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/checks_net.c"

/* The live lab is not exercised here: these fakes only satisfy the linker. */
int lab_exec(struct lab *lab, const char *vm, const char *const *argv, uint32_t timeout_ms,
	     struct agent_exec_result *res)
{
	(void)lab; (void)vm; (void)argv; (void)timeout_ms; (void)res;
	return -ENOSYS;
}
const char *lab_error(const struct lab *lab) { (void)lab; return "fake"; }
void lab_set_err(struct lab *lab, const char *fmt, ...) { (void)lab; (void)fmt; }
void agent_exec_result_release(struct agent_exec_result *res) { (void)res; }

static const uint32_t exits[] = { 0xc6336405u, 0xc6336406u }; /* 198.51.100.5, .6 */

static const char log_via_tor[] =
	"{\"event\":\"start\",\"pid\":1,\"web\":\"203.0.113.80:80\",\"time\":1}\n"
	"{\"proto\":\"dns\",\"client\":\"203.0.113.53\",\"port\":5,\"qname\":\"WeB.tEsT\",\"time\":2}\n"
	"{\"proto\":\"http\",\"client\":\"198.51.100.6\",\"port\":40000,\"request\":\"GET / HTTP/1.1\",\"status\":200,\"time\":3}\n";

static void test_scan_via_tor(void **state)
{
	struct checks_net_seen s;

	(void)state;
	checks_net_scan(log_via_tor, strlen(log_via_tor), "http", exits, 2, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.n_exit, 1);
	assert_int_equal(s.n_lab, 0);
	assert_string_equal(s.exit, "198.51.100.6");
	checks_net_scan(log_via_tor, strlen(log_via_tor), "dns", exits, 2, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.n_lab, 0);
	assert_int_equal(s.n_exit, 0);
	assert_string_equal(s.other, "203.0.113.53");
}

static void test_scan_direct(void **state)
{
	static const char log[] =
		"{\"proto\":\"dns\",\"client\":\"198.18.1.1\",\"port\":5,\"qname\":\"web.test\"}\n"
		"{\"proto\":\"http\",\"client\":\"198.51.100.5\",\"port\":1}\n"
		"{\"proto\":\"http\",\"client\":\"198.19.255.1\",\"port\":2}\n"   /* 198.18.0.0/15 */
		"{\"proto\":\"http\",\"client\":\"198.20.0.1\",\"port\":3}\n";    /* outside it */
	struct checks_net_seen s;

	(void)state;
	checks_net_scan(log, strlen(log), "http", exits, 2, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.n_lab, 1);
	assert_int_equal(s.n_exit, 1);
	assert_string_equal(s.lab, "198.19.255.1");
	assert_string_equal(s.other, "198.20.0.1");
	checks_net_scan(log, strlen(log), "dns", exits, 2, &s);
	assert_int_equal(s.n_lab, 1);
	assert_string_equal(s.lab, "198.18.1.1");
}

/* A line still being written, garbage, non-objects and bad addresses are skipped. */
static void test_scan_robust(void **state)
{
	static const char log[] =
		"not json\n"
		"[1,2]\n"
		"{\"proto\":\"http\",\"client\":\"999.1.1.1\"}\n"
		"{\"proto\":\"http\",\"client\":7}\n"
		"{\"proto\":\"http\"}\n"
		"\n"
		"{\"proto\":\"http\",\"client\":\"198.18.3.2\"";   /* no newline yet */
	struct checks_net_seen s;

	(void)state;
	checks_net_scan(log, strlen(log), "http", exits, 2, &s);
	assert_int_equal(s.n, 0);
	checks_net_scan("", 0, "http", NULL, 0, &s);
	assert_int_equal(s.n, 0);
}

static void test_handles(void **state)
{
	struct scn_check c = { 0 };

	(void)state;
	c.kind = SCN_CHECK_FETCH;
	assert_true(checks_net_handles(&c));
	c.kind = SCN_CHECK_RESOLVE;
	assert_true(checks_net_handles(&c));
	c.kind = SCN_CHECK_REACH;
	assert_false(checks_net_handles(&c));
	c.to.name = "bob";
	assert_false(checks_net_handles(&c));
	c.to.name = SCN_INTERNET;
	assert_true(checks_net_handles(&c));
	c.kind = SCN_CHECK_VSOCK;
	assert_false(checks_net_handles(&c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_via_tor),
		cmocka_unit_test(test_scan_direct),
		cmocka_unit_test(test_scan_robust),
		cmocka_unit_test(test_handles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
