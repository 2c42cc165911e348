/* SPDX-License-Identifier: MIT */
/* lab_role.h: what role services write into guests: NAT, router filter and gateway rulesets, torrc.
 *
 * Pure text generators, used by lab_role.c and tested on their own. Each
 * writes a NUL-terminated text into BUF (LEN bytes) and returns 0, or -ENOSPC
 * when it does not fit.
 */
#ifndef UVMLAB_LAB_ROLE_H
#define UVMLAB_LAB_ROLE_H

#include <stddef.h>
#include <stdint.h>

#include "plan/plan.h"
#include "scenario/scenario.h"
#include "roles/role_schemas.h"

#define LAB_ROLE_TRANS_PORT 9040u
#define LAB_ROLE_DNS_PORT 5300u
#define LAB_ROLE_TOR_UID 101u     /* debian-tor, fixed in guests/roles/tor-gateway.conf */

/* One LAN of a tor gateway: the gateway's address there (host order) and prefix. */
struct lab_role_lan {
	uint32_t addr;
	uint8_t prefix;
};

/* nftables for a router with an uplink to the fake internet: masquerade lab
 * sources (198.18.0.0/15) going anywhere outside the lab. */
int lab_role_nat_ruleset(char *buf, size_t len);

/* The gateway's torrc: CLIENT_TORRC (the private network's client fragment)
 * followed by DataDirectory, User, Log, SocksPort 0, automapping, and one
 * TransPort/DNSPort pair per LAN address. */
int lab_role_torrc(char *buf, size_t len, const char *client_torrc,
		   const struct lab_role_lan *lans, size_t n_lans);

/* nftables for a tor gateway. STRICT: input/forward/output policy drop; LAN
 * UDP 53 redirected to the DNSPort and new TCP (SYN) to the TransPort;
 * forward rejects; output accepts established, LAN and TOR_UID's traffic.
 * LEAKY (a mutation): DNS to the gateway still redirected, the LAN
 * masqueraded and (with ip_forward=1) forwarded. */
int lab_role_gateway_ruleset(char *buf, size_t len, enum gateway_mode mode,
			     const struct lab_role_lan *lans, size_t n_lans, uint32_t tor_uid);

/* nftables for the filter of ROUTER (a VM of PLAN with role router and a
 * filter: in the scenario, scenario.h struct scn_filter), a pure function of
 * the plan:
 *
 *   table inet uvmlab_filter {
 *   	chain forward {
 *   		type filter hook forward priority filter; policy drop|accept;
 *   		ct state established,related accept
 *   		ip saddr ADDRS ip daddr ADDRS tcp dport N accept comment "rule 1 (line L)"
 *   		...
 *   	}
 *   }
 *
 * Only the forward hook: the router's own input and output are left alone.
 * Replies of accepted connections pass first, then the rules in scenario
 * order (first match wins), then the chain's policy (the filter's default).
 * A VM stands for every address the plan gives it (one per NIC: one address,
 * or an anonymous set "{ a, b }"), a network for its subnet A.B.C.D/P; an
 * absent from/to is no match on that side. proto icmp is "meta l4proto icmp",
 * tcp/udp "meta l4proto tcp" or, with a port, "tcp dport N" (the destination
 * port). Returns 0, -ENOSPC when it does not fit in LEN, -EINVAL when ROUTER
 * has no filter or a rule names neither a VM nor a network of the plan. */
int lab_role_filter_ruleset(char *buf, size_t len, const struct plan *plan,
			    const struct plan_vm *router);

/* The last "Bootstrapped N%" in tor's LOG: N, or -1 if none. SUMMARY (may be
 * NULL) gets that line. */
int lab_role_tor_progress(const char *log, char *summary, size_t len);

#endif
