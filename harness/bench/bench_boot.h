/* SPDX-License-Identifier: MIT */
/* bench_boot.h: boot-latency benchmark: a fresh VM per sample, raw samples kept.
 *
 * Every VM of the scenario is one configuration. Rounds interleave the
 * configurations (rotating which goes first) so slow drifts of the host hit
 * all of them alike. With BARE, each managed sample is paired with the same
 * QEMU argv started by /bin/sh with file chardevs and no monitor: both are
 * timed to the agent's ready marker ('R' on isa-debugcon), which gives
 * uvmlab's own overhead as a ratio measured side by side.
 */
#ifndef UVMLAB_BENCH_BOOT_H
#define UVMLAB_BENCH_BOOT_H

#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "lab/lab.h"

struct bench_boot_opts {
	uint32_t repeat;   /* measured rounds */
	uint32_t warmup;   /* rounds run first and marked warmup (not summarized) */
	int bare;          /* also sample the bare baseline */
};

/* Run the benchmark on a prepared lab (lab_prepare() done). *METRICS is a new
 * JSON array, one entry per configuration: {name, vm, params, samples,
 * summary, bare?}. Progress lines go through util_progress(). 0, or negative
 * errno with lab_error() set (a sample that failed to boot is a lab error:
 * benchmarks of hung boots mean nothing). */
int bench_boot_run(struct lab *lab, const struct bench_boot_opts *o, json_t **metrics);

/* Print one line per configuration (median ready, CI, CV, bottleneck). */
void bench_boot_print(FILE *f, json_t *metrics);

#endif
