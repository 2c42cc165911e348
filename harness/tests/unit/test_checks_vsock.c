/* SPDX-License-Identifier: MIT */
/* test_checks_vsock.c: vsock verdicts, and never a blocked pass over a dead carrier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "checks/checks_vsock.c"
#include "checks/check_schemas.h"

/* A fake lab: the carrier's health and the transfer's outcome are scripted. */
static int fake_health[2];      /* lab_vsock_health() results, before and after */
static int fake_health_calls;
static int fake_xfer_ret;
static struct lab_xfer_result fake_x;
static char fake_err[256];

int lab_vsock_health(struct lab *lab)
{
	(void)lab;
	int r = fake_health[fake_health_calls < 2 ? fake_health_calls : 1];

	fake_health_calls++;
	if (r < 0)
		snprintf(fake_err, sizeof(fake_err), "vsock backend uvmlab-vsockd (pid 42) died: "
			 "killed by signal 9");
	return r;
}

int lab_xfer(struct lab *lab, const struct plan *plan, const char *from, const char *to,
	     enum lab_xfer_transport transport, uint16_t port, uint32_t bytes, uint32_t msg,
	     struct lab_xfer_result *res)
{
	(void)lab; (void)plan; (void)from; (void)to; (void)transport; (void)port; (void)bytes; (void)msg;
	*res = fake_x;
	if (fake_xfer_ret < 0)
		snprintf(fake_err, sizeof(fake_err), "vm \"a\" is dead: QEMU (pid 7) died: killed by signal 9");
	return fake_xfer_ret;
}

const char *lab_error(const struct lab *lab) { (void)lab; return fake_err; }
void lab_set_err(struct lab *lab, const char *fmt, ...)
{
	va_list ap;

	(void)lab;
	va_start(ap, fmt);
	vsnprintf(fake_err, sizeof(fake_err), fmt, ap);
	va_end(ap);
}

/* checks.c's recorder, as the real one */
void checks_verdict_record(json_t *row, struct checks_summary *sum, enum checks_verdict v, const char *ev)
{
	static const char *const names[] = { "fail", "pass", "inconclusive", "error" };

	json_object_set_new(row, "verdict", json_string(names[v]));
	json_object_set_new(row, "evidence", json_string(ev));
	if (v == CHECKS_VERDICT_PASS)
		sum->passed++;
	else if (v == CHECKS_VERDICT_FAIL)
		sum->failed++;
	else if (v == CHECKS_VERDICT_ERROR)
		sum->errors++;
	else
		sum->inconclusive++;
}

static const struct lab_xfer_result ok_x = {
	.ok = 1, .send_status = 0, .recv_got = 1, .sent = 65536, .received = 65536,
	.send_mbps = 12.5, .send_fnv = "0123456789abcdef", .recv_fnv = "0123456789abcdef",
};
static const struct lab_xfer_result refused_x = {
	.ok = 0, .send_status = 1, .recv_got = 0, .send_line = "connect: Connection reset by peer",
};
static const struct lab_xfer_result leaked_x = {
	.ok = 0, .send_status = 1, .recv_got = 1, .send_line = "short write",
};

static void test_judge_outcomes(void **state)
{
	struct checks_vsock_obs o = { "c", "a", 5004, NULL, NULL };
	char ev[512];

	(void)state;
	o.x = &ok_x;
	assert_int_equal(checks_vsock_judge(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_PASS);
	assert_non_null(strstr(ev, "65536 bytes, fnv1a 0123456789abcdef on both ends"));
	assert_int_equal(checks_vsock_judge(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	o.x = &refused_x;
	assert_int_equal(checks_vsock_judge(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_PASS);
	assert_non_null(strstr(ev, "sender exit 1: connect: Connection reset by peer; receiver got nothing"));
	assert_int_equal(checks_vsock_judge(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	/* the sender failed but bytes arrived: not a refusal */
	o.x = &leaked_x;
	assert_int_equal(checks_vsock_judge(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	assert_non_null(strstr(ev, "receiver got data"));
	assert_int_equal(checks_vsock_judge(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_FAIL);
	/* no transfer: an error, whatever was expected */
	o.x = NULL;
	assert_int_equal(checks_vsock_judge(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_ERROR);
	assert_int_equal(checks_vsock_judge(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_ERROR);
}

/* A dead carrier refuses everything: never a blocked pass. */
static void test_judge_dead_carrier(void **state)
{
	struct checks_vsock_obs o = { "c", "a", 5004, &refused_x,
				      "vsock backend uvmlab-vsockd (pid 42) died: killed by signal 9" };
	char ev[512];

	(void)state;
	assert_int_equal(checks_vsock_judge(&o, 0, ev, sizeof(ev)), CHECKS_VERDICT_ERROR);
	assert_non_null(strstr(ev, "not judged: vsock backend uvmlab-vsockd (pid 42) died: killed by signal 9"));
	o.x = &ok_x;
	assert_int_equal(checks_vsock_judge(&o, 1, ev, sizeof(ev)), CHECKS_VERDICT_ERROR);
}

static json_t *run_one(enum scn_expect expect, struct checks_summary *sum, int *ret)
{
	struct scn_check c = { .kind = CHECK_VSOCK, .name = "c-to-a-denied", .from = { "c" },
			       .to = { "a" }, .port = 5004, .bytes = 65536, .expect = expect };
	json_t *row = json_object();

	memset(sum, 0, sizeof(*sum));
	fake_health_calls = 0;
	*ret = checks_vsock_run(NULL, NULL, &c, row, sum);
	return row;
}

static void test_run_checks_the_carrier_around_the_transfer(void **state)
{
	struct checks_summary sum;
	json_t *row;
	int ret;

	(void)state;
	/* healthy: a refusal is a blocked pass */
	fake_health[0] = fake_health[1] = 0;
	fake_xfer_ret = 0;
	fake_x = refused_x;
	row = run_one(SCN_EXPECT_BLOCKED, &sum, &ret);
	assert_int_equal(ret, 0);
	assert_int_equal(fake_health_calls, 2);
	assert_string_equal(json_string_value(json_object_get(row, "verdict")), "pass");
	assert_int_equal(sum.passed, 1);
	json_decref(row);

	/* dead before: nothing is attempted, a lab error naming the daemon */
	fake_health[0] = fake_health[1] = -EPIPE;
	row = run_one(SCN_EXPECT_BLOCKED, &sum, &ret);
	assert_int_equal(ret, -EPIPE);
	assert_int_equal(fake_health_calls, 1);
	assert_string_equal(json_string_value(json_object_get(row, "verdict")), "error");
	assert_non_null(strstr(json_string_value(json_object_get(row, "evidence")),
			       "uvmlab-vsockd (pid 42) died: killed by signal 9"));
	assert_non_null(strstr(fake_err, "uvmlab-vsockd (pid 42) died"));
	assert_int_equal(sum.errors, 1);
	assert_int_equal(sum.passed, 0);
	json_decref(row);

	/* died during the transfer: the refusal it caused is no evidence */
	fake_health[0] = 0;
	fake_health[1] = -EPIPE;
	row = run_one(SCN_EXPECT_BLOCKED, &sum, &ret);
	assert_int_equal(ret, -EPIPE);
	assert_string_equal(json_string_value(json_object_get(row, "verdict")), "error");
	assert_int_equal(sum.errors, 1);
	json_decref(row);

	/* the transfer could not run (a dead VM): the lab's error is the evidence */
	fake_health[0] = fake_health[1] = 0;
	fake_xfer_ret = -ECHILD;
	row = run_one(SCN_EXPECT_ALLOWED, &sum, &ret);
	assert_int_equal(ret, -ECHILD);
	assert_string_equal(json_string_value(json_object_get(row, "verdict")), "error");
	assert_non_null(strstr(json_string_value(json_object_get(row, "evidence")), "vm \"a\" is dead"));
	json_decref(row);

	/* allowed and moved: pass with throughput */
	fake_xfer_ret = 0;
	fake_x = ok_x;
	row = run_one(SCN_EXPECT_ALLOWED, &sum, &ret);
	assert_int_equal(ret, 0);
	assert_string_equal(json_string_value(json_object_get(row, "verdict")), "pass");
	assert_true(json_real_value(json_object_get(row, "throughput_mbps")) > 12.0);
	json_decref(row);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge_outcomes),
		cmocka_unit_test(test_judge_dead_carrier),
		cmocka_unit_test(test_run_checks_the_carrier_around_the_transfer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
