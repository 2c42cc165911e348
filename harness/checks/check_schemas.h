/* SPDX-License-Identifier: MIT */
/* check_schemas.h: the check kinds' part of the scenario format.
 *
 * scn_check_schemas[] (scenario/schema.h) lists the kinds in id order; the
 * id is what scn_check.kind holds and what the runtime check tables index
 * by, so the order below never changes and a new kind goes at the end.
 *
 *   - { name?, reach: { from, to, proto?, port?, network? }, expect }
 *       from, to: VMs (distinct), or to: "internet" (the fake internet's web
 *       server); proto icmp (default) | tcp | udp; port 1..65535, required
 *       with tcp/udp, refused with icmp; network: one of to's NICs
 *   - { name?, vsock: { from, to, port, bytes? }, expect }
 *       from/to: VMs or "host"; needs the top-level vsock: section
 *   - { name?, fetch: { from, url }, expect }      HTTP GET from a VM (fake internet)
 *   - { name?, resolve: { from, host }, expect }   DNS lookup from a VM
 *   - { name?, forwarding: { vm, allow_empty? }, expect }  guest probe: did
 *       VM send any packet it had received (allowed = forwarding seen,
 *       blocked = none)
 *   - { name?, attribution: { vm, network?, users?, processes?, allow_empty? } }
 *       guest probe: every packet VM sent on network (default: its first
 *       NIC) belongs to a socket of a listed user or process (no expect)
 * Probe checks are judged at the end of the run, over everything the VM sent
 * since its role services started; `from` holds their vm. A probe that saw
 * nothing but link-layer control is inconclusive unless allow_empty. The
 * default name is KIND-FROM-TO (probe checks: KIND-VM).
 */
#ifndef UVMLAB_CHECKS_CHECK_SCHEMAS_H
#define UVMLAB_CHECKS_CHECK_SCHEMAS_H

#include "scenario/schema.h"

enum check_kind { CHECK_REACH = 0, CHECK_VSOCK, CHECK_FETCH, CHECK_RESOLVE,
		  CHECK_FORWARDING, CHECK_ATTRIBUTION };

/* Checks answered by the guest probe (uvmlab-gprobe) rather than by traffic. */
static inline int check_is_probe(const struct scn_check *c)
{
	return c->kind == CHECK_FORWARDING || c->kind == CHECK_ATTRIBUTION;
}

#endif
