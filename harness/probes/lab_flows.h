/* SPDX-License-Identifier: MIT */
/* lab_flows.h: what crossed the lab's ports during a run, judged against the policy. */
#ifndef UVMLAB_LAB_FLOWS_H
#define UVMLAB_LAB_FLOWS_H

#include <stdio.h>
#include <jansson.h>

#include "checks/checks.h"
#include "lab/lab.h"
#include "services/service.h"

/* The recorder as a host service (services.c registers it): it attaches to
 * each VM's taps once they exist, before QEMU starts, when enabled. */
extern const struct service_ops lab_flows_service;

/* Load the recorder before lab_up() so every tap gets it as it is created.
 * 0, or negative errno with lab_error() set ("flow recorder: ..."): a lab
 * failure, never a silent pass. */
int lab_flows_enable(struct lab *lab);

/* Detach, read every flow, judge it (policy.h) and release the recorder.
 * *FLOWS: every flow with endpoints and verdict; *MATRIX: per endpoint pair;
 * when the scenario has a policy, *CHECK is a "flow-policy" check row (and SUM
 * counts it). Call before lab_down(). NULL-safe when flows were not enabled. */
int lab_flows_collect(struct lab *lab, json_t **flows, json_t **matrix, json_t **check,
		      struct checks_summary *sum);

/* The same judgement over everything recorded so far, leaving the recorder
 * attached (`uvmlab check` on a lab kept up by `uvmlab up`). */
int lab_flows_snapshot(struct lab *lab, json_t **flows, json_t **matrix, json_t **check,
		       struct checks_summary *sum);

/* Flow counters as one snapshot read them, so that a later snapshot can
 * judge only what came after (`uvmlab check --since-last`). */
struct lab_flows_mark;

/* lab_flows_snapshot() over what was recorded since SINCE (NULL: since the
 * recorder was attached): a flow whose packet count did not grow is left
 * out, the others count only their new packets and bytes (first/last times
 * stay the flow's own). When NEXT is non-NULL, *NEXT receives a mark of the
 * counters as read now (free with lab_flows_mark_free(); NULL when flows
 * were not enabled). */
int lab_flows_snapshot_since(struct lab *lab, const struct lab_flows_mark *since,
			     struct lab_flows_mark **next, json_t **flows, json_t **matrix,
			     json_t **check, struct checks_summary *sum);
void lab_flows_mark_free(struct lab_flows_mark *mark);

/* Detach and free the recorder without reading it (teardown after a failure,
 * or of a lab kept up). NULL-safe when flows were not enabled. */
void lab_flows_release(struct lab *lab);

/* Print the flow matrix (one line per endpoint pair). */
void lab_flows_print(FILE *f, json_t *matrix);

#endif
