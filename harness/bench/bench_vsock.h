/* SPDX-License-Identifier: MIT */
/* bench_vsock.h: vsock throughput and backend CPU cost, with the two ratios issue #6 asks for.
 *
 * Directions host->A, A->host, A->B over vsock (A, B: the first allowed
 * sibling pair), and A->B over TCP on a shared bridge (virtio-net) for
 * comparison; message sizes 64 B .. 1 MiB; REPEAT samples each. The
 * backend's CPU time (uvmlab-vsockd utime+stime) per GiB moved is set against
 * a plain memcpy of the same amount on this machine: the floor for a copying
 * backend.
 */
#ifndef UVMLAB_BENCH_VSOCK_H
#define UVMLAB_BENCH_VSOCK_H

#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "lab/lab.h"
#include "plan/plan.h"

/* On a lab that is up. *METRICS: one entry per (direction, transport, msg)
 * with raw samples and a summary; *RATIOS: the headline ratios with what
 * they compare. 0 or negative errno (lab_error() set). */
int bench_vsock_run(struct lab *lab, const struct plan *plan, uint32_t repeat,
		    json_t **metrics, json_t **ratios);

void bench_vsock_print(FILE *f, json_t *metrics, json_t *ratios);

/* CPU seconds per GiB for memcpy on this machine (the copying floor). */
double bench_vsock_memcpy_s_per_gib(void);

#endif
