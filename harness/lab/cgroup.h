/* SPDX-License-Identifier: MIT */
/* cgroup.h: the run's own cgroup: which hierarchies to use, create, limit, kill, remove.
 *
 * A run lives in one cgroup per hierarchy used, named uvmlab/<run-id>:
 *   cgroup v2:  <v2 mount>/uvmlab/<run-id> (at the hierarchy's root: with
 *               controllers in use, v2 allows processes only in leaves);
 *   cgroup v1:  <v1 mount><the cgroup uvmlab started in>/uvmlab/<run-id>,
 *               in each of the freezer, pids, memory and cpu hierarchies
 *               that are mounted (nested, so the run stays inside whatever
 *               the caller's own cgroup already accounts).
 * A v2 hierarchy without controllers (the "unified" one beside v1) still
 * serves as a membership set and, through cgroup.kill, as the kill switch;
 * name=systemd is used only when nothing else is mounted.
 *
 * The supervising uvmlab process moves itself in before it forks anything,
 * so every process of the run (QEMU, helpers, their children, whatever
 * they later drop privileges to) is born inside: no window between fork and
 * exec, and no code in the children. It moves itself out again before it
 * kills the cgroup at teardown. Killing is cgroup.kill where the kernel has
 * it, else freeze (v1 freezer), SIGKILL every listed pid, thaw, and wait
 * until empty; then every leaf is removed.
 */
#ifndef UVMLAB_CGROUP_H
#define UVMLAB_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "scenario/scenario.h"

#define CGROUP_PARENT "uvmlab"
#define CGROUP_MAX_HIER 6
#define CGROUP_PATH_MAX 512

/* Controllers uvmlab uses (bits of cgroup_hier.controllers). */
#define CGROUP_C_MEMORY  0x1u
#define CGROUP_C_PIDS    0x2u
#define CGROUP_C_CPU     0x4u
#define CGROUP_C_FREEZER 0x8u

/* One mounted hierarchy. */
struct cgroup_hier {
	char mount[256];
	/* v1: the word naming this hierarchy in /proc/self/cgroup ("memory",
	 * "name=systemd"); v2: "". */
	char key[32];
	uint32_t controllers;   /* CGROUP_C_* it carries (v2: those listed as available) */
	int v2;
};

struct cgroup_layout {
	struct cgroup_hier h[CGROUP_MAX_HIER];
	size_t n;
};

/* Choose the hierarchies from MOUNTS (text in /proc/self/mounts format) and
 * V2_CONTROLLERS (the first cgroup2 mount's cgroup.controllers; NULL or ""
 * for none). Uses the v2 mount, plus each v1 mount carrying freezer, pids,
 * memory or cpu that v2 does not provide; name=systemd only when nothing
 * else is there. Pure. 0 (OUT->n may be 0: no cgroups at all). */
int cgroup_layout_parse(const char *mounts, const char *v2_controllers, struct cgroup_layout *out);

/* cgroup_layout_parse() of this host. 0 or negative errno. */
int cgroup_layout_detect(struct cgroup_layout *out);

/* The cgroup of the process described by PROC_CGROUP (text of
 * /proc/PID/cgroup) in hierarchy H, e.g. "/" or "/user.slice". Pure.
 * 0, or -ENOENT when H is not listed. */
int cgroup_self_path(const char *proc_cgroup, const struct cgroup_hier *h, char *out, size_t len);

/* The run's leaf in H for run ID, given the caller's own cgroup OWN in H
 * (ignored for v2): see the header comment. Pure. 0 or -ENAMETOOLONG, or
 * -EINVAL for an ID that is not one path component. */
int cgroup_leaf_path(const struct cgroup_hier *h, const char *own, const char *id,
		     char *out, size_t len);

/* Is PATH the leaf of run ID (ends in "/uvmlab/ID")? Pure. */
int cgroup_path_is_run(const char *path, const char *id);

/* Parse TEXT (cgroup.procs: one decimal pid per line) into OUT (at most
 * MAX). Returns how many pids the text holds (may exceed MAX), or -EINVAL
 * for a line that is not a pid. Pure. */
int cgroup_parse_procs(const char *text, pid_t *out, size_t max);

/* A live run's cgroups. */
struct cgroup_run {
	size_t n;
	struct {
		char path[CGROUP_PATH_MAX];   /* the leaf */
		char orig[CGROUP_PATH_MAX];   /* where the supervisor came from */
		uint32_t controllers;
		int v2, joined;
	} d[CGROUP_MAX_HIER];
	struct scn_limits limits;             /* those applied */
	int removed;                          /* cgroup_run_destroy() done; paths kept */
};

/* Create the leaves of run ID in every hierarchy of L (the leaf mkdir is
 * exclusive), apply LIMITS (may be NULL), then move the calling process in.
 * On error writes one line to ERR (ERRLEN bytes), removes whatever it made
 * and returns negative errno: -EOPNOTSUPP for a limit no hierarchy can
 * apply. RUN must be zeroed; cgroup_run_destroy() accepts what is left. */
int cgroup_run_create(const struct cgroup_layout *l, const char *id, const struct scn_limits *limits,
		      struct cgroup_run *run, char *err, size_t errlen);

/* Move the calling process back where it came from, kill whatever is still
 * in the run's cgroups (within TIMEOUT_MS) and remove them; the paths stay
 * in RUN for the record, a second call does nothing. RUN may be NULL or
 * empty. Returns the number of processes killed, or negative errno when
 * a leaf could not be removed. */
int cgroup_run_destroy(struct cgroup_run *run, int timeout_ms);

/* Kill every process in the N leaves PATHS (each must pass
 * cgroup_path_is_run() for ID and be on a cgroup file system, else it is
 * skipped), wait until they are empty (within TIMEOUT_MS) and remove them
 * and their uvmlab parent if empty. Missing leaves are fine. *KILLED (may be
 * NULL) gets the number of processes signalled. 0, or negative errno when a
 * leaf stayed. */
int cgroup_kill_dirs(const char *const *paths, size_t n, const char *id, int timeout_ms,
		     int *killed);

/* The leaves RUN made, as a JSON array of strings (new reference). */
json_t *cgroup_run_dirs_json(const struct cgroup_run *run);

/* "limits" for result.json: the values applied and the files they went to
 * (new reference). */
json_t *cgroup_run_limits_json(const struct cgroup_run *run);

/* How many times a fork in RUN was refused by its pids limit (pids.events
 * "max"), 0 when none or unknown. Call before cgroup_run_destroy(). */
uint64_t cgroup_run_pids_refused(const struct cgroup_run *run);

/* How many processes of RUN the kernel killed for its memory limit
 * (memory.events / memory.oom_control "oom_kill"), 0 when none or unknown. */
uint64_t cgroup_run_oom_kills(const struct cgroup_run *run);

/* The value of "KEY N" in TEXT (a cgroup events file), 0 when absent. Pure. */
uint64_t cgroup_parse_counter(const char *text, const char *key);

#endif
