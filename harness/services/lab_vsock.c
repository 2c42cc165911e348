/* SPDX-License-Identifier: MIT */
/* lab_vsock.c: run uvmlab-vsockd for a lab, and small helpers to run host-side tools. */
#include "lab/lab_internal.h"

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

void lab_sibling_path(const char *name, char *buf, size_t len)
{
	char exe[1024];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	exe[n > 0 ? n : 0] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%s/%s", n > 0 ? exe : ".", name);
}

int lab_spawn(const char *const *argv, const char *out_path, pid_t *out)
{
	return lab_spawn_ns(-1, argv, out_path, 0, out);
}

int lab_spawn_ns(int ns_fd, const char *const *argv, const char *out_path, int append, pid_t *out)
{
	pid_t parent = getpid(), pid;
	int fd;

	if (!append)
		unlink(out_path); /* a fresh file each time, never written through a link */
	fd = util_open_new(out_path, append);
	if (fd < 0)
		return fd;
	pid = fork();
	if (pid < 0) {
		close(fd);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) < 0) {
			dprintf(fd, "uvmlab: setns: %s\n", strerror(errno));
			_exit(126);
		}
		setpgid(0, 0);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		dprintf(STDERR_FILENO, "uvmlab: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	*out = pid;
	return 0;
}

int lab_reap(pid_t pid, int timeout_ms)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	int st, waited = 0;

	while (waited < timeout_ms) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0)
			return -errno;
		nanosleep(&nap, NULL);
		waited += 10;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -ETIMEDOUT;
}

/* One daemon serves every VM: one vhost-user socket and one hybrid host
 * socket each, CIDs from the plan, sibling pairs from the scenario's allow
 * list (everything else gets RST). QEMU connects to the daemon's sockets, so
 * they must exist before the first VM starts. */
int lab_vsock_start(struct lab *lab)
{
	const struct scenario *scn = lab->plan->scn;
	char bin[1100], **argv = NULL, *spec = NULL;
	size_t n = 0, i;
	int ret = 0, waited = 0;

	if (!scn->has_vsock)
		return 0;
	lab_sibling_path("uvmlab-vsockd", bin, sizeof(bin));
	if (getenv("UVMLAB_VSOCKD"))
		snprintf(bin, sizeof(bin), "%s", getenv("UVMLAB_VSOCKD"));
	if (access(bin, X_OK) < 0) {
		lab_set_err(lab, "vsock: %s missing (build it with `make`)", bin);
		return -ENOENT;
	}
	argv = calloc(2 * lab->n_vms + 2 * scn->n_vsock_allow + 2, sizeof(char *));
	if (!argv)
		return -ENOMEM;
	argv[n++] = bin;
	for (i = 0; i < lab->n_vms && !ret; i++) {
		struct lab_vm *vm = &lab->vms[i];

		ret = util_mkdir_p(vm->dir, 0700);
		if (!ret && asprintf(&spec, "%s,%u,%s,%s", vm->pvm->name, vm->pvm->cid, vm->vsock_path,
				     vm->vsock_host) < 0)
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
	snprintf(lab->vsockd_log, sizeof(lab->vsockd_log), "%s/vsockd.log", lab->results_dir);
	if (!ret)
		ret = lab_spawn((const char *const *)argv, lab->vsockd_log, &lab->vsockd_pid);
	if (ret < 0) {
		lab_set_err(lab, "vsock: starting %s: %s", bin, strerror(-ret));
		goto cleanup;
	}
	for (i = 0; i < lab->n_vms; i++) {
		while (access(lab->vms[i].vsock_path, F_OK) < 0) {
			struct timespec nap = { 0, 10 * 1000 * 1000 };

			if (waited >= 5000 || waitpid(lab->vsockd_pid, NULL, WNOHANG) == lab->vsockd_pid) {
				lab_set_err(lab, "vsock: uvmlab-vsockd did not create %s (see %s)",
					    lab->vms[i].vsock_path, lab->vsockd_log);
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

void lab_vsock_stop(struct lab *lab)
{
	if (lab->vsockd_pid <= 0)
		return;
	kill(lab->vsockd_pid, SIGTERM);
	if (lab_reap(lab->vsockd_pid, 3000) == -ETIMEDOUT)
		util_err("vsock: uvmlab-vsockd did not stop on SIGTERM; killed");
	lab->vsockd_pid = 0;
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
	char state;
	int st, ret;

	if (!lab->plan->scn->has_vsock)
		return 0;
	if (lab->vsockd_dead[0]) {
		lab_set_err(lab, "%s", lab->vsockd_dead);
		return -EPIPE;
	}
	if (lab->vsockd_pid <= 0) {
		lab_set_err(lab, "vsock backend uvmlab-vsockd is not running");
		return -EPIPE;
	}
	if (waitpid(lab->vsockd_pid, &st, WNOHANG) == lab->vsockd_pid) {
		if (WIFSIGNALED(st))
			snprintf(lab->vsockd_dead, sizeof(lab->vsockd_dead), "vsock backend uvmlab-vsockd "
				 "(pid %d) died: killed by signal %d (see %s)", (int)lab->vsockd_pid,
				 WTERMSIG(st), lab->vsockd_log);
		else
			snprintf(lab->vsockd_dead, sizeof(lab->vsockd_dead), "vsock backend uvmlab-vsockd "
				 "(pid %d) died: exited with status %d (see %s)", (int)lab->vsockd_pid,
				 WEXITSTATUS(st), lab->vsockd_log);
		lab->vsockd_pid = 0;
		lab_set_err(lab, "%s", lab->vsockd_dead);
		return -EPIPE;
	}
	state = util_proc_state(lab->vsockd_pid);
	if (state == 'T' || state == 't') {
		lab_set_err(lab, "vsock backend uvmlab-vsockd (pid %d) is stopped (process state %c)",
			    (int)lab->vsockd_pid, state);
		return -ETIMEDOUT;
	}
	if (!lab->n_vms)
		return 0;
	ret = lab_vsock_ping(lab->vms[0].vsock_host, LAB_VSOCK_PING_MS);
	if (ret < 0)
		lab_set_err(lab, "vsock backend uvmlab-vsockd (pid %d) does not answer on %s: %s",
			    (int)lab->vsockd_pid, lab->vms[0].vsock_host, strerror(-ret));
	return ret;
}
