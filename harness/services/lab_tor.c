/* SPDX-License-Identifier: MIT */
/* lab_tor.c: the private Tor network service: relays in the fake internet's namespace. */
#include "services/service_schemas.h"
#include "services/lab_services.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "services/internet_addrs.h"

struct lab_tor {
	int started;                 /* private_tor.py start succeeded */
	char dir[600];               /* RUNDIR/tor, set once start() ran */
	uint32_t exits[16];          /* the private network's exit addresses */
	size_t n_exits;
};

static struct lab_tor *lab_tor_of(const struct lab *lab)
{
	return lab_service_state(lab, &lab_tor_service);
}

static int lab_tor_wanted(const struct plan *plan)
{
	return (plan->scn->services & SERVICE_TOR);
}

const char *lab_tor_dir(const struct lab *lab)
{
	struct lab_tor *t = lab_tor_of(lab);

	return t ? t->dir : "";
}

size_t lab_tor_exits(const struct lab *lab, const uint32_t **exits)
{
	struct lab_tor *t = lab_tor_of(lab);

	*exits = t ? t->exits : NULL;
	return t ? t->n_exits : 0;
}

static void lab_tor_paths(const struct lab *lab, char *script, size_t slen, char *out, size_t olen)
{
	snprintf(script, slen, "%s/tor/private_tor.py", lab_internet_fixtures_dir(lab));
	snprintf(out, olen, "%s/tor-network.log", lab_results_dir(lab));
}

/* The exits' addresses from DIR/network.json: the only clients a page
 * fetched through Tor may come from. */
static int lab_tor_load_exits(struct lab_tor *t)
{
	char path[700];
	json_error_t jerr;
	json_t *net, *node;
	size_t i;

	snprintf(path, sizeof(path), "%s/network.json", t->dir);
	net = json_load_file(path, 0, &jerr);
	if (!net)
		return -EPROTO;
	t->n_exits = 0;
	json_array_foreach(json_object_get(net, "nodes"), i, node) {
		const char *role = json_string_value(json_object_get(node, "role"));
		const char *ip = json_string_value(json_object_get(node, "ip"));
		struct in_addr a;

		if (!role || !ip || strcmp(role, "exit") || inet_pton(AF_INET, ip, &a) != 1)
			continue;
		if (t->n_exits < UTIL_ARRAY_SIZE(t->exits))
			t->exits[t->n_exits++] = ntohl(a.s_addr);
	}
	json_decref(net);
	return t->n_exits ? 0 : -ENOENT;
}

static int lab_tor_start(struct lab *lab, void *state)
{
	struct lab_tor *t = state;
	char script[1200], out[1200], owner[16], user[32];
	int ret;

	lab_tor_paths(lab, script, sizeof(script), out, sizeof(out));
	snprintf(t->dir, sizeof(t->dir), "%s/tor", lab_run_dir(lab));
	snprintf(owner, sizeof(owner), "%d", (int)getpid());
	{
		/* every relay runs as the run's helper id from its start */
		const char *argv[] = { "/usr/bin/python3", script, "generate", t->dir,
				       "--net", INTERNET_TOR_NET, "--dns", INTERNET_DNS,
				       lab_plugin_helper_uid(lab) ? "--user" : NULL, user, NULL };

		snprintf(user, sizeof(user), "%u:%u", lab_plugin_helper_uid(lab), lab_plugin_helper_uid(lab));
		util_progress("private tor network: generating keys");
		ret = lab_internet_run(lab, argv, out, 120000);
		if (ret) {
			lab_set_err(lab, "private tor network: generate %s (see %s)",
				    ret < 0 ? strerror(-ret) : "failed", out);
			return ret < 0 ? ret : -EIO;
		}
	}
	ret = lab_tor_load_exits(t);
	if (ret < 0) {
		lab_set_err(lab, "private tor network: no exit in %s/network.json", t->dir);
		return ret;
	}
	{
		const char *argv[] = { "/usr/bin/python3", script, "start", t->dir,
				       "--owner", owner, NULL };

		util_progress("private tor network: starting relays");
		ret = lab_internet_run(lab, argv, out, 60000);
		if (ret) {
			lab_set_err(lab, "private tor network: start %s (see %s)",
				    ret < 0 ? strerror(-ret) : "failed", out);
			return ret < 0 ? ret : -EIO;
		}
	}
	t->started = 1;
	return 0;
}

static int lab_tor_wait_hook(struct lab *lab, void *state, int timeout_s)
{
	struct lab_tor *t = state;
	char script[1200], out[1200], tmo[16];
	uint64_t t0 = util_mono_ns(), last = 0;
	pid_t pid;
	int ret, st;

	if (!t->started)
		return 0;
	lab_tor_paths(lab, script, sizeof(script), out, sizeof(out));
	snprintf(tmo, sizeof(tmo), "%d", timeout_s);
	const char *argv[] = { "/usr/bin/python3", script, "wait-bootstrap", t->dir,
			       "--timeout", tmo, NULL };

	ret = lab_internet_spawn(lab, argv, out, &pid);
	if (ret < 0) {
		lab_set_err(lab, "private tor network: wait-bootstrap: %s", strerror(-ret));
		return ret;
	}
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		int stop = lab_plugin_stop_requested();

		if (r == pid)
			break;
		if (stop || util_mono_ns() - t0 > (uint64_t)(timeout_s + 15) * 1000000000ull) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			lab_set_err(lab, stop ? "interrupted while waiting for the private tor network" :
				    "private tor network: wait-bootstrap hung (see %s)", out);
			return stop ? -EINTR : -ETIMEDOUT;
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

int lab_tor_wait(struct lab *lab, int timeout_s)
{
	struct lab_tor *t = lab_tor_of(lab);

	return t ? lab_tor_wait_hook(lab, t, timeout_s) : 0;
}

/* Before the fake internet's stop: the relays run in its namespace. */
static void lab_tor_stop(struct lab *lab, void *state)
{
	struct lab_tor *t = state;
	char script[1200], out[1200];

	if (!t->started)
		return;
	lab_tor_paths(lab, script, sizeof(script), out, sizeof(out));
	const char *argv[] = { "/usr/bin/python3", script, "stop", t->dir, NULL };

	if (lab_internet_run(lab, argv, out, 20000) != 0)
		util_err("private tor network: stop failed (see %s)", out);
	t->started = 0;
}

const struct service_ops lab_tor_service = {
	.name = "private tor network",
	.state_size = sizeof(struct lab_tor),
	.wanted = lab_tor_wanted,
	.start = lab_tor_start,
	.wait = lab_tor_wait_hook,
	.stop = lab_tor_stop,
};
