/* SPDX-License-Identifier: MIT */
/* ipv6_walk.h: the IPv6 extension-header walk shared by the host flow recorder and the guest probe.
 *
 * harness/probes/flow.bpf.c (tc, on the host) and guests/probe/gprobe.bpf.c
 * (tracing, in the guest) both look for the L4 protocol and header behind a
 * chain of IPv6 extension headers, and must agree on it: which next-header
 * values are extension headers, how long each is, that a non-first fragment
 * has no L4 header, and how far to walk. Those rules live here, once.
 *
 * The functions are pure (no memory access, no BPF helpers), so the header
 * serves BPF programs and user space alike. Each caller reads the first 4
 * bytes of every extension header its own way (bpf_skb_load_bytes() on the
 * host; a read bounded by the linear data in the guest) and keeps a loop the
 * verifier sees bounded:
 *
 *	uint8_t nh = ip[6], b[4];      next header of the fixed header
 *	uint32_t off = ip_off + 40;    where the first header after it starts
 *
 *	for (int i = 0; i < IPV6_WALK_EXT_MAX && ipv6_walk_is_ext(nh); i++)
 *		if (read 4 bytes at off into b fails || !ipv6_walk_next(&nh, &off, b))
 *			return nh;     no L4 header: record nh as the protocol
 *	parse the L4 header of protocol nh at off
 *
 * A packet cut off inside the chain is recorded as the extension header the
 * walk could not get past; a non-first fragment as the fragment's next header;
 * a chain longer than IPV6_WALK_EXT_MAX as the header where the walk stopped.
 */
#ifndef UVMLAB_IPV6_WALK_H
#define UVMLAB_IPV6_WALK_H

/* The BPF side gets these types from vmlinux.h, user space from stdint.h. */
#ifndef __bpf__
#include <stdint.h>
#endif

/* Extension headers walked before giving up on the L4 header: more in one
 * packet is not lab traffic, and the bound keeps verification short. */
#define IPV6_WALK_EXT_MAX 6

/* Next-header values (IANA protocol numbers) of the extension headers walked. */
#define IPV6_WALK_HOPOPTS  0
#define IPV6_WALK_ROUTING  43
#define IPV6_WALK_FRAGMENT 44
#define IPV6_WALK_AH       51
#define IPV6_WALK_DSTOPTS  60

/* 1 when next-header value NH is an extension header the walk steps over. */
static inline __attribute__((always_inline)) int ipv6_walk_is_ext(uint8_t nh)
{
	return nh == IPV6_WALK_HOPOPTS || nh == IPV6_WALK_ROUTING || nh == IPV6_WALK_DSTOPTS ||
	       nh == IPV6_WALK_FRAGMENT || nh == IPV6_WALK_AH;
}

/* Step over extension header *NH (ipv6_walk_is_ext() true) at *OFF, whose
 * first 4 bytes are B. Returns 1 with *NH and *OFF moved to the next header;
 * 0 when no L4 header follows (a non-first fragment), *NH then being the
 * fragment's next header and *OFF unchanged. */
static inline __attribute__((always_inline)) int ipv6_walk_next(uint8_t *nh, uint32_t *off,
								 const uint8_t b[4])
{
	if (*nh == IPV6_WALK_FRAGMENT) {
		/* Fragment offset: the top 13 bits of bytes 2-3. */
		if ((((uint32_t)b[2] << 8 | b[3]) & 0xfff8) != 0) {
			*nh = b[0];
			return 0;
		}
		*off += 8;
	} else if (*nh == IPV6_WALK_AH) {
		/* AH counts its length in 4-byte units, minus 2 (RFC 4302). */
		*off += ((uint32_t)b[1] + 2) * 4;
	} else {
		/* The others in 8-byte units, not counting the first 8. */
		*off += ((uint32_t)b[1] + 1) * 8;
	}
	*nh = b[0];
	return 1;
}

#endif
