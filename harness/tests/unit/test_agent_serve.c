/* SPDX-License-Identifier: MIT */
/* test_agent_serve.c: the agent's serve loop in a child process, driven by the real client. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "lab/agent_client.h"
#include "../../../guests/agent/agent_serve.c"

/* Child exit codes, so the parent can see how the session ended. */
#define SERVE_EXIT_CLEAN 0
#define SERVE_EXIT_POWEROFF 10
#define SERVE_EXIT_EPROTO 11
#define SERVE_EXIT_OTHER 12

struct serve_fixture {
	struct agent_conn *c;
	int fd;      /* client end, also used for raw frames */
	pid_t agent; /* child running agent_serve_session */
	char dir[32];
};

/* Stands in for reboot(): the session must go on until the host hangs up. */
static void fake_poweroff(void *arg)
{
	*(int *)arg = 1;
}

static const struct agent_serve_ops fake_ops = { .poweroff = fake_poweroff };

static void serve_child(int fd)
{
	struct agent_serve s = { .ops = &fake_ops, .log_fd = -1 };
	int powered = 0, rc;

	s.ops_arg = &powered;
	snprintf(s.vm, sizeof(s.vm), "tor");
	snprintf(s.role, sizeof(s.role), "tor-gateway");
	snprintf(s.kernel, sizeof(s.kernel), "test");
	s.boottime_init_ns = 111;
	s.boottime_ready_ns = 222;
	s.phase_ns[0] = 1;
	s.phase_ns[1] = 2;
	s.phase_ns[2] = 3;
	rc = agent_serve_session(&s, fd);
	if (rc == 0)
		_exit(powered ? SERVE_EXIT_POWEROFF : SERVE_EXIT_CLEAN);
	_exit(rc == -EPROTO ? SERVE_EXIT_EPROTO : SERVE_EXIT_OTHER);
}

/* The client is connected the public way (agent_conn_open on a Unix socket)
 * and the agent serves the accepted end in a child process. */
static int serve_setup(void **state)
{
	struct serve_fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd, afd;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/agentserve.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", f->dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(agent_conn_open(sa.sun_path, 1000, &f->c), 0);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(afd >= 0);
	close(lfd);
	unlink(sa.sun_path);
	f->fd = agent_conn_fd(f->c);
	f->agent = fork();
	assert_true(f->agent >= 0);
	if (f->agent == 0) {
		/* Else the host end stays open in here and no hang-up is seen. */
		close(f->fd);
		serve_child(afd);
	}
	close(afd);
	*state = f;
	return 0;
}

/* Hang up and return how the agent's session ended. */
static int serve_finish(struct serve_fixture *f)
{
	int st = 0;

	agent_conn_close(f->c);
	f->c = NULL;
	assert_int_equal(waitpid(f->agent, &st, 0), f->agent);
	f->agent = -1;
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int serve_teardown(void **state)
{
	struct serve_fixture *f = *state;

	if (f->agent > 0) {
		kill(f->agent, SIGKILL);
		waitpid(f->agent, NULL, 0);
	}
	agent_conn_close(f->c);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hello(struct serve_fixture *f)
{
	struct agent_hello h;

	assert_int_equal(agent_conn_read_hello(f->c, 5000, &h), 0);
	assert_string_equal(h.vm, "tor");
	assert_string_equal(h.role, "tor-gateway");
	assert_string_equal(h.kernel, "test");
	assert_true(h.boottime_init_ns == 111 && h.boottime_ready_ns == 222);
	assert_true(h.phase_ns[0] == 1 && h.phase_ns[1] == 2 && h.phase_ns[2] == 3);
}

static void run(struct serve_fixture *f, const char *const *argv, uint32_t timeout_ms,
		const char *in, struct agent_exec_result *res)
{
	char err[128];
	int rc;

	rc = agent_conn_exec(f->c, argv, timeout_ms, in, in ? strlen(in) : 0, res, err,
			     sizeof(err));
	if (rc < 0)
		fail_msg("exec %s: %d %s", argv[0], rc, err);
}

static void test_exec(void **state)
{
	struct serve_fixture *f = *state;
	struct agent_exec_result r;

	hello(f);
	run(f, (const char *[]){ "/bin/echo", "hello", "world", NULL }, 5000, NULL, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.timed_out, 0);
	assert_string_equal((char *)r.out, "hello world\n");
	assert_int_equal(r.err_len, 0);
	agent_exec_result_release(&r);

	run(f, (const char *[]){ "/bin/sh", "-c", "exit 3", NULL }, 5000, NULL, &r);
	assert_int_equal(r.status, 3);
	agent_exec_result_release(&r);

	/* PATH lookup, stdin, stderr. */
	run(f, (const char *[]){ "sh", "-c", "cat; echo oops >&2", NULL }, 5000, "from stdin",
	    &r);
	assert_int_equal(r.status, 0);
	assert_string_equal((char *)r.out, "from stdin");
	assert_string_equal((char *)r.err, "oops\n");
	agent_exec_result_release(&r);

	/* A command that never reads stdin must not wedge the agent. */
	run(f, (const char *[]){ "true", NULL }, 5000, "ignored", &r);
	assert_int_equal(r.status, 0);
	agent_exec_result_release(&r);

	run(f, (const char *[]){ "sh", "-c", "kill -TERM $$", NULL }, 5000, NULL, &r);
	assert_int_equal(r.status, 128 + SIGTERM);
	agent_exec_result_release(&r);
	assert_int_equal(serve_finish(f), SERVE_EXIT_CLEAN);
}

static void test_exec_limits(void **state)
{
	struct serve_fixture *f = *state;
	struct agent_exec_result r;
	char err[128];
	int64_t t0;

	hello(f);
	t0 = now_ms();
	run(f, (const char *[]){ "sh", "-c", "echo before; sleep 20; echo after", NULL }, 300,
	    NULL, &r);
	assert_int_equal(r.timed_out, 1);
	assert_int_equal(r.status, 128 + SIGKILL);
	assert_string_equal((char *)r.out, "before\n");
	assert_true(now_ms() - t0 < 3000);
	agent_exec_result_release(&r);

	/* A daemon left holding stdout must not hold up the reply. */
	t0 = now_ms();
	run(f, (const char *[]){ "sh", "-c", "sleep 3 & echo started", NULL }, 10000, NULL, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.timed_out, 0);
	assert_string_equal((char *)r.out, "started\n");
	assert_true(now_ms() - t0 < 2500);
	agent_exec_result_release(&r);

	/* Output beyond the cap is dropped, and the command still completes. */
	run(f, (const char *[]){ "sh", "-c", "head -c 1500000 /dev/zero; echo done >&2", NULL },
	    10000, NULL, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.out_len, AGENT_MAX_OUTPUT);
	/* The cut is reported, not silent: every byte past the cap is counted. */
	assert_true(r.out_dropped == 1500000 - AGENT_MAX_OUTPUT);
	assert_true(r.err_dropped == 0);
	assert_string_equal((char *)r.err, "done\n");
	agent_exec_result_release(&r);

	assert_int_equal(agent_conn_exec(f->c, (const char *[]){ "no-such-cmd-uvmlab", NULL },
					 1000, NULL, 0, &r, err, sizeof(err)),
			 -EREMOTEIO);
	assert_non_null(strstr(err, "No such file"));
	/* The session survives a failed exec. */
	run(f, (const char *[]){ "true", NULL }, 5000, NULL, &r);
	agent_exec_result_release(&r);
	assert_int_equal(serve_finish(f), SERVE_EXIT_CLEAN);
}

static void test_files(void **state)
{
	struct serve_fixture *f = *state;
	char path[64];
	struct stat st;
	uint8_t *data;
	size_t len;

	hello(f);
	snprintf(path, sizeof(path), "%s/file", f->dir);
	assert_int_equal(agent_conn_write_file(f->c, path, 0600, "abc\0def", 7, 5000), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 7);
	assert_int_equal(agent_conn_read_file(f->c, path, 5000, &data, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(data, "abc\0def", 7);
	free(data);
	/* Rewriting changes the mode too, and truncates. */
	assert_int_equal(agent_conn_write_file(f->c, path, 0640, "x", 1, 5000), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_size, 1);
	unlink(path);

	/* Files that report size 0 are read to EOF. */
	assert_int_equal(agent_conn_read_file(f->c, "/proc/self/status", 5000, &data, &len), 0);
	assert_non_null(strstr((char *)data, "Pid:"));
	free(data);
	assert_int_equal(agent_conn_read_file(f->c, "/nonexistent/x", 5000, &data, &len), -ENOENT);
	assert_int_equal(agent_conn_read_file(f->c, "/", 5000, &data, &len), -EISDIR);
	assert_int_equal(agent_conn_write_file(f->c, "/nonexistent/x", 0644, "", 0, 5000),
			 -ENOENT);
	assert_int_equal(serve_finish(f), SERVE_EXIT_CLEAN);
}

static void raw_send(int fd, uint32_t type, const void *payload, uint32_t len)
{
	uint8_t hdr[8];

	memcpy(hdr, &type, 4);
	memcpy(hdr + 4, &len, 4);
	assert_int_equal(write(fd, hdr, 8), 8);
	if (len)
		assert_int_equal(write(fd, payload, len), (ssize_t)len);
}

/* Read one reply with the codec; returns its type, ERRNO in *err. */
static uint32_t raw_reply(int fd, uint32_t *err)
{
	uint8_t hdr[8], buf[512];
	struct agent_attr_view a;
	uint32_t type, len;

	assert_int_equal(read(fd, hdr, 8), 8);
	assert_int_equal(agent_hdr_decode(hdr, &type, &len), 0);
	assert_true(len <= sizeof(buf));
	assert_int_equal(read(fd, buf, len), (ssize_t)len);
	*err = 0;
	if (agent_attr_find(buf, len, AGENT_ATTR_ERRNO, &a) == 1)
		assert_int_equal(agent_attr_u32(&a, err), 0);
	return type;
}

static void test_malformed(void **state)
{
	struct serve_fixture *f = *state;
	struct agent_exec_result r;
	uint8_t bad[8] = { AGENT_ATTR_ARG, 0, 1, 0, 0, 0, 0, 0 };
	uint8_t nul_arg[12] = { AGENT_ATTR_ARG, 0, 0, 0, 4, 0, 0, 0, 't', 0, 'u', 'e' };
	uint32_t err;

	hello(f);
	/* Reserved field set: refused, but framing is intact. */
	raw_send(f->fd, AGENT_MSG_EXEC_REQ, bad, sizeof(bad));
	assert_int_equal(raw_reply(f->fd, &err), AGENT_MSG_ERROR);
	assert_int_equal(err, EPROTO);
	/* An argument with a NUL inside. */
	raw_send(f->fd, AGENT_MSG_EXEC_REQ, nul_arg, sizeof(nul_arg));
	assert_int_equal(raw_reply(f->fd, &err), AGENT_MSG_ERROR);
	assert_int_equal(err, EPROTO);
	/* No argv at all. */
	raw_send(f->fd, AGENT_MSG_EXEC_REQ, NULL, 0);
	assert_int_equal(raw_reply(f->fd, &err), AGENT_MSG_ERROR);
	assert_int_equal(err, EINVAL);
	/* A resync HELLO must carry the nonce to echo. */
	raw_send(f->fd, AGENT_MSG_HELLO, NULL, 0);
	assert_int_equal(raw_reply(f->fd, &err), AGENT_MSG_ERROR);
	assert_int_equal(err, EINVAL);
	/* A message the host has no business sending. */
	raw_send(f->fd, AGENT_MSG_EXEC_RESP, NULL, 0);
	assert_int_equal(raw_reply(f->fd, &err), AGENT_MSG_ERROR);
	assert_int_equal(err, EOPNOTSUPP);
	raw_send(f->fd, AGENT_MSG_READ_REQ, NULL, 0);
	assert_int_equal(raw_reply(f->fd, &err), AGENT_MSG_ERROR);
	assert_int_equal(err, EINVAL);
	/* Still serving. */
	run(f, (const char *[]){ "true", NULL }, 5000, NULL, &r);
	agent_exec_result_release(&r);
	/* A header that cannot be framed ends the session with EPROTO. */
	raw_send(f->fd, 77, NULL, 0);
	assert_int_equal(raw_reply(f->fd, &err), AGENT_MSG_ERROR);
	assert_int_equal(err, EPROTO);
	assert_int_equal(serve_finish(f), SERVE_EXIT_EPROTO);
}

static void test_oversized(void **state)
{
	struct serve_fixture *f = *state;
	uint32_t err;

	hello(f);
	raw_send(f->fd, AGENT_MSG_EXEC_REQ, NULL, 0);
	assert_int_equal(raw_reply(f->fd, &err), AGENT_MSG_ERROR);
	/* Length over the limit: refused before any allocation. */
	uint8_t hdr[8] = { AGENT_MSG_WRITE_REQ, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(write(f->fd, hdr, 8), 8);
	assert_int_equal(raw_reply(f->fd, &err), AGENT_MSG_ERROR);
	assert_int_equal(serve_finish(f), SERVE_EXIT_EPROTO);
}

static void test_truncated(void **state)
{
	struct serve_fixture *f = *state;

	hello(f);
	/* Half a frame, then the host goes away: the session ends with
	 * ECONNRESET (the port loop then waits for the next host). */
	assert_int_equal(write(f->fd, "\x02\0\0\0\x20\0\0\0\x07\0", 10), 10);
	assert_int_equal(serve_finish(f), SERVE_EXIT_OTHER);
}

static void test_resync(void **state)
{
	struct serve_fixture *f = *state;
	struct agent_exec_result r;
	uint8_t nul_arg[12] = { AGENT_ATTR_ARG, 0, 0, 0, 4, 0, 0, 0, 't', 0, 'u', 'e' };

	hello(f);
	/* Leave replies unread, as a client that timed out would: a fresh
	 * HELLO must skip them and put the conversation back in step. */
	raw_send(f->fd, AGENT_MSG_EXEC_REQ, nul_arg, sizeof(nul_arg));
	raw_send(f->fd, AGENT_MSG_EXEC_REQ, nul_arg, sizeof(nul_arg));
	hello(f);
	run(f, (const char *[]){ "/bin/echo", "in step", NULL }, 5000, NULL, &r);
	assert_string_equal((char *)r.out, "in step\n");
	agent_exec_result_release(&r);
	assert_int_equal(serve_finish(f), SERVE_EXIT_CLEAN);
}

static void test_poweroff(void **state)
{
	struct serve_fixture *f = *state;

	hello(f);
	assert_int_equal(agent_conn_poweroff(f->c), 0);
	assert_int_equal(serve_finish(f), SERVE_EXIT_POWEROFF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exec, serve_setup, serve_teardown),
		cmocka_unit_test_setup_teardown(test_exec_limits, serve_setup, serve_teardown),
		cmocka_unit_test_setup_teardown(test_files, serve_setup, serve_teardown),
		cmocka_unit_test_setup_teardown(test_malformed, serve_setup, serve_teardown),
		cmocka_unit_test_setup_teardown(test_oversized, serve_setup, serve_teardown),
		cmocka_unit_test_setup_teardown(test_truncated, serve_setup, serve_teardown),
		cmocka_unit_test_setup_teardown(test_resync, serve_setup, serve_teardown),
		cmocka_unit_test_setup_teardown(test_poweroff, serve_setup, serve_teardown),
	};

	/* The agent runs with SIGPIPE ignored (as PID 1 does). */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
