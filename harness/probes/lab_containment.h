/* SPDX-License-Identifier: MIT */
/* lab_containment.h: proof from the lab's side that nothing of a run left it.
 *
 * Two facts, gathered at up and again before teardown:
 *  - no link of a lab namespace (the run's own, and every namespace a
 *    service owns, such as the fake internet's) has its peer or lower
 *    device in the namespace uvmlab was started in (the host's);
 *  - every frame through the run's egress points (its links whose peer
 *    lives in another namespace: the veth toward the fake internet) is
 *    recorded by a tc flow recorder of its own, and judged by
 *    probes/containment.h: one frame with an address outside the lab and
 *    TEST-NET ranges breaks containment.
 * Nothing is attached to the host's interfaces. The peer check runs in
 * every run; the recording runs once lab_containment_enable() was called
 * (uvmlab run/up do, unless --no-flows, as it needs the same BPF support as
 * the flow recorder).
 */
#ifndef UVMLAB_LAB_CONTAINMENT_H
#define UVMLAB_LAB_CONTAINMENT_H

#include <stdio.h>
#include <jansson.h>

#include "lab/lab.h"
#include "services/service.h"

extern const struct service_ops lab_containment_service;

/* Load the egress recorder (before lab_up()). 0, or negative errno with
 * lab_error() set. */
int lab_containment_enable(struct lab *lab);

/* Check the links again, read and judge the egress records, then detach
 * the recorder. *OUT gets the record (new reference): host_peers,
 * egress_points, packets, outside_packets, outside[], verdict
 * ("contained", "breached", "unrecorded" when frames were lost or nothing
 * was recorded although the run has egress points). Returns the number of
 * breaches (links to the host plus outside packets; unrecorded frames count
 * as one), 0 when contained, or negative errno with lab_error() set. Safe
 * to call once after lab_up() succeeded. */
int lab_containment_collect(struct lab *lab, json_t **out);

/* One line for people: "containment: contained — ..." */
void lab_containment_print(FILE *f, const json_t *rec);

#endif
