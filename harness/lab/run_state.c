/* SPDX-License-Identifier: MIT */
/* run_state.c: the on-host record of live runs, and the reaper of orphans. */
#include "lab/run_state.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "lab/cgroup.h"
#include "lab/lab_internal.h"

int run_state_save(const char *dir, json_t *state)
{
	char path[1024];
	char *s;
	int ret;

	if (snprintf(path, sizeof(path), "%s/state.json", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	s = json_dumps(state, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!s)
		return -ENOMEM;
	ret = util_write_file(path, s, strlen(s));
	free(s);
	return ret;
}

static int run_state_load(const char *root, const char *id, struct run_state_info *info)
{
	char path[1024];
	json_t *st, *sup;
	json_error_t jerr;

	memset(info, 0, sizeof(*info));
	util_strlcpy(info->id, id, sizeof(info->id));
	snprintf(info->dir, sizeof(info->dir), "%s/%s", root, id);
	snprintf(path, sizeof(path), "%s/state.json", info->dir);
	st = json_load_file(path, 0, &jerr);
	info->state = st;
	if (!st)
		return 0; /* a run that died before writing its state: an orphan */
	util_strlcpy(info->scenario, json_string_value(json_object_get(st, "scenario")) ?: "",
		     sizeof(info->scenario));
	util_strlcpy(info->results_dir,
		     json_string_value(json_object_get(st, "results_dir")) ?: "",
		     sizeof(info->results_dir));
	sup = json_object_get(st, "supervisor");
	if (json_is_object(sup)) {
		json_int_t pid = json_integer_value(json_object_get(sup, "pid"));
		json_int_t start = json_integer_value(json_object_get(sup, "starttime"));

		info->supervisor = (pid_t)pid;
		info->alive = pid > 0 && start > 0 &&
			      util_proc_starttime((pid_t)pid) == (uint64_t)start;
	}
	return 0;
}

size_t run_state_netns_list(json_t *state, uint64_t *out, size_t max)
{
	json_t *arr = json_object_get(state, "netns"), *v;
	size_t i, n = 0;

	json_array_foreach(arr, i, v)
		if (json_is_integer(v) && json_integer_value(v) > 0 && n < max)
			out[n++] = (uint64_t)json_integer_value(v);
	return n;
}

static int run_state_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int run_state_list(const char *root, run_state_visit_fn fn, void *arg)
{
	DIR *d = opendir(root);
	struct dirent *de;
	char **ids = NULL;
	size_t n = 0, cap = 0, i;
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		if (n == cap) {
			char **nids = realloc(ids, (cap = cap ? cap * 2 : 16) * sizeof(*ids));

			if (!nids) {
				ret = -ENOMEM;
				goto cleanup;
			}
			ids = nids;
		}
		ids[n] = strdup(de->d_name);
		if (!ids[n]) {
			ret = -ENOMEM;
			goto cleanup;
		}
		n++;
	}
	if (n)
		qsort(ids, n, sizeof(*ids), run_state_cmp);
	for (i = 0; i < n && !ret; i++) {
		struct run_state_info info;

		run_state_load(root, ids[i], &info);
		ret = fn(&info, arg);
		json_decref(info.state);
	}
cleanup:
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	closedir(d);
	return ret;
}

/* The inode of PID's network namespace, or 0. */
static uint64_t run_state_netns_of(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

int run_state_kill_matching(const char *needle, const uint64_t *netns, size_t n_netns)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int killed = 0;
	pid_t self = getpid();

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[64], *buf = NULL;
		size_t len = 0, i;
		pid_t pid = (pid_t)atoi(de->d_name);
		uint64_t ns;
		int ours = 0;

		if (pid <= 0 || pid == self)
			continue;
		/* Only what lives in one of the run's own namespaces: a pager or
		 * a `tail -f` of a run's log on the host is not the run's. */
		ns = run_state_netns_of(pid);
		for (i = 0; ns && i < n_netns; i++)
			ours |= netns[i] == ns;
		if (!ours)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		if (util_read_file(path, 1 << 20, &buf, &len) < 0)
			continue;
		for (i = 0; i < len; i++)
			if (!buf[i])
				buf[i] = ' ';
		if (memmem(buf, len, needle, strlen(needle)) && kill(pid, SIGKILL) == 0)
			killed++;
		free(buf);
	}
	closedir(d);
	return killed;
}

/* The run's cgroup leaves: those STATE names, and those this host's layout
 * gives the id (a supervisor killed between mkdir and saving its state).
 * Strings in BUF; returns how many. */
static size_t run_state_cgroups(json_t *state, const char *id,
				char buf[][CGROUP_PATH_MAX], size_t max)
{
	struct cgroup_layout layout;
	json_t *arr = json_object_get(state, "cgroups"), *v;
	char *self = NULL, own[CGROUP_PATH_MAX];
	size_t i, j, n = 0;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && n < max &&
		    strlen(json_string_value(v)) < CGROUP_PATH_MAX)
			snprintf(buf[n++], CGROUP_PATH_MAX, "%s", json_string_value(v));
	if (cgroup_layout_detect(&layout) < 0 ||
	    util_read_file("/proc/self/cgroup", 1 << 16, &self, NULL) < 0)
		return n;
	for (i = 0; i < layout.n && n < max; i++) {
		int dup = 0;

		if (cgroup_self_path(self, &layout.h[i], own, sizeof(own)) < 0)
			snprintf(own, sizeof(own), "/");
		if (cgroup_leaf_path(&layout.h[i], own, id, buf[n], CGROUP_PATH_MAX) < 0)
			continue;
		for (j = 0; j < n; j++)
			dup |= !strcmp(buf[j], buf[n]);
		if (!dup && access(buf[n], F_OK) == 0)
			n++;
	}
	free(self);
	return n;
}

static void run_state_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int run_state_reap(const char *root, const char *id, int timeout_ms, int *killed)
{
	struct run_state_info info;
	uint64_t netns[RUN_STATE_MAX_NETNS];
	char cg[CGROUP_MAX_HIER * 2][CGROUP_PATH_MAX];
	const char *cgp[CGROUP_MAX_HIER * 2];
	size_t n_netns, n_cg, i;
	char needle[600];
	int n = 0, waited = 0, ret;

	if (strchr(id, '/') || id[0] == '.')
		return -EINVAL;
	snprintf(needle, sizeof(needle), "%s/%s", root, id);
	if (access(needle, F_OK) < 0)
		return -ENOENT;
	run_state_load(root, id, &info);
	n_netns = run_state_netns_list(info.state, netns, RUN_STATE_MAX_NETNS);
	n_cg = run_state_cgroups(info.state, id, cg, CGROUP_MAX_HIER * 2);
	json_decref(info.state);
	info.state = NULL;
	if (info.alive) {
		/* Let the supervisor tear its own lab down: it knows the order. */
		kill(info.supervisor, SIGTERM);
		while (waited < timeout_ms && util_proc_starttime(info.supervisor)) {
			run_state_sleep_ms(50);
			waited += 50;
		}
		if (util_proc_starttime(info.supervisor))
			kill(info.supervisor, SIGKILL);
	}
	/* Everything the run started lives in its cgroup, whatever its command
	 * line says: kill the cgroup. Only a run that had none (a host without
	 * usable cgroups, said when it started) falls back to what lives in the
	 * run's namespaces and names this run's folder on its command line. */
	strcat(needle, "/");
	if (n_cg) {
		for (i = 0; i < n_cg; i++)
			cgp[i] = cg[i];
		ret = cgroup_kill_dirs(cgp, n_cg, id, timeout_ms > 2000 ? timeout_ms : 2000, &n);
		if (ret < 0)
			util_err("run %s: its cgroup could not be removed: %s", id, strerror(-ret));
	} else {
		n = run_state_kill_matching(needle, netns, n_netns);
	}
	if (killed)
		*killed = n > 0 ? n : 0;
	if (n > 0)
		run_state_sleep_ms(100); /* let the kernel release their sockets */
	needle[strlen(needle) - 1] = '\0';
	/* the unprivileged ids a killed supervisor leased go back now, not at
	 * the next run's sweep */
	lab_ids_release_owned(LAB_IDS_DIR, id);
	ret = util_rm_rf(needle);
	return ret;
}

struct run_state_reap_ctx {
	const char *root;
	int only_orphans;
	int timeout_ms;
	int count;
};

static int run_state_reap_one(const struct run_state_info *info, void *arg)
{
	struct run_state_reap_ctx *c = arg;

	if (c->only_orphans && info->alive)
		return 0;
	if (run_state_reap(c->root, info->id, c->timeout_ms, NULL) == 0)
		c->count++;
	return 0;
}

int run_state_reap_all(const char *root, int only_orphans, int timeout_ms)
{
	struct run_state_reap_ctx c = { root, only_orphans, timeout_ms, 0 };
	int ret = run_state_list(root, run_state_reap_one, &c);

	return ret < 0 ? ret : c.count;
}
