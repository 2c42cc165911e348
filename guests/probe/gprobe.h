/* SPDX-License-Identifier: MIT */
/* gprobe.h: map keys and values shared by gprobe.bpf.c and the loader (fixed-width types only). */
#ifndef UVMLAB_GPROBE_H
#define UVMLAB_GPROBE_H

/* The BPF side gets these types from vmlinux.h, user space from stdint.h. */
#ifndef __bpf__
#include <stdint.h>
#endif

#include "proto/ipv6_walk.h"

/* Table sizes. tx is larger than the report's row cap so a busy guest still
 * reports its biggest rows; both overflows are counted, never silent. */
#define GPROBE_TX_MAX    16384
#define GPROBE_SOCKS_MAX 16384

/* gprobe_tx_key.uid when the packet had no socket (forwarded, ARP) or only a
 * time-wait socket, which keeps no owner. Equal to the kernel's INVALID_UID. */
#define GPROBE_UID_NONE 0xffffffffu

/* IPv6 extension headers walked before giving up on the L4 header. */
#define GPROBE_IPV6_EXT_MAX IPV6_WALK_EXT_MAX

/* One row of transmitted traffic. Every byte is written by the program
 * (explicit padding, no holes) so equal packets hash to one entry.
 * Numbers are host byte order; addresses stay in network byte order, IPv4 in
 * the first 4 bytes and the rest zero. Non-IP packets (ARP, ...) have proto,
 * port and both addresses zero. */
struct gprobe_tx_key {
	uint64_t cookie;    /* socket cookie of skb->sk, 0 when it had none */
	uint32_t oif;       /* ifindex transmitting the packet */
	uint32_t iif;       /* skb->skb_iif: ifindex it was received on, 0 if local */
	uint32_t uid;       /* sk->sk_uid, GPROBE_UID_NONE without an owner */
	uint16_t ethertype; /* skb->protocol */
	uint16_t port;      /* TCP/UDP/SCTP destination port, ICMP/ICMPv6 type */
	uint8_t proto;      /* IPPROTO_* after IPv6 extension headers */
	uint8_t pad[7];
	uint8_t src[16];
	uint8_t dst[16];
};

/* packets counts segments: a GSO skb of N segments adds N. bytes is skb->len
 * at transmit time (link-layer header included, no FCS). */
struct gprobe_tx_value {
	uint64_t packets;
	uint64_t bytes;
};

/* Who created a socket, recorded by cgroup/sock_create. The socks map is keyed
 * by the socket cookie (uint64_t). */
struct gprobe_sock_owner {
	uint32_t tgid;     /* process id of the creator */
	uint32_t uid;      /* creator's real uid (sk_uid can differ, see README) */
	char comm[16];     /* creator's thread name, NUL-padded, any bytes */
};

/* Indexes into the counters array map. */
#define GPROBE_CTR_SEEN          0 /* packets seen by net_dev_start_xmit */
#define GPROBE_CTR_LOST          1 /* map updates lost because a map was full */
#define GPROBE_CTR_XDP_REDIRECTS 2 /* xdp_redirect + xdp_redirect_err events */
#define GPROBE_CTR_NR            3

#endif
