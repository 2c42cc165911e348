/* SPDX-License-Identifier: MIT */
/* scenario_internal.h: what the files of the scenario subsystem share.
 *
 * Not for callers outside the scenario subsystem: they include scenario.h.
 */
#ifndef UVMLAB_SCENARIO_INTERNAL_H
#define UVMLAB_SCENARIO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "scenario/scenario.h"

/* Limits. They keep every loop over names quadratic-but-tiny and bound the
 * memory a hostile file can make us allocate. */
#define SCN_MAX_FILE_BYTES   (1024u * 1024u)
#define SCN_MAX_VMS          64u
#define SCN_MAX_NETWORKS     64u
#define SCN_MAX_CHECKS       256u
#define SCN_MAX_OWNERS       16u   /* users or processes of one attribution check */
#define SCN_MAX_NICS         8u
#define SCN_MAX_FILTER_RULES 256u  /* rules of one router's filter */
#define SCN_MAX_DESCRIPTION  4096u

/* The lab range (RFC 2544 benchmarking): 198.18.0.0/15. */
#define SCN_LAB_NET          0xc6120000u
#define SCN_LAB_PREFIX       15u
#define SCN_MIN_PREFIX       16u
#define SCN_MAX_PREFIX       30u

/* Semantic checks on a fully typed scenario: cross references, duplicate
 * NICs and dependencies, subnet ranges and overlaps, check targets.
 * Returns 0 or -EINVAL with DIAG filled (first error only). */
int scenario_validate(const struct scenario *scn, struct scn_diag *diag);

#endif
