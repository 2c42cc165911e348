/* SPDX-License-Identifier: MIT */
/* agent_exec.c: run one command for EXEC_REQ with bounded output and a hard timeout. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* After the command exits, a background child it started may still hold the
 * pipes open; stop reading once they stay quiet this long. */
#define AGENT_EXEC_LINGER_MS 200
/* After SIGKILL, a grandchild that escaped the process group may still hold
 * the pipes; do not wait for it longer than this. */
#define AGENT_EXEC_KILL_GRACE_MS 1000

struct agent_exec_stream {
	int fd;
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint64_t dropped; /* read past AGENT_MAX_OUTPUT and discarded */
};

static int64_t agent_exec_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void agent_exec_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Read what is available; bytes past AGENT_MAX_OUTPUT are read and dropped
 * so the command never blocks on a full pipe. 1 progress, 0 nothing, <0 err. */
static int agent_exec_drain(struct agent_exec_stream *s)
{
	uint8_t scratch[16384];
	size_t room, want;
	ssize_t n;
	uint8_t *p;

	if (s->len < AGENT_MAX_OUTPUT && s->cap - s->len < sizeof(scratch)) {
		size_t cap = s->cap ? s->cap * 2 : 16384;

		if (cap > AGENT_MAX_OUTPUT)
			cap = AGENT_MAX_OUTPUT;
		p = realloc(s->buf, cap);
		if (!p)
			return -ENOMEM;
		s->buf = p;
		s->cap = cap;
	}
	room = s->cap - s->len;
	want = room ? room : sizeof(scratch);
	n = read(s->fd, room ? s->buf + s->len : scratch, want);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0) {
		agent_exec_close(&s->fd);
		return 1;
	}
	if (room)
		s->len += (size_t)n;
	else
		s->dropped += (uint64_t)n;
	return 1;
}

static void agent_exec_child(const struct agent_exec_req *req, int in_fd, int out_fd,
			     int err_fd, int status_fd)
{
	sigset_t all;
	int e;

	/* Own process group so a timeout kills the whole pipeline it starts. */
	setpgid(0, 0);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		goto fail;
	/* PID 1 ignores SIGPIPE; a command must see the default again. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	execvp(req->argv[0], req->argv);
fail:
	e = errno;
	if (write(status_fd, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

static int agent_exec_pipe(int p[2])
{
	return pipe2(p, O_CLOEXEC) < 0 ? -errno : 0;
}

static uint32_t agent_exec_status(int st)
{
	if (WIFEXITED(st))
		return (uint32_t)WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128u + (uint32_t)WTERMSIG(st);
	return 255;
}

/* Pump stdin/stdout/stderr until the command is done (or killed at the
 * deadline). Fills *OUT's status fields. */
static int agent_exec_pump(const struct agent_exec_req *req, pid_t pid, int in_fd,
			   struct agent_exec_stream st[2], struct agent_exec_out *out)
{
	uint32_t timeout = req->timeout_ms ? req->timeout_ms : AGENT_EXEC_DEFAULT_TIMEOUT_MS;
	int64_t deadline = agent_exec_now_ms() + timeout;
	int64_t quiet_since = 0, killed_at = 0, now;
	size_t in_off = 0;
	int exited = 0, wst = 0, rc = 0;
	struct pollfd pfd[3];
	int i, n, wait_ms;
	ssize_t w;

	for (;;) {
		now = agent_exec_now_ms();
		if (!exited && waitpid(pid, &wst, WNOHANG) == pid) {
			exited = 1;
			quiet_since = now;
		}
		if (st[0].fd < 0 && st[1].fd < 0 && exited)
			break;
		if (exited && !killed_at && now - quiet_since >= AGENT_EXEC_LINGER_MS)
			break;
		if (killed_at && now - killed_at >= AGENT_EXEC_KILL_GRACE_MS)
			break;
		if (!killed_at && !exited && now >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			out->timed_out = 1;
			killed_at = now;
		}
		pfd[0] = (struct pollfd){ .fd = st[0].fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = st[1].fd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = in_fd, .events = POLLOUT };
		/* Short ticks: exit is noticed by polling waitpid, as PID 1 has
		 * no SIGCHLD handler to wake us. */
		wait_ms = 20;
		if (!exited && !killed_at && deadline - now < wait_ms)
			wait_ms = deadline - now > 0 ? (int)(deadline - now) : 0;
		n = poll(pfd, 3, wait_ms);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		for (i = 0; n > 0 && i < 2; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			rc = agent_exec_drain(&st[i]);
			if (rc < 0)
				break;
			if (rc > 0)
				quiet_since = agent_exec_now_ms();
			rc = 0;
		}
		if (rc < 0)
			break;
		if (n > 0 && in_fd >= 0 && (pfd[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			w = write(in_fd, req->stdin_data + in_off, req->stdin_len - in_off);
			if (w > 0)
				in_off += (size_t)w;
			/* EPIPE: the command stopped reading stdin, which is its right. */
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == req->stdin_len)
				agent_exec_close(&in_fd);
		}
	}
	agent_exec_close(&in_fd);
	if (!exited) {
		if (!killed_at) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
		while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
			;
	}
	out->status = agent_exec_status(wst);
	return rc;
}

int agent_exec_run(const struct agent_exec_req *req, struct agent_exec_out *out)
{
	struct agent_exec_stream st[2] = { { .fd = -1 }, { .fd = -1 } };
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, e[2] = { -1, -1 }, s[2] = { -1, -1 };
	int child_errno = 0;
	pid_t pid = -1;
	ssize_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!req->argv || !req->argv[0])
		return -EINVAL;
	if ((rc = agent_exec_pipe(in)) < 0 || (rc = agent_exec_pipe(o)) < 0 ||
	    (rc = agent_exec_pipe(e)) < 0 || (rc = agent_exec_pipe(s)) < 0)
		goto out;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0)
		agent_exec_child(req, in[0], o[1], e[1], s[1]);
	setpgid(pid, pid);
	agent_exec_close(&in[0]);
	agent_exec_close(&o[1]);
	agent_exec_close(&e[1]);
	agent_exec_close(&s[1]);
	/* The status pipe closes on a successful exec (O_CLOEXEC) or carries
	 * the exec errno, so "command not found" is an error, not status 127. */
	do
		n = read(s[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(child_errno)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		rc = child_errno > 0 ? -child_errno : -ECHILD;
		goto out;
	}
	st[0].fd = o[0];
	st[1].fd = e[0];
	o[0] = e[0] = -1;
	fcntl(st[0].fd, F_SETFL, O_NONBLOCK);
	fcntl(st[1].fd, F_SETFL, O_NONBLOCK);
	if (req->stdin_len) {
		fcntl(in[1], F_SETFL, O_NONBLOCK);
	} else {
		agent_exec_close(&in[1]);
	}
	rc = agent_exec_pump(req, pid, in[1], st, out);
	in[1] = -1; /* the pump owns and closes it */
	out->out = st[0].buf;
	out->out_len = st[0].len;
	out->err = st[1].buf;
	out->err_len = st[1].len;
	out->out_dropped = st[0].dropped;
	out->err_dropped = st[1].dropped;
	st[0].buf = st[1].buf = NULL;
out:
	agent_exec_close(&in[0]);
	agent_exec_close(&in[1]);
	agent_exec_close(&o[0]);
	agent_exec_close(&o[1]);
	agent_exec_close(&e[0]);
	agent_exec_close(&e[1]);
	agent_exec_close(&s[0]);
	agent_exec_close(&s[1]);
	agent_exec_close(&st[0].fd);
	agent_exec_close(&st[1].fd);
	free(st[0].buf);
	free(st[1].buf);
	if (rc < 0)
		agent_exec_out_release(out);
	return rc;
}

void agent_exec_out_release(struct agent_exec_out *out)
{
	if (!out)
		return;
	free(out->out);
	free(out->err);
	memset(out, 0, sizeof(*out));
}
