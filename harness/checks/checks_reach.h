/* SPDX-License-Identifier: MIT */
/* checks_reach.h: reach checks between VMs, judged at both ends.
 *
 * tcp/udp: a fresh random token per check (getrandom on the host). The
 * target VM runs `uvmlab-xfer listen` on its planned address and port in the
 * background through its agent; once it says it listens, the target probes
 * its own listener with a second token (the positive control: the listener
 * can receive on that address), then the source VM probes with the check's
 * token, then the listener is stopped and its report read. allowed = the
 * target got the token from one of the source's planned addresses (tcp: and
 * the source completed the handshake and got the token echoed back);
 * blocked = the target got nothing while the source saw refused, timeout or
 * unreachable (udp: no echo). A listener that cannot start or a failed
 * self-probe, or one that ended before it was stopped, is a lab error
 * (verdict "error"), never "blocked"; two ends
 * that disagree (one-way path, token from another address) fail either way.
 *
 * icmp: ping from the source (allowed: up to 3 tries, the first may wait for
 * ARP; blocked: 2), with the target's Icmp InEchos/OutEchoReps counters read
 * from /proc/net/snmp before and after. allowed = a reply and the target
 * counted the request; blocked = no reply and nothing counted; a request
 * counted without a reply (or a reply without a request) fails either way.
 *
 * A check whose target is the while_stopped VM is an error: a paused
 * target can neither listen nor count. The judgement itself is
 * reach_judge_verdict() (reach_judge.h), pure.
 */
#ifndef UVMLAB_CHECKS_REACH_H
#define UVMLAB_CHECKS_REACH_H

#include <jansson.h>

#include "checks/checks.h"
#include "lab/lab.h"
#include "plan/plan.h"

/* Run reach check C (between two VMs of PLAN; "internet" targets belong to
 * checks_net.c), filling ROW's addr, verdict, evidence, source_saw and
 * target_saw and counting the verdict in SUM. 0, or negative errno when the
 * lab itself failed (ROW then says "error" with lab_error()'s text). */
int checks_reach_run(struct lab *lab, const struct plan *plan, const struct scn_check *c,
		     json_t *row, struct checks_summary *sum);

#endif
