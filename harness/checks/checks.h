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
 * a transfer verified at both ends (checks_vsock.c), judged only while
 * uvmlab-vsockd is alive. while_stopped pauses a VM during the check. Every
 * check first requires its from/to VMs alive (a dead one is an error naming
 * it). Every verdict carries one line of evidence.
 */
#ifndef UVMLAB_CHECKS_H
#define UVMLAB_CHECKS_H

#include <jansson.h>

#include "lab/lab.h"
#include "plan/plan.h"

struct lab_vm;

/* A run passes only when failed, inconclusive and errors are all 0.
 * inconclusive: the check ran but its evidence cannot decide (a probe that
 * saw no traffic): verdict "inconclusive", exit 1 like a failure. */
struct checks_summary {
	int passed;
	int failed;
	int inconclusive;
	int errors;   /* the check could not be run (lab failure) */
};

/* One check's verdict, as the pure judges return it. */
enum checks_verdict { CHECKS_VERDICT_FAIL = 0, CHECKS_VERDICT_PASS, CHECKS_VERDICT_INCONCLUSIVE,
		      CHECKS_VERDICT_ERROR };

/* "fail", "pass", "inconclusive" or "error". */
const char *checks_verdict_name(enum checks_verdict v);

/* Set ROW's verdict and evidence (EV) and count V in SUM. */
void checks_verdict_record(json_t *row, struct checks_summary *sum, enum checks_verdict v,
			   const char *ev);

/* Run every check of PLAN's scenario. *OUT is a new JSON array of
 * {name, kind, from, to, addr, proto, port, expect, verdict, evidence}
 * (reach rows add source_saw and target_saw); verdict is "pass", "fail",
 * "inconclusive" or "error".
 * Returns 0 (verdicts in *SUM), or negative errno if nothing could run. */
int checks_run(struct lab *lab, const struct plan *plan, json_t **out, struct checks_summary *sum);

/* Before the role hooks of VM (a VM of a live lab that is ready) run: each
 * check kind of the scenario that has a prepare hook (check.h) gets to start
 * what must watch VM from then on (the guest probe). Idempotent per boot;
 * the lab passes it to roles_release_dependents() and
 * roles_start_services(). 0 or negative errno (lab_error() set). */
int checks_prepare_vm(struct lab *lab, struct lab_vm *vm);

/* A new {passed, failed, inconclusive, errors} object for result.json. */
json_t *checks_summary_json(const struct checks_summary *sum);

/* Print the verdict table (one line per check) to F. */
void checks_print(FILE *f, json_t *checks);

#endif
