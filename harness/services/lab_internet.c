/* SPDX-License-Identifier: MIT */
/* lab_internet.c: the fake internet service: its namespace, its link into the lab, its web and DNS server. */
#include "services/service_schemas.h"
#include "services/lab_services.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "lab/netns_link.h"
#include "services/internet_addrs.h"

#define LAB_INET_VETH_LAB "inet0"  /* in the run's namespace, on the bridge */
#define LAB_INET_VETH_ISP "inet1"  /* in the internet's namespace */

/* Its own network namespace (held by a child that only waits), a veth into
 * the bridge of the network with internet: true, and the web/DNS fixture
 * running there. The private Tor network (lab_tor.c) lives there too. */
struct lab_internet {
	pid_t holder;                /* its netns is the internet; 0 = none */
	int ns_fd;                   /* /proc/HOLDER/ns/net, -1 = none */
	pid_t web_pid;               /* fake_internet.py serve */
	uint32_t gw_addr;            /* the internet's address on the lab network */
	char fixtures_dir[1024];     /* where fake_internet.py and private_tor.py live */
	char log[1200];              /* RESULTS/internet.log: the fake internet's JSON lines */
	char pidfile[600];
};

static struct lab_internet *lab_internet_of(const struct lab *lab)
{
	return lab_service_state(lab, &lab_internet_service);
}

/* Also the home of the private Tor network: that one needs the namespace. */
static int lab_internet_wanted(const struct plan *plan)
{
	return (plan->scn->services & SERVICE_INTERNET) || (plan->scn->services & SERVICE_TOR);
}

static void lab_internet_init(struct lab *lab, void *state)
{
	struct lab_internet *in = state;

	(void)lab;
	in->ns_fd = -1;
}

/* The fixture scripts: $UVMLAB_FIXTURES, else ../fixtures beside the binary
 * (build/uvmlab in a checkout), else ./fixtures. */
static void lab_internet_find_fixtures(struct lab_internet *in)
{
	char exe[900], probe[1200];

	if (getenv("UVMLAB_FIXTURES")) {
		util_strlcpy(in->fixtures_dir, getenv("UVMLAB_FIXTURES"), sizeof(in->fixtures_dir));
		return;
	}
	lab_sibling_path("..", exe, sizeof(exe));
	snprintf(probe, sizeof(probe), "%s/fixtures/internet/fake_internet.py", exe);
	if (access(probe, R_OK) == 0)
		snprintf(in->fixtures_dir, sizeof(in->fixtures_dir), "%s/fixtures", exe);
	else
		util_strlcpy(in->fixtures_dir, "fixtures", sizeof(in->fixtures_dir));
}

const char *lab_internet_fixtures_dir(const struct lab *lab)
{
	struct lab_internet *in = lab_internet_of(lab);

	return in ? in->fixtures_dir : "";
}

const char *lab_internet_log(const struct lab *lab)
{
	struct lab_internet *in = lab_internet_of(lab);

	return in ? in->log : "";
}

pid_t lab_internet_web_pid(const struct lab *lab)
{
	struct lab_internet *in = lab_internet_of(lab);

	return in ? in->web_pid : 0;
}

int lab_internet_spawn(struct lab *lab, const char *const *argv, const char *out_path, pid_t *out)
{
	struct lab_internet *in = lab_internet_of(lab);

	if (!in || in->ns_fd < 0)
		return -ENOTCONN;
	/* appended: generate, start and the daemons share one log */
	return lab_spawn_ns(in->ns_fd, argv, out_path, 1, out);
}

int lab_internet_run(struct lab *lab, const char *const *argv, const char *out_path, int timeout_ms)
{
	pid_t pid;
	int ret = lab_internet_spawn(lab, argv, out_path, &pid);

	return ret < 0 ? ret : lab_reap(pid, timeout_ms);
}

/* The holder: a child in a fresh network namespace that only waits. It dies
 * with us (PDEATHSIG) and at lab_down(); the namespace dies with the last
 * process in it (the holder, the fixtures). */
static int lab_internet_holder(struct lab_internet *in, uint32_t uid)
{
	pid_t parent = getpid(), pid;
	char path[64], c = 'n';
	int p[2], ret = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto cleanup;
	}
	if (pid == 0) {
		int null;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		/* the internet's side of its veth stays off IPv6 like the lab's links */
		c = unshare(CLONE_NEWNET) == 0 && netns_link_disable_ipv6() == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1 || c != 'y')
			_exit(1);
		/* It only holds the namespace, and outlives `uvmlab up`: none of
		 * the supervisor's files (`uvmlab up`'s stdout, which would keep a
		 * `$(uvmlab up ...)` waiting for EOF as long as the lab runs; its
		 * BPF objects), and no root. */
		null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		close_range(3, ~0u, 0);
		if (uid && (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
			    setresuid(uid, uid, uid) < 0))
			_exit(1);
		/* the uid change cleared the death signal */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		for (;;)
			pause();
	}
	in->holder = pid;
	close(p[1]);
	p[1] = -1;
	if (read(p[0], &c, 1) != 1 || c != 'y') {
		ret = -EPERM;
		goto cleanup;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	in->ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (in->ns_fd < 0)
		ret = -errno;
cleanup:
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return ret;
}

/* Inside the internet's namespace: lo up with the services' addresses, the
 * veth end up with the network's last host address (the ISP's gateway). */
static int lab_internet_addresses(struct lab_internet *in, const struct scn_network *net)
{
	struct netns_link *nl = NULL;
	int here, ret, i;

	here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (here < 0)
		return -errno;
	if (setns(in->ns_fd, CLONE_NEWNET) < 0) {
		ret = -errno;
		close(here);
		return ret;
	}
	ret = netns_link_open(&nl);
	if (!ret)
		ret = netns_link_set_up(nl, "lo", 1);
	if (!ret)
		ret = netns_link_addr_add(nl, "lo", INTERNET_WEB_ADDR, 32);
	if (!ret)
		ret = netns_link_addr_add(nl, "lo", INTERNET_DNS_ADDR, 32);
	for (i = 1; !ret && i <= INTERNET_TOR_NODES; i++)
		ret = netns_link_addr_add(nl, "lo", INTERNET_TOR_NET_ADDR + (uint32_t)i, 32);
	if (!ret && net) {
		ret = netns_link_addr_add(nl, LAB_INET_VETH_ISP, in->gw_addr, net->prefix);
		if (!ret)
			ret = netns_link_set_up(nl, LAB_INET_VETH_ISP, 1);
	}
	/* Like a real upstream, the ISP answers "network unreachable" for an
	 * address it has no route to (it has none beyond its own addresses and
	 * the lab's link): a guest trying to reach the rest of the world fails at
	 * once instead of waiting out its timeouts. It has one link, so it can
	 * route nothing between lab networks; no redirects. */
	if (!ret)
		ret = netns_link_sysctl("ipv4/conf/all/send_redirects", "0");
	if (!ret)
		ret = netns_link_sysctl("ipv4/conf/all/forwarding", "1");
	netns_link_close(nl);
	/* Back into the run's namespace: everything else of the lab lives there. */
	if (setns(here, CLONE_NEWNET) < 0 && !ret)
		ret = -errno;
	close(here);
	return ret;
}

/* Wait until PATH exists while PID lives, up to TIMEOUT_MS. */
static int lab_internet_wait_file(const char *path, pid_t pid, int timeout_ms)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	int waited;

	for (waited = 0; waited < timeout_ms; waited += 20) {
		if (access(path, F_OK) == 0)
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -ESRCH;
		nanosleep(&nap, NULL);
	}
	return -ETIMEDOUT;
}

static int lab_internet_serve(struct lab *lab, struct lab_internet *in)
{
	char script[1200], out[1200], user[32];
	int ret;

	snprintf(script, sizeof(script), "%s/internet/fake_internet.py", in->fixtures_dir);
	/* it binds ports 53 and 80 and opens its log as root, then runs as this */
	snprintf(user, sizeof(user), "%u:%u", lab_plugin_helper_uid(lab), lab_plugin_helper_uid(lab));
	snprintf(out, sizeof(out), "%s/fake-internet.out", lab_results_dir(lab));
	snprintf(in->log, sizeof(in->log), "%s/internet.log", lab_results_dir(lab));
	snprintf(in->pidfile, sizeof(in->pidfile), "%s/fake-internet.pid", lab_run_dir(lab));
	const char *argv[] = { "/usr/bin/python3", script, "serve", "--web", INTERNET_WEB,
			       "--dns", INTERNET_DNS, "--log", in->log,
			       "--pidfile", in->pidfile,
			       lab_plugin_helper_uid(lab) ? "--user" : NULL, user, NULL };

	util_progress("fake internet: web %s, dns %s", INTERNET_WEB, INTERNET_DNS);
	ret = lab_internet_spawn(lab, argv, out, &in->web_pid);
	if (!ret)
		ret = lab_internet_wait_file(in->pidfile, in->web_pid, 15000);
	if (ret < 0)
		lab_set_err(lab, "fake internet: %s did not come up: %s (see %s)", script,
			    strerror(-ret), out);
	return ret;
}

static int lab_internet_start(struct lab *lab, void *state)
{
	struct lab_internet *in = state;
	const struct plan *plan = lab_plugin_plan(lab);
	struct netns_link *nl = lab_plugin_netlink(lab);
	const struct scn_network *net = NULL;
	const struct plan_net *pnet = NULL;
	size_t i;
	int ret;

	lab_internet_find_fixtures(in);
	for (i = 0; i < plan->n_nets && !net; i++)
		if (plan->nets[i].scn->services & SERVICE_INTERNET) {
			pnet = &plan->nets[i];
			net = pnet->scn;
		}
	ret = lab_internet_holder(in, lab_plugin_helper_uid(lab));
	if (ret < 0) {
		lab_set_err(lab, "fake internet: its network namespace: %s", strerror(-ret));
		return ret;
	}
	if (net) {
		in->gw_addr = net->subnet + (1u << (32 - net->prefix)) - 2;
		ret = netns_link_veth_create(nl, LAB_INET_VETH_LAB, LAB_INET_VETH_ISP);
		if (!ret)
			ret = netns_link_move(nl, LAB_INET_VETH_ISP, in->ns_fd);
		if (!ret)
			ret = netns_link_set_master(nl, LAB_INET_VETH_LAB, pnet->bridge);
		if (!ret)
			ret = netns_link_set_up(nl, LAB_INET_VETH_LAB, 1);
		if (ret < 0) {
			lab_set_err(lab, "fake internet: veth into network \"%s\": %s", net->name,
				    strerror(-ret));
			return ret;
		}
	}
	ret = lab_internet_addresses(in, net);
	if (ret < 0) {
		lab_set_err(lab, "fake internet: addresses in its namespace: %s", strerror(-ret));
		return ret;
	}
	return (plan->scn->services & SERVICE_INTERNET) ? lab_internet_serve(lab, in) : 0;
}

static int lab_internet_netns_fd(const struct lab *lab, const void *state)
{
	const struct lab_internet *in = state;

	(void)lab;
	return in->ns_fd;
}

static void lab_internet_stop(struct lab *lab, void *state)
{
	struct lab_internet *in = state;
	struct netns_link *nl = lab_plugin_netlink(lab);

	if (in->web_pid > 0) {
		kill(in->web_pid, SIGTERM);
		if (lab_reap(in->web_pid, 3000) == -ETIMEDOUT)
			util_err("fake internet: did not stop on SIGTERM; killed");
		in->web_pid = 0;
	}
	if (in->holder > 0) {
		kill(in->holder, SIGKILL);
		waitpid(in->holder, NULL, 0);
		in->holder = 0;
	}
	if (in->ns_fd >= 0) {
		close(in->ns_fd);
		in->ns_fd = -1;
	}
	if (nl)
		netns_link_delete(nl, LAB_INET_VETH_LAB);
}

const struct service_ops lab_internet_service = {
	.name = "fake internet",
	.state_size = sizeof(struct lab_internet),
	.wanted = lab_internet_wanted,
	.init = lab_internet_init,
	.start = lab_internet_start,
	.netns_fd = lab_internet_netns_fd,
	.stop = lab_internet_stop,
};
