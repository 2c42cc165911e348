/* SPDX-License-Identifier: MIT */
/* test_lab_role.c: the texts role services write (NAT, filter and gateway rulesets, torrc) and tor log parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "roles/role_schemas.h"
#include "roles/router.c"
#include "roles/tor_gateway.c"

/* The live lab is not exercised here: these fakes only satisfy the linker. */
int lab_plugin_stop_requested(void) { return 0; }
int lab_exec(struct lab *lab, const char *vm, const char *const *argv, uint32_t timeout_ms,
	     struct agent_exec_result *res)
{
	(void)lab; (void)vm; (void)argv; (void)timeout_ms; (void)res;
	return -ENOSYS;
}
int lab_write_file(struct lab *lab, const char *vm, const char *path, uint32_t mode,
		   const void *data, size_t len)
{
	(void)lab; (void)vm; (void)path; (void)mode; (void)data; (void)len;
	return -ENOSYS;
}
int lab_read_file(struct lab *lab, const char *vm, const char *path, uint8_t **data, size_t *len)
{
	(void)lab; (void)vm; (void)path; (void)data; (void)len;
	return -ENOSYS;
}
int lab_poll(struct lab *lab, int timeout_ms) { (void)lab; (void)timeout_ms; return 0; }
int lab_tor_wait(struct lab *lab, int timeout_s) { (void)lab; (void)timeout_s; return 0; }
const char *lab_tor_dir(const struct lab *lab) { (void)lab; return ""; }
int lab_plugin_vm_mark(struct lab_vm *vm, const char *phase, const char *span_key)
{
	(void)vm; (void)phase; (void)span_key;
	return 0;
}
void lab_set_err(struct lab *lab, const char *fmt, ...) { (void)lab; (void)fmt; }
void agent_exec_result_release(struct agent_exec_result *res) { (void)res; }

static const struct tor_gateway_lan lan = { 0xc6120301u, 24 }; /* 198.18.3.1/24 */

static void test_nat_ruleset(void **state)
{
	char buf[1024], tiny[16];

	(void)state;
	assert_int_equal(router_nat_ruleset(buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "type nat hook postrouting"));
	assert_non_null(strstr(buf, "ip saddr 198.18.0.0/15 ip daddr != 198.18.0.0/15 masquerade"));
	assert_int_equal(router_nat_ruleset(tiny, sizeof(tiny)), -ENOSPC);
}

static void test_torrc(void **state)
{
	static const char client[] = "TestingTorNetwork 1\nDirAuthority auth0 orport=5000 x";
	struct tor_gateway_lan two[2] = { lan, { 0xc6120401u, 24 } };
	char buf[4096], tiny[40];

	(void)state;
	assert_int_equal(tor_gateway_torrc(buf, sizeof(buf), client, &lan, 1), 0);
	/* the fragment first, newline-terminated, then our lines */
	assert_memory_equal(buf, client, strlen(client));
	assert_non_null(strstr(buf, "orport=5000 x\n# uvmlab"));
	assert_non_null(strstr(buf, "\nDataDirectory /var/lib/tor\n"));
	assert_non_null(strstr(buf, "User debian-tor\n"));
	assert_non_null(strstr(buf, "Log notice file /var/log/tor/notices.log\n"));
	assert_non_null(strstr(buf, "SocksPort 0\n"));
	assert_non_null(strstr(buf, "TransPort 198.18.3.1:9040\nDNSPort 198.18.3.1:5300\n"));
	/* tor insists on a /16 or larger, outside the lab */
	assert_non_null(strstr(buf, "VirtualAddrNetworkIPv4 10.192.0.0/10\n"));
	assert_non_null(strstr(buf, "AutomapHostsOnResolve 1\n"));
	assert_int_equal(tor_gateway_torrc(buf, sizeof(buf), "", two, 2), 0);
	assert_non_null(strstr(buf, "TransPort 198.18.4.1:9040\n"));
	assert_int_equal(tor_gateway_torrc(tiny, sizeof(tiny), client, &lan, 1), -ENOSPC);
}

static void test_gateway_strict(void **state)
{
	char buf[8192];

	(void)state;
	assert_int_equal(tor_gateway_ruleset(buf, sizeof(buf), GATEWAY_STRICT, &lan, 1, 101), 0);
	assert_non_null(strstr(buf, "table inet uvmlab_gw"));
	assert_non_null(strstr(buf, "ip saddr 198.18.3.0/24 udp dport 53 redirect to :5300"));
	assert_non_null(strstr(buf, "ip saddr 198.18.3.0/24 tcp flags & (fin|syn|rst|ack) == syn redirect to :9040"));
	assert_non_null(strstr(buf, "hook input priority filter; policy drop;"));
	assert_non_null(strstr(buf, "hook forward priority filter; policy drop;"));
	assert_non_null(strstr(buf, "hook output priority filter; policy drop;"));
	assert_non_null(strstr(buf, "meta skuid 101 accept"));
	assert_non_null(strstr(buf, "ip daddr 198.18.3.0/24 accept"));
	/* strict never NATs the LAN out */
	assert_null(strstr(buf, "masquerade"));
}

static void test_gateway_leaky(void **state)
{
	char buf[8192];

	(void)state;
	assert_int_equal(tor_gateway_ruleset(buf, sizeof(buf), GATEWAY_LEAKY, &lan, 1, 101), 0);
	assert_non_null(strstr(buf, "ip daddr 198.18.3.1 udp dport 53 redirect to :5300"));
	assert_non_null(strstr(buf, "ip saddr 198.18.3.0/24 ip daddr != 198.18.3.0/24 masquerade"));
	assert_null(strstr(buf, "policy drop"));
	assert_null(strstr(buf, ":9040"));
}

/* open-output: the LAN side stays strict, only the gateway's own output opens. */
static void test_gateway_open_output(void **state)
{
	char strict[8192], open[8192];

	(void)state;
	assert_int_equal(tor_gateway_ruleset(strict, sizeof(strict), GATEWAY_STRICT, &lan, 1, 101), 0);
	assert_int_equal(tor_gateway_ruleset(open, sizeof(open), GATEWAY_OPEN_OUTPUT, &lan, 1, 101), 0);
	assert_null(strstr(open, "meta skuid"));
	assert_non_null(strstr(open, "ip daddr 198.18.3.0/24 accept\n\t\taccept\n\t}\n}\n"));
	assert_non_null(strstr(open, "hook forward priority filter; policy drop;"));
	assert_null(strstr(open, "masquerade"));
	/* everything before the output chain's last rule is the strict ruleset */
	assert_memory_equal(open, strict, (size_t)(strstr(strict, "\t\tmeta skuid") - strict));
}

static void test_tor_progress(void **state)
{
	static const char log[] =
		"Nov 22 16:51:34.000 [notice] Bootstrapped 0% (starting): Starting\n"
		"Nov 22 16:51:34.000 [notice] Bootstrapped 50% (loading_descriptors): Loading relay descriptors\n"
		"Nov 22 16:51:35.000 [notice] Bootstrapped 75% (enough_dirinfo): Loaded enough\n"
		"Nov 22 16:51:35.000 [notice] Bootstrapped 1000% bogus\n"
		"Nov 22 16:51:35.000 [notice] Bootstrapped x% bogus\n";
	char line[256];

	(void)state;
	assert_int_equal(tor_gateway_progress(log, line, sizeof(line)), 75);
	assert_string_equal(line, "Bootstrapped 75% (enough_dirinfo): Loaded enough");
	assert_int_equal(tor_gateway_progress("", line, sizeof(line)), -1);
	assert_string_equal(line, "");
	assert_int_equal(tor_gateway_progress(NULL, NULL, 0), -1);
	assert_int_equal(tor_gateway_progress("[notice] Bootstrapped 100% (done): Done", NULL, 0), 100);
}

/* A scenario and its plan, for the filter ruleset. */
struct filter_fixture {
	struct scenario *scn;
	struct plan *plan;
};

static void filter_fixture_load(struct filter_fixture *fx, const char *yaml)
{
	struct scn_diag diag;
	char line[1400];
	int rc;

	rc = scenario_parse("t.yaml", yaml, strlen(yaml), &fx->scn, &diag);
	if (rc) {
		scn_diag_format(&diag, line, sizeof(line));
		print_error("%s\n", line);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(plan_build(fx->scn, &fx->plan, &diag), 0);
}

static void filter_fixture_free(struct filter_fixture *fx)
{
	plan_free(fx->plan);
	scenario_free(fx->scn);
}

/* scenarios/segmented.yaml's topology and filter */
static const char segmented[] =
	"name: seg\n"
	"networks:\n"
	"  left:  { subnet: 198.18.20.0/24 }\n"
	"  right: { subnet: 198.18.21.0/24 }\n"
	"vms:\n"
	"  router:\n"
	"    role: router\n"
	"    nics: [left, right]\n"
	"    filter:\n"
	"      default: drop\n"
	"      rules:\n"
	"        - { from: eve, to: right, action: drop }\n"
	"        - { from: alice, to: bob, action: accept }\n"
	"  alice: { nics: [left], depends_on: [router] }\n"
	"  eve:   { nics: [left], depends_on: [router] }\n"
	"  bob:   { nics: [right], depends_on: [router] }\n";

static void test_filter_ruleset_segmented(void **state)
{
	struct filter_fixture fx;
	char buf[4096];

	(void)state;
	filter_fixture_load(&fx, segmented);
	assert_int_equal(router_filter_ruleset(buf, sizeof(buf), fx.plan,
						 plan_find_vm(fx.plan, "router")), 0);
	assert_string_equal(buf,
		"table inet uvmlab_filter {\n"
		"\tchain forward {\n"
		"\t\ttype filter hook forward priority filter; policy drop;\n"
		"\t\tct state established,related accept\n"
		"\t\tip saddr 198.18.20.3 ip daddr 198.18.21.0/24 drop comment \"rule 1 (line 12)\"\n"
		"\t\tip saddr 198.18.20.2 ip daddr 198.18.21.2 accept comment \"rule 2 (line 13)\"\n"
		"\t}\n"
		"}\n");
	/* a filtering router boots with forwarding off: roles/router.c turns it on */
	assert_false(plan_find_vm(fx.plan, "router")->forward);
	filter_fixture_free(&fx);
}

/* A VM with two NICs stands for both addresses; protos and ports; "any". */
static void test_filter_ruleset_mix(void **state)
{
	static const char yaml[] =
		"name: mix\n"
		"networks:\n"
		"  left:  { subnet: 198.18.20.0/24 }\n"
		"  right: { subnet: 198.18.21.0/28 }\n"
		"vms:\n"
		"  router:\n"
		"    role: router\n"
		"    nics: [left, right]\n"
		"    filter:\n"
		"      rules:\n"
		"        - { from: dual, action: drop }\n"
		"        - { to: dual, proto: tcp, port: 22, action: accept }\n"
		"        - { from: left, proto: udp, port: 53, action: accept }\n"
		"        - { from: left, to: bob, proto: udp, action: drop }\n"
		"        - { proto: icmp, action: accept }\n"
		"        - { proto: tcp, action: drop }\n"
		"        - { action: drop }\n"
		"  dual: { nics: [right, left] }\n"
		"  bob:  { nics: [right] }\n"
		"  other: { role: router, nics: [left], filter: }\n";
	struct filter_fixture fx;
	char buf[4096];

	(void)state;
	filter_fixture_load(&fx, yaml);
	assert_int_equal(router_filter_ruleset(buf, sizeof(buf), fx.plan,
						 plan_find_vm(fx.plan, "router")), 0);
	assert_string_equal(buf,
		"table inet uvmlab_filter {\n"
		"\tchain forward {\n"
		"\t\ttype filter hook forward priority filter; policy accept;\n"
		"\t\tct state established,related accept\n"
		"\t\tip saddr { 198.18.21.2, 198.18.20.3 } drop comment \"rule 1 (line 11)\"\n"
		"\t\tip daddr { 198.18.21.2, 198.18.20.3 } tcp dport 22 accept comment \"rule 2 (line 12)\"\n"
		"\t\tip saddr 198.18.20.0/24 udp dport 53 accept comment \"rule 3 (line 13)\"\n"
		"\t\tip saddr 198.18.20.0/24 ip daddr 198.18.21.3 meta l4proto udp drop comment \"rule 4 (line 14)\"\n"
		"\t\tmeta l4proto icmp accept comment \"rule 5 (line 15)\"\n"
		"\t\tmeta l4proto tcp drop comment \"rule 6 (line 16)\"\n"
		"\t\tdrop comment \"rule 7 (line 17)\"\n"
		"\t}\n"
		"}\n");
	/* an empty filter: replies pass, the rest too, but the table is there */
	assert_int_equal(router_filter_ruleset(buf, sizeof(buf), fx.plan,
						 plan_find_vm(fx.plan, "other")), 0);
	assert_string_equal(buf,
		"table inet uvmlab_filter {\n"
		"\tchain forward {\n"
		"\t\ttype filter hook forward priority filter; policy accept;\n"
		"\t\tct state established,related accept\n"
		"\t}\n"
		"}\n");
	/* no filter: nothing to build */
	assert_int_equal(router_filter_ruleset(buf, sizeof(buf), fx.plan,
						 plan_find_vm(fx.plan, "bob")), -EINVAL);
	filter_fixture_free(&fx);
}

/* Every size short of the text is -ENOSPC, never a truncated ruleset. */
static void test_filter_ruleset_overflow(void **state)
{
	struct filter_fixture fx;
	const struct plan_vm *router;
	char buf[4096], *small;
	size_t need, n;

	(void)state;
	filter_fixture_load(&fx, segmented);
	router = plan_find_vm(fx.plan, "router");
	assert_int_equal(router_filter_ruleset(buf, sizeof(buf), fx.plan, router), 0);
	need = strlen(buf) + 1;
	for (n = 0; n < need; n++) {
		small = malloc(n ? n : 1);
		assert_non_null(small);
		assert_int_equal(router_filter_ruleset(small, n, fx.plan, router), -ENOSPC);
		free(small);
	}
	small = malloc(need);
	assert_non_null(small);
	assert_int_equal(router_filter_ruleset(small, need, fx.plan, router), 0);
	assert_string_equal(small, buf);
	free(small);
	filter_fixture_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nat_ruleset),
		cmocka_unit_test(test_torrc),
		cmocka_unit_test(test_gateway_strict),
		cmocka_unit_test(test_gateway_leaky),
		cmocka_unit_test(test_gateway_open_output),
		cmocka_unit_test(test_tor_progress),
		cmocka_unit_test(test_filter_ruleset_segmented),
		cmocka_unit_test(test_filter_ruleset_mix),
		cmocka_unit_test(test_filter_ruleset_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
