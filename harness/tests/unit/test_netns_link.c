/* SPDX-License-Identifier: MIT */
/* test_netns_link.c: netns_link in a private network and mount namespace, checked via sysfs/ioctl. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ifaddrs.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "lab/netns_link.c"

/* Every name any test creates, so teardown can leave the namespace empty
 * even when a test fails half way. */
static const char *const test_netns_link_names[] = {
	"tbr0", "tbr1", "ttap0", "ttap1", "tva", "tvb", "tvc", "tvd",
};

struct env {
	int err;           /* 0 when the private namespaces are in place */
	const char *what;  /* the step that failed */
};

struct fix {
	struct netns_link *nl;
};

/* A fresh netns so nothing here can touch the host's links, and a private
 * mount namespace with its own sysfs so /sys/class/net shows that netns.
 * Both vanish with this process: no mount or link is left behind. */
static void env_enter(struct env *env)
{
	env->what = "unshare(CLONE_NEWNET|CLONE_NEWNS)";
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		goto fail;
	env->what = "make / private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail;
	env->what = "mount sysfs on /sys";
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		goto fail;
	env->err = 0;
	return;
fail:
	env->err = errno;
}

static int fix_setup(void **state)
{
	struct env *env = *state;
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	/* Only a missing privilege is a reason to skip; anything else is a
	 * broken environment the tests must report. */
	if (env->err && env->err != EPERM)
		fail_msg("%s: %s", env->what, strerror(env->err));
	if (env->err == 0)
		assert_int_equal(netns_link_open(&f->nl), 0);
	*state = f;
	return 0;
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;

	for (size_t i = 0; f->nl && i < sizeof(test_netns_link_names) / sizeof(char *); i++)
		netns_link_delete(f->nl, test_netns_link_names[i]);
	netns_link_close(f->nl);
	free(f);
	return 0;
}

static struct fix *fix_get(void **state)
{
	struct fix *f = *state;

	if (!f->nl)
		skip();
	return f;
}

static int sys_read(const char *name, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *fp;
	int ret = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, attr);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	if (fgets(buf, (int)len, fp))
		ret = 0;
	fclose(fp);
	return ret;
}

static unsigned long sys_ulong(const char *name, const char *attr)
{
	char buf[64];

	assert_int_equal(sys_read(name, attr, buf, sizeof(buf)), 0);
	return strtoul(buf, NULL, 0);
}

static bool sys_has(const char *name, const char *attr)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, attr);
	return access(path, F_OK) == 0;
}

static void assert_master(const char *ifname, const char *master)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	const char *base;

	snprintf(path, sizeof(path), "/sys/class/net/%s/master", ifname);
	n = readlink(path, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	base = strrchr(target, '/');
	assert_string_equal(base ? base + 1 : target, master);
}

/* if_nametoindex() goes through an ioctl, independent of netlink. */
static bool link_gone_within(const char *name, int ms)
{
	for (int t = 0; t < ms; t += 10) {
		if (if_nametoindex(name) == 0)
			return true;
		usleep(10000);
	}
	return if_nametoindex(name) == 0;
}

static bool has_ipv4(const char *ifname, const char *addr, const char *mask)
{
	struct ifaddrs *ifa, *p;
	bool found = false;

	assert_int_equal(getifaddrs(&ifa), 0);
	for (p = ifa; p && !found; p = p->ifa_next) {
		char a[INET_ADDRSTRLEN], m[INET_ADDRSTRLEN];

		if (!p->ifa_addr || p->ifa_addr->sa_family != AF_INET ||
		    strcmp(p->ifa_name, ifname) != 0)
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)p->ifa_addr)->sin_addr, a, sizeof(a));
		inet_ntop(AF_INET, &((struct sockaddr_in *)p->ifa_netmask)->sin_addr, m, sizeof(m));
		found = strcmp(a, addr) == 0 && strcmp(m, mask) == 0;
	}
	freeifaddrs(ifa);
	return found;
}

static void test_errno_mapping(void **state)
{
	assert_int_equal(netns_link_errno(0), 0);
	assert_int_equal(netns_link_errno(-NLE_EXIST), -EEXIST);
	assert_int_equal(netns_link_errno(-NLE_OBJ_NOTFOUND), -ENODEV);
	assert_int_equal(netns_link_errno(-NLE_NODEV), -ENODEV);
	assert_int_equal(netns_link_errno(-NLE_PERM), -EPERM);
	assert_int_equal(netns_link_errno(-NLE_NOMEM), -ENOMEM);
	assert_int_equal(netns_link_errno(-NLE_OPNOTSUPP), -EOPNOTSUPP);
	assert_int_equal(netns_link_errno(-NLE_FAILURE), -EIO);
	/* the round trip through libnl's own mapping keeps the errno */
	assert_int_equal(netns_link_errno(-nl_syserr2nlerr(EEXIST)), -EEXIST);
	assert_int_equal(netns_link_errno(-nl_syserr2nlerr(EPERM)), -EPERM);
	assert_int_equal(netns_link_errno(-nl_syserr2nlerr(ENODEV)), -ENODEV);
	assert_int_equal(netns_link_errno(-nl_syserr2nlerr(EBUSY)), -EBUSY);
}

static void test_name_check(void **state)
{
	assert_int_equal(netns_link_name_check("br0"), 0);
	assert_int_equal(netns_link_name_check("abcdefghijklmno"), 0); /* 15 */
	assert_int_equal(netns_link_name_check("abcdefghijklmnop"), -ENAMETOOLONG);
	assert_int_equal(netns_link_name_check(""), -EINVAL);
	assert_int_equal(netns_link_name_check(NULL), -EINVAL);
	assert_int_equal(netns_link_name_check("tap%d"), -EINVAL);
	assert_int_equal(netns_link_name_check("a/b"), -EINVAL);
	assert_int_equal(netns_link_name_check("a:1"), -EINVAL);
	assert_int_equal(netns_link_name_check("a b"), -EINVAL);
	assert_int_equal(netns_link_name_check(".."), -EINVAL);
}

static void test_namespace_is_private(void **state)
{
	struct fix *f = fix_get(state);
	struct if_nameindex *ifs = if_nameindex(), *p;

	(void)f;
	assert_non_null(ifs);
	for (p = ifs; p->if_index; p++)
		assert_string_equal(p->if_name, "lo");
	if_freenameindex(ifs);
	/* and sysfs shows this namespace, not the host's */
	assert_true(sys_has("lo", "flags"));
}

static void test_topology(void **state)
{
	struct fix *f = fix_get(state);
	int tap = -1, idx;

	assert_int_equal(netns_link_bridge_create(f->nl, "tbr0"), 0);
	assert_true(sys_has("tbr0", "bridge"));
	assert_int_equal(sys_ulong("tbr0", "flags") & IFF_UP, 0);
	idx = netns_link_ifindex(f->nl, "tbr0");
	assert_true(idx > 0);
	assert_int_equal((unsigned)idx, if_nametoindex("tbr0"));

	assert_int_equal(netns_link_tap_open(f->nl, "ttap0", &tap), 0);
	assert_true(tap >= 0);
	assert_true(fcntl(tap, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(sys_ulong("ttap0", "tun_flags") & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN),
			 IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	assert_false(sys_ulong("ttap0", "tun_flags") & IFF_PERSIST);

	assert_int_equal(netns_link_veth_create(f->nl, "tva", "tvb"), 0);
	assert_int_equal(sys_ulong("tva", "iflink"), if_nametoindex("tvb"));
	assert_int_equal(sys_ulong("tvb", "iflink"), if_nametoindex("tva"));

	assert_int_equal(netns_link_set_master(f->nl, "ttap0", "tbr0"), 0);
	assert_int_equal(netns_link_set_master(f->nl, "tva", "tbr0"), 0);
	assert_master("ttap0", "tbr0");
	assert_master("tva", "tbr0");
	assert_false(sys_has("tvb", "master"));

	assert_int_equal(netns_link_set_up(f->nl, "tbr0", 1), 0);
	assert_int_equal(netns_link_set_up(f->nl, "ttap0", 1), 0);
	assert_int_equal(netns_link_set_up(f->nl, "tva", 1), 0);
	assert_int_equal(netns_link_set_up(f->nl, "tvb", 1), 0);
	assert_int_equal(sys_ulong("tbr0", "flags") & IFF_UP, IFF_UP);
	assert_int_equal(sys_ulong("ttap0", "flags") & IFF_UP, IFF_UP);
	assert_int_equal(sys_ulong("tvb", "flags") & IFF_UP, IFF_UP);
	assert_int_equal(netns_link_set_up(f->nl, "tvb", 0), 0);
	assert_int_equal(sys_ulong("tvb", "flags") & IFF_UP, 0);
	/* only the flag we asked for moved */
	assert_int_equal(sys_ulong("tva", "flags") & IFF_UP, IFF_UP);

	assert_int_equal(netns_link_addr_add(f->nl, "tbr0", 0xc6120001u, 24), 0); /* 198.18.0.1 */
	assert_true(has_ipv4("tbr0", "198.18.0.1", "255.255.255.0"));
	assert_int_equal(netns_link_addr_add(f->nl, "tvb", 0xc6120105u, 30), 0);
	assert_true(has_ipv4("tvb", "198.18.1.5", "255.255.255.252"));
	assert_false(has_ipv4("tva", "198.18.1.5", "255.255.255.252"));
	assert_int_equal(netns_link_addr_add(f->nl, "tbr0", 0xc6120001u, 24), -EEXIST);
	assert_int_equal(netns_link_addr_add(f->nl, "tbr0", 0xc6120002u, 33), -EINVAL);

	close(tap);
	assert_true(link_gone_within("ttap0", 2000));
	assert_int_equal(netns_link_ifindex(f->nl, "ttap0"), -ENODEV);

	assert_int_equal(netns_link_delete(f->nl, "tva"), 0);
	assert_true(link_gone_within("tva", 2000));
	assert_true(link_gone_within("tvb", 2000)); /* a veth dies with its peer */
	assert_int_equal(netns_link_delete(f->nl, "tbr0"), 0);
	assert_true(link_gone_within("tbr0", 2000));
	assert_int_equal(netns_link_delete(f->nl, "tbr0"), -ENODEV);
}

static void test_duplicates(void **state)
{
	struct fix *f = fix_get(state);
	int tap = -1, tap2 = -1;

	assert_int_equal(netns_link_bridge_create(f->nl, "tbr1"), 0);
	assert_int_equal(netns_link_bridge_create(f->nl, "tbr1"), -EEXIST);
	assert_int_equal(netns_link_veth_create(f->nl, "tbr1", "tvc"), -EEXIST);
	assert_int_equal(netns_link_tap_open(f->nl, "tbr1", &tap), -EEXIST);
	assert_int_equal(tap, -1);
	assert_int_equal(netns_link_veth_create(f->nl, "tvc", "tvd"), 0);
	assert_int_equal(netns_link_veth_create(f->nl, "tvc", "tvd"), -EEXIST);
	assert_int_equal(netns_link_veth_create(f->nl, "tvc", "tvc"), -EINVAL);
	assert_int_equal(netns_link_tap_open(f->nl, "ttap1", &tap), 0);
	assert_int_equal(netns_link_tap_open(f->nl, "ttap1", &tap2), -EEXIST);
	assert_int_equal(tap2, -1);
	assert_int_equal(netns_link_bridge_create(f->nl, "ttap1"), -EEXIST);
	/* a veth is no bridge: the kernel refuses it as a master */
	assert_true(netns_link_set_master(f->nl, "ttap1", "tvc") < 0);
	assert_false(sys_has("ttap1", "master"));
	close(tap);
}

/* netns_link_move(): a veth end goes to another namespace (a child that
 * unshared one and waits), disappears here, and is there under its name. */
static void test_move(void **state)
{
	struct fix *f = fix_get(state);
	int p[2], here, there;
	char path[64], c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	there = open(path, O_RDONLY | O_CLOEXEC);
	here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(there >= 0 && here >= 0);
	assert_int_equal(netns_link_veth_create(f->nl, "tva", "tvb"), 0);
	assert_int_equal(netns_link_move(f->nl, "tvb", there), 0);
	assert_int_equal(if_nametoindex("tvb"), 0);
	assert_true(if_nametoindex("tva") > 0);
	assert_int_equal(netns_link_move(f->nl, "tvb", there), -ENODEV);
	assert_int_equal(netns_link_move(f->nl, "tva", -1), -EBADF);
	assert_int_equal(setns(there, CLONE_NEWNET), 0);
	assert_true(if_nametoindex("tvb") > 0);
	assert_int_equal(setns(here, CLONE_NEWNET), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(there);
	close(here);
	close(p[0]);
	close(p[1]);
}

struct peers_seen {
	int tva_nsid, lo_nsid, n;
	char tva_kind[16];
};

static int note_peer(const struct netns_link_info *info, void *arg)
{
	struct peers_seen *p = arg;

	p->n++;
	if (!strcmp(info->name, "tva")) {
		p->tva_nsid = info->peer_nsid;
		snprintf(p->tva_kind, sizeof(p->tva_kind), "%s", info->kind);
	}
	if (!strcmp(info->name, "lo"))
		p->lo_nsid = info->peer_nsid;
	return 0;
}

static int stop_at_first(const struct netns_link_info *info, void *arg)
{
	(void)info;
	++*(int *)arg;
	return 7;
}

/* A veth whose peer went to another namespace names that namespace's id;
 * a namespace no link crosses into has none. */
static void test_peer_nsid(void **state)
{
	struct fix *f = fix_get(state);
	struct peers_seen seen = { -2, -2, 0, "" };
	int p[2], there, other, nsid = -5, calls = 0;
	pid_t pid[2];
	char path[64], c;

	assert_int_equal(pipe(p), 0);
	for (int k = 0; k < 2; k++) {
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0) {
			c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
			if (write(p[1], &c, 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		assert_int_equal(read(p[0], &c, 1), 1);
		assert_int_equal(c, 'y');
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid[0]);
	there = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid[1]);
	other = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(there >= 0 && other >= 0);
	assert_int_equal(netns_link_nsid_of(f->nl, other, &nsid), 0);
	assert_int_equal(nsid, -1);
	assert_int_equal(netns_link_veth_create(f->nl, "tva", "tvb"), 0);
	assert_int_equal(netns_link_foreach(f->nl, note_peer, &seen), 0);
	assert_int_equal(seen.tva_nsid, -1); /* both ends here: no foreign peer */
	assert_int_equal(netns_link_move(f->nl, "tvb", there), 0);
	assert_int_equal(netns_link_nsid_of(f->nl, there, &nsid), 0);
	assert_true(nsid >= 0);
	assert_int_equal(netns_link_foreach(f->nl, note_peer, &seen), 0);
	assert_int_equal(seen.tva_nsid, nsid);
	assert_string_equal(seen.tva_kind, "veth");
	assert_int_equal(seen.lo_nsid, -1);
	assert_int_equal(netns_link_nsid_of(f->nl, other, &nsid), 0);
	assert_int_equal(nsid, -1);
	assert_int_equal(netns_link_nsid_of(f->nl, -1, &nsid), -EBADF);
	assert_int_equal(netns_link_foreach(f->nl, stop_at_first, &calls), 7);
	assert_int_equal(calls, 1);
	for (int k = 0; k < 2; k++) {
		kill(pid[k], SIGKILL);
		waitpid(pid[k], NULL, 0);
	}
	close(there);
	close(other);
	close(p[0]);
	close(p[1]);
}

static void test_unknown_and_bad_names(void **state)
{
	struct fix *f = fix_get(state);
	int tap = 7;

	assert_int_equal(netns_link_ifindex(f->nl, "nosuch0"), -ENODEV);
	assert_int_equal(netns_link_set_up(f->nl, "nosuch0", 1), -ENODEV);
	assert_int_equal(netns_link_addr_add(f->nl, "nosuch0", 0xc6120001u, 24), -ENODEV);
	assert_int_equal(netns_link_delete(f->nl, "nosuch0"), -ENODEV);
	assert_int_equal(netns_link_set_master(f->nl, "nosuch0", "lo"), -ENODEV);
	assert_int_equal(netns_link_set_master(f->nl, "lo", "nosuch0"), -ENODEV);

	assert_int_equal(netns_link_bridge_create(f->nl, "abcdefghijklmnop"), -ENAMETOOLONG);
	assert_int_equal(netns_link_veth_create(f->nl, "tva", "abcdefghijklmnop"), -ENAMETOOLONG);
	assert_int_equal(netns_link_tap_open(f->nl, "abcdefghijklmnop", &tap), -ENAMETOOLONG);
	assert_int_equal(tap, -1);
	assert_int_equal(netns_link_ifindex(f->nl, "abcdefghijklmnop"), -ENAMETOOLONG);
	assert_int_equal(netns_link_delete(f->nl, "abcdefghijklmnop"), -ENAMETOOLONG);
	assert_int_equal(netns_link_bridge_create(f->nl, "tbr%d"), -EINVAL);
	assert_int_equal(netns_link_tap_open(f->nl, "ttap%d", &tap), -EINVAL);
	/* nothing was created by any of the refused calls */
	assert_int_equal(if_nametoindex("tbr0"), 0);
	assert_int_equal(if_nametoindex("ttap0"), 0);
	assert_int_equal(if_nametoindex("tva"), 0);
	netns_link_close(NULL);
}

int main(void)
{
	struct env env = { 0 };

	env_enter(&env);
	if (env.err)
		print_message("netns_link tests skipped: %s: %s\n", env.what, strerror(env.err));

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_mapping),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test_prestate_setup_teardown(test_namespace_is_private, fix_setup,
							 fix_teardown, &env),
		cmocka_unit_test_prestate_setup_teardown(test_topology, fix_setup, fix_teardown, &env),
		cmocka_unit_test_prestate_setup_teardown(test_duplicates, fix_setup, fix_teardown,
							 &env),
		cmocka_unit_test_prestate_setup_teardown(test_move, fix_setup, fix_teardown, &env),
		cmocka_unit_test_prestate_setup_teardown(test_peer_nsid, fix_setup, fix_teardown, &env),
		cmocka_unit_test_prestate_setup_teardown(test_unknown_and_bad_names, fix_setup,
							 fix_teardown, &env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
