/* SPDX-License-Identifier: MIT */
/* cgroup.c: the run's own cgroup: which hierarchies to use, create, limit, kill, remove. */
#include "lab/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

#define CGROUP_CPU_PERIOD_US 100000u
#define CGROUP_MAX_PIDS 4096

static const struct {
	const char *name;
	uint32_t bit;
} cgroup_controllers[] = {
	{ "memory", CGROUP_C_MEMORY }, { "pids", CGROUP_C_PIDS },
	{ "cpu", CGROUP_C_CPU }, { "freezer", CGROUP_C_FREEZER },
};

/* Bits for the words of LIST (separated by any of SEP). */
static uint32_t cgroup_bits(const char *list, size_t len, const char *sep, char *first, size_t flen)
{
	uint32_t bits = 0;
	size_t i = 0;

	while (i < len) {
		size_t w = i, k;

		while (w < len && !strchr(sep, list[w]))
			w++;
		for (k = 0; k < sizeof(cgroup_controllers) / sizeof(cgroup_controllers[0]); k++) {
			const char *name = cgroup_controllers[k].name;

			if (strlen(name) == w - i && !memcmp(list + i, name, w - i)) {
				bits |= cgroup_controllers[k].bit;
				if (first && !first[0])
					snprintf(first, flen, "%s", name);
			}
		}
		i = w + 1;
	}
	return bits;
}

int cgroup_layout_parse(const char *mounts, const char *v2_controllers, struct cgroup_layout *out)
{
	const char *line = mounts;
	struct cgroup_hier sysd = { .mount = "" };
	uint32_t have = 0;
	int v2_seen = 0;

	memset(out, 0, sizeof(*out));
	/* v2 first: what it provides is not taken from v1 as well */
	for (int pass = 0; pass < 2; pass++) {
		for (line = mounts; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
			char dev[64], mnt[256], type[32], opts[512];
			struct cgroup_hier h = { .mount = "" };

			if (sscanf(line, "%63s %255s %31s %511s", dev, mnt, type, opts) != 4)
				continue;
			if (strchr(mnt, '\\'))
				continue; /* an escaped path (a space in it): not ours to guess */
			if (pass == 0 && !strcmp(type, "cgroup2") && !v2_seen) {
				v2_seen = 1;
				h.v2 = 1;
				if (v2_controllers)
					h.controllers = cgroup_bits(v2_controllers, strlen(v2_controllers),
								    " \n", NULL, 0);
				/* freezing is cgroup.freeze/cgroup.kill in v2, not a controller */
				h.controllers |= CGROUP_C_FREEZER;
			} else if (pass == 1 && !strcmp(type, "cgroup")) {
				h.controllers = cgroup_bits(opts, strlen(opts), ",", h.key, sizeof(h.key));
				if (strstr(opts, "name=systemd") && !sysd.mount[0]) {
					snprintf(sysd.mount, sizeof(sysd.mount), "%s", mnt);
					snprintf(sysd.key, sizeof(sysd.key), "name=systemd");
				}
				if (!(h.controllers & ~have))
					continue;
				/* a controller v2 already provides is not also used in v1 */
				h.controllers &= ~have;
			} else {
				continue;
			}
			if (out->n == CGROUP_MAX_HIER)
				continue;
			snprintf(h.mount, sizeof(h.mount), "%s", mnt);
			have |= h.controllers;
			out->h[out->n++] = h;
		}
		if (pass == 0 && v2_seen && !(out->h[0].controllers & ~CGROUP_C_FREEZER)) {
			/* controller-less v2 beside v1: membership and cgroup.kill only */
			have = 0;
		}
	}
	if (!out->n && sysd.mount[0])
		out->h[out->n++] = sysd;
	return 0;
}

int cgroup_layout_detect(struct cgroup_layout *out)
{
	char *mounts = NULL, *ctl = NULL, path[300];
	struct cgroup_layout first;
	size_t i;
	int ret;

	ret = util_read_file("/proc/self/mounts", 1 << 20, &mounts, NULL);
	if (ret < 0)
		return ret;
	cgroup_layout_parse(mounts, NULL, &first);
	for (i = 0; i < first.n; i++) {
		if (!first.h[i].v2)
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.controllers", first.h[i].mount);
		if (util_read_file(path, 4096, &ctl, NULL) < 0)
			ctl = NULL;
		break;
	}
	ret = cgroup_layout_parse(mounts, ctl, out);
	free(ctl);
	free(mounts);
	return ret;
}

int cgroup_self_path(const char *proc_cgroup, const struct cgroup_hier *h, char *out, size_t len)
{
	const char *line;

	for (line = proc_cgroup; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *c1 = strchr(line, ':'), *c2, *eol;
		int match;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		eol = strchr(c2, '\n');
		if (!eol)
			eol = c2 + strlen(c2);
		if (h->v2) {
			match = c2 == c1 + 1 && !strncmp(line, "0:", 2);
		} else {
			/* the key is one of the comma-separated words */
			const char *w = c1 + 1;
			size_t kl = strlen(h->key);

			match = 0;
			while (w < c2 && !match) {
				const char *e = memchr(w, ',', (size_t)(c2 - w));

				if (!e)
					e = c2;
				match = (size_t)(e - w) == kl && !memcmp(w, h->key, kl);
				w = e + 1;
			}
		}
		if (!match)
			continue;
		if ((size_t)(eol - c2 - 1) >= len)
			return -ENAMETOOLONG;
		memcpy(out, c2 + 1, (size_t)(eol - c2 - 1));
		out[eol - c2 - 1] = '\0';
		return 0;
	}
	return -ENOENT;
}

int cgroup_leaf_path(const struct cgroup_hier *h, const char *own, const char *id,
		     char *out, size_t len)
{
	const char *base = h->v2 || !own || !strcmp(own, "/") ? "" : own;
	int n;

	if (!id[0] || strchr(id, '/') || id[0] == '.')
		return -EINVAL;
	n = snprintf(out, len, "%s%s/%s/%s", h->mount, base, CGROUP_PARENT, id);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int cgroup_path_is_run(const char *path, const char *id)
{
	size_t pl = strlen(path), il = strlen(id), sl = strlen("/" CGROUP_PARENT "/");

	if (!il || strchr(id, '/') || pl < il + sl)
		return 0;
	return !strcmp(path + pl - il, id) &&
	       !strncmp(path + pl - il - sl, "/" CGROUP_PARENT "/", sl);
}

int cgroup_parse_procs(const char *text, pid_t *out, size_t max)
{
	const char *s = text;
	int n = 0;

	while (*s) {
		long v = 0;
		const char *d = s;

		while (*s >= '0' && *s <= '9' && v <= 4194304)
			v = v * 10 + (*s++ - '0');
		if (s == d || v <= 0 || v > 4194304 || (*s && *s != '\n'))
			return -EINVAL;
		if ((size_t)n < max)
			out[n] = (pid_t)v;
		n++;
		if (*s)
			s++;
	}
	return n;
}

/* ---- the live side -------------------------------------------------------- */

/* Write S to DIR/FILE (a cgroup control file: no temporary, no rename). */
static int cgroup_write(const char *dir, const char *file, const char *s)
{
	char path[CGROUP_PATH_MAX + 64];
	ssize_t n;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(s))
		ret = -EIO;
	close(fd);
	return ret;
}

static int cgroup_has(const char *dir, const char *file)
{
	char path[CGROUP_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

static void cgroup_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void cgroup_errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len || err[0])
		return; /* the first error is the one worth telling */
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* In v2, controllers reach a child only through every ancestor's
 * cgroup.subtree_control: enable WANT at the root and in uvmlab/. */
static int cgroup_v2_enable(const char *mount, uint32_t want, char *err, size_t errlen)
{
	char parent[CGROUP_PATH_MAX];
	const char *dirs[2] = { mount, parent };
	size_t k;
	int d, ret;

	snprintf(parent, sizeof(parent), "%s/%s", mount, CGROUP_PARENT);
	for (d = 0; d < 2; d++) {
		for (k = 0; k < sizeof(cgroup_controllers) / sizeof(cgroup_controllers[0]); k++) {
			char word[32];

			if (!(want & cgroup_controllers[k].bit) || cgroup_controllers[k].bit == CGROUP_C_FREEZER)
				continue;
			snprintf(word, sizeof(word), "+%s", cgroup_controllers[k].name);
			ret = cgroup_write(dirs[d], "cgroup.subtree_control", word);
			if (ret < 0) {
				cgroup_errf(err, errlen, "cgroup: enabling the %s controller in %s: %s",
					    cgroup_controllers[k].name, dirs[d], strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

/* mkdir the uvmlab parent (shared by runs) and the run's leaf (exclusive).
 * Another run may remove an empty parent between the two: try again. */
static int cgroup_mkdir_leaf(const char *leaf)
{
	char parent[CGROUP_PATH_MAX];
	char *slash;
	int tries;

	snprintf(parent, sizeof(parent), "%s", leaf);
	slash = strrchr(parent, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	for (tries = 0; tries < 5; tries++) {
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (mkdir(leaf, 0755) == 0)
			return 0;
		if (errno != ENOENT)
			return -errno;
	}
	return -ENOENT;
}

static int cgroup_limit(struct cgroup_run *run, uint32_t bit, const char *what,
			const char *ctl, const char *v1_file, const char *v2_file, const char *v1_val,
			const char *v2_val, char *err, size_t errlen)
{
	size_t i;
	int ret;

	for (i = 0; i < run->n; i++) {
		if (!(run->d[i].controllers & bit))
			continue;
		ret = cgroup_write(run->d[i].path, run->d[i].v2 ? v2_file : v1_file,
				   run->d[i].v2 ? v2_val : v1_val);
		if (ret < 0)
			cgroup_errf(err, errlen, "lab.limits.%s: writing %s/%s: %s", what, run->d[i].path,
				    run->d[i].v2 ? v2_file : v1_file, strerror(-ret));
		return ret;
	}
	cgroup_errf(err, errlen, "lab.limits.%s: this host has no %s cgroup controller for the run "
		    "(neither a cgroup v1 %s hierarchy nor cgroup v2 with %s available)",
		    what, ctl, ctl, ctl);
	return -EOPNOTSUPP;
}

static int cgroup_apply(struct cgroup_run *run, const struct scn_limits *lim, char *err, size_t errlen)
{
	char v1[64], v2[64];
	int ret = 0;

	if (lim->has_cpus) {
		uint64_t quota = (uint64_t)lim->cpus_milli * CGROUP_CPU_PERIOD_US / 1000;
		size_t i;

		/* v1 needs the period before a quota longer than the default one */
		for (i = 0; i < run->n; i++)
			if ((run->d[i].controllers & CGROUP_C_CPU) && !run->d[i].v2)
				cgroup_write(run->d[i].path, "cpu.cfs_period_us", "100000");
		snprintf(v1, sizeof(v1), "%" PRIu64, quota);
		snprintf(v2, sizeof(v2), "%" PRIu64 " %u", quota, CGROUP_CPU_PERIOD_US);
		ret = cgroup_limit(run, CGROUP_C_CPU, "cpus", "cpu", "cpu.cfs_quota_us", "cpu.max",
				   v1, v2, err, errlen);
	}
	if (!ret && lim->has_memory) {
		snprintf(v1, sizeof(v1), "%" PRIu64, lim->memory_bytes);
		ret = cgroup_limit(run, CGROUP_C_MEMORY, "memory", "memory", "memory.limit_in_bytes",
				   "memory.max", v1, v1, err, errlen);
	}
	if (!ret && lim->has_pids) {
		snprintf(v1, sizeof(v1), "%u", lim->pids);
		ret = cgroup_limit(run, CGROUP_C_PIDS, "pids", "pids", "pids.max", "pids.max", v1, v1,
				   err, errlen);
	}
	if (!ret)
		run->limits = *lim;
	return ret;
}

int cgroup_run_create(const struct cgroup_layout *l, const char *id, const struct scn_limits *limits,
		      struct cgroup_run *run, char *err, size_t errlen)
{
	static const struct scn_limits none;
	const struct scn_limits *lim = limits ? limits : &none;
	uint32_t want = (lim->has_memory ? CGROUP_C_MEMORY : 0) | (lim->has_pids ? CGROUP_C_PIDS : 0) |
			(lim->has_cpus ? CGROUP_C_CPU : 0);
	char *self = NULL, own[CGROUP_PATH_MAX], pid[24];
	size_t i;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!l->n) {
		cgroup_errf(err, errlen, "cgroup: no cgroup hierarchy is mounted");
		ret = -ENOENT;
		goto fail;
	}
	ret = util_read_file("/proc/self/cgroup", 1 << 16, &self, NULL);
	if (ret < 0) {
		cgroup_errf(err, errlen, "cgroup: reading /proc/self/cgroup: %s", strerror(-ret));
		goto fail;
	}
	for (i = 0; i < l->n; i++) {
		const struct cgroup_hier *h = &l->h[i];

		if (cgroup_self_path(self, h, own, sizeof(own)) < 0)
			snprintf(own, sizeof(own), "/");
		ret = cgroup_leaf_path(h, own, id, run->d[run->n].path, CGROUP_PATH_MAX);
		if (!ret)
			ret = snprintf(run->d[run->n].orig, CGROUP_PATH_MAX, "%s%s", h->mount,
				       strcmp(own, "/") ? own : "") >= CGROUP_PATH_MAX ? -ENAMETOOLONG : 0;
		if (ret < 0) {
			cgroup_errf(err, errlen, "cgroup: the run's cgroup under %s: %s", h->mount,
				    strerror(-ret));
			goto fail;
		}
		if (h->v2 && (want & h->controllers & ~CGROUP_C_FREEZER)) {
			char parent[CGROUP_PATH_MAX];

			snprintf(parent, sizeof(parent), "%s/%s", h->mount, CGROUP_PARENT);
			if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
				ret = -errno;
				cgroup_errf(err, errlen, "cgroup: mkdir %s: %s", parent, strerror(-ret));
				goto fail;
			}
			ret = cgroup_v2_enable(h->mount, want & h->controllers, err, errlen);
			if (ret < 0)
				goto fail;
		}
		ret = cgroup_mkdir_leaf(run->d[run->n].path);
		if (ret < 0) {
			cgroup_errf(err, errlen, "cgroup: mkdir %s: %s", run->d[run->n].path, strerror(-ret));
			goto fail;
		}
		run->d[run->n].controllers = h->controllers;
		run->d[run->n].v2 = h->v2;
		run->n++;
	}
	ret = cgroup_apply(run, lim, err, errlen);
	if (ret < 0)
		goto fail;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (i = 0; i < run->n; i++) {
		ret = cgroup_write(run->d[i].path, "cgroup.procs", pid);
		if (ret < 0) {
			cgroup_errf(err, errlen, "cgroup: joining %s: %s", run->d[i].path, strerror(-ret));
			goto fail;
		}
		run->d[i].joined = 1;
	}
	free(self);
	return 0;
fail:
	free(self);
	cgroup_run_destroy(run, 2000);
	return ret;
}

/* Read DIR's cgroup.procs into OUT (at most MAX); returns the count (may
 * exceed MAX), 0 for a missing leaf, or negative errno. */
static int cgroup_read_procs(const char *dir, pid_t *out, size_t max)
{
	char path[CGROUP_PATH_MAX + 32], *buf = NULL;
	int ret;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	ret = util_read_file(path, 1 << 22, &buf, NULL);
	if (ret < 0)
		return ret == -ENOENT ? 0 : ret;
	ret = cgroup_parse_procs(buf, out, max);
	free(buf);
	return ret;
}

static int cgroup_on_cgroupfs(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf) < 0)
		return 0;
	return sf.f_type == CGROUP_SUPER_MAGIC || sf.f_type == CGROUP2_SUPER_MAGIC;
}

int cgroup_kill_dirs(const char *const *paths, size_t n, const char *id, int timeout_ms,
		     int *killed)
{
	uint64_t deadline = util_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	pid_t self = getpid(), *pids;
	size_t i;
	int count = 0, ret = 0, round, any;

	/* more members than this are killed over several rounds */
	pids = calloc(CGROUP_MAX_PIDS, sizeof(*pids));
	if (!pids)
		return -ENOMEM;

	for (i = 0; i < n; i++) {
		if (!cgroup_path_is_run(paths[i], id) || access(paths[i], F_OK) < 0 ||
		    !cgroup_on_cgroupfs(paths[i]))
			continue;
		/* v2: one write, the kernel kills every member, forks included */
		if (cgroup_has(paths[i], "cgroup.kill"))
			cgroup_write(paths[i], "cgroup.kill", "1");
		else if (cgroup_has(paths[i], "freezer.state"))
			cgroup_write(paths[i], "freezer.state", "FROZEN"); /* nothing forks meanwhile */
	}
	for (round = 0;; round++) {
		any = 0;
		for (i = 0; i < n; i++) {
			int k, m;

			if (!cgroup_path_is_run(paths[i], id) || !cgroup_on_cgroupfs(paths[i]))
				continue;
			m = cgroup_read_procs(paths[i], pids, CGROUP_MAX_PIDS);
			for (k = 0; k < m && k < CGROUP_MAX_PIDS; k++) {
				if (pids[k] == self)
					continue;
				any = 1;
				if (kill(pids[k], SIGKILL) == 0 && round == 0)
					count++;
			}
			/* a frozen task dies of its SIGKILL only once thawed */
			if (cgroup_has(paths[i], "freezer.state"))
				cgroup_write(paths[i], "freezer.state", "THAWED");
		}
		if (!any || util_mono_ns() > deadline)
			break;
		cgroup_sleep_ms(20);
	}
	for (i = 0; i < n; i++) {
		char parent[CGROUP_PATH_MAX], *slash;

		if (!cgroup_path_is_run(paths[i], id) || access(paths[i], F_OK) < 0 ||
		    !cgroup_on_cgroupfs(paths[i]))
			continue;
		/* a killed task leaves its cgroup a moment after it is reaped */
		while (rmdir(paths[i]) < 0 && errno == EBUSY && util_mono_ns() < deadline)
			cgroup_sleep_ms(20);
		if (access(paths[i], F_OK) == 0 && !ret)
			ret = -EBUSY;
		snprintf(parent, sizeof(parent), "%s", paths[i]);
		slash = strrchr(parent, '/');
		if (slash) {
			*slash = '\0';
			rmdir(parent); /* only when no other run uses it */
		}
	}
	free(pids);
	if (killed)
		*killed = count;
	return ret;
}

int cgroup_run_destroy(struct cgroup_run *run, int timeout_ms)
{
	const char *paths[CGROUP_MAX_HIER];
	char pid[24];
	const char *id;
	size_t i;
	int killed = 0, ret;

	if (!run || !run->n || run->removed)
		return 0;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (i = 0; i < run->n; i++) {
		paths[i] = run->d[i].path;
		if (!run->d[i].joined)
			continue;
		/* back where we came from, or that hierarchy's root */
		if (cgroup_write(run->d[i].orig, "cgroup.procs", pid) < 0) {
			char root[CGROUP_PATH_MAX];
			char *u = strstr(run->d[i].path, "/" CGROUP_PARENT "/");

			snprintf(root, sizeof(root), "%.*s", u ? (int)(u - run->d[i].path) : 0,
				 run->d[i].path);
			cgroup_write(root, "cgroup.procs", pid);
		}
		run->d[i].joined = 0;
	}
	id = strrchr(run->d[0].path, '/');
	ret = cgroup_kill_dirs(paths, run->n, id ? id + 1 : "", timeout_ms, &killed);
	run->removed = 1;
	return ret < 0 ? ret : killed;
}

json_t *cgroup_run_dirs_json(const struct cgroup_run *run)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; run && i < run->n; i++)
		json_array_append_new(a, json_string(run->d[i].path));
	return a;
}

json_t *cgroup_run_limits_json(const struct cgroup_run *run)
{
	const struct scn_limits *l = &run->limits;
	json_t *o = json_object();

	if (l->has_memory)
		json_object_set_new(o, "memory_bytes", json_integer((json_int_t)l->memory_bytes));
	if (l->has_pids)
		json_object_set_new(o, "pids", json_integer((json_int_t)l->pids));
	if (l->has_cpus) {
		json_object_set_new(o, "cpus", json_real(l->cpus_milli / 1000.0));
		json_object_set_new(o, "cpu_quota_us",
				    json_integer((json_int_t)l->cpus_milli * CGROUP_CPU_PERIOD_US / 1000));
		json_object_set_new(o, "cpu_period_us", json_integer(CGROUP_CPU_PERIOD_US));
	}
	return o;
}

uint64_t cgroup_parse_counter(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *line;

	for (line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, key, kl) && line[kl] == ' ')
			return strtoull(line + kl + 1, NULL, 10);
	return 0;
}

/* Counter KEY of the first leaf carrying BIT, from V1_FILE or V2_FILE. */
static uint64_t cgroup_run_counter(const struct cgroup_run *run, uint32_t bit, const char *v1_file,
				   const char *v2_file, const char *key)
{
	char path[CGROUP_PATH_MAX + 32], *buf = NULL;
	uint64_t n = 0;
	size_t i;

	for (i = 0; run && i < run->n; i++) {
		if (!(run->d[i].controllers & bit))
			continue;
		snprintf(path, sizeof(path), "%s/%s", run->d[i].path, run->d[i].v2 ? v2_file : v1_file);
		if (util_read_file(path, 4096, &buf, NULL) < 0)
			return 0;
		n = cgroup_parse_counter(buf, key);
		free(buf);
		break;
	}
	return n;
}

uint64_t cgroup_run_pids_refused(const struct cgroup_run *run)
{
	return cgroup_run_counter(run, CGROUP_C_PIDS, "pids.events", "pids.events", "max");
}

uint64_t cgroup_run_oom_kills(const struct cgroup_run *run)
{
	return cgroup_run_counter(run, CGROUP_C_MEMORY, "memory.oom_control", "memory.events",
				  "oom_kill");
}
