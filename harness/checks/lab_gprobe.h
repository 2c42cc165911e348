/* SPDX-License-Identifier: MIT */
/* lab_gprobe.h: the guest probe (uvmlab-gprobe) in a live lab: start it, judge its findings.
 *
 * Started in every VM that a forwarding or attribution check names, through
 * the agent, right after the VM is ready and before its role services (nft,
 * tor), so it sees every packet the services send. A probe that cannot load
 * (no BTF, no permission, missing binary) is a lab failure naming the cause.
 */
#ifndef UVMLAB_LAB_GPROBE_H
#define UVMLAB_LAB_GPROBE_H

#include <jansson.h>

#include "checks/checks.h"
#include "lab/lab.h"
#include "plan/plan.h"

struct lab_vm;

#define LAB_GPROBE_BIN "/bin/uvmlab-gprobe"

/* Does any check of PLAN's scenario read the probe of VM NAME? */
int lab_gprobe_wanted(const struct plan *plan, const char *vm);

/* Start the probe in VM (if wanted). 0, or negative errno with lab_error() set. */
int lab_gprobe_start(struct lab *lab, const struct plan_vm *pvm);

/* The probe kinds' prepare hook (check.h): lab_gprobe_start() once per boot
 * of VM. 0, or negative errno with lab_error() set. */
int lab_gprobe_prepare(struct lab *lab, struct lab_vm *vm);

/* Judge probe check C into ROW (verdict, evidence, findings), counting it in
 * SUM. Reports are fetched once per VM and cached in *CACHE (a JSON object
 * keyed by VM name holding the raw report). Negative errno = lab failure. */
int lab_gprobe_check(struct lab *lab, const struct plan *plan, const struct scn_check *c, json_t *row,
		     json_t *cache, struct checks_summary *sum);

#endif
