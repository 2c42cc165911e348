/* SPDX-License-Identifier: MIT */
/* result.h: results/<run-id>/result.json, schema "uvmlab.result/1".
 *
 * Fields: schema, run_id, started_at, finished_at, uvmlab {version, git_commit},
 * scenario {name, path, sha256}, host {...}, accelerator {name, requested,
 * reason, ...}, images (the guest manifest), vms [...] (argv, NICs, boot
 * timeline), checks [...], metrics [...] (raw samples), verdict
 * (pass|fail|lab-error), exit_code, error (when the lab failed).
 */
#ifndef UVMLAB_RESULT_H
#define UVMLAB_RESULT_H

#include <jansson.h>

#include "scenario/scenario.h"

#define RESULT_SCHEMA "uvmlab.result/1"

/* A new result object with schema, run id, start time, version and scenario. */
json_t *result_new(const char *run_id, const char *started_at, const struct scenario *scn);

/* Set verdict, exit code, finish time and ERROR (may be NULL). */
void result_finish(json_t *res, int exit_code, const char *error);

/* Write RES to DIR/result.json (atomically). 0 or negative errno. */
int result_write(const char *dir, json_t *res);

/* uvmlab's version and the git commit it was built from. */
const char *result_version(void);
const char *result_git_commit(void);

#endif
