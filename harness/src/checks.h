/* SPDX-License-Identifier: MIT */
/* checks.h: run a scenario's checks against a live lab and judge them.
 *
 * reach between VMs (checks_reach.c): judged at both ends. tcp/udp: a
 * listener in `to` on its planned address, proven by a self-probe, and a
 * probe from `from` with a fresh token; allowed = `to` got the token from
 * `from`'s address (tcp: and the echo came back), blocked = `to` got nothing;
 * a listener that cannot start is an error, never blocked. icmp: ping plus
 * `to`'s echo counters. Toward the internet, and for fetch and
 * resolve, the fake internet's own log is the evidence (checks_net.c). vsock:
 * a transfer verified at both ends (lab_xfer.c). while_stopped pauses a VM
 * during the check. Every verdict carries one line of evidence.
 */
#ifndef UVMLAB_CHECKS_H
#define UVMLAB_CHECKS_H

#include <jansson.h>

#include "lab.h"
#include "plan.h"

struct checks_summary {
	int passed;
	int failed;
	int errors;   /* the check could not be run (lab failure) */
};

/* Run every check of PLAN's scenario. *OUT is a new JSON array of
 * {name, kind, from, to, addr, proto, port, expect, verdict, evidence}
 * (reach rows add source_saw and target_saw).
 * Returns 0 (verdicts in *SUM), or negative errno if nothing could run. */
int checks_run(struct lab *lab, const struct plan *plan, json_t **out, struct checks_summary *sum);

/* Print the verdict table (one line per check) to F. */
void checks_print(FILE *f, json_t *checks);

#endif
