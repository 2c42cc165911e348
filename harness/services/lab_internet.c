/* SPDX-License-Identifier: MIT */
/* lab_internet.c: the fake internet's namespace, its link into the lab, and the fixtures in it. */
#include "lab/lab_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include "services/service_schemas.h"

/* TEST-NET addresses inside the internet's namespace (fixtures/README.md). */
#define LAB_INET_WEB  0xcb007150u  /* 203.0.113.80: web */
#define LAB_INET_DNS  0xcb007135u  /* 203.0.113.53: DNS */
#define LAB_INET_TOR_NET "198.51.100.0/24"
#define LAB_INET_TOR_BASE 0xc6336400u /* 198.51.100.0 */
#define LAB_INET_TOR_NODES 6       /* private_tor.py defaults: 4 authorities + 2 exits */
#define LAB_INET_VETH_LAB "inet0"  /* in the run's namespace, on the bridge */
#define LAB_INET_VETH_ISP "inet1"  /* in the internet's namespace */

/* The fixture scripts: $UVMLAB_FIXTURES, else ../fixtures beside the binary
 * (build/uvmlab in a checkout), else ./fixtures. */
static void lab_internet_fixtures_dir(struct lab_internet *in)
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

int lab_internet_spawn(struct lab *lab, const char *const *argv, const char *out_path, pid_t *out)
{
	if (lab->inet.ns_fd < 0)
		return -ENOTCONN;
	/* appended: generate, start and the daemons share one log */
	return lab_spawn_ns(lab->inet.ns_fd, argv, out_path, 1, out);
}

/* Run ARGV there and wait for it (bounded). Its exit code, or negative errno. */
static int lab_internet_run(struct lab *lab, const char *const *argv, const char *out_path,
			    int timeout_ms)
{
	pid_t pid;
	int ret = lab_internet_spawn(lab, argv, out_path, &pid);

	return ret < 0 ? ret : lab_reap(pid, timeout_ms);
}

/* The holder: a child in a fresh network namespace that only waits. It dies
 * with us (PDEATHSIG) and at lab_down(); the namespace dies with the last
 * process in it (the holder, the fixtures). */
static int lab_internet_holder(struct lab *lab)
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
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		/* the internet's side of its veth stays off IPv6 like the lab's links */
		c = unshare(CLONE_NEWNET) == 0 && netns_link_disable_ipv6() == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1 || c != 'y')
			_exit(1);
		for (;;)
			pause();
	}
	lab->inet.holder = pid;
	close(p[1]);
	p[1] = -1;
	if (read(p[0], &c, 1) != 1 || c != 'y') {
		ret = -EPERM;
		goto cleanup;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	lab->inet.ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (lab->inet.ns_fd < 0)
		ret = -errno;
cleanup:
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return ret;
}

/* Inside the internet's namespace: lo up with the services' addresses, the
 * veth end up with the network's last host address (the ISP's gateway). */
static int lab_internet_addresses(struct lab *lab, const struct scn_network *net)
{
	struct netns_link *nl = NULL;
	int here, ret, i;

	here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (here < 0)
		return -errno;
	if (setns(lab->inet.ns_fd, CLONE_NEWNET) < 0) {
		ret = -errno;
		close(here);
		return ret;
	}
	ret = netns_link_open(&nl);
	if (!ret)
		ret = netns_link_set_up(nl, "lo", 1);
	if (!ret)
		ret = netns_link_addr_add(nl, "lo", LAB_INET_WEB, 32);
	if (!ret)
		ret = netns_link_addr_add(nl, "lo", LAB_INET_DNS, 32);
	for (i = 1; !ret && i <= LAB_INET_TOR_NODES; i++)
		ret = netns_link_addr_add(nl, "lo", LAB_INET_TOR_BASE + (uint32_t)i, 32);
	if (!ret && net) {
		ret = netns_link_addr_add(nl, LAB_INET_VETH_ISP, lab->inet.gw_addr, net->prefix);
		if (!ret)
			ret = netns_link_set_up(nl, LAB_INET_VETH_ISP, 1);
	}
	netns_link_close(nl);
	/* Back into the run's namespace: everything else lab.c does lives there. */
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

/* The exits' addresses from DIR/network.json: the only clients a page
 * fetched through Tor may come from. */
static int lab_internet_load_exits(struct lab *lab)
{
	char path[700];
	json_error_t jerr;
	json_t *net, *node;
	size_t i;

	snprintf(path, sizeof(path), "%s/network.json", lab->inet.tor_dir);
	net = json_load_file(path, 0, &jerr);
	if (!net)
		return -EPROTO;
	lab->inet.n_exits = 0;
	json_array_foreach(json_object_get(net, "nodes"), i, node) {
		const char *role = json_string_value(json_object_get(node, "role"));
		const char *ip = json_string_value(json_object_get(node, "ip"));
		struct in_addr a;

		if (!role || !ip || strcmp(role, "exit") || inet_pton(AF_INET, ip, &a) != 1)
			continue;
		if (lab->inet.n_exits < UTIL_ARRAY_SIZE(lab->inet.exits))
			lab->inet.exits[lab->inet.n_exits++] = ntohl(a.s_addr);
	}
	json_decref(net);
	return lab->inet.n_exits ? 0 : -ENOENT;
}

static int lab_internet_tor(struct lab *lab)
{
	char script[1200], out[1200], owner[16];
	int ret;

	snprintf(script, sizeof(script), "%s/tor/private_tor.py", lab->inet.fixtures_dir);
	snprintf(out, sizeof(out), "%s/tor-network.log", lab->results_dir);
	snprintf(lab->inet.tor_dir, sizeof(lab->inet.tor_dir), "%s/tor", lab->run_dir);
	snprintf(owner, sizeof(owner), "%d", (int)getpid());
	{
		const char *argv[] = { "/usr/bin/python3", script, "generate", lab->inet.tor_dir,
				       "--net", LAB_INET_TOR_NET, "--dns", "203.0.113.53", NULL };

		util_progress("private tor network: generating keys");
		ret = lab_internet_run(lab, argv, out, 120000);
		if (ret) {
			lab_set_err(lab, "private tor network: generate %s (see %s)",
				    ret < 0 ? strerror(-ret) : "failed", out);
			return ret < 0 ? ret : -EIO;
		}
	}
	ret = lab_internet_load_exits(lab);
	if (ret < 0) {
		lab_set_err(lab, "private tor network: no exit in %s/network.json", lab->inet.tor_dir);
		return ret;
	}
	{
		const char *argv[] = { "/usr/bin/python3", script, "start", lab->inet.tor_dir,
				       "--owner", owner, NULL };

		util_progress("private tor network: starting relays");
		ret = lab_internet_run(lab, argv, out, 60000);
		if (ret) {
			lab_set_err(lab, "private tor network: start %s (see %s)",
				    ret < 0 ? strerror(-ret) : "failed", out);
			return ret < 0 ? ret : -EIO;
		}
	}
	lab->inet.tor_started = 1;
	return 0;
}

int lab_internet_start(struct lab *lab)
{
	const struct scenario *scn = lab->plan->scn;
	const struct scn_network *net = NULL;
	const struct plan_net *pnet = NULL;
	char script[1200], out[1200];
	size_t i;
	int ret;

	if (!(scn->services & SERVICE_INTERNET) && !(scn->services & SERVICE_TOR))
		return 0;
	lab_internet_fixtures_dir(&lab->inet);
	for (i = 0; i < lab->plan->n_nets && !net; i++)
		if (lab->plan->nets[i].scn->services & SERVICE_INTERNET) {
			pnet = &lab->plan->nets[i];
			net = pnet->scn;
		}
	ret = lab_internet_holder(lab);
	if (ret < 0) {
		lab_set_err(lab, "fake internet: its network namespace: %s", strerror(-ret));
		return ret;
	}
	if (net) {
		lab->inet.gw_addr = net->subnet + (1u << (32 - net->prefix)) - 2;
		ret = netns_link_veth_create(lab->nl, LAB_INET_VETH_LAB, LAB_INET_VETH_ISP);
		if (!ret)
			ret = netns_link_move(lab->nl, LAB_INET_VETH_ISP, lab->inet.ns_fd);
		if (!ret)
			ret = netns_link_set_master(lab->nl, LAB_INET_VETH_LAB, pnet->bridge);
		if (!ret)
			ret = netns_link_set_up(lab->nl, LAB_INET_VETH_LAB, 1);
		if (ret < 0) {
			lab_set_err(lab, "fake internet: veth into network \"%s\": %s", net->name,
				    strerror(-ret));
			return ret;
		}
	}
	ret = lab_internet_addresses(lab, net);
	if (ret < 0) {
		lab_set_err(lab, "fake internet: addresses in its namespace: %s", strerror(-ret));
		return ret;
	}
	if (scn->services & SERVICE_INTERNET) {
		snprintf(script, sizeof(script), "%s/internet/fake_internet.py", lab->inet.fixtures_dir);
		snprintf(out, sizeof(out), "%s/fake-internet.out", lab->results_dir);
		snprintf(lab->inet.log, sizeof(lab->inet.log), "%s/internet.log", lab->results_dir);
		snprintf(lab->inet.pidfile, sizeof(lab->inet.pidfile), "%s/fake-internet.pid", lab->run_dir);
		const char *argv[] = { "/usr/bin/python3", script, "serve", "--web", "203.0.113.80",
				       "--dns", "203.0.113.53", "--log", lab->inet.log,
				       "--pidfile", lab->inet.pidfile, NULL };

		util_progress("fake internet: web 203.0.113.80, dns 203.0.113.53");
		ret = lab_internet_spawn(lab, argv, out, &lab->inet.web_pid);
		if (!ret)
			ret = lab_internet_wait_file(lab->inet.pidfile, lab->inet.web_pid, 15000);
		if (ret < 0) {
			lab_set_err(lab, "fake internet: %s did not come up: %s (see %s)", script,
				    strerror(-ret), out);
			return ret;
		}
	}
	if (scn->services & SERVICE_TOR)
		ret = lab_internet_tor(lab);
	return ret;
}

int lab_internet_wait_tor(struct lab *lab, int timeout_s)
{
	char script[1200], out[1200], tmo[16];
	uint64_t t0 = util_mono_ns(), last = 0;
	pid_t pid;
	int ret, st;

	if (!lab->inet.tor_started)
		return 0;
	snprintf(script, sizeof(script), "%s/tor/private_tor.py", lab->inet.fixtures_dir);
	snprintf(out, sizeof(out), "%s/tor-network.log", lab->results_dir);
	snprintf(tmo, sizeof(tmo), "%d", timeout_s);
	const char *argv[] = { "/usr/bin/python3", script, "wait-bootstrap", lab->inet.tor_dir,
			       "--timeout", tmo, NULL };

	ret = lab_internet_spawn(lab, argv, out, &pid);
	if (ret < 0) {
		lab_set_err(lab, "private tor network: wait-bootstrap: %s", strerror(-ret));
		return ret;
	}
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (lab_stop_flag || util_mono_ns() - t0 > (uint64_t)(timeout_s + 15) * 1000000000ull) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			lab_set_err(lab, lab_stop_flag ? "interrupted while waiting for the private tor network" :
				    "private tor network: wait-bootstrap hung (see %s)", out);
			return lab_stop_flag ? -EINTR : -ETIMEDOUT;
		}
		if (util_mono_ns() - last >= 10000000000ull) {
			util_progress("private tor network: waiting for its bootstrap (%.0f s)",
				      (double)(util_mono_ns() - t0) / 1e9);
			last = util_mono_ns();
		}
		ret = lab_poll(lab, 500);
		if (ret < 0)
			return ret;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		lab_set_err(lab, "private tor network did not bootstrap within %d s (see %s)", timeout_s, out);
		return -ETIMEDOUT;
	}
	util_progress("private tor network: bootstrapped (waited %.0f s more after the VMs)",
		      (double)(util_mono_ns() - t0) / 1e9);
	return 0;
}

void lab_internet_stop(struct lab *lab)
{
	struct lab_internet *in = &lab->inet;

	if (in->tor_started) {
		char script[1200], out[1200];

		snprintf(script, sizeof(script), "%s/tor/private_tor.py", in->fixtures_dir);
		snprintf(out, sizeof(out), "%s/tor-network.log", lab->results_dir);
		const char *argv[] = { "/usr/bin/python3", script, "stop", in->tor_dir, NULL };

		if (lab_internet_run(lab, argv, out, 20000) != 0)
			util_err("private tor network: stop failed (see %s)", out);
		in->tor_started = 0;
	}
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
	if (lab->nl)
		netns_link_delete(lab->nl, LAB_INET_VETH_LAB);
}
