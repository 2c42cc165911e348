/* SPDX-License-Identifier: MIT */
/* containment.h: is a frame seen at the lab's egress still inside the lab? (pure)
 *
 * The lab's egress points are the links of the run's namespace whose peer
 * lives in another namespace (the veth toward the fake internet). Every
 * frame they carry is judged here. Inside means: both addresses in the lab's
 * range (198.18.0.0/15), the fake internet's TEST-NET ranges (RFC 5737:
 * 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24; RFC 3849: 2001:db8::/32),
 * or link-scoped (unspecified, limited broadcast, 224.0.0.0/24, 169.254/16;
 * ::, fe80::/10, ff02::/16): such a frame cannot be routed beyond the link.
 * ARP is judged by its sender and target addresses like IPv4: a lab asks
 * only for neighbours inside its ranges. A frame with no address at all
 * (an unknown ethertype, a truncated header) is counted apart, never as
 * outside.
 */
#ifndef UVMLAB_CONTAINMENT_H
#define UVMLAB_CONTAINMENT_H

#include <stdint.h>

#include "probes/flow.h"

enum containment_class {
	CONTAINMENT_LAB = 0,      /* 198.18.0.0/15 */
	CONTAINMENT_TESTNET,      /* the fake internet */
	CONTAINMENT_LINK,         /* link-scoped */
	CONTAINMENT_OUTSIDE,      /* anything else: must never cross */
};

/* The class of ADDR (network byte order, 4 or 16 bytes) of FAMILY
 * (FLOW_FAMILY_IPV4 / _ARP / _IPV6); OUTSIDE for an unknown family. */
enum containment_class containment_addr_class(uint8_t family, const uint8_t addr[16]);

/* 1 when a frame between SRC and DST of FAMILY leaves the lab's ranges
 * (either address OUTSIDE), 0 when it stays inside, and 0 for
 * FLOW_FAMILY_NONE (no address: link-layer control). */
int containment_outside(uint8_t family, const uint8_t src[16], const uint8_t dst[16]);

/* "lab", "internet", "link-local", "outside". */
const char *containment_class_name(enum containment_class c);

#endif
