/* SPDX-License-Identifier: MIT */
/* lab_ids.c: dynamic uids/gids for a run's QEMUs and helpers, and dropping to one.
 *
 * A run needs unprivileged identities without an install step (no passwd
 * entry, no useradd): it leases numeric ids from a fixed range that nothing
 * else on a Debian host hands out (see LAB_IDS_BASE). Leases are files
 * under LAB_IDS_DIR, written under an flock of LAB_IDS_DIR/lock, so runs
 * from any run root, concurrent or not, never share an id. A lease names
 * its holder (supervisor pid and start time): a lease whose holder is gone
 * (kill -9) is stale and taken again. An id that some process still runs
 * as, or has as a group, is never handed out, leased or not. */
#include "lab/lab_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

int lab_ids_pick(uint32_t base, uint32_t count, size_t n, lab_ids_busy_fn busy, void *ctx,
		 uint32_t *out)
{
	size_t got = 0;
	uint32_t k;

	if (count > UINT32_MAX - base)
		return -EINVAL;
	for (k = 0; k < count && got < n; k++)
		if (!busy(base + k, ctx))
			out[got++] = base + k;
	return got == n ? 0 : -EUSERS;
}

/* Every uid and gid (real, effective, saved, fs) of every process now. */
struct lab_ids_seen {
	uint32_t *v;
	size_t n, cap;
	const char *dir;
};

static int lab_ids_seen_add(struct lab_ids_seen *s, uint32_t id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		uint32_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = id;
	return 0;
}

static int lab_ids_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int lab_ids_scan_procs(struct lab_ids_seen *s)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int ret = 0;

	if (!d)
		return -errno;
	while (!ret && (e = readdir(d))) {
		char path[64], *buf = NULL, *line;
		size_t len;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/status", e->d_name);
		if (util_read_file(path, 1 << 16, &buf, &len) < 0)
			continue; /* gone meanwhile */
		for (line = buf; line && !ret; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
			unsigned long v[4];

			if ((!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4)) &&
			    sscanf(line + 4, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) == 4) {
				int i;

				for (i = 0; i < 4 && !ret; i++)
					ret = lab_ids_seen_add(s, (uint32_t)v[i]);
			}
		}
		free(buf);
	}
	closedir(d);
	if (!ret && s->n)
		qsort(s->v, s->n, sizeof(*s->v), lab_ids_cmp);
	return ret;
}

/* A lease whose holder still runs. */
static int lab_ids_lease_live(const char *dir, uint32_t id)
{
	char path[600], *buf = NULL;
	unsigned long long start = 0;
	size_t len;
	int pid = 0, live = 0;

	snprintf(path, sizeof(path), "%s/%u", dir, id);
	if (util_read_file(path, 4096, &buf, &len) < 0)
		return 0;
	if (sscanf(buf, "%d %llu", &pid, &start) == 2 && pid > 0)
		live = util_proc_starttime(pid) == start;
	free(buf);
	return live;
}

static int lab_ids_busy_host(uint32_t id, void *ctx)
{
	struct lab_ids_seen *s = ctx;

	if (s->n && bsearch(&id, s->v, s->n, sizeof(*s->v), lab_ids_cmp))
		return 1;
	return lab_ids_lease_live(s->dir, id);
}

/* Under the lock: forget the leases of supervisors that are gone (kill -9),
 * so nothing of a dead run stays in DIR past the next run's start. */
static void lab_ids_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[600], *end;
		unsigned long id;

		errno = 0;
		id = strtoul(e->d_name, &end, 10);
		if (errno || *end || end == e->d_name || id < LAB_IDS_BASE ||
		    id >= (unsigned long)LAB_IDS_BASE + LAB_IDS_COUNT)
			continue;
		if (lab_ids_lease_live(dir, (uint32_t)id))
			continue;
		snprintf(path, sizeof(path), "%s/%lu", dir, id);
		unlink(path);
	}
	closedir(d);
}

int lab_ids_alloc(const char *dir, const char *owner, size_t n, uint32_t *out)
{
	struct lab_ids_seen seen = { .dir = dir };
	char path[600], line[256];
	size_t i;
	int lock = -1, ret;

	ret = util_mkdir_p(dir, 0755);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/lock", dir);
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0)
		return -errno;
	if (flock(lock, LOCK_EX) < 0) {
		ret = -errno;
		goto cleanup;
	}
	lab_ids_sweep(dir);
	ret = lab_ids_scan_procs(&seen);
	if (!ret)
		ret = lab_ids_pick(LAB_IDS_BASE, LAB_IDS_COUNT, n, lab_ids_busy_host, &seen, out);
	snprintf(line, sizeof(line), "%d %llu %s\n", (int)getpid(),
		 (unsigned long long)util_proc_starttime(getpid()), owner);
	for (i = 0; i < n && !ret; i++) {
		snprintf(path, sizeof(path), "%s/%u", dir, out[i]);
		unlink(path); /* a stale lease, or none */
		ret = util_write_file(path, line, strlen(line));
	}
	if (ret < 0)
		lab_ids_release(dir, out, i);
cleanup:
	free(seen.v);
	close(lock); /* drops the flock */
	return ret;
}

void lab_ids_release(const char *dir, const uint32_t *ids, size_t n)
{
	char path[600];
	size_t i;

	for (i = 0; i < n; i++) {
		if (!ids[i])
			continue;
		snprintf(path, sizeof(path), "%s/%u", dir, ids[i]);
		unlink(path);
	}
}

void lab_ids_release_owned(const char *dir, const char *owner)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[600], *buf = NULL, *sp;
		size_t len = 0;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (util_read_file(path, 512, &buf, &len) < 0)
			continue;
		/* "PID STARTTIME OWNER\n": the owner is the third field */
		sp = strchr(buf, ' ');
		sp = sp ? strchr(sp + 1, ' ') : NULL;
		if (sp && !strncmp(sp + 1, owner, strlen(owner)) && sp[1 + strlen(owner)] == '\n')
			unlink(path);
		free(buf);
	}
	closedir(d);
}

/* Async-signal-safe: called between fork and exec. Groups first (they need
 * CAP_SETGID), then the gid, the uid last: all three of each set, so
 * nothing can switch back, and the capability sets empty on their own. */
int lab_drop_to(uint32_t uid, uint32_t gid, const gid_t *groups, size_t n_groups)
{
	uid_t r, e, s;

	if (!uid || !gid)
		return -EINVAL;
	if (setgroups(n_groups, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -errno;
	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid)
		return -EPERM;
	return 0;
}

/* QEMU opens the run root and the run directory by path as its own uid:
 * every component must let others search it. The run root, when it is
 * ours (root's), gets o+x; a folder above it that is not searchable is an
 * error, named. */
int lab_ids_path_searchable(const char *path, char *bad, size_t len)
{
	char p[1024];
	struct stat st;
	char *slash;

	if (util_strlcpy(p, path, sizeof(p)) < 0)
		return -ENAMETOOLONG;
	if (stat(p, &st) == 0 && !(st.st_mode & S_IXOTH) && st.st_uid == 0)
		chmod(p, (st.st_mode & 07777) | S_IXOTH);
	for (;;) {
		if (stat(p[0] ? p : "/", &st) < 0)
			return -errno;
		if (!(st.st_mode & S_IXOTH)) {
			snprintf(bad, len, "%s", p[0] ? p : "/");
			return -EACCES;
		}
		slash = strrchr(p, '/');
		if (!slash || !p[0])
			return 0;
		*slash = '\0';
	}
}

int lab_ids_lease(struct lab *lab)
{
	uint32_t *ids;
	char bad[1024] = "";
	size_t i;
	int ret;

	ret = lab_ids_path_searchable(lab->opts.run_root, bad, sizeof(bad));
	if (ret < 0) {
		lab_set_err(lab, "run root %s: %s%s%s", lab->opts.run_root,
			    ret == -EACCES ? "other users may not search " : strerror(-ret),
			    bad, ret == -EACCES ? " (QEMU runs as an unprivileged uid; chmod o+x it)" : "");
		return ret;
	}
	ids = calloc(lab->n_vms + 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	ret = lab_ids_alloc(LAB_IDS_DIR, lab->run_id, lab->n_vms + 1, ids);
	if (ret < 0) {
		lab_set_err(lab, "leasing %zu unprivileged ids in %s: %s", lab->n_vms + 1, LAB_IDS_DIR,
			    strerror(-ret));
		goto cleanup;
	}
	lab->ids_leased = 1;
	lab->helper_uid = ids[0];
	for (i = 0; i < lab->n_vms && !ret; i++) {
		struct lab_vm *vm = &lab->vms[i];

		vm->uid = ids[1 + i];
		/* The VM's own folder: its QEMU creates the agent socket there;
		 * the helpers (group) create and remove their sockets in it;
		 * another VM's QEMU cannot even look in. */
		ret = util_mkdir_p(vm->dir, 0700);
		if (!ret && (chown(vm->dir, vm->uid, lab->helper_uid) < 0 || chmod(vm->dir, 0770) < 0))
			ret = -errno;
		if (ret < 0)
			lab_set_err(lab, "vm \"%s\": folder %s: %s", vm->pvm->name, vm->dir, strerror(-ret));
	}
cleanup:
	free(ids);
	return ret;
}

void lab_ids_unlease(struct lab *lab)
{
	size_t i;

	if (!lab->ids_leased)
		return;
	lab_ids_release(LAB_IDS_DIR, &lab->helper_uid, 1);
	for (i = 0; i < lab->n_vms; i++)
		lab_ids_release(LAB_IDS_DIR, &lab->vms[i].uid, 1);
	lab->ids_leased = 0;
}
