/* SPDX-License-Identifier: MIT */
/* test_checks_net.c: reading the fake internet's log: who asked, lab or Tor exit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "checks/checks_net.c"
#include "checks/check_schemas.h"
#include "services/service_schemas.h"

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
const char *lab_internet_log(const struct lab *lab) { (void)lab; return ""; }
pid_t lab_internet_web_pid(const struct lab *lab) { (void)lab; return 0; }
size_t lab_tor_exits(const struct lab *lab, const uint32_t **exits)
{
	(void)lab;
	*exits = NULL;
	return 0;
}
void checks_verdict_record(json_t *row, struct checks_summary *sum, enum checks_verdict v, const char *ev)
{
	(void)row; (void)sum; (void)v; (void)ev;
}

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
	c.kind = CHECK_FETCH;
	assert_true(checks_net_handles(&c));
	c.kind = CHECK_RESOLVE;
	assert_true(checks_net_handles(&c));
	c.kind = CHECK_REACH;
	assert_false(checks_net_handles(&c));
	c.to.name = "bob";
	assert_false(checks_net_handles(&c));
	c.to.name = SERVICE_INTERNET_REF;
	assert_true(checks_net_handles(&c));
	c.kind = CHECK_VSOCK;
	assert_false(checks_net_handles(&c));
}

/* The fake internet's view in one line: N events, L from the lab, E from exits. */
static struct checks_net_seen seen(size_t n, size_t lab, size_t ex)
{
	struct checks_net_seen s = { .n = n, .n_lab = lab, .n_exit = ex };

	if (lab)
		snprintf(s.lab, sizeof(s.lab), "198.18.1.2");
	if (ex)
		snprintf(s.exit, sizeof(s.exit), "198.51.100.6");
	if (n > lab + ex)
		snprintf(s.other, sizeof(s.other), "192.0.2.9");
	return s;
}

static void test_judge_fetch(void **state)
{
	struct checks_net_fetch_obs o = { .from = "work", .line = "", .resolved = "" };
	char ev[768];

	(void)state;
	/* through Tor: the page, and the server saw only exits */
	o.got_page = 1;
	o.seen = seen(2, 0, 2);
	assert_int_equal(checks_net_judge_fetch(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_PASS);
	assert_non_null(strstr(ev, "saw only Tor exit 198.51.100.6 (2 requests)"));
	assert_int_equal(checks_net_judge_fetch(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	/* the page came, but one request came from the lab: not through Tor */
	o.seen = seen(2, 1, 1);
	assert_int_equal(checks_net_judge_fetch(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	assert_non_null(strstr(ev, "page fetched: the web server saw 198.18.1.2, a lab address"));
	/* the page, but the server logged nothing: not evidence of Tor */
	o.seen = seen(0, 0, 0);
	assert_int_equal(checks_net_judge_fetch(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	assert_non_null(strstr(ev, "saw no request"));
	/* ... or someone who is neither lab nor exit */
	o.seen = seen(1, 0, 0);
	assert_int_equal(checks_net_judge_fetch(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	assert_non_null(strstr(ev, "saw 192.0.2.9"));
	/* no page, nothing seen: blocked holds, allowed fails */
	o.got_page = 0;
	o.status = 1;
	o.line = "wget http://203.0.113.80/ failed";
	o.seen = seen(0, 0, 0);
	assert_int_equal(checks_net_judge_fetch(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_PASS);
	assert_non_null(strstr(ev, "no page from work (exit 1: wget http://203.0.113.80/ failed)"));
	assert_int_equal(checks_net_judge_fetch(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	/* no page, but a lab request reached the server: a leak, blocked fails */
	o.seen = seen(1, 1, 0);
	assert_int_equal(checks_net_judge_fetch(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	assert_non_null(strstr(ev, "no page: the web server saw 198.18.1.2"));
	/* a dead server sees nothing: no verdict either way */
	o.seen = seen(0, 0, 0);
	o.carrier_down = "the fake internet's server (pid 9) died";
	assert_int_equal(checks_net_judge_fetch(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_ERROR);
	assert_non_null(strstr(ev, "not judged: the fake internet's server (pid 9) died"));
	assert_int_equal(checks_net_judge_fetch(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_ERROR);
}

static void test_judge_resolve(void **state)
{
	struct checks_net_resolve_obs o = { .from = "work", .host = "web.test", .answer = "203.0.113.80" };
	char ev[768];

	(void)state;
	/* answered, the fake DNS saw only the Tor side (an exit or the DNS port's relay) */
	o.answered = 1;
	o.seen = seen(1, 0, 0);
	assert_int_equal(checks_net_judge_resolve(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_PASS);
	assert_non_null(strstr(ev, "web.test -> 203.0.113.80; the fake DNS saw 1 query, none from the lab"));
	assert_int_equal(checks_net_judge_resolve(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	/* answered, but asked directly from the lab */
	o.seen = seen(1, 1, 0);
	assert_int_equal(checks_net_judge_resolve(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	assert_non_null(strstr(ev, "web.test -> 203.0.113.80; the fake DNS saw a query from 198.18.1.2"));
	/* no answer and nothing from the lab: blocked holds */
	o.answered = 0;
	o.seen = seen(0, 0, 0);
	assert_int_equal(checks_net_judge_resolve(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_PASS);
	assert_non_null(strstr(ev, "web.test: no answer in work; the fake DNS saw 0 queries"));
	assert_int_equal(checks_net_judge_resolve(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	/* no answer, but a lab query got out: blocked fails */
	o.seen = seen(2, 1, 0);
	assert_int_equal(checks_net_judge_resolve(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	assert_non_null(strstr(ev, "no answer; the fake DNS saw a query from 198.18.1.2"));
	o.carrier_down = "the fake internet's server (pid 9) is stopped";
	assert_int_equal(checks_net_judge_resolve(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_ERROR);
}

static void test_judge_reach(void **state)
{
	struct checks_net_reach_obs o = { .from = "work", .proto = SCN_PROTO_ICMP, .addr = "203.0.113.80",
					  .port = "", .line = "" };
	char ev[768];

	(void)state;
	/* ICMP: an echo reply is reaching directly (Tor carries no ICMP) */
	o.replied = 1;
	assert_int_equal(checks_net_judge_reach(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_PASS);
	assert_non_null(strstr(ev, "echo reply: reached directly"));
	assert_int_equal(checks_net_judge_reach(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	o.replied = 0;
	o.status = 1;
	assert_int_equal(checks_net_judge_reach(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_PASS);
	assert_non_null(strstr(ev, "no reply (exit 1)"));
	/* ICMP has no server to be dead: judged anyway */
	o.carrier_down = "the fake internet's server (pid 9) died";
	assert_int_equal(checks_net_judge_reach(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_PASS);
	o.carrier_down = NULL;
	/* TCP through Tor: answered, but the server saw an exit, not the lab */
	o.proto = SCN_PROTO_TCP;
	o.port = "80";
	o.replied = 1;
	o.seen = seen(1, 0, 1);
	assert_int_equal(checks_net_judge_reach(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_PASS);
	assert_non_null(strstr(ev, "answered (through Tor); the fake internet saw no lab client (1 event, from exit 198.51.100.6)"));
	assert_int_equal(checks_net_judge_reach(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	/* UDP from the lab: reached directly */
	o.proto = SCN_PROTO_UDP;
	o.addr = "203.0.113.53";
	o.port = "53";
	o.replied = 0;
	o.seen = seen(1, 1, 0);
	assert_int_equal(checks_net_judge_reach(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_PASS);
	assert_non_null(strstr(ev, "udp 203.0.113.53:53 from work: the fake internet saw lab client 198.18.1.2"));
	assert_int_equal(checks_net_judge_reach(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	/* a blocked TCP/UDP verdict over a dead server proves nothing */
	o.seen = seen(0, 0, 0);
	o.carrier_down = "the fake internet's server (pid 9) died";
	assert_int_equal(checks_net_judge_reach(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_via_tor),
		cmocka_unit_test(test_scan_direct),
		cmocka_unit_test(test_scan_robust),
		cmocka_unit_test(test_handles),
		cmocka_unit_test(test_judge_fetch),
		cmocka_unit_test(test_judge_resolve),
		cmocka_unit_test(test_judge_reach),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
