/* SPDX-License-Identifier: MIT */
/* run_state.h: the on-host record of live runs, and the reaper of orphans.
 *
 * Each run owns RUN_ROOT/<run-id>/ (sockets, state.json). state.json names the
 * supervising uvmlab process (pid + start time, so a recycled pid is not
 * mistaken for it), the QEMU pids, the results folder and the inodes of the
 * run's network namespaces ("netns": the lab's and those of its host services)
 * and the run's cgroup leaves ("cgroups", lab/cgroup.h). A run whose
 * supervisor is gone is an orphan: run_state_reap() kills its cgroups (every
 * process the run started, whatever its command line) and removes them and
 * the folder. Only a run without cgroups falls back to killing what lives in
 * one of its namespaces and mentions the run's folder on its command line.
 * Processes elsewhere are never touched.
 */
#ifndef UVMLAB_RUN_STATE_H
#define UVMLAB_RUN_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#define RUN_STATE_DEFAULT_ROOT "/run/uvmlab"

/* Write STATE (borrowed) as DIR/state.json atomically. */
int run_state_save(const char *dir, json_t *state);

struct run_state_info {
	char id[128];
	char dir[512];
	char scenario[256];
	char results_dir[512];
	pid_t supervisor;
	int alive;          /* supervisor still running */
	json_t *state;      /* the parsed state.json (borrowed during the callback), may be NULL */
};

typedef int (*run_state_visit_fn)(const struct run_state_info *info, void *arg);

/* Call FN for each run folder under ROOT (sorted by id). Stops at and
 * returns FN's first non-zero value. A missing ROOT is no runs. */
int run_state_list(const char *root, run_state_visit_fn fn, void *arg);

/* Stop the run ID under ROOT (SIGTERM to a live supervisor, then SIGKILL
 * after TIMEOUT_MS), kill leftover processes of that run and remove its
 * folder. *KILLED counts processes killed by force (may be NULL).
 * 0, -ENOENT (no such run) or negative errno. */
int run_state_reap(const char *root, const char *id, int timeout_ms, int *killed);

/* Reap every run under ROOT; ONLY_ORPHANS skips runs whose supervisor lives.
 * Returns the number of runs reaped, or negative errno. */
int run_state_reap_all(const char *root, int only_orphans, int timeout_ms);

/* Kill (SIGKILL) every process in one of the N_NETNS network namespaces
 * NETNS (inodes) whose command line contains NEEDLE; returns how many. Used
 * for a run's QEMUs and helpers: their socket paths name the run. */
int run_state_kill_matching(const char *needle, const uint64_t *netns, size_t n_netns);

/* The run's namespace inodes recorded in STATE's "netns" (at most MAX) into
 * OUT; returns how many. */
#define RUN_STATE_MAX_NETNS 4
size_t run_state_netns_list(json_t *state, uint64_t *out, size_t max);

#endif
