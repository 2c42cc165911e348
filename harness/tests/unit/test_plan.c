/* SPDX-License-Identifier: MIT */
/* test_plan.c: address plan, MACs, gateways and start order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "plan/plan.c"

static struct scenario *load(const char *yaml)
{
	struct scenario *scn = NULL;
	struct scn_diag d = { 0 };
	int ret = scenario_parse("t.yaml", yaml, strlen(yaml), &scn, &d);

	if (ret) {
		char line[1400];

		scn_diag_format(&d, line, sizeof(line));
		fail_msg("parse failed: %s", line);
	}
	return scn;
}

static const char routed[] =
	"name: routed\n"
	"networks:\n"
	"  left: { subnet: 198.18.10.0/24 }\n"
	"  right: { subnet: 198.18.11.0/24 }\n"
	"vms:\n"
	"  alice: { role: app, nics: [left], depends_on: [router] }\n"
	"  router: { role: router, nics: [left, right] }\n"
	"  bob: { role: app, nics: [right], depends_on: [router, alice] }\n";

static void test_addresses_routers_first(void **state)
{
	struct scenario *scn = load(routed);
	struct plan *p = NULL;
	struct scn_diag d = { 0 };
	char a[16];

	(void)state;
	assert_int_equal(plan_build(scn, &p, &d), 0);
	const struct plan_vm *alice = plan_find_vm(p, "alice");
	const struct plan_vm *router = plan_find_vm(p, "router");
	const struct plan_vm *bob = plan_find_vm(p, "bob");
	assert_non_null(alice);
	plan_fmt_addr(router->nics[0].addr, a);
	assert_string_equal(a, "198.18.10.1");
	plan_fmt_addr(router->nics[1].addr, a);
	assert_string_equal(a, "198.18.11.1");
	plan_fmt_addr(alice->nics[0].addr, a);
	assert_string_equal(a, "198.18.10.2");
	plan_fmt_addr(bob->nics[0].addr, a);
	assert_string_equal(a, "198.18.11.2");
	assert_int_equal(alice->nics[0].prefix, 24);
	/* app VMs route through the router on their network; routers forward */
	assert_int_equal(alice->default_route, router->nics[0].addr);
	assert_int_equal(bob->default_route, router->nics[1].addr);
	assert_int_equal(router->default_route, 0);
	assert_true(router->forward);
	assert_false(alice->forward);
	assert_string_equal(p->nets[0].bridge, "br-left");
	assert_string_equal(router->nics[1].tap, "vm1n1");
	assert_int_equal(router->cid, 4);
	plan_free(p);
	scenario_free(scn);
}

static void test_order_dependencies_first(void **state)
{
	struct scenario *scn = load(routed);
	struct plan *p = NULL;
	struct scn_diag d = { 0 };
	size_t i, pos[3];

	(void)state;
	assert_int_equal(plan_build(scn, &p, &d), 0);
	for (i = 0; i < 3; i++)
		pos[p->order[i]] = i;
	/* indices: alice 0, router 1, bob 2 */
	assert_true(pos[1] < pos[0]);
	assert_true(pos[0] < pos[2]);
	assert_int_equal(p->vms[1].level, 0);
	assert_int_equal(p->vms[0].level, 1);
	assert_int_equal(p->vms[2].level, 2);
	plan_free(p);
	scenario_free(scn);
}

static void test_macs_deterministic_distinct(void **state)
{
	struct scenario *s1 = load(routed), *s2 = load(routed);
	struct plan *p1 = NULL, *p2 = NULL;
	struct scn_diag d = { 0 };
	size_t v, k, w, j;

	(void)state;
	assert_int_equal(plan_build(s1, &p1, &d), 0);
	assert_int_equal(plan_build(s2, &p2, &d), 0);
	for (v = 0; v < p1->n_vms; v++)
		for (k = 0; k < p1->vms[v].n_nics; k++) {
			const uint8_t *m = p1->vms[v].nics[k].mac;

			assert_memory_equal(m, p2->vms[v].nics[k].mac, 6);
			assert_int_equal(m[0] & 0x03, 0x02); /* local, unicast */
			for (w = 0; w < p1->n_vms; w++)
				for (j = 0; j < p1->vms[w].n_nics; j++)
					if (w != v || j != k)
						assert_memory_not_equal(m, p1->vms[w].nics[j].mac, 6);
		}
	plan_free(p1);
	plan_free(p2);
	scenario_free(s1);
	scenario_free(s2);
}

static void test_cycle_is_scenario_error(void **state)
{
	static const char y[] =
		"name: cyc\n"
		"vms:\n"
		"  a: { depends_on: [c] }\n"
		"  b: { depends_on: [a] }\n"
		"  c: { depends_on: [b] }\n";
	struct scenario *scn = load(y);
	struct plan *p = NULL;
	struct scn_diag d = { 0 };

	(void)state;
	assert_int_equal(plan_build(scn, &p, &d), -EINVAL);
	assert_null(p);
	/* the whole cycle, at the entry where it starts: a's "c" (line 3) */
	assert_non_null(strstr(d.msg, "dependency cycle: a -> c -> b -> a"));
	assert_int_equal(d.loc.line, 3);
	assert_int_equal(d.loc.col, 21);
	scenario_free(scn);
}

/* Entered from outside (x depends on the cycle, is not in it): the cycle is
 * named from the VM where the search entered it, x left out. */
static void test_cycle_named_without_its_approach(void **state)
{
	static const char y[] =
		"name: cyc\n"
		"vms:\n"
		"  x: { depends_on: [d, c] }\n"
		"  a: { depends_on: [b] }\n"
		"  b: { depends_on: [c] }\n"
		"  c: { depends_on: [a] }\n"
		"  d:\n";
	struct scenario *scn = load(y);
	struct plan *p = NULL;
	struct scn_diag d = { 0 };
	char line[1400];

	(void)state;
	assert_int_equal(plan_build(scn, &p, &d), -EINVAL);
	assert_null(p);
	snprintf(d.file, sizeof(d.file), "t.yaml");
	scn_diag_format(&d, line, sizeof(line));
	/* c's "a" (line 6, col 21) starts the cycle c -> a -> b -> c */
	assert_string_equal(line, "t.yaml:6:21: dependency cycle: c -> a -> b -> c "
				  "(each VM depends on the next)");
	scenario_free(scn);
}

static void test_subnet_too_small(void **state)
{
	static const char y[] =
		"name: small\n"
		"networks:\n"
		"  n: { subnet: 198.18.0.0/30 }\n"
		"vms:\n"
		"  a: { nics: [n] }\n"
		"  b: { nics: [n] }\n"
		"  c: { nics: [n] }\n";
	struct scenario *scn = load(y);
	struct plan *p = NULL;
	struct scn_diag d = { 0 };

	(void)state;
	assert_int_equal(plan_build(scn, &p, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "too small"));
	assert_int_equal(d.loc.line, 3);
	scenario_free(scn);
}

static void test_target_addr(void **state)
{
	struct scenario *scn = load(routed);
	struct plan *p = NULL;
	struct scn_diag d = { 0 };
	uint32_t a = 0;

	(void)state;
	assert_int_equal(plan_build(scn, &p, &d), 0);
	const struct plan_vm *alice = plan_find_vm(p, "alice");
	const struct plan_vm *router = plan_find_vm(p, "router");
	const struct plan_vm *bob = plan_find_vm(p, "bob");
	/* shared network wins */
	assert_int_equal(plan_target_addr(p, bob, router, NULL, &a), 0);
	assert_int_equal(a, router->nics[1].addr);
	/* explicit network */
	assert_int_equal(plan_target_addr(p, bob, router, "left", &a), 0);
	assert_int_equal(a, router->nics[0].addr);
	assert_int_equal(plan_target_addr(p, bob, alice, "right", &a), -ENOENT);
	/* no shared network: the first NIC */
	assert_int_equal(plan_target_addr(p, alice, bob, NULL, &a), 0);
	assert_int_equal(a, bob->nics[0].addr);
	plan_free(p);
	scenario_free(scn);
}

static const char whonix[] =
	"name: whonix\n"
	"fixtures: [fake-internet, tor-private-network]\n"
	"networks:\n"
	"  uplink: { subnet: 198.18.1.0/24, internet: true }\n"
	"  gw: { subnet: 198.18.2.0/24 }\n"
	"  tor-lan: { subnet: 198.18.3.0/24 }\n"
	"vms:\n"
	"  net: { role: router, nics: [uplink, gw] }\n"
	"  tor: { role: tor-gateway, nics: [gw, tor-lan], depends_on: [net] }\n"
	"  work: { role: app, nics: [tor-lan], depends_on: [tor] }\n"
	"  side: { role: app, nics: [gw] }\n";

static void test_whonix_gateways(void **state)
{
	struct scenario *scn = load(whonix);
	struct plan *p = NULL;
	struct scn_diag d = { 0 };
	char a[16];

	(void)state;
	assert_int_equal(plan_build(scn, &p, &d), 0);
	const struct plan_vm *net = plan_find_vm(p, "net");
	const struct plan_vm *tor = plan_find_vm(p, "tor");
	const struct plan_vm *work = plan_find_vm(p, "work");
	const struct plan_vm *side = plan_find_vm(p, "side");
	/* the router's default is the fake internet's gateway, the last host */
	plan_fmt_addr(net->default_route, a);
	assert_string_equal(a, "198.18.1.254");
	assert_true(net->forward);
	/* the tor gateway routes through the router on its uplink, never forwards */
	plan_fmt_addr(tor->nics[0].addr, a);
	assert_string_equal(a, "198.18.2.2");
	assert_int_equal(tor->default_route, net->nics[1].addr);
	assert_false(tor->forward);
	/* the workstation's only gateway is the tor gateway's LAN address */
	plan_fmt_addr(tor->nics[1].addr, a);
	assert_string_equal(a, "198.18.3.1");
	assert_int_equal(work->default_route, tor->nics[1].addr);
	assert_false(work->forward);
	/* the tor gateway's uplink is no LAN: a VM there uses the router */
	assert_int_equal(side->default_route, net->nics[1].addr);
	plan_free(p);
	scenario_free(scn);
}

/* The last host of an internet network is the fake internet's: a /30 with
 * internet: true has room for one VM only. */
static void test_internet_reserves_last_host(void **state)
{
	static const char y[] =
		"name: tiny\n"
		"fixtures: [fake-internet]\n"
		"networks:\n"
		"  up: { subnet: 198.18.0.0/30, internet: true }\n"
		"vms:\n"
		"  r: { role: router, nics: [up] }\n"
		"  s: { role: router, nics: [up] }\n";
	struct scenario *scn = load(y);
	struct plan *p = NULL;
	struct scn_diag d = { 0 };

	(void)state;
	assert_int_equal(plan_build(scn, &p, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "too small"));
	scenario_free(scn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses_routers_first),
		cmocka_unit_test(test_order_dependencies_first),
		cmocka_unit_test(test_macs_deterministic_distinct),
		cmocka_unit_test(test_cycle_is_scenario_error),
		cmocka_unit_test(test_cycle_named_without_its_approach),
		cmocka_unit_test(test_subnet_too_small),
		cmocka_unit_test(test_target_addr),
		cmocka_unit_test(test_whonix_gateways),
		cmocka_unit_test(test_internet_reserves_last_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
