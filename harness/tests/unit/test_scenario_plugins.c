/* SPDX-License-Identifier: MIT */
/* test_scenario_plugins.c: a role, a check kind and a service known only by their schema tables.
 *
 * This test links the scenario subsystem without roles/, checks/ and
 * services/ and defines its own tables instead, so what it shows is that
 * the parser and validator learn every role-, kind- and service-specific
 * word from the tables alone: key names, alternatives in messages, reserved
 * names, default check names, validation hooks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scenario/schema.h"

/* ---- the fake tables ------------------------------------------------------ */

static int fake_seen_early;

static const struct scn_key fake_role_keys[] = {
	{ .name = "speed", .parse = scn_key_u32, .at = SCN_AT(struct scn_vm, role_opt),
	  .min = 1, .max = 9 },
};

static int fake_role_early(const struct scenario *scn, const struct scn_vm *vm,
			   struct scn_diag *diag)
{
	fake_seen_early++;
	if (vm->role_opt && vm->role != 1)
		return scn_diag_set(diag, vm->loc, "vm \"%s\": speed: only for role turbo", vm->name);
	return 0;
}

static const struct scn_role_schema fake_role_plain = { .name = "plain" };
static const struct scn_role_schema fake_role_turbo = {
	.name = "turbo",
	.vm_keys = fake_role_keys,
	.n_vm_keys = 1,
	.validate_vm_early = fake_role_early,
};
const struct scn_role_schema *const scn_role_schemas[] = { &fake_role_plain, &fake_role_turbo };
const size_t scn_n_role_schemas = 2;

static const struct scn_key fake_ping_keys[] = {
	{ .name = "from", .parse = scn_key_ref, .at = SCN_AT(struct scn_check, from),
	  .what = "a vm name", .flags = SCN_KEY_REQUIRED },
	{ .name = "count", .parse = scn_key_u32, .at = SCN_AT(struct scn_check, bytes),
	  .min = 1, .max = 5 },
};

static void fake_ping_init(struct scn_check *chk)
{
	chk->bytes = 3;
}

static int fake_ping_validate(const struct scenario *scn, const struct scn_check *chk,
			      const char *where, struct scn_diag *diag)
{
	if (!scenario_find_vm(scn, chk->from.name))
		return scenario_validate_unknown(scn, diag, &chk->from, where, "from", 0);
	return 0;
}

static const struct scn_check_schema fake_check_ping = {
	.key = "ping",
	.keys = fake_ping_keys,
	.n_keys = 2,
	.name_from_only = 1,
	.init = fake_ping_init,
	.validate = fake_ping_validate,
};
static const struct scn_check_schema fake_check_audit = {
	.key = "audit",
	.keys = fake_ping_keys,
	.n_keys = 1,
	.no_expect = 1,
	.name_from_only = 1,
	.validate = fake_ping_validate,
};
const struct scn_check_schema *const scn_check_schemas[] = { &fake_check_ping, &fake_check_audit };
const size_t scn_n_check_schemas = 2;

static const struct scn_service_schema fake_service_cloud = {
	.name = "cloud",
	.net_key = "cloudy",
	.ref_name = "sky",
	.ref_what = "the cloud",
};
static const struct scn_service_schema fake_service_rain = {
	.name = "rain",
	.needs = 1,
	.needs_why = "it falls from there",
};
const struct scn_service_schema *const scn_service_schemas[] = { &fake_service_cloud,
								   &fake_service_rain };
const size_t scn_n_service_schemas = 2;

/* ---- helpers -------------------------------------------------------------- */

static void expect_error(const char *yaml, const char *want)
{
	struct scenario *scn = NULL;
	struct scn_diag diag;
	char line[1400];

	assert_int_equal(scenario_parse("t.yaml", yaml, strlen(yaml), &scn, &diag), -EINVAL);
	assert_null(scn);
	scn_diag_format(&diag, line, sizeof(line));
	assert_string_equal(line, want);
}

static struct scenario *expect_ok(const char *yaml)
{
	struct scenario *scn = NULL;
	struct scn_diag diag;
	char line[1400];
	int rc = scenario_parse("t.yaml", yaml, strlen(yaml), &scn, &diag);

	if (rc) {
		scn_diag_format(&diag, line, sizeof(line));
		print_error("%s\n", line);
	}
	assert_int_equal(rc, 0);
	return scn;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_fake_tables_parse(void **state)
{
	struct scenario *scn;

	(void)state;
	fake_seen_early = 0;
	scn = expect_ok("name: t\n"
			"networks: { lan: { subnet: 198.18.1.0/24, cloudy: true } }\n"
			"fixtures: [cloud, rain]\n"
			"vms:\n  a: { role: turbo, speed: 7, nics: [lan] }\n  b:\n"
			"checks:\n  - { ping: { from: a }, expect: allowed }\n"
			"  - { audit: { from: b } }\n"
			"policy: { allow: [ { from: a, to: sky } ] }\n");
	assert_int_equal(scn->vms[0].role, 1);
	assert_int_equal(scn->vms[0].role_opt, 7);
	assert_int_equal(scn->vms[1].role, 0);
	assert_int_equal(fake_seen_early, 2);
	assert_int_equal(scn->networks[0].services, 1u);
	assert_int_equal(scn->services, 3u);
	assert_int_equal(scn->checks[0].kind, 0);
	assert_int_equal(scn->checks[0].bytes, 3);
	assert_string_equal(scn->checks[0].name, "ping-a");
	assert_int_equal(scn->checks[1].kind, 1);
	assert_int_equal(scn->checks[1].expect, SCN_EXPECT_ALLOWED);
	assert_string_equal(scn->checks[1].name, "audit-b");
	assert_string_equal(scn_role_name(1), "turbo");
	assert_string_equal(scn_role_name(2), "?");
	scenario_free(scn);
}

static void test_fake_tables_messages(void **state)
{
	(void)state;
	expect_error("name: t\nvms: { a: { role: fast } }\n",
		     "t.yaml:2:19: vm \"a\": role: unknown role \"fast\" (expected plain or turbo)");
	expect_error("name: t\nvms: { a: { sped: 2 } }\n",
		     "t.yaml:2:13: unknown key \"sped\" in vm \"a\" (hint: did you mean \"speed\"?)");
	expect_error("name: t\nvms: { a: { speed: 2 } }\n",
		     "t.yaml:2:8: vm \"a\": speed: only for role turbo");
	expect_error("name: t\nvms: { sky: }\n",
		     "t.yaml:2:8: vm name \"sky\" is reserved (\"host\" and \"sky\" name the host "
		     "and the cloud in checks)");
	expect_error("name: t\nvms: { a: }\nchecks: [ { expect: allowed } ]\n",
		     "t.yaml:3:11: missing required key \"ping\" (or \"audit\") in check #1");
	expect_error("name: t\nvms: { a: }\nchecks: [ { ping: { from: a }, audit: { from: a } } ]\n",
		     "t.yaml:3:32: check #1: give one of ping or audit, not several");
	expect_error("name: t\nvms: { a: }\nchecks: [ { audit: { from: a }, expect: blocked } ]\n",
		     "t.yaml:3:33: check #1: an audit check takes no expect");
	expect_error("name: t\nvms: { a: }\nchecks: [ { ping: { }, expect: allowed } ]\n",
		     "t.yaml:3:13: missing required key \"from\" in check #1 ping");
}

static void test_fake_service_rules(void **state)
{
	(void)state;
	expect_error("name: t\nvms: { a: }\nfixtures: [rain]\n",
		     "t.yaml:3:11: fixtures: rain needs cloud (it falls from there)");
	expect_error("name: t\nvms: { a: }\nfixtures: [snow]\n",
		     "t.yaml:3:12: scenario: fixtures: unknown fixture \"snow\" (expected cloud or rain)");
	expect_error("name: t\nvms: { a: }\npolicy: { allow: [ { from: a, to: ground } ] }\n",
		     "t.yaml:3:35: policy rule: to: unknown vm \"ground\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fake_tables_parse),
		cmocka_unit_test(test_fake_tables_messages),
		cmocka_unit_test(test_fake_service_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
