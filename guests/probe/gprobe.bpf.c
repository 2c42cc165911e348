/* SPDX-License-Identifier: MIT */
/* gprobe.bpf.c: in-guest record of every transmitted packet (forwarded or local) and its socket owner. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "gprobe.h"
#include "proto/ipv6_walk.h"
#include "proto/pkt.bpf.h"

/* vmlinux.h carries types, not the uapi #defines: those the host's flow
 * recorder uses too are in proto/pkt.bpf.h. */
/* skb->network_header when nobody set it (skb_network_header_was_set()). */
#define GPROBE_HDR_UNSET 0xffff
/* sk_state values of the socket-like objects that are not full sockets and
 * so have no sk_uid (sk_fullsock()). */
#define GPROBE_TCP_TIME_WAIT 6
#define GPROBE_TCP_NEW_SYN_RECV 12

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GPROBE_TX_MAX);
	__type(key, struct gprobe_tx_key);
	__type(value, struct gprobe_tx_value);
} tx SEC(".maps");

/* LRU: sockets come and go, and nothing tells us when one is gone. The
 * oldest owners make room; the report then shows pid 0 for them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GPROBE_SOCKS_MAX);
	__type(key, uint64_t);
	__type(value, struct gprobe_sock_owner);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GPROBE_CTR_NR);
	__type(key, uint32_t);
	__type(value, uint64_t);
} counters SEC(".maps");

static __always_inline void gprobe_count(uint32_t idx, uint64_t n)
{
	uint64_t *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		__sync_fetch_and_add(c, n);
}

/* Header bytes at OFF (from skb->head) into BUF, refusing to read past the
 * linear data: what lies beyond skb->tail is not this packet. */
static __always_inline int gprobe_read(void *buf, uint32_t len, const uint8_t *head, uint32_t off,
				       uint32_t tail)
{
	if (off + len > tail)
		return -1;
	return bpf_probe_read_kernel(buf, len, head + off) ? -1 : 0;
}

/* Destination port (or ICMP type) of the L4 header at OFF. */
static __always_inline void gprobe_parse_l4(struct gprobe_tx_key *k, const uint8_t *head,
					    uint32_t off, uint32_t tail)
{
	uint8_t b[4];

	if (pkt_l4_has_ports(k->proto)) {
		if (gprobe_read(b, 4, head, off, tail) == 0)
			k->port = pkt_be16(b + 2);
	} else if (pkt_l4_is_icmp(k->proto)) {
		if (gprobe_read(b, 1, head, off, tail) == 0)
			k->port = b[0];
	}
}

/* The L4 offset is computed from the IP header rather than taken from
 * skb->transport_header: on the receive path IPv6 leaves it at the first
 * extension header, and not every path sets it at all. */
static __always_inline void gprobe_parse_ipv4(struct gprobe_tx_key *k, const uint8_t *head,
					      uint32_t off, uint32_t tail)
{
	uint8_t ip[20];
	uint32_t ihl;

	if (gprobe_read(ip, sizeof(ip), head, off, tail) || (ip[0] >> 4) != 4)
		return;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	if (ihl < 20)
		return;
	__builtin_memcpy(k->src, ip + 12, 4);
	__builtin_memcpy(k->dst, ip + 16, 4);
	k->proto = ip[9];
	/* A non-first fragment carries payload where the L4 header would be. */
	if ((pkt_be16(ip + 6) & 0x1fff) != 0)
		return;
	gprobe_parse_l4(k, head, off + ihl, tail);
}

static __always_inline void gprobe_parse_ipv6(struct gprobe_tx_key *k, const uint8_t *head,
					      uint32_t off, uint32_t tail)
{
	uint8_t ip[40];
	uint8_t b[4];
	uint8_t nh;

	if (gprobe_read(ip, sizeof(ip), head, off, tail) || (ip[0] >> 4) != 6)
		return;
	__builtin_memcpy(k->src, ip + 8, 16);
	__builtin_memcpy(k->dst, ip + 24, 16);
	nh = ip[6];
	off += 40;
	for (int i = 0; i < GPROBE_IPV6_EXT_MAX && ipv6_walk_is_ext(nh); i++) {
		/* Cut off inside the chain, or a non-first fragment: that
		 * header stands for the protocol, without a port. */
		if (gprobe_read(b, 4, head, off, tail) || !ipv6_walk_next(&nh, &off, b)) {
			k->proto = nh;
			return;
		}
	}
	k->proto = nh;
	gprobe_parse_l4(k, head, off, tail);
}

/* Cookie and uid of the packet's socket. A request socket (SYN-ACK) has
 * no sk_uid of its own: its listener's (skc_listener, the kernel's
 * rsk_listener) counts. A time-wait socket has no
 * owner left at all. */
static __always_inline void gprobe_owner(struct gprobe_tx_key *k, const struct sk_buff *skb)
{
	struct sock *sk = skb->sk;
	uint8_t state;

	k->uid = GPROBE_UID_NONE;
	if (!sk)
		return;
	/* The tracing flavour of the helper takes a BTF socket pointer. */
	k->cookie = bpf_get_socket_cookie(sk);
	state = sk->__sk_common.skc_state;
	if (state == GPROBE_TCP_NEW_SYN_RECV)
		k->uid = BPF_CORE_READ(sk, __sk_common.skc_listener, sk_uid.val);
	else if (state != GPROBE_TCP_TIME_WAIT)
		k->uid = sk->sk_uid.val;
}

static __always_inline void gprobe_add(const struct gprobe_tx_key *k, uint64_t segs, uint64_t len)
{
	struct gprobe_tx_value nv = { .packets = segs, .bytes = len };
	struct gprobe_tx_value *v;
	long err;

	v = bpf_map_lookup_elem(&tx, k);
	if (!v) {
		err = bpf_map_update_elem(&tx, k, &nv, BPF_NOEXIST);
		if (err == 0)
			return;
		/* Another CPU inserted the row first: add to it. Anything
		 * else means the table is full. */
		if (err == -EEXIST)
			v = bpf_map_lookup_elem(&tx, k);
		if (!v) {
			gprobe_count(GPROBE_CTR_LOST, 1);
			return;
		}
	}
	__sync_fetch_and_add(&v->packets, segs);
	__sync_fetch_and_add(&v->bytes, len);
}

/* tp_btf arguments arrive as an array of u64; the verifier types each slot
 * from the tracepoint's BTF (args: skb, dev), so these are BTF pointers. */
SEC("tp_btf/net_dev_start_xmit")
int gprobe_xmit(uint64_t *ctx)
{
	const struct sk_buff *skb = (const struct sk_buff *)ctx[0];
	const struct net_device *dev = (const struct net_device *)ctx[1];
	struct gprobe_tx_key k;
	struct skb_shared_info *shinfo;
	const uint8_t *head = skb->head;
	uint32_t tail = skb->tail;
	uint16_t nh = skb->network_header;
	uint16_t segs = 0;

	__builtin_memset(&k, 0, sizeof(k));
	k.oif = dev->ifindex;
	k.iif = skb->skb_iif;
	k.ethertype = bpf_ntohs(skb->protocol);
	gprobe_owner(&k, skb);
	if (nh != GPROBE_HDR_UNSET) {
		if (k.ethertype == ETH_P_IP)
			gprobe_parse_ipv4(&k, head, nh, tail);
		else if (k.ethertype == ETH_P_IPV6)
			gprobe_parse_ipv6(&k, head, nh, tail);
	}

	/* skb_shinfo(): on 64-bit kernels skb->end is an offset from head. */
	shinfo = (struct skb_shared_info *)(head + skb->end);
	bpf_core_read(&segs, sizeof(segs), &shinfo->gso_segs);
	if (segs == 0)
		segs = 1;
	gprobe_count(GPROBE_CTR_SEEN, segs);
	gprobe_add(&k, segs, skb->len);
	return 0;
}

/* Both redirect outcomes are attempts to move a frame between devices
 * behind the stack's back; the _map variants are no longer fired (the
 * kernel routes them through these two). */
SEC("tp_btf/xdp_redirect")
int gprobe_xdp_redirect(void *ctx)
{
	(void)ctx;
	gprobe_count(GPROBE_CTR_XDP_REDIRECTS, 1);
	return 0;
}

SEC("tp_btf/xdp_redirect_err")
int gprobe_xdp_redirect_err(void *ctx)
{
	(void)ctx;
	gprobe_count(GPROBE_CTR_XDP_REDIRECTS, 1);
	return 0;
}

/* Runs in the creating process for every AF_INET/AF_INET6 socket. */
SEC("cgroup/sock_create")
int gprobe_sock_create(struct bpf_sock *ctx)
{
	struct gprobe_sock_owner o;
	uint64_t cookie = bpf_get_socket_cookie(ctx);

	__builtin_memset(&o, 0, sizeof(o));
	o.tgid = (uint32_t)(bpf_get_current_pid_tgid() >> 32);
	o.uid = (uint32_t)bpf_get_current_uid_gid();
	bpf_get_current_comm(o.comm, sizeof(o.comm));
	if (bpf_map_update_elem(&socks, &cookie, &o, BPF_ANY))
		gprobe_count(GPROBE_CTR_LOST, 1);
	/* 1 lets the socket be created: the probe only looks. */
	return 1;
}

/* Dual-licensed so the kernel accepts it as GPL-compatible. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
