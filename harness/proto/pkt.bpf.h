/* SPDX-License-Identifier: MIT */
/* pkt.bpf.h: packet constants and header rules shared by the host flow recorder and the guest probe.
 *
 * harness/probes/flow.bpf.c and guests/probe/gprobe.bpf.c parse the same
 * headers and must agree on them, above all on which L4 protocols carry
 * ports: the host's flow policy and the guest probe's attribution both judge
 * by port. vmlinux.h gives a BPF program the kernel's types but none of the
 * uapi #defines, so the few constants both need are here too.
 *
 * BPF only: user space has these names from <netinet/in.h> and
 * <linux/if_ether.h>, which this header would clash with. Include it after
 * vmlinux.h and <bpf/bpf_helpers.h>.
 */
#ifndef UVMLAB_PKT_BPF_H
#define UVMLAB_PKT_BPF_H

#ifndef __bpf__
#error "pkt.bpf.h is for BPF programs; user space has <netinet/in.h>"
#endif

#define EEXIST 17 /* what bpf_map_update_elem(BPF_NOEXIST) returns, negated */

#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86DD

#define IPPROTO_ICMP    1
#define IPPROTO_TCP     6
#define IPPROTO_UDP     17
#define IPPROTO_ICMPV6  58
#define IPPROTO_SCTP    132
#define IPPROTO_UDPLITE 136

/* The big-endian 16-bit value at P. */
static __always_inline uint16_t pkt_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* 1 when the header of L4 protocol PROTO starts with a 16-bit source and
 * destination port (TCP, UDP, SCTP, UDP-Lite). */
static __always_inline int pkt_l4_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE;
}

/* 1 when the header of PROTO starts with an 8-bit type and code (ICMP, ICMPv6). */
static __always_inline int pkt_l4_is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

#endif
