/* SPDX-License-Identifier: MIT */
/* flow.bpf.c: tc (clsact) program counting every frame on a lab port into a flow table. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "flow.h"
#include "proto/ipv6_walk.h"
#include "proto/pkt.bpf.h"

/* vmlinux.h carries types, not the uapi #defines; those both BPF programs
 * use are in proto/pkt.bpf.h. */
#define TC_ACT_UNSPEC (-1)
#define ETH_HLEN 14
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

/* Knobs, set by the loader before load. Aggregation knobs shrink the table
 * when only "who talks to whom" matters. */
const volatile uint8_t flow_cfg_macs = 1;  /* 0: MACs zeroed in the key */
const volatile uint8_t flow_cfg_ports = 1; /* 0: ports zeroed in the key */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLOW_MAX_ENTRIES_DEFAULT);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
} flow_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, uint32_t);
	__type(value, uint64_t);
} flow_drops SEC(".maps");

/* Ports (or ICMP type/code) at OFF for k->l4proto. Anything short is
 * left at zero: a truncated header still counts as its flow. */
static __always_inline void flow_parse_l4(struct __sk_buff *skb, uint32_t off, struct flow_key *k)
{
	uint8_t b[4];

	if (pkt_l4_has_ports(k->l4proto)) {
		if (bpf_skb_load_bytes(skb, off, b, 4))
			return;
		k->src_port = pkt_be16(b);
		k->dst_port = pkt_be16(b + 2);
	} else if (pkt_l4_is_icmp(k->l4proto)) {
		if (bpf_skb_load_bytes(skb, off, b, 2))
			return;
		k->src_port = b[0];
		k->dst_port = b[1];
	}
}

static __always_inline void flow_parse_ipv4(struct __sk_buff *skb, uint32_t off, struct flow_key *k)
{
	uint8_t ip[20];
	uint32_t ihl;

	if (bpf_skb_load_bytes(skb, off, ip, sizeof(ip)))
		return;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20)
		return;
	k->family = FLOW_FAMILY_IPV4;
	__builtin_memcpy(k->src_addr, ip + 12, 4);
	__builtin_memcpy(k->dst_addr, ip + 16, 4);
	k->l4proto = ip[9];
	/* A non-first fragment carries no L4 header: its bytes are payload. */
	if ((pkt_be16(ip + 6) & 0x1fff) != 0)
		return;
	flow_parse_l4(skb, off + ihl, k);
}

static __always_inline void flow_parse_ipv6(struct __sk_buff *skb, uint32_t off, struct flow_key *k)
{
	uint8_t ip[40];
	uint8_t b[4];
	uint8_t nh;

	if (bpf_skb_load_bytes(skb, off, ip, sizeof(ip)))
		return;
	if ((ip[0] >> 4) != 6)
		return;
	k->family = FLOW_FAMILY_IPV6;
	__builtin_memcpy(k->src_addr, ip + 8, 16);
	__builtin_memcpy(k->dst_addr, ip + 24, 16);
	nh = ip[6];
	off += 40;
	for (int i = 0; i < FLOW_IPV6_EXT_MAX && ipv6_walk_is_ext(nh); i++) {
		/* Truncated inside the chain, or a non-first fragment: record
		 * the protocol, without ports. */
		if (bpf_skb_load_bytes(skb, off, b, 4) || !ipv6_walk_next(&nh, &off, b)) {
			k->l4proto = nh;
			return;
		}
	}
	k->l4proto = nh;
	flow_parse_l4(skb, off, k);
}

static __always_inline void flow_parse_arp(struct __sk_buff *skb, uint32_t off, struct flow_key *k)
{
	uint8_t a[28];

	if (bpf_skb_load_bytes(skb, off, a, sizeof(a)))
		return;
	/* Only Ethernet/IPv4 ARP has the layout below. */
	if (pkt_be16(a) != 1 || pkt_be16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4)
		return;
	k->family = FLOW_FAMILY_ARP;
	__builtin_memcpy(k->src_addr, a + 14, 4);
	__builtin_memcpy(k->dst_addr, a + 24, 4);
	k->dst_port = pkt_be16(a + 6);
}

static __always_inline void flow_parse(struct __sk_buff *skb, struct flow_key *k)
{
	uint8_t eth[ETH_HLEN];
	uint8_t tag[4];
	uint32_t off = ETH_HLEN;
	uint16_t proto;

	if (bpf_skb_load_bytes(skb, 0, eth, sizeof(eth)))
		return;
	__builtin_memcpy(k->dst_mac, eth, 6);
	__builtin_memcpy(k->src_mac, eth + 6, 6);
	proto = pkt_be16(eth + 12);
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
		if (bpf_skb_load_bytes(skb, off, tag, sizeof(tag)))
			goto out;
		k->vlan_tagged = 1;
		proto = pkt_be16(tag + 2);
		off += 4;
	}
out:
	k->ethertype = proto;
	if (proto == ETH_P_IP)
		flow_parse_ipv4(skb, off, k);
	else if (proto == ETH_P_IPV6)
		flow_parse_ipv6(skb, off, k);
	else if (proto == ETH_P_ARP)
		flow_parse_arp(skb, off, k);
}

static __always_inline void flow_drop_count(void)
{
	uint32_t zero = FLOW_DROPS_KEY;
	uint64_t *d = bpf_map_lookup_elem(&flow_drops, &zero);

	if (d)
		__sync_fetch_and_add(d, 1);
}

static __always_inline int flow_count(struct __sk_buff *skb, uint8_t dir)
{
	struct flow_key k;
	struct flow_value nv;
	struct flow_value *v;
	uint64_t now = bpf_ktime_get_ns();
	uint64_t segs = skb->gso_segs ? skb->gso_segs : 1;
	uint64_t len = skb->len;
	long err;

	__builtin_memset(&k, 0, sizeof(k));
	k.ifindex = skb->ifindex;
	k.dir = dir;
	flow_parse(skb, &k);
	if (!flow_cfg_macs) {
		__builtin_memset(k.src_mac, 0, sizeof(k.src_mac));
		__builtin_memset(k.dst_mac, 0, sizeof(k.dst_mac));
	}
	if (!flow_cfg_ports) {
		k.src_port = 0;
		k.dst_port = 0;
	}

	v = bpf_map_lookup_elem(&flow_table, &k);
	if (!v) {
		nv.packets = segs;
		nv.bytes = len;
		nv.first_ns = now;
		nv.last_ns = now;
		err = bpf_map_update_elem(&flow_table, &k, &nv, BPF_NOEXIST);
		if (err == 0)
			return TC_ACT_UNSPEC;
		/* Another CPU inserted the flow first: add to its entry. Any
		 * other failure is a full table. */
		if (err == -EEXIST)
			v = bpf_map_lookup_elem(&flow_table, &k);
		if (!v) {
			flow_drop_count();
			return TC_ACT_UNSPEC;
		}
	}
	__sync_fetch_and_add(&v->packets, segs);
	__sync_fetch_and_add(&v->bytes, len);
	v->last_ns = now;
	/* UNSPEC hands the frame to the next filter (a policy filter may
	 * follow), or lets it pass when there is none: the recorder only looks. */
	return TC_ACT_UNSPEC;
}

SEC("tc")
int flow_tc_ingress(struct __sk_buff *skb)
{
	return flow_count(skb, FLOW_DIR_INGRESS);
}

SEC("tc")
int flow_tc_egress(struct __sk_buff *skb)
{
	return flow_count(skb, FLOW_DIR_EGRESS);
}

/* Dual-licensed so the kernel accepts it as GPL-compatible. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
