/* SPDX-License-Identifier: MIT */
/* lab_spawn.c: run host-side helper programs for a lab: spawn (optionally in a namespace), reap. */
#include "lab/lab_plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

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
