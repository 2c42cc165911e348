/* SPDX-License-Identifier: MIT */
/* test_plugins.c: a fake role and fake check kinds, registered through the tables alone, run by the planner and the dispatcher. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "checks/check_schemas.h"
#include "roles/role_schemas.h"
#include "checks/check.h"
#include "checks/policy.h"
#include "lab/lab_plugin.h"
#include "plan/plan.h"
#include "roles/role.h"
#include "scenario/scenario.h"

/* Ids no built-in role or kind has. */
#define FAKE_ROLE 3u
#define FAKE_CHECK_ACTIVE 6u
#define FAKE_CHECK_DEFERRED 7u

/* --- the fake role: takes the low addresses, forwards, offers itself as
 * default route, has its own upstream, keeps one host at the top --- */

#define FAKE_UPSTREAM 0xc6121ffeu /* 198.18.31.254 */

static uint32_t fake_reserved_top(const struct scn_network *net)
{
	return !strcmp(net->name, "tight") ? 1 : 0;
}

static int fake_boot_forward(const struct plan_vm *vm)
{
	(void)vm;
	return 1;
}

static uint32_t fake_route_offer(const struct plan_vm *vm, uint32_t net)
{
	size_t k;

	for (k = 0; k < vm->n_nics; k++)
		if (vm->nics[k].net == net)
			return vm->nics[k].addr;
	return 0;
}

static uint32_t fake_default_route(const struct plan *plan, const struct plan_vm *vm)
{
	(void)plan;
	(void)vm;
	return FAKE_UPSTREAM;
}

static int fake_forwards(const struct plan_vm *vm)
{
	(void)vm;
	return 1;
}

static const struct role_ops fake_plain = { .name = "app", .image = "app" };
static const struct role_ops fake_forwarder = {
	.name = "fake-forwarder",
	.image = "fake",
	.addr_first = 1,
	.reserved_top = fake_reserved_top,
	.boot_forward = fake_boot_forward,
	.route_offer = fake_route_offer,
	.route_rank = 1,
	.default_route = fake_default_route,
	.forwards = fake_forwards,
};

/* This test's registry: the scenario's "app" and the fake. */
const struct role_ops *const role_table[] = {
	[ROLE_APP] = &fake_plain,
	[FAKE_ROLE] = &fake_forwarder,
};
const size_t role_table_len = sizeof(role_table) / sizeof(role_table[0]);

/* --- the fake check kinds: one active, one judged at the end --- */

static int calls_run, calls_verdict, calls_prepare;
static int order; /* 1 when every verdict came after every run */

static const char *fake_proto(const struct scn_check *c)
{
	(void)c;
	return "fake";
}

static void fake_row(const struct scn_check *c, json_t *row)
{
	json_object_set_new(row, "fake_port", json_integer(c->port));
}

static int fake_run(struct lab *lab, const struct plan *plan, const struct scn_check *c, json_t *row,
		    struct checks_summary *sum)
{
	(void)lab;
	(void)plan;
	calls_run++;
	order = !calls_verdict;
	checks_verdict_record(row, sum, c->expect == SCN_EXPECT_ALLOWED ? CHECKS_VERDICT_PASS :
			      CHECKS_VERDICT_FAIL, "fake: ran");
	return 0;
}

static int fake_verdict(struct lab *lab, const struct plan *plan, const struct scn_check *c,
			json_t *row, json_t *cache, struct checks_summary *sum)
{
	(void)lab;
	(void)plan;
	(void)c;
	calls_verdict++;
	order = order && calls_run == 1;
	assert_true(json_is_object(cache));
	checks_verdict_record(row, sum, CHECKS_VERDICT_INCONCLUSIVE, "fake: saw nothing");
	return 0;
}

static int fake_prepare(struct lab *lab, struct lab_vm *vm)
{
	(void)lab;
	(void)vm;
	calls_prepare++;
	return 0;
}

static const struct check_ops fake_active = {
	.name = "fake-active",
	.proto = fake_proto,
	.row = fake_row,
	.run = fake_run,
	.prepare = fake_prepare,
};
static const struct check_ops fake_deferred = {
	.name = "fake-deferred",
	.proto = fake_proto,
	.verdict = fake_verdict,
};

const struct check_ops *const check_table[] = {
	[FAKE_CHECK_ACTIVE] = &fake_active,
	[FAKE_CHECK_DEFERRED] = &fake_deferred,
};
const size_t check_table_len = sizeof(check_table) / sizeof(check_table[0]);

/* The live lab is not exercised: checks.c asks only these. The lab and
 * its VM are the test's own structs behind the opaque pointers. */
struct fake_lab {
	const struct plan *plan;
};
struct fake_vm {
	const struct plan_vm *pvm;
};

const struct plan *lab_plugin_plan(const struct lab *lab)
{
	return ((const struct fake_lab *)(const void *)lab)->plan;
}
int lab_health_require(struct lab *lab, const char *name) { (void)lab; (void)name; return 0; }
int lab_health_dead_during(struct lab *lab, const char *what, int wait_ms)
{
	(void)lab; (void)what; (void)wait_ms;
	return 0;
}
int lab_vm_pause(struct lab *lab, const char *name, int on) { (void)lab; (void)name; (void)on; return 0; }
const char *lab_error(const struct lab *lab) { (void)lab; return "fake"; }

/* A scenario with standard roles only (the parser knows no fake), then
 * VM "fwd" given the fake role. */
static const char topo[] =
	"name: plug\n"
	"networks:\n"
	"  lan: { subnet: 198.18.30.0/24 }\n"
	"  up:  { subnet: 198.18.31.0/24 }\n"
	"vms:\n"
	"  client: { nics: [lan] }\n"
	"  fwd:    { nics: [lan, up] }\n"
	"  other:  { nics: [up] }\n"
	"checks:\n"
	"  - { name: one, reach: { from: client, to: fwd, proto: tcp, port: 80 }, expect: allowed }\n"
	"  - { name: two, reach: { from: client, to: other }, expect: blocked }\n";

static struct scenario *load(const char *yaml)
{
	struct scenario *scn = NULL;
	struct scn_diag diag;

	assert_int_equal(scenario_parse("t.yaml", yaml, strlen(yaml), &scn, &diag), 0);
	return scn;
}

static void test_fake_role_plans(void **state)
{
	struct scenario *scn = load(topo);
	const struct plan_vm *client, *fwd, *other;
	struct scn_diag diag;
	struct plan *plan;

	(void)state;
	scn->vms[1].role = (unsigned int)FAKE_ROLE;
	assert_int_equal(plan_build(scn, &plan, &diag), 0);
	client = plan_find_vm(plan, "client");
	fwd = plan_find_vm(plan, "fwd");
	other = plan_find_vm(plan, "other");
	/* declared second, yet first on both its networks */
	assert_int_equal(fwd->nics[0].addr, 0xc6121e01u);   /* 198.18.30.1 */
	assert_int_equal(fwd->nics[1].addr, 0xc6121f01u);   /* 198.18.31.1 */
	assert_int_equal(client->nics[0].addr, 0xc6121e02u);
	assert_int_equal(other->nics[0].addr, 0xc6121f02u);
	/* its forwarding flag and its own default route */
	assert_true(fwd->forward);
	assert_false(client->forward);
	assert_int_equal(fwd->default_route, FAKE_UPSTREAM);
	/* the VMs behind it take its offer on their networks */
	assert_int_equal(client->default_route, fwd->nics[0].addr);
	assert_int_equal(other->default_route, fwd->nics[1].addr);
	plan_free(plan);

	/* with the standard role instead, declaration order and no routes */
	scn->vms[1].role = ROLE_APP;
	assert_int_equal(plan_build(scn, &plan, &diag), 0);
	assert_int_equal(plan_find_vm(plan, "client")->nics[0].addr, 0xc6121e01u);
	assert_int_equal(plan_find_vm(plan, "client")->default_route, 0);
	assert_false(plan_find_vm(plan, "fwd")->forward);
	plan_free(plan);
	scenario_free(scn);
}

/* A role's reserved hosts shrink every network it names, VMs of it or not. */
static void test_fake_role_reserves(void **state)
{
	static const char yaml[] =
		"name: tight\n"
		"networks:\n"
		"  tight: { subnet: 198.18.40.0/30 }\n"
		"vms:\n"
		"  a: { nics: [tight] }\n"
		"  b: { nics: [tight] }\n";
	struct scenario *scn = load(yaml);
	struct scn_diag diag;
	struct plan *plan = NULL;

	(void)state;
	assert_int_equal(plan_build(scn, &plan, &diag), -EINVAL);
	assert_non_null(strstr(diag.msg, "too small"));
	assert_null(plan);
	scenario_free(scn);
}

/* A packet sent by VM (ingress on its tap) from address SRC to DST. */
static enum policy_verdict judge_sent(const struct plan *plan, const struct plan_vm *vm,
				      uint32_t src, uint32_t dst)
{
	struct flow_record rec;
	char s[32], d[32], why[160];
	size_t i;

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.ifname, sizeof(rec.ifname), "%s", vm->nics[0].tap);
	rec.dir = FLOW_DIR_INGRESS;
	rec.family = FLOW_FAMILY_IPV4;
	rec.l4proto = 6;
	rec.ethertype = 0x0800;
	for (i = 0; i < 4; i++) {
		rec.src_addr[i] = (uint8_t)(src >> (24 - 8 * i));
		rec.dst_addr[i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	return policy_judge(plan, &rec, s, d, why, sizeof(why));
}

/* The flow judge asks the role who forwards: not spoofing for the fake. */
static void test_fake_role_forwards(void **state)
{
	struct scenario *scn = load(topo);
	const struct plan_vm *client, *fwd, *other;
	struct scn_diag diag;
	struct plan *plan;

	(void)state;
	scn->vms[1].role = (unsigned int)FAKE_ROLE;
	assert_int_equal(plan_build(scn, &plan, &diag), 0);
	client = plan_find_vm(plan, "client");
	fwd = plan_find_vm(plan, "fwd");
	other = plan_find_vm(plan, "other");
	/* the forwarder passes the client's packet on toward other */
	assert_int_equal(judge_sent(plan, fwd, client->nics[0].addr, other->nics[0].addr),
			 POLICY_TRANSIT);
	/* the client sending with the forwarder's address spoofs */
	assert_int_equal(judge_sent(plan, client, fwd->nics[0].addr, other->nics[0].addr),
			 POLICY_VIOLATION);
	plan_free(plan);
	scenario_free(scn);
}

static void test_fake_checks_dispatch(void **state)
{
	struct scenario *scn = load(topo);
	struct scn_diag diag;
	struct plan *plan;
	struct fake_lab lab;
	struct fake_vm vm;
	struct checks_summary sum;
	json_t *rows = NULL, *r0, *r1;

	(void)state;
	scn->checks[0].kind = (enum check_kind)FAKE_CHECK_ACTIVE;
	scn->checks[1].kind = (enum check_kind)FAKE_CHECK_DEFERRED;
	assert_int_equal(plan_build(scn, &plan, &diag), 0);
	lab.plan = plan;
	vm.pvm = &plan->vms[0];

	/* the kinds of the scenario with a prepare hook get the VM, once each */
	calls_prepare = 0;
	assert_int_equal(checks_prepare_vm((struct lab *)(void *)&lab, (struct lab_vm *)(void *)&vm), 0);
	assert_int_equal(calls_prepare, 1);

	calls_run = calls_verdict = order = 0;
	assert_int_equal(checks_run((struct lab *)(void *)&lab, plan, &rows, &sum), 0);
	assert_int_equal(calls_run, 1);
	assert_int_equal(calls_verdict, 1);
	assert_true(order);
	assert_int_equal(json_array_size(rows), 2);
	r0 = json_array_get(rows, 0);
	r1 = json_array_get(rows, 1);
	/* the row: common keys from the dispatcher, the rest from the kind */
	assert_string_equal(json_string_value(json_object_get(r0, "kind")), "fake-active");
	assert_string_equal(json_string_value(json_object_get(r0, "proto")), "fake");
	assert_string_equal(json_string_value(json_object_get(r0, "from")), "client");
	assert_string_equal(json_string_value(json_object_get(r0, "to")), "fwd");
	assert_int_equal(json_integer_value(json_object_get(r0, "fake_port")), 80);
	assert_null(json_object_get(r0, "port"));
	assert_string_equal(json_string_value(json_object_get(r0, "verdict")), "pass");
	assert_string_equal(json_string_value(json_object_get(r0, "evidence")), "fake: ran");
	assert_string_equal(json_string_value(json_object_get(r1, "kind")), "fake-deferred");
	assert_string_equal(json_string_value(json_object_get(r1, "expect")), "blocked");
	assert_string_equal(json_string_value(json_object_get(r1, "verdict")), "inconclusive");
	assert_int_equal(sum.passed, 1);
	assert_int_equal(sum.inconclusive, 1);
	assert_int_equal(sum.failed, 0);
	assert_int_equal(sum.errors, 0);
	json_decref(rows);

	/* and through checks_verdict_record() alone */
	memset(&sum, 0, sizeof(sum));
	r0 = json_object();
	checks_verdict_record(r0, &sum, CHECKS_VERDICT_ERROR, "fake: lab down");
	assert_string_equal(json_string_value(json_object_get(r0, "verdict")), "error");
	assert_int_equal(sum.errors, 1);
	json_decref(r0);
	plan_free(plan);
	scenario_free(scn);
}

/* Evidence may carry what a guest said: the verdict table stays one line a row. */
static void test_checks_print_escapes(void **state)
{
	json_t *rows = json_pack("[{s:s,s:s,s:s}]", "name", "a-b", "verdict", "fail",
				 "evidence", "guest said \"x\ny\x1b[2J\"");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	checks_print(f, rows);
	fclose(f);
	assert_non_null(strstr(text, "guest said \"x\\ny\\x1b[2J\"\n"));
	assert_null(strchr(text, '\x1b'));
	assert_int_equal(strchr(strchr(text, '\n') + 1, '\n') - text + 1, (long)len);
	free(text);
	json_decref(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fake_role_plans),
		cmocka_unit_test(test_fake_role_reserves),
		cmocka_unit_test(test_fake_role_forwards),
		cmocka_unit_test(test_fake_checks_dispatch),
		cmocka_unit_test(test_checks_print_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
