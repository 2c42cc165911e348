/* SPDX-License-Identifier: MIT */
/* check.h: what a check kind is: its row in result.json, how it runs against the live lab, how it is judged.
 *
 * Each kind is one const struct check_ops, registered in check_table[]
 * (checks/check_kinds.c) at the index of its kind id: the number the
 * scenario parser stores in scn_check.kind (enum check_kind). The
 * dispatcher (checks.c, checks_run()) and the lab core reach kinds only
 * through this table, so neither names a kind. Adding a kind is its run or
 * verdict code, one entry in check_table[] and its scenario keys.
 *
 * A kind is either active (run: it makes its traffic when its turn comes and
 * judges it at once) or deferred (verdict: judged after every active check
 * ran, over what was recorded during the whole run, e.g. the guest probe's
 * findings). Both record exactly one verdict in ROW and SUM through
 * checks_verdict_record() and return 0, or a negative errno when the lab
 * itself failed (the lab's error set); the dispatcher then records "error"
 * for a deferred check and stops after an active one. The judgement proper
 * stays in pure functions of what was observed (reach_judge.h,
 * checks_vsock_judge(), checks_net_judge_*()), unit-tested on their own.
 *
 * A unit test may link its own check_table and check_table_len instead of
 * checks/check_kinds.c: checks_run() then dispatches to the test's kinds
 * alone.
 */
#ifndef UVMLAB_CHECK_H
#define UVMLAB_CHECK_H

#include <stddef.h>
#include <jansson.h>

#include "checks/check_schemas.h"
#include "checks/checks.h"
#include "plan/plan.h"

struct check_ops {
	const char *name;   /* the scenario's key and the row's "kind": "reach" */
	/* The row's "proto" for C ("tcp", "vsock", "http", "any"). */
	const char *(*proto)(const struct scn_check *c);
	/* Add C's own keys to ROW after the common ones (name, kind, from,
	 * proto, expect, to): port, bytes, url, host. NULL: none. */
	void (*row)(const struct scn_check *c, json_t *row);
	/* Active kinds: run C now (its from/to VMs are known alive; the
	 * while_stopped VM is paused around the call). NULL for deferred kinds. */
	int (*run)(struct lab *lab, const struct plan *plan, const struct scn_check *c, json_t *row,
		   struct checks_summary *sum);
	/* Deferred kinds: judge C at the end. CACHE is a JSON object kept for
	 * the whole judging pass (e.g. one guest probe report per VM). NULL
	 * for active kinds. */
	int (*verdict)(struct lab *lab, const struct plan *plan, const struct scn_check *c,
		       json_t *row, json_t *cache, struct checks_summary *sum);
	/* Its evidence comes from the guest probe (uvmlab-gprobe) in C's VM. */
	int needs_guest_probe;
	/* Once per VM boot, before that VM's role hooks run, when the scenario
	 * has a check of this kind (checks_prepare_vm()): start what must see
	 * everything the VM's role sends (the guest probe). Idempotent. 0 or a
	 * negative errno with the lab's error set. NULL: nothing. */
	int (*prepare)(struct lab *lab, struct lab_vm *vm);
};

/* The registry: check_table[id] is the kind with that id, NULL for an id no
 * kind has. Defined in checks/check_kinds.c (or by a unit test). */
extern const struct check_ops *const check_table[];
extern const size_t check_table_len;

/* The kind with id ID, or NULL when no kind has it. */
static inline const struct check_ops *check_get(uint32_t id)
{
	return id < check_table_len ? check_table[id] : NULL;
}

#endif
