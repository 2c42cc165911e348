/* SPDX-License-Identifier: MIT */
/* test_policy.c: flows judged against a scenario policy, from synthetic records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../../src/policy.c"

static const char yaml[] =
	"name: pol\n"
	"networks:\n"
	"  left: { subnet: 198.18.10.0/24 }\n"
	"  right: { subnet: 198.18.11.0/24 }\n"
	"vms:\n"
	"  router: { role: router, nics: [left, right] }\n"
	"  alice: { nics: [left] }\n"
	"  bob: { nics: [right] }\n"
	"policy:\n"
	"  allow:\n"
	"    - { from: alice, to: router, proto: icmp }\n"
	"    - { from: alice, to: bob, proto: tcp }\n";

struct fx {
	struct scenario *scn;
	struct plan *plan;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct scn_diag d = { 0 };

	assert_int_equal(scenario_parse("pol.yaml", yaml, strlen(yaml), &f->scn, &d), 0);
	assert_int_equal(plan_build(f->scn, &f->plan, &d), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	plan_free(f->plan);
	scenario_free(f->scn);
	free(f);
	return 0;
}

/* A record on VM's NIC-th tap. */
static struct flow_record rec4(const struct plan *p, const char *vm, size_t nic, uint8_t dir,
			       const char *src, const char *dst, uint8_t l4)
{
	struct flow_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ifname, sizeof(r.ifname), "%s", plan_find_vm(p, vm)->nics[nic].tap);
	r.dir = dir;
	r.family = FLOW_FAMILY_IPV4;
	r.ethertype = 0x0800;
	r.l4proto = l4;
	inet_pton(AF_INET, src, r.src_addr);
	inet_pton(AF_INET, dst, r.dst_addr);
	r.packets = 1;
	return r;
}

static void test_allowed_and_forbidden(void **state)
{
	struct fx *f = *state;
	char s[32], d[32], why[160];
	struct flow_record r;

	/* addresses: router .1 on both, alice 198.18.10.2, bob 198.18.11.2 */
	r = rec4(f->plan, "bob", 0, FLOW_DIR_EGRESS, "198.18.10.2", "198.18.11.2", IPPROTO_TCP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_ALLOWED);
	assert_string_equal(s, "alice");
	assert_string_equal(d, "bob");
	/* the reply direction belongs to the same conversation */
	r = rec4(f->plan, "alice", 0, FLOW_DIR_EGRESS, "198.18.11.2", "198.18.10.2", IPPROTO_TCP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_ALLOWED);
	/* icmp alice<->bob is not allowed (only tcp) */
	r = rec4(f->plan, "bob", 0, FLOW_DIR_EGRESS, "198.18.10.2", "198.18.11.2", IPPROTO_ICMP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_VIOLATION);
	assert_non_null(strstr(why, "alice <-> bob"));
	/* icmp alice -> router is */
	r = rec4(f->plan, "router", 0, FLOW_DIR_EGRESS, "198.18.10.2", "198.18.10.1", IPPROTO_ICMP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_ALLOWED);
	/* alice -> bob reaching the router's tap is transit, judged at bob */
	r = rec4(f->plan, "router", 0, FLOW_DIR_EGRESS, "198.18.10.2", "198.18.11.2", IPPROTO_ICMP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_TRANSIT);
	/* bob -> router is not */
	r = rec4(f->plan, "router", 1, FLOW_DIR_EGRESS, "198.18.11.2", "198.18.11.1", IPPROTO_ICMP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_VIOLATION);
}

static void test_transit_spoof_control(void **state)
{
	struct fx *f = *state;
	char s[32], d[32], why[160];
	struct flow_record r;

	/* what a VM sends is judged where it arrives */
	r = rec4(f->plan, "alice", 0, FLOW_DIR_INGRESS, "198.18.10.2", "198.18.11.2", IPPROTO_ICMP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_TRANSIT);
	/* ... unless it lies about its source */
	r = rec4(f->plan, "alice", 0, FLOW_DIR_INGRESS, "198.18.11.2", "198.18.10.1", IPPROTO_ICMP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_VIOLATION);
	assert_non_null(strstr(why, "sent with source bob"));
	/* a router forwards others' packets: not spoofing */
	r = rec4(f->plan, "router", 1, FLOW_DIR_INGRESS, "198.18.11.2", "198.18.10.2", IPPROTO_TCP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_TRANSIT);
	/* broadcast and ARP are plumbing */
	r = rec4(f->plan, "bob", 0, FLOW_DIR_EGRESS, "198.18.11.1", "198.18.11.255", IPPROTO_UDP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_CONTROL);
	r.family = FLOW_FAMILY_ARP;
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_CONTROL);
	/* an address nobody has is not silently allowed */
	r = rec4(f->plan, "bob", 0, FLOW_DIR_EGRESS, "198.18.99.9", "198.18.11.2", IPPROTO_UDP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_VIOLATION);
	assert_string_equal(s, "unknown");
}

static void test_endpoints(void **state)
{
	struct fx *f = *state;
	uint8_t a[16] = { 0 };
	char buf[32];

	inet_pton(AF_INET, "203.0.113.80", a);
	policy_endpoint(f->plan, FLOW_FAMILY_IPV4, a, buf, sizeof(buf));
	assert_string_equal(buf, "internet");
	inet_pton(AF_INET, "224.0.0.251", a);
	policy_endpoint(f->plan, FLOW_FAMILY_IPV4, a, buf, sizeof(buf));
	assert_string_equal(buf, "multicast");
	inet_pton(AF_INET6, "ff02::2", a);
	policy_endpoint(f->plan, FLOW_FAMILY_IPV6, a, buf, sizeof(buf));
	assert_string_equal(buf, "multicast");
	inet_pton(AF_INET6, "fe80::1", a);
	policy_endpoint(f->plan, FLOW_FAMILY_IPV6, a, buf, sizeof(buf));
	assert_string_equal(buf, "link-local");
	assert_null(policy_tap_vm(f->plan, "nope0"));
	assert_string_equal(policy_tap_vm(f->plan, "vm2n0")->name, "bob");
}

/* Protocols by name in verdict reasons and the flow table, numbers only
 * for those without one. */
static void test_proto_names(void **state)
{
	struct fx *f = *state;
	char s[32], d[32], why[160], buf[20];
	struct flow_record r;

	r = rec4(f->plan, "bob", 0, FLOW_DIR_EGRESS, "198.18.10.2", "198.18.11.2", IPPROTO_ICMP);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_VIOLATION);
	assert_non_null(strstr(why, "alice <-> bob (icmp) reaching bob"));
	assert_null(strstr(why, "proto"));
	assert_string_equal(policy_proto_name(&r, buf, sizeof(buf)), "icmp");
	r.l4proto = IPPROTO_TCP;
	assert_string_equal(policy_proto_name(&r, buf, sizeof(buf)), "tcp");
	r.l4proto = IPPROTO_UDP;
	assert_string_equal(policy_proto_name(&r, buf, sizeof(buf)), "udp");
	r.l4proto = 2;
	assert_string_equal(policy_proto_name(&r, buf, sizeof(buf)), "igmp");
	r.l4proto = 132;
	assert_string_equal(policy_proto_name(&r, buf, sizeof(buf)), "sctp");
	r.l4proto = 253;
	assert_string_equal(policy_proto_name(&r, buf, sizeof(buf)), "253");
	r.l4proto = 0; /* IPv4: no header to name; IPv6: hop-by-hop options */
	assert_string_equal(policy_proto_name(&r, buf, sizeof(buf)), "0");
	r.family = FLOW_FAMILY_IPV6;
	assert_string_equal(policy_proto_name(&r, buf, sizeof(buf)), "hopopt");
	r.l4proto = IPPROTO_ICMPV6;
	assert_string_equal(policy_proto_name(&r, buf, sizeof(buf)), "icmpv6");
	r.family = FLOW_FAMILY_ARP;
	assert_string_equal(policy_proto_name(&r, buf, sizeof(buf)), "arp");
	r.family = FLOW_FAMILY_NONE;
	r.ethertype = 0x88cc;
	assert_string_equal(policy_proto_name(&r, buf, sizeof(buf)), "ethertype 0x88cc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_allowed_and_forbidden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transit_spoof_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proto_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
