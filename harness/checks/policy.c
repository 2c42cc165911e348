/* SPDX-License-Identifier: MIT */
/* policy.c: judge the flows the recorder observed against a scenario's policy. */
#include "checks/policy.h"
#include "roles/role_schemas.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const char *const policy_verdict_names[] = {
	[POLICY_ALLOWED] = "allowed",
	[POLICY_VIOLATION] = "violation",
	[POLICY_CONTROL] = "control",
	[POLICY_TRANSIT] = "transit",
};

const char *policy_verdict_name(enum policy_verdict v)
{
	return (size_t)v < sizeof(policy_verdict_names) / sizeof(policy_verdict_names[0]) ?
	       policy_verdict_names[v] : "?";
}

const char *policy_proto_name(const struct flow_record *rec, char *buf, size_t len)
{
	/* IANA protocol numbers a lab can plausibly carry */
	static const struct { uint8_t num; const char *name; } names[] = {
		{ 0, "hopopt" }, { 1, "icmp" }, { 2, "igmp" }, { 4, "ipip" }, { 6, "tcp" },
		{ 17, "udp" }, { 41, "ipv6" }, { 43, "ipv6-route" }, { 44, "ipv6-frag" },
		{ 47, "gre" }, { 50, "esp" }, { 51, "ah" }, { 58, "icmpv6" }, { 59, "ipv6-nonxt" },
		{ 60, "ipv6-opts" }, { 89, "ospf" }, { 103, "pim" }, { 112, "vrrp" },
		{ 115, "l2tp" }, { 132, "sctp" }, { 136, "udplite" },
	};
	size_t i;

	if (rec->family == FLOW_FAMILY_ARP)
		return "arp";
	if (rec->family != FLOW_FAMILY_IPV4 && rec->family != FLOW_FAMILY_IPV6) {
		snprintf(buf, len, "ethertype 0x%04x", rec->ethertype);
		return buf;
	}
	/* IPv4 protocol 0 is not hop-by-hop options: the header carried none */
	for (i = rec->family == FLOW_FAMILY_IPV4; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].num == rec->l4proto)
			return names[i].name;
	snprintf(buf, len, "%u", rec->l4proto);
	return buf;
}

const struct plan_vm *policy_tap_vm(const struct plan *plan, const char *ifname)
{
	size_t v, k;

	for (v = 0; v < plan->n_vms; v++)
		for (k = 0; k < plan->vms[v].n_nics; k++)
			if (!strcmp(plan->vms[v].nics[k].tap, ifname))
				return &plan->vms[v];
	return NULL;
}

static int policy_in(uint32_t a, uint32_t net, int prefix)
{
	uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;

	return (a & mask) == (net & mask);
}

void policy_endpoint(const struct plan *plan, uint8_t family, const uint8_t addr[16],
		     char *buf, size_t len)
{
	size_t v, k;

	if (family == FLOW_FAMILY_IPV6) {
		snprintf(buf, len, "%s", addr[0] == 0xff ? "multicast" :
			 (addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80) ? "link-local" :
			 !memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) ? "link-local" : "unknown");
		return;
	}
	uint32_t a = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 | (uint32_t)addr[2] << 8 | addr[3];

	for (v = 0; v < plan->n_vms; v++)
		for (k = 0; k < plan->vms[v].n_nics; k++)
			if (plan->vms[v].nics[k].addr == a) {
				snprintf(buf, len, "%s", plan->vms[v].name);
				return;
			}
	if (a == 0xffffffffu) {
		snprintf(buf, len, "broadcast");
	} else if (policy_in(a, 0xe0000000u, 4)) {
		snprintf(buf, len, "multicast");
	} else if (a == 0 || policy_in(a, 0xa9fe0000u, 16)) {
		snprintf(buf, len, "link-local");
	} else if (policy_in(a, 0xc0000200u, 24) || policy_in(a, 0xc6336400u, 24) ||
		   policy_in(a, 0xcb007100u, 24)) {
		snprintf(buf, len, "internet"); /* TEST-NET-1/2/3: the fake internet */
	} else {
		/* a directed broadcast of one of the lab's networks */
		for (k = 0; k < plan->n_nets; k++) {
			const struct scn_network *n = plan->nets[k].scn;
			uint32_t bcast = n->subnet | ~(~0u << (32 - n->prefix));

			if (a == bcast) {
				snprintf(buf, len, "broadcast");
				return;
			}
		}
		snprintf(buf, len, "unknown");
	}
}

static int policy_is_control(const char *ep)
{
	return !strcmp(ep, "broadcast") || !strcmp(ep, "multicast") || !strcmp(ep, "link-local");
}

static int policy_proto_matches(enum scn_proto p, uint8_t l4)
{
	switch (p) {
	case SCN_PROTO_ANY:
		return 1;
	case SCN_PROTO_ICMP:
		return l4 == IPPROTO_ICMP || l4 == IPPROTO_ICMPV6;
	case SCN_PROTO_TCP:
		return l4 == IPPROTO_TCP;
	default:
		return l4 == IPPROTO_UDP;
	}
}

/* The IPv6 link's own plumbing: MLD (130-132, 143), router solicitation and
 * advertisement, neighbour solicitation and advertisement, redirect
 * (133-137). Everything else over IPv6, link-local or not, is judged. */
static int policy_v6_plumbing(const struct flow_record *rec)
{
	uint16_t t = rec->src_port; /* ICMPv6 type */

	return rec->l4proto == IPPROTO_ICMPV6 && ((t >= 130 && t <= 137) || t == 143);
}

/* An IPv6 link-local (or unspecified) endpoint is the VM with that MAC: a
 * link-local address is derived from, and only meaningful with, the link. */
static void policy_v6_by_mac(const struct plan *plan, const uint8_t mac[6], char *ep)
{
	size_t v, k;

	if (strcmp(ep, "link-local"))
		return;
	for (v = 0; v < plan->n_vms; v++)
		for (k = 0; k < plan->vms[v].n_nics; k++)
			if (!memcmp(plan->vms[v].nics[k].mac, mac, 6)) {
				snprintf(ep, 32, "%s", plan->vms[v].name);
				return;
			}
	snprintf(ep, 32, "unknown");
}

/* Forwarders legitimately send other hosts' packets. */
static int policy_forwards(const struct plan_vm *vm)
{
	return vm->role == ROLE_ROUTER ||
	       (vm->role == ROLE_TOR_GATEWAY && vm->scn->role_opt == GATEWAY_LEAKY);
}

enum policy_verdict policy_judge(const struct plan *plan, const struct flow_record *rec,
				 char *src, char *dst, char *why, size_t whylen)
{
	const struct scenario *scn = plan->scn;
	const struct plan_vm *tap = policy_tap_vm(plan, rec->ifname);
	char dummy[8], pname[20];
	size_t i;

	if (!why) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	snprintf(src, 32, "-");
	snprintf(dst, 32, "-");
	if (rec->family != FLOW_FAMILY_IPV4 && rec->family != FLOW_FAMILY_IPV6) {
		snprintf(why, whylen, "not IP (ethertype 0x%04x)", rec->ethertype);
		return POLICY_CONTROL;
	}
	policy_endpoint(plan, rec->family, rec->src_addr, src, 32);
	policy_endpoint(plan, rec->family, rec->dst_addr, dst, 32);
	if (rec->family == FLOW_FAMILY_IPV6) {
		if (policy_v6_plumbing(rec)) {
			snprintf(why, whylen, "IPv6 neighbour discovery or MLD");
			return POLICY_CONTROL;
		}
		policy_v6_by_mac(plan, rec->src_mac, src);
		policy_v6_by_mac(plan, rec->dst_mac, dst);
		/* a multicast that reached a VM was delivered to it */
		if (!strcmp(dst, "multicast") && rec->dir == FLOW_DIR_EGRESS && tap)
			snprintf(dst, 32, "%s", tap->name);
	} else if (policy_is_control(dst)) {
		snprintf(why, whylen, "link-local plumbing");
		return POLICY_CONTROL;
	}
	if (rec->dir == FLOW_DIR_INGRESS) {
		if (tap && !policy_forwards(tap) && strcmp(src, tap->name)) {
			snprintf(why, whylen, "vm \"%s\" sent with source %s", tap->name, src);
			return POLICY_VIOLATION;
		}
		snprintf(why, whylen, "sent by %s; judged where it arrives", tap ? tap->name : "?");
		return POLICY_TRANSIT;
	}
	/* Only what is addressed to the VM it reached is a delivery; the rest
	 * passes through (a router) or is L2 flooding the guest drops. */
	if (tap && strcmp(dst, tap->name)) {
		snprintf(why, whylen, "passing %s toward %s", tap->name, dst);
		return POLICY_TRANSIT;
	}
	for (i = 0; i < scn->n_policy; i++) {
		const struct scn_policy_rule *r = &scn->policy[i];

		if (!policy_proto_matches(r->proto, rec->l4proto))
			continue;
		if ((!strcmp(r->from.name, src) && !strcmp(r->to.name, dst)) ||
		    (!strcmp(r->from.name, dst) && !strcmp(r->to.name, src))) {
			snprintf(why, whylen, "policy rule at line %u", r->loc.line);
			return POLICY_ALLOWED;
		}
	}
	snprintf(why, whylen, "no policy rule allows %s <-> %s (%s) reaching %s", src, dst,
		 policy_proto_name(rec, pname, sizeof(pname)), tap ? tap->name : rec->ifname);
	return POLICY_VIOLATION;
}
