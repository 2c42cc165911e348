/* SPDX-License-Identifier: MIT */
/* policy.h: judge the flows the recorder observed against a scenario's policy.
 *
 * Each flow seen on a tap is mapped to endpoints by its IP addresses: a VM of
 * the plan, "internet" (the fake internet's TEST-NET ranges), or "unknown".
 * Only what reached a VM is judged: egress on a tap (host toward the VM).
 * A rule { from: A, to: B, proto } allows the conversation between A and B
 * (both directions: replies are part of it). Default deny. Traffic that is
 * link-local plumbing (ARP, IPv4 broadcast and multicast, and over IPv6 only
 * neighbour/router discovery and MLD: ICMPv6 types 130-137 and 143) is
 * "control" and not judged. Every other IPv6 flow is judged like IPv4: a
 * link-local endpoint is the VM whose MAC sent or received it ("unknown" if
 * none, e.g. a host-side link), and a multicast delivered on a VM's tap was
 * delivered to that VM. A VM that is not a router or gateway sending with
 * another VM's source address is spoofing.
 */
#ifndef UVMLAB_POLICY_H
#define UVMLAB_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "probes/flow_probe.h"
#include "plan/plan.h"

enum policy_verdict {
	POLICY_ALLOWED = 0,   /* reached a VM, and a rule allows it */
	POLICY_VIOLATION,     /* reached a VM, and no rule allows it; or spoofed */
	POLICY_CONTROL,       /* link-local plumbing, not judged */
	POLICY_TRANSIT,       /* sent by a VM (tap ingress): judged where it arrives */
};

const char *policy_verdict_name(enum policy_verdict v);

/* REC's protocol by name, for people: "icmp", "tcp", "udp", "igmp",
 * "icmpv6", "gre", "sctp", ... ("arp" for ARP); the number ("253") for one
 * without a name, "ethertype 0x88cc" for a frame that is not IP or ARP.
 * Returns a constant or BUF (LEN bytes, 20 are enough). */
const char *policy_proto_name(const struct flow_record *rec, char *buf, size_t len);

/* Name the owner of ADDR (family FLOW_FAMILY_IPV4/IPV6, network order) into
 * BUF: a VM name, "internet", "broadcast", "multicast", "link-local" or
 * "unknown". */
void policy_endpoint(const struct plan *plan, uint8_t family, const uint8_t addr[16],
		     char *buf, size_t len);

/* The VM whose tap is IFNAME, or NULL. */
const struct plan_vm *policy_tap_vm(const struct plan *plan, const char *ifname);

/* Judge one recorded flow. SRC/DST (32 bytes each) receive the endpoint
 * names, WHY (may be NULL) a one-line reason. */
enum policy_verdict policy_judge(const struct plan *plan, const struct flow_record *rec,
				 char *src, char *dst, char *why, size_t whylen);

#endif
