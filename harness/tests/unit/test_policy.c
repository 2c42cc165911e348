/* SPDX-License-Identifier: MIT */
/* test_policy.c: flows judged against a scenario policy, from synthetic records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "checks/policy.c"

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

/* A record over IPv6 on VM's NIC-th tap, MACs of the named VMs' first NIC
 * (NULL: a MAC no VM has, such as a host-side bridge). */
static struct flow_record rec6(const struct plan *p, const char *vm, size_t nic, uint8_t dir,
			       const char *src_vm, const char *src, const char *dst_vm, const char *dst,
			       uint8_t l4, uint16_t type)
{
	static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct flow_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ifname, sizeof(r.ifname), "%s", plan_find_vm(p, vm)->nics[nic].tap);
	r.dir = dir;
	r.family = FLOW_FAMILY_IPV6;
	r.ethertype = 0x86dd;
	r.l4proto = l4;
	r.src_port = type;
	memcpy(r.src_mac, src_vm ? plan_find_vm(p, src_vm)->nics[0].mac : host_mac, 6);
	memcpy(r.dst_mac, dst_vm ? plan_find_vm(p, dst_vm)->nics[0].mac : host_mac, 6);
	inet_pton(AF_INET6, src, r.src_addr);
	inet_pton(AF_INET6, dst, r.dst_addr);
	r.packets = 1;
	return r;
}

/* Link-local IPv6 between VMs is judged like IPv4; only ND, RS/RA and MLD
 * are plumbing. */
static void test_ipv6_link_local_is_judged(void **state)
{
	struct fx *f = *state;
	char s[32], d[32], why[160];
	struct flow_record r;

	/* echo request alice -> router over fe80::: allowed by the icmp rule, by MAC */
	r = rec6(f->plan, "router", 0, FLOW_DIR_EGRESS, "alice", "fe80::a", "router", "fe80::1",
		 IPPROTO_ICMPV6, 128);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_ALLOWED);
	assert_string_equal(s, "alice");
	assert_string_equal(d, "router");
	/* TCP and UDP over link-local between them: no rule, a violation */
	r = rec6(f->plan, "router", 0, FLOW_DIR_EGRESS, "alice", "fe80::a", "router", "fe80::1",
		 IPPROTO_TCP, 40000);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_VIOLATION);
	assert_non_null(strstr(why, "alice <-> router"));
	r = rec6(f->plan, "alice", 0, FLOW_DIR_EGRESS, "router", "fe80::1", "alice", "fe80::a",
		 IPPROTO_UDP, 5353);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_VIOLATION);
	/* an echo to ff02::1 delivered to the router is a delivery to the router */
	r = rec6(f->plan, "router", 0, FLOW_DIR_EGRESS, "alice", "fe80::a", NULL, "ff02::1",
		 IPPROTO_ICMPV6, 128);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_ALLOWED);
	assert_string_equal(d, "router");
	/* a host-side link answering a VM: no VM has its MAC, a violation */
	r = rec6(f->plan, "alice", 0, FLOW_DIR_EGRESS, NULL, "fe80::99", "alice", "fe80::a",
		 IPPROTO_ICMPV6, 129);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_VIOLATION);
	assert_string_equal(s, "unknown");
	/* a VM sending over link-local is not spoofing; the link's own plumbing is control */
	r = rec6(f->plan, "alice", 0, FLOW_DIR_INGRESS, "alice", "fe80::a", NULL, "ff02::1",
		 IPPROTO_ICMPV6, 128);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_TRANSIT);
	for (uint16_t t = 130; t <= 143; t++) {
		r = rec6(f->plan, "alice", 0, FLOW_DIR_EGRESS, NULL, "fe80::99", NULL, "ff02::1:ff00:a",
			 IPPROTO_ICMPV6, t);
		assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)),
				 (t <= 137 || t == 143) ? POLICY_CONTROL : POLICY_VIOLATION);
	}
	/* DAD: a neighbour solicitation from :: */
	r = rec6(f->plan, "bob", 0, FLOW_DIR_EGRESS, "alice", "::", NULL, "ff02::1:ff00:b",
		 IPPROTO_ICMPV6, 135);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_CONTROL);
	/* ICMPv6 type 133 over UDP is no plumbing: the type is only ICMPv6's */
	r = rec6(f->plan, "bob", 0, FLOW_DIR_EGRESS, "alice", "fe80::a", "bob", "fe80::b",
		 IPPROTO_UDP, 133);
	assert_int_equal(policy_judge(f->plan, &r, s, d, why, sizeof(why)), POLICY_VIOLATION);
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
		cmocka_unit_test_setup_teardown(test_ipv6_link_local_is_judged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proto_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
