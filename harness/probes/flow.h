/* SPDX-License-Identifier: MIT */
/* flow.h: flow key and counters shared by flow.bpf.c and the loader (fixed-width types only). */
#ifndef UVMLAB_FLOW_H
#define UVMLAB_FLOW_H

/* The BPF side gets these types from vmlinux.h, user space from stdint.h. */
#ifndef __bpf__
#include <stdint.h>
#endif

#include "proto/ipv6_walk.h"

#define FLOW_DIR_INGRESS 0 /* tc ingress: the interface received it (a tap: the VM sent it) */
#define FLOW_DIR_EGRESS  1 /* tc egress: the interface transmits it (a tap: toward the VM) */

#define FLOW_FAMILY_NONE 0 /* no L3 addresses (unknown ethertype, truncated frame) */
#define FLOW_FAMILY_IPV4 4 /* addresses in src_addr[0..3] / dst_addr[0..3], rest zero */
#define FLOW_FAMILY_IPV6 6
#define FLOW_FAMILY_ARP  8 /* Ethernet/IPv4 ARP: sender/target IPv4 as src/dst, op as dst_port */

#define FLOW_MAX_ENTRIES_DEFAULT 16384
/* IPv6 extension headers walked before giving up on the L4 header. */
#define FLOW_IPV6_EXT_MAX IPV6_WALK_EXT_MAX

/* One flow. Every byte is set by the program (explicit padding, no holes), so
 * two frames of one flow hash to the same entry. Multi-byte fields are host
 * byte order except the addresses, which stay in network byte order.
 * ICMP and ICMPv6 put type in src_port and code in dst_port; non-first
 * fragments and unknown L4 protocols have zero ports. */
struct flow_key {
	uint32_t ifindex;
	uint8_t dir;       /* FLOW_DIR_* */
	uint8_t family;    /* FLOW_FAMILY_* */
	uint16_t ethertype; /* after at most one 802.1Q/802.1ad tag */
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint8_t l4proto;   /* IPPROTO_* (after IPv6 extension headers), 0 if none */
	uint8_t vlan_tagged;
	uint8_t pad[2];
	uint8_t src_addr[16];
	uint8_t dst_addr[16];
	uint16_t src_port;
	uint16_t dst_port;
};

/* Counters of one flow. packets counts segments (a GSO/GRO skb of N segments
 * counts N); bytes is the skb length from the MAC header on (no FCS), so a
 * GSO skb adds its length once. Times are bpf_ktime_get_ns(): CLOCK_MONOTONIC,
 * the same clock as the harness's util_mono_ns(). */
struct flow_value {
	uint64_t packets;
	uint64_t bytes;
	uint64_t first_ns;
	uint64_t last_ns;
};

/* Index of the single counter in the drops array map: frames not recorded
 * because the flow table was full. */
#define FLOW_DROPS_KEY 0

#endif
