/* SPDX-License-Identifier: MIT */
/* checks_vsock.h: the vsock check: a transfer verified at both ends, judged only
 * when what carries it (uvmlab-vsockd, both VMs) was alive throughout.
 *
 * "blocked" means the backend refused the connection (sender failed, the
 * receiver got nothing). That is evidence only if the backend was alive and
 * answering before and after the attempt: a dead backend refuses everything,
 * so a blocked verdict over it is a lab error (exit 3), never a pass.
 */
#ifndef UVMLAB_CHECKS_VSOCK_H
#define UVMLAB_CHECKS_VSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "checks/checks.h"
#include "checks/lab_xfer.h"

/* What the vsock check observed. */
struct checks_vsock_obs {
	const char *from, *to;             /* VM names or "host" */
	uint16_t port;
	const struct lab_xfer_result *x;   /* NULL: the transfer was not run */
	const char *carrier_down;          /* NULL: backend alive and answering before
					    * and after; else why not (one line) */
};

/* Pure: the verdict for OBS when the check expects EXPECT_ALLOWED (1) or
 * blocked (0), with one line of evidence in EV. CHECKS_VERDICT_ERROR when
 * the carrier was down or the transfer did not run. */
enum checks_verdict checks_vsock_judge(const struct checks_vsock_obs *obs, int expect_allowed,
				       char *ev, size_t evlen);

/* Run vsock check C: carrier health, the transfer, carrier health again,
 * then checks_vsock_judge(). Fills ROW's verdict and evidence, counts it in
 * SUM. 0, or negative errno when the lab failed (lab_error() set). */
int checks_vsock_run(struct lab *lab, const struct plan *plan, const struct scn_check *c, json_t *row,
		     struct checks_summary *sum);

#endif
