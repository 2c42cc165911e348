/* SPDX-License-Identifier: MIT */
/* router.h: the texts a router's services load into its nftables: NAT to the fake internet, the filter.
 *
 * Pure text generators, used by router.c and tested on their own. Each
 * writes a NUL-terminated text into BUF (LEN bytes) and returns 0, or -ENOSPC
 * when it does not fit.
 */
#ifndef UVMLAB_ROUTER_H
#define UVMLAB_ROUTER_H

#include <stddef.h>

#include "plan/plan.h"

/* nftables for a router with an uplink to the fake internet: masquerade lab
 * sources (198.18.0.0/15) going anywhere outside the lab. */
int router_nat_ruleset(char *buf, size_t len);

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
int router_filter_ruleset(char *buf, size_t len, const struct plan *plan,
			  const struct plan_vm *router);

#endif
