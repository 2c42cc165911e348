/* SPDX-License-Identifier: MIT */
/* lab_vsock.c: the vsock backend service: one uvmlab-vsockd for every VM of a lab. */
#include "services/lab_services.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

#define LAB_VSOCK_PING_MS 2000

/* One VM's sockets: vhost-user (QEMU connects) and hybrid host socket. */
struct lab_vsock_paths {
	char sock[600];
	char host[600];
};

struct lab_vsock {
	pid_t pid;                   /* uvmlab-vsockd, 0 = not running */
	char log[1200];
	char dead[1400];             /* how it ended, once lab_vsock_health() saw it */
	struct lab_vsock_paths *paths; /* one per VM, plan order */
	size_t n_paths;
};

static struct lab_vsock *lab_vsock_of(const struct lab *lab)
{
	return lab_service_state(lab, &lab_vsock_service);
}

static int lab_vsock_wanted(const struct plan *plan)
{
	return plan->scn->has_vsock;
}

/* Paths are known from lab_create() on: checks and benchmarks name them. */
static void lab_vsock_init(struct lab *lab, void *state)
{
	struct lab_vsock *vs = state;
	size_t i, n = lab_plugin_vm_count(lab);

	vs->paths = calloc(n ? n : 1, sizeof(*vs->paths));
	if (!vs->paths)
		return;
	vs->n_paths = n;
	for (i = 0; i < n; i++) {
		const char *dir = lab_plugin_vm_dir(lab_plugin_vm(lab, i));

		snprintf(vs->paths[i].sock, sizeof(vs->paths[i].sock), "%s/vsock.sock", dir);
		snprintf(vs->paths[i].host, sizeof(vs->paths[i].host), "%s/vsock.host", dir);
	}
}

static void lab_vsock_destroy(void *state)
{
	struct lab_vsock *vs = state;

	free(vs->paths);
	vs->paths = NULL;
}

const char *lab_vm_vsock_host(const struct lab *lab, const char *name)
{
	struct lab_vsock *vs = lab_vsock_of(lab);
	size_t i;

	for (i = 0; vs && i < vs->n_paths; i++)
		if (!strcmp(lab_plugin_plan(lab)->vms[i].name, name))
			return vs->paths[i].host;
	return NULL;
}

pid_t lab_vsock_pid(const struct lab *lab)
{
	struct lab_vsock *vs = lab_vsock_of(lab);

	return vs ? vs->pid : 0;
}

/* One daemon serves every VM: one vhost-user socket and one hybrid host
 * socket each, CIDs from the plan, sibling pairs from the scenario's allow
 * list (everything else gets RST). QEMU connects to the daemon's sockets, so
 * they must exist before the first VM starts. */
static int lab_vsock_start(struct lab *lab, void *state)
{
	struct lab_vsock *vs = state;
	const struct scenario *scn = lab_plugin_plan(lab)->scn;
	size_t n_vms = lab_plugin_vm_count(lab);
	char bin[1100], **argv = NULL, *spec = NULL;
	size_t n = 0, i;
	int ret = 0, waited = 0;

	if (!vs->paths)
		return -ENOMEM;
	lab_sibling_path("uvmlab-vsockd", bin, sizeof(bin));
	if (getenv("UVMLAB_VSOCKD"))
		snprintf(bin, sizeof(bin), "%s", getenv("UVMLAB_VSOCKD"));
	if (access(bin, X_OK) < 0) {
		lab_set_err(lab, "vsock: %s missing (build it with `make`)", bin);
		return -ENOENT;
	}
	argv = calloc(2 * n_vms + 2 * scn->n_vsock_allow + 4, sizeof(char *));
	if (!argv)
		return -ENOMEM;
	argv[n++] = bin;
	if (lab_plugin_helper_uid(lab)) {
		/* it binds every socket as root, then runs as the run's helper id */
		if (asprintf(&spec, "%u:%u", lab_plugin_helper_uid(lab), lab_plugin_helper_uid(lab)) < 0) {
			free(argv);
			return -ENOMEM;
		}
		argv[n++] = "--user";
		argv[n++] = spec;
		spec = NULL;
	}
	for (i = 0; i < n_vms && !ret; i++) {
		struct lab_vm *vm = lab_plugin_vm(lab, i);
		const struct plan_vm *pvm = lab_plugin_vm_plan(vm);

		ret = util_mkdir_p(lab_plugin_vm_dir(vm), 0700);
		if (!ret && asprintf(&spec, "%s,%u,%s,%s", pvm->name, pvm->cid, vs->paths[i].sock,
				     vs->paths[i].host) < 0)
			ret = -ENOMEM;
		if (!ret) {
			argv[n++] = "--vm";
			argv[n++] = spec;
			spec = NULL;
		}
	}
	for (i = 0; i < scn->n_vsock_allow && !ret; i++) {
		if (asprintf(&spec, "%s:%s", scn->vsock_allow[i].a.name, scn->vsock_allow[i].b.name) < 0) {
			ret = -ENOMEM;
			break;
		}
		argv[n++] = "--allow";
		argv[n++] = spec;
		spec = NULL;
	}
	snprintf(vs->log, sizeof(vs->log), "%s/vsockd.log", lab_results_dir(lab));
	if (!ret)
		ret = lab_spawn((const char *const *)argv, vs->log, &vs->pid);
	if (ret < 0) {
		lab_set_err(lab, "vsock: starting %s: %s", bin, strerror(-ret));
		goto cleanup;
	}
	for (i = 0; i < n_vms; i++) {
		while (access(vs->paths[i].sock, F_OK) < 0) {
			struct timespec nap = { 0, 10 * 1000 * 1000 };

			if (waited >= 5000 || waitpid(vs->pid, NULL, WNOHANG) == vs->pid) {
				lab_set_err(lab, "vsock: uvmlab-vsockd did not create %s (see %s)",
					    vs->paths[i].sock, vs->log);
				ret = -EIO;
				goto cleanup;
			}
			nanosleep(&nap, NULL);
			waited += 10;
		}
	}
cleanup:
	for (i = 2; argv && i < n; i += 2)
		free(argv[i]);
	free(spec);
	free(argv);
	return ret;
}

static void lab_vsock_stop(struct lab *lab, void *state)
{
	struct lab_vsock *vs = state;

	(void)lab;
	if (vs->pid <= 0)
		return;
	kill(vs->pid, SIGTERM);
	if (lab_reap(vs->pid, 3000) == -ETIMEDOUT)
		util_err("vsock: uvmlab-vsockd did not stop on SIGTERM; killed");
	vs->pid = 0;
}

/* QEMU's side: a vhost-user-vsock device on the daemon's socket. */
static int lab_vsock_vm_argv(struct lab *lab, void *state, struct lab_vm *vm,
			     struct qemu_vm_spec *spec)
{
	struct lab_vsock *vs = state;
	size_t i;

	for (i = 0; i < vs->n_paths; i++) {
		uint32_t uid = lab_plugin_vm_uid(vm);

		if (lab_plugin_vm(lab, i) != vm)
			continue;
		/* only this VM's QEMU may connect: another VM's escaped QEMU
		 * must not pose as this one toward the backend */
		if (uid && (chown(vs->paths[i].sock, uid, uid) < 0 || chmod(vs->paths[i].sock, 0600) < 0)) {
			int ret = -errno;

			lab_set_err(lab, "vsock: chown %s: %s", vs->paths[i].sock, strerror(-ret));
			return ret;
		}
		return qemu_argv_spec_vhost_user(spec, "vsock", vs->paths[i].sock);
	}
	return -ENOENT;
}

/* Connect to a host socket the daemon serves and send a line it rejects:
 * a live event loop closes the connection at once. */
static int lab_vsock_ping(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd p;
	char c;
	int fd, ret;

	if (util_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, "PING\n", 5, MSG_NOSIGNAL) != 5) {
		ret = -errno;
		goto out;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ret = poll(&p, 1, timeout_ms);
	if (ret == 0)
		ret = -ETIMEDOUT;
	else if (ret < 0)
		ret = -errno;
	else
		ret = recv(fd, &c, 1, MSG_DONTWAIT) <= 0 ? 0 : -EPROTO;
out:
	close(fd);
	return ret;
}

int lab_vsock_health(struct lab *lab)
{
	struct lab_vsock *vs = lab_vsock_of(lab);
	char state;
	int st, ret;

	if (!vs || !lab_service_wanted(lab, &lab_vsock_service))
		return 0;
	if (vs->dead[0]) {
		lab_set_err(lab, "%s", vs->dead);
		return -EPIPE;
	}
	if (vs->pid <= 0) {
		lab_set_err(lab, "vsock backend uvmlab-vsockd is not running");
		return -EPIPE;
	}
	if (waitpid(vs->pid, &st, WNOHANG) == vs->pid) {
		if (WIFSIGNALED(st))
			snprintf(vs->dead, sizeof(vs->dead), "vsock backend uvmlab-vsockd "
				 "(pid %d) died: killed by signal %d (see %s)", (int)vs->pid,
				 WTERMSIG(st), vs->log);
		else
			snprintf(vs->dead, sizeof(vs->dead), "vsock backend uvmlab-vsockd "
				 "(pid %d) died: exited with status %d (see %s)", (int)vs->pid,
				 WEXITSTATUS(st), vs->log);
		vs->pid = 0;
		lab_set_err(lab, "%s", vs->dead);
		return -EPIPE;
	}
	state = util_proc_state(vs->pid);
	if (state == 'T' || state == 't') {
		lab_set_err(lab, "vsock backend uvmlab-vsockd (pid %d) is stopped (process state %c)",
			    (int)vs->pid, state);
		return -ETIMEDOUT;
	}
	if (!vs->n_paths)
		return 0;
	ret = lab_vsock_ping(vs->paths[0].host, LAB_VSOCK_PING_MS);
	if (ret < 0) {
		lab_set_err(lab, "vsock backend uvmlab-vsockd (pid %d) does not answer on %s: %s",
			    (int)vs->pid, vs->paths[0].host, strerror(-ret));
		/* alive but silent: a QEMU killed under it breaks its pipe too, so
		 * this is weaker evidence than a death (-EPIPE is kept for those) */
		return -EIO;
	}
	return 0;
}

static int lab_vsock_health_hook(struct lab *lab, void *state)
{
	(void)state;
	return lab_vsock_health(lab);
}

const struct service_ops lab_vsock_service = {
	.name = "vsock backend",
	.state_size = sizeof(struct lab_vsock),
	.wanted = lab_vsock_wanted,
	.init = lab_vsock_init,
	.start = lab_vsock_start,
	.vm_argv = lab_vsock_vm_argv,
	.health = lab_vsock_health_hook,
	.stop = lab_vsock_stop,
	.destroy = lab_vsock_destroy,
};
