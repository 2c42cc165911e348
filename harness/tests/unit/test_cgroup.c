/* SPDX-License-Identifier: MIT */
/* test_cgroup.c: choosing hierarchies from a mount table, paths, cgroup.procs, limits without a controller. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "lab/cgroup.c"

/* A hybrid host: v1 controllers, name=systemd, a controller-less v2. */
static const char hybrid[] =
	"tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
	"cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0\n"
	"cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\n"
	"cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
	"cgroup /sys/fs/cgroup/freezer cgroup rw,relatime,freezer 0 0\n"
	"cgroup /sys/fs/cgroup/pids cgroup rw,nosuid,pids 0 0\n"
	"cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0\n"
	"cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";

static const struct cgroup_hier *find(const struct cgroup_layout *l, const char *mount)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->h[i].mount, mount))
			return &l->h[i];
	return NULL;
}

static void test_layout_hybrid(void **state)
{
	struct cgroup_layout l;
	const struct cgroup_hier *h;

	(void)state;
	assert_int_equal(cgroup_layout_parse(hybrid, "", &l), 0);
	/* v2 (membership, cgroup.kill), cpu, memory, freezer, pids; never cpuset
	 * nor name=systemd while something better is there */
	assert_int_equal(l.n, 5);
	h = find(&l, "/sys/fs/cgroup/unified");
	assert_non_null(h);
	assert_true(h->v2);
	assert_int_equal(h->controllers, CGROUP_C_FREEZER);
	h = find(&l, "/sys/fs/cgroup/cpu,cpuacct");
	assert_non_null(h);
	assert_int_equal(h->controllers, CGROUP_C_CPU);
	assert_string_equal(h->key, "cpu");
	assert_int_equal(find(&l, "/sys/fs/cgroup/freezer")->controllers, CGROUP_C_FREEZER);
	assert_int_equal(find(&l, "/sys/fs/cgroup/pids")->controllers, CGROUP_C_PIDS);
	assert_int_equal(find(&l, "/sys/fs/cgroup/memory")->controllers, CGROUP_C_MEMORY);
	assert_null(find(&l, "/sys/fs/cgroup/cpuset"));
	assert_null(find(&l, "/sys/fs/cgroup/systemd"));
}

static void test_layout_pure_v2(void **state)
{
	static const char m[] = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n";
	struct cgroup_layout l;

	(void)state;
	assert_int_equal(cgroup_layout_parse(m, "cpuset cpu io memory hugetlb pids rdma misc\n", &l), 0);
	assert_int_equal(l.n, 1);
	assert_true(l.h[0].v2);
	assert_int_equal(l.h[0].controllers,
			 CGROUP_C_CPU | CGROUP_C_MEMORY | CGROUP_C_PIDS | CGROUP_C_FREEZER);
	/* v2 without pids enabled: that one only from v1 */
	assert_int_equal(cgroup_layout_parse("cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
					     "cgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0\n"
					     "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n",
					     "memory", &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(find(&l, "/sys/fs/cgroup/unified")->controllers,
			 CGROUP_C_MEMORY | CGROUP_C_FREEZER);
	assert_int_equal(find(&l, "/sys/fs/cgroup/pids")->controllers, CGROUP_C_PIDS);
	assert_null(find(&l, "/sys/fs/cgroup/memory"));
}

static void test_layout_sparse(void **state)
{
	struct cgroup_layout l;

	(void)state;
	/* nothing mounted: no hierarchy (the caller falls back) */
	assert_int_equal(cgroup_layout_parse("proc /proc proc rw 0 0\n", NULL, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(cgroup_layout_parse("", NULL, &l), 0);
	assert_int_equal(l.n, 0);
	/* only name=systemd: a membership set is better than nothing */
	assert_int_equal(cgroup_layout_parse("cgroup /sys/fs/cgroup/systemd cgroup rw,name=systemd 0 0\n",
					     NULL, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.h[0].key, "name=systemd");
	assert_int_equal(l.h[0].controllers, 0);
	/* an escaped mount point and a truncated line are skipped */
	assert_int_equal(cgroup_layout_parse("cgroup /a\\040b cgroup rw,pids 0 0\ncgroup /x cgroup\n",
					     NULL, &l), 0);
	assert_int_equal(l.n, 0);
}

static void test_self_and_leaf_paths(void **state)
{
	static const char self[] =
		"9:name=systemd:/\n8:pids:/\n4:memory:/process_api/e21\n1:cpu,cpuacct:/user.slice\n0::/\n";
	struct cgroup_hier mem = { .mount = "/sys/fs/cgroup/memory", .key = "memory" };
	struct cgroup_hier cpu = { .mount = "/sys/fs/cgroup/cpu,cpuacct", .key = "cpu" };
	struct cgroup_hier v2 = { .mount = "/sys/fs/cgroup", .v2 = 1 };
	struct cgroup_hier fr = { .mount = "/sys/fs/cgroup/freezer", .key = "freezer" };
	char own[64], leaf[128];

	(void)state;
	assert_int_equal(cgroup_self_path(self, &mem, own, sizeof(own)), 0);
	assert_string_equal(own, "/process_api/e21");
	assert_int_equal(cgroup_leaf_path(&mem, own, "r1", leaf, sizeof(leaf)), 0);
	assert_string_equal(leaf, "/sys/fs/cgroup/memory/process_api/e21/uvmlab/r1");
	assert_int_equal(cgroup_self_path(self, &cpu, own, sizeof(own)), 0);
	assert_string_equal(own, "/user.slice");
	assert_int_equal(cgroup_self_path(self, &v2, own, sizeof(own)), 0);
	assert_string_equal(own, "/");
	/* v2 leaves sit at the hierarchy's root, whatever our own cgroup */
	assert_int_equal(cgroup_leaf_path(&v2, "/user.slice/x.scope", "r1", leaf, sizeof(leaf)), 0);
	assert_string_equal(leaf, "/sys/fs/cgroup/uvmlab/r1");
	assert_int_equal(cgroup_self_path(self, &fr, own, sizeof(own)), -ENOENT);
	assert_int_equal(cgroup_leaf_path(&fr, "/", "r1", leaf, sizeof(leaf)), 0);
	assert_string_equal(leaf, "/sys/fs/cgroup/freezer/uvmlab/r1");
	/* an id is one path component */
	assert_int_equal(cgroup_leaf_path(&fr, "/", "../x", leaf, sizeof(leaf)), -EINVAL);
	assert_int_equal(cgroup_leaf_path(&fr, "/", "a/b", leaf, sizeof(leaf)), -EINVAL);
	assert_int_equal(cgroup_leaf_path(&fr, "/", "", leaf, sizeof(leaf)), -EINVAL);
	assert_int_equal(cgroup_leaf_path(&fr, "/", "r1", leaf, 20), -ENAMETOOLONG);
	assert_true(cgroup_path_is_run("/sys/fs/cgroup/pids/uvmlab/r1", "r1"));
	assert_false(cgroup_path_is_run("/sys/fs/cgroup/pids/uvmlab/r12", "r1"));
	assert_false(cgroup_path_is_run("/sys/fs/cgroup/pids/other/r1", "r1"));
	assert_false(cgroup_path_is_run("/sys/fs/cgroup/pids", "r1"));
	assert_false(cgroup_path_is_run("/sys/fs/cgroup/pids/uvmlab/r1", ""));
}

static void test_parse_procs(void **state)
{
	pid_t p[2];

	(void)state;
	assert_int_equal(cgroup_parse_procs("", p, 2), 0);
	assert_int_equal(cgroup_parse_procs("12\n", p, 2), 1);
	assert_int_equal(p[0], 12);
	assert_int_equal(cgroup_parse_procs("1\n2\n3\n", p, 2), 3); /* counts past MAX */
	assert_int_equal(p[1], 2);
	assert_int_equal(cgroup_parse_procs("12", p, 2), 1);
	assert_int_equal(cgroup_parse_procs("x\n", p, 2), -EINVAL);
	assert_int_equal(cgroup_parse_procs("12 \n", p, 2), -EINVAL);
	assert_int_equal(cgroup_parse_procs("0\n", p, 2), -EINVAL);
	assert_int_equal(cgroup_parse_procs("\n", p, 2), -EINVAL);
	assert_int_equal(cgroup_parse_procs("99999999999999999999\n", p, 2), -EINVAL);
}

static void test_parse_counter(void **state)
{
	(void)state;
	assert_int_equal(cgroup_parse_counter("max 3\n", "max"), 3);
	assert_int_equal(cgroup_parse_counter("low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\n", "oom_kill"), 2);
	assert_int_equal(cgroup_parse_counter("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n", "oom_kill"), 5);
	assert_int_equal(cgroup_parse_counter("oom_kill_disable 1\n", "oom_kill"), 0);
	assert_int_equal(cgroup_parse_counter("", "max"), 0);
}

/* A limit no hierarchy carries is refused with one line naming it, before
 * anything is written (no live cgroup is needed to see that). */
static void test_limit_without_controller(void **state)
{
	struct cgroup_run run = { .n = 1 };
	struct scn_limits lim = { .has_cpus = 1, .cpus_milli = 1500 };
	char err[400] = "";

	(void)state;
	snprintf(run.d[0].path, sizeof(run.d[0].path), "/nonexistent/uvmlab/r1");
	run.d[0].controllers = CGROUP_C_PIDS;
	assert_int_equal(cgroup_apply(&run, &lim, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "lab.limits.cpus: this host has no cpu cgroup controller"));
	assert_null(strchr(err, '\n'));
	err[0] = '\0';
	lim = (struct scn_limits){ .has_memory = 1, .memory_bytes = 1 << 30 };
	assert_int_equal(cgroup_apply(&run, &lim, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "no memory cgroup controller"));
	/* the one that is there is written, and a failed write says where */
	err[0] = '\0';
	lim = (struct scn_limits){ .has_pids = 1, .pids = 10 };
	assert_int_equal(cgroup_apply(&run, &lim, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "lab.limits.pids: writing /nonexistent/uvmlab/r1/pids.max"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_hybrid),
		cmocka_unit_test(test_layout_pure_v2),
		cmocka_unit_test(test_layout_sparse),
		cmocka_unit_test(test_self_and_leaf_paths),
		cmocka_unit_test(test_parse_procs),
		cmocka_unit_test(test_parse_counter),
		cmocka_unit_test(test_limit_without_controller),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
