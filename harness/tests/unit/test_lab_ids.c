/* SPDX-License-Identifier: MIT */
/* test_lab_ids.c: dynamic ids: picking around busy ids, leases between runs, the drop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "lab/lab_ids.c"

void lab_set_err(struct lab *lab, const char *fmt, ...)
{
	(void)lab;
	(void)fmt;
}

/* busy: the ids listed in ctx (0-terminated) */
static int busy_listed(uint32_t id, void *ctx)
{
	const uint32_t *v;

	for (v = ctx; *v; v++)
		if (*v == id)
			return 1;
	return 0;
}

static void test_pick_skips_busy_ids(void **state)
{
	uint32_t busy[] = { 100, 102, 0 }, out[3];

	(void)state;
	assert_int_equal(lab_ids_pick(100, 10, 3, busy_listed, busy, out), 0);
	assert_int_equal(out[0], 101);
	assert_int_equal(out[1], 103);
	assert_int_equal(out[2], 104);
}

static void test_pick_full_range_is_an_error(void **state)
{
	uint32_t busy[] = { 100, 102, 0 }, out[3];

	(void)state;
	/* 4 ids, 2 busy: 2 free, 3 wanted */
	assert_int_equal(lab_ids_pick(100, 4, 3, busy_listed, busy, out), -EUSERS);
	/* a range past the end of the id space */
	assert_int_equal(lab_ids_pick(UINT32_MAX - 1, 4, 1, busy_listed, busy, out), -EINVAL);
}

static int dir_setup(void **state)
{
	char *d = strdup("/tmp/uvmlab-test-ids-XXXXXX");

	if (!d || !mkdtemp(d))
		return -1;
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	util_rm_rf(*state);
	free(*state);
	return 0;
}

/* Two runs (here two leases by one live holder) never share an id; a
 * released id comes back; a lease whose holder is gone is taken again. */
static void test_leases_are_exclusive_and_stale_ones_reused(void **state)
{
	const char *dir = *state;
	uint32_t a[2], b[2], c[1];
	char path[600];

	assert_int_equal(lab_ids_alloc(dir, "run-a", 2, a), 0);
	assert_int_equal(lab_ids_alloc(dir, "run-b", 2, b), 0);
	assert_true(a[0] != b[0] && a[0] != b[1] && a[1] != b[0] && a[1] != b[1]);
	assert_true(a[0] >= LAB_IDS_BASE && b[1] < LAB_IDS_BASE + LAB_IDS_COUNT);
	lab_ids_release(dir, a, 2);
	snprintf(path, sizeof(path), "%s/%u", dir, a[0]);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(lab_ids_alloc(dir, "run-c", 1, c), 0);
	assert_int_equal(c[0], a[0]);
	/* a supervisor that was kill -9'd: its pid no longer runs */
	lab_ids_release(dir, c, 1);
	assert_int_equal(util_write_file(path, "2147483647 1 run-dead\n", 22), 0);
	assert_int_equal(lab_ids_alloc(dir, "run-d", 1, c), 0);
	assert_int_equal(c[0], a[0]);
	lab_ids_release(dir, c, 1);
	/* ... and the next allocation sweeps a dead run's leases away */
	snprintf(path, sizeof(path), "%s/%u", dir, LAB_IDS_BASE + 60000);
	assert_int_equal(util_write_file(path, "2147483647 1 run-dead\n", 22), 0);
	assert_int_equal(lab_ids_alloc(dir, "run-e", 1, c), 0);
	assert_int_equal(access(path, F_OK), -1);
	lab_ids_release(dir, c, 1);
	lab_ids_release(dir, b, 2);
}

/* The reaper of a killed run gives back exactly that run's leases. */
static void test_release_owned(void **state)
{
	const char *dir = *state;
	uint32_t a[2], b[1];
	char path[600];

	assert_int_equal(lab_ids_alloc(dir, "run-a", 2, a), 0);
	assert_int_equal(lab_ids_alloc(dir, "run-ab", 1, b), 0);
	lab_ids_release_owned(dir, "run-a");
	snprintf(path, sizeof(path), "%s/%u", dir, a[0]);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/%u", dir, a[1]);
	assert_int_equal(access(path, F_OK), -1);
	/* a run id that only starts like it keeps its own */
	snprintf(path, sizeof(path), "%s/%u", dir, b[0]);
	assert_int_equal(access(path, F_OK), 0);
	lab_ids_release_owned(dir, "run-ab");
	assert_int_equal(access(path, F_OK), -1);
	lab_ids_release_owned("/nonexistent-uvmlab-ids", "run-a"); /* no folder: nothing */
}

/* QEMU walks the run root by path as its own uid: a root-owned run root
 * gets o+x, a folder above it that others cannot search is named. */
static void test_run_root_made_searchable_or_named(void **state)
{
	const char *dir = *state;
	char a[300], b[300], bad[300] = "";
	struct stat st;

	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/a/b", dir);
	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(mkdir(b, 0700), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	if (geteuid() != 0)
		skip();
	assert_int_equal(lab_ids_path_searchable(b, bad, sizeof(bad)), -EACCES);
	assert_string_equal(bad, a);
	assert_int_equal(stat(b, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0701);
	assert_int_equal(lab_ids_path_searchable(a, bad, sizeof(bad)), 0);
	assert_int_equal(lab_ids_path_searchable(b, bad, sizeof(bad)), 0);
}

/* After the drop nothing can go back to root and no capability is left. */
static void test_drop_is_for_good(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(lab_drop_to(0, 5, NULL, 0), -EINVAL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gid_t g = 4242, got[4];
		uid_t r, e, s;
		char *buf = NULL, *cap;
		size_t len;

		if (lab_drop_to(LAB_IDS_BASE + 7, LAB_IDS_BASE + 7, &g, 1) < 0)
			_exit(1);
		if (getresuid(&r, &e, &s) < 0 || r != LAB_IDS_BASE + 7 || s != LAB_IDS_BASE + 7)
			_exit(2);
		if (getgroups(4, got) != 1 || got[0] != 4242 || getgid() != LAB_IDS_BASE + 7)
			_exit(3);
		if (setresuid(0, 0, 0) == 0 || setgid(0) == 0)
			_exit(4);
		if (util_read_file("/proc/self/status", 1 << 16, &buf, &len) < 0 ||
		    !(cap = strstr(buf, "CapEff:\t")) || strncmp(cap + 8, "0000000000000000", 16))
			_exit(5);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick_skips_busy_ids),
		cmocka_unit_test(test_pick_full_range_is_an_error),
		cmocka_unit_test_setup_teardown(test_leases_are_exclusive_and_stale_ones_reused, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_release_owned, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_run_root_made_searchable_or_named, dir_setup,
						dir_teardown),
		cmocka_unit_test(test_drop_is_for_good),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
