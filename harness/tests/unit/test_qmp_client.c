/* SPDX-License-Identifier: MIT */
/* test_qmp_client.c: QMP client against a scripted fake QEMU on a socketpair, and real QEMU. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "qemu/qmp_client.c"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 3, \"minor\": 2, \"major\": 7}, " \
		 "\"package\": \"Debian 1:7.2\"}, \"capabilities\": [\"oob\"]}}\r\n"

struct fake {
	struct qmp_client *c;
	int peer; /* the fake QEMU's end */
};

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(qmp_client_open_fd(sv[0], &f->c), 0);
	f->peer = sv[1];
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	qmp_client_destroy(f->c);
	if (f->peer >= 0)
		close(f->peer);
	free(f);
	return 0;
}

static void fake_send(struct fake *f, const char *s)
{
	size_t len = strlen(s);

	assert_int_equal(write(f->peer, s, len), (ssize_t)len);
}

/* Read one command line the client sent and parse it. */
static json_t *fake_recv_cmd(struct fake *f)
{
	char buf[4096];
	size_t n = 0;
	json_t *j;

	while (n < sizeof(buf) - 1) {
		ssize_t r = read(f->peer, buf + n, 1);

		assert_int_equal(r, 1);
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	return j;
}

static void assert_cmd(json_t *cmd, const char *name, const char *id)
{
	assert_string_equal(json_string_value(json_object_get(cmd, "execute")), name);
	assert_string_equal(json_string_value(json_object_get(cmd, "id")), id);
}

static void test_parse_shapes(void **state)
{
	static const struct {
		const char *line;
		int ret;
		enum qmp_msg_kind kind;
	} cases[] = {
		{ GREETING, 0, QMP_MSG_GREETING },
		{ "{\"return\": {}}\r\n", 0, QMP_MSG_RETURN },
		{ "{\"return\": [1, 2]}", 0, QMP_MSG_RETURN },
		{ "{\"return\": \"hmp output\"}", 0, QMP_MSG_RETURN },
		{ "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}", 0, QMP_MSG_ERROR },
		{ "{\"error\": {\"class\": \"GenericError\"}}", 0, QMP_MSG_ERROR },
		{ "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}", 0,
		  QMP_MSG_EVENT },
		{ "{\"event\": \"RESET\", \"data\": {\"guest\": true}}", 0, QMP_MSG_EVENT },
		{ "", -EPROTO, 0 },
		{ "\r\n", -EPROTO, 0 },
		{ "{bad json}", -EPROTO, 0 },
		{ "[1]", -EPROTO, 0 },
		{ "\"string\"", -EPROTO, 0 },
		{ "{}", -EPROTO, 0 },
		{ "{\"id\": 1}", -EPROTO, 0 },
		{ "{\"return\": null}", -EPROTO, 0 },
		{ "{\"return\": {}, \"error\": {\"class\": \"X\"}}", -EPROTO, 0 },
		{ "{\"return\": {}, \"return\": {}}", -EPROTO, 0 },
		{ "{\"error\": \"oops\"}", -EPROTO, 0 },
		{ "{\"error\": {\"desc\": \"no class\"}}", -EPROTO, 0 },
		{ "{\"error\": {\"class\": 5}}", -EPROTO, 0 },
		{ "{\"error\": {\"class\": \"X\", \"desc\": []}}", -EPROTO, 0 },
		{ "{\"event\": 7}", -EPROTO, 0 },
		{ "{\"event\": \"\"}", -EPROTO, 0 },
		{ "{\"event\": \"X\", \"data\": [1]}", -EPROTO, 0 },
		{ "{\"event\": \"X\\u0000Y\"}", -EPROTO, 0 },
		{ "{\"QMP\": {}}", -EPROTO, 0 },
		{ "{\"QMP\": {\"version\": {\"qemu\": {\"major\": \"7\", \"minor\": 2, \"micro\": 0}}}}",
		  -EPROTO, 0 },
		{ "{\"QMP\": {\"version\": {\"qemu\": {\"major\": -1, \"minor\": 2, \"micro\": 0}}}}",
		  -EPROTO, 0 },
		{ "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 99999999999, \"minor\": 2, "
		  "\"micro\": 0}}}}", -EPROTO, 0 },
		{ "{\"return\": {}} {\"return\": {}}", -EPROTO, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qmp_msg m;
		int ret = qmp_msg_parse(cases[i].line, strlen(cases[i].line), &m);

		if (ret != cases[i].ret)
			fail_msg("case %zu (%s): %d, want %d", i, cases[i].line, ret, cases[i].ret);
		if (ret == 0) {
			assert_int_equal(m.kind, cases[i].kind);
			assert_non_null(m.root);
		} else {
			assert_null(m.root);
		}
		qmp_msg_release(&m);
	}
}

static void test_parse_fields(void **state)
{
	struct qmp_msg m;

	assert_int_equal(qmp_msg_parse(GREETING, strlen(GREETING), &m), 0);
	assert_int_equal(m.major, 7);
	assert_int_equal(m.minor, 2);
	assert_int_equal(m.micro, 3);
	qmp_msg_release(&m);
	assert_null(m.root);

	static const char err[] = "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"nope\"}}";
	assert_int_equal(qmp_msg_parse(err, strlen(err), &m), 0);
	assert_string_equal(m.err_class, "CommandNotFound");
	assert_string_equal(m.err_desc, "nope");
	qmp_msg_release(&m);

	static const char ev[] = "{\"event\": \"BLOCK_JOB_READY\", \"data\": {\"device\": \"d0\"}}";
	assert_int_equal(qmp_msg_parse(ev, strlen(ev), &m), 0);
	assert_string_equal(m.event, "BLOCK_JOB_READY");
	assert_string_equal(json_string_value(json_object_get(m.data, "device")), "d0");
	qmp_msg_release(&m);
	qmp_msg_release(NULL);
}

static void test_line_len(void **state)
{
	assert_int_equal(qmp_client_line_len("", 0, 8), 0);
	assert_int_equal(qmp_client_line_len("abc", 3, 8), 0);
	assert_int_equal(qmp_client_line_len("a\r\nb", 4, 8), 3);
	assert_int_equal(qmp_client_line_len("\n", 1, 8), 1);
	/* exactly MAX bytes including the newline still fits */
	assert_int_equal(qmp_client_line_len("1234567\n", 8, 8), 8);
	assert_int_equal(qmp_client_line_len("12345678\n", 9, 8), -EPROTO);
	assert_int_equal(qmp_client_line_len("12345678", 8, 8), -EPROTO);
	assert_int_equal(qmp_client_line_len("1234567", 7, 8), 0);
}

static void test_handshake(void **state)
{
	struct fake *f = *state;
	int major = 0, minor = 0, micro = 0;
	json_t *cmd;

	fake_send(f, GREETING);
	fake_send(f, "{\"return\": {}, \"id\": \"uvmlab-1\"}\r\n");
	assert_int_equal(qmp_client_handshake(f->c, 2000, &major, &minor, &micro), 0);
	assert_int_equal(major, 7);
	assert_int_equal(minor, 2);
	assert_int_equal(micro, 3);
	cmd = fake_recv_cmd(f);
	assert_cmd(cmd, "qmp_capabilities", "uvmlab-1");
	assert_null(json_object_get(cmd, "arguments"));
	json_decref(cmd);
	/* NULL out-parameters are fine too */
	fake_send(f, "{\"return\": {}}\r\n");
	assert_int_equal(qmp_client_handshake(f->c, 2000, NULL, NULL, NULL), 0);
}

static void test_handshake_timeout(void **state)
{
	struct fake *f = *state;

	assert_int_equal(qmp_client_handshake(f->c, 50, NULL, NULL, NULL), -ETIMEDOUT);
	assert_int_equal(qmp_client_handshake(f->c, -1, NULL, NULL, NULL), -EINVAL);
}

static void test_handshake_reply_before_greeting(void **state)
{
	struct fake *f = *state;

	fake_send(f, "{\"return\": {}}\r\n");
	assert_int_equal(qmp_client_handshake(f->c, 1000, NULL, NULL, NULL), -EPROTO);
}

static void test_handshake_refused(void **state)
{
	struct fake *f = *state;

	fake_send(f, GREETING "{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}\r\n");
	assert_int_equal(qmp_client_handshake(f->c, 1000, NULL, NULL, NULL), -EPROTO);
}

static void test_execute_return(void **state)
{
	struct fake *f = *state;
	json_t *args = json_pack("{s:s}", "id", "net0");
	json_t *ret = NULL, *cmd;
	char err[64] = "junk";

	fake_send(f, "{\"return\": {\"status\": \"paused\", \"running\": false}, "
		     "\"id\": \"uvmlab-1\"}\r\n");
	assert_int_equal(qmp_client_execute(f->c, "query-status", args, 1000, &ret, err,
					    sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(json_is_object(ret));
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "paused");
	assert_true(json_is_false(json_object_get(ret, "running")));
	cmd = fake_recv_cmd(f);
	assert_cmd(cmd, "query-status", "uvmlab-1");
	assert_true(json_equal(json_object_get(cmd, "arguments"), args));
	json_decref(cmd);
	json_decref(ret);
	json_decref(args);

	/* RET may be NULL; ids keep counting */
	fake_send(f, "{\"return\": [], \"id\": \"uvmlab-2\"}\r\n");
	assert_int_equal(qmp_client_execute(f->c, "cont", NULL, 1000, NULL, NULL, 0), 0);
}

static void test_execute_error(void **state)
{
	struct fake *f = *state;
	json_t *ret = (json_t *)1;
	char err[16];

	fake_send(f, "{\"error\": {\"class\": \"CommandNotFound\", "
		     "\"desc\": \"The command nosuch has not been found\"}, \"id\": \"uvmlab-1\"}\n");
	assert_int_equal(qmp_client_execute(f->c, "nosuch", NULL, 1000, &ret, err, sizeof(err)),
			 -EREMOTEIO);
	assert_null(ret);
	/* truncated to the buffer, still terminated */
	assert_string_equal(err, "The command nos");
}

static void test_execute_bad_args(void **state)
{
	struct fake *f = *state;
	json_t *arr = json_array();

	assert_int_equal(qmp_client_execute(f->c, "x", arr, 100, NULL, NULL, 0), -EINVAL);
	assert_int_equal(qmp_client_execute(f->c, "x", NULL, -5, NULL, NULL, 0), -EINVAL);
	assert_int_equal(qmp_client_execute(f->c, NULL, NULL, 100, NULL, NULL, 0), -EINVAL);
	assert_int_equal(qmp_client_execute(f->c, "bad\xff", NULL, 100, NULL, NULL, 0), -EINVAL);
	json_decref(arr);
	qmp_client_destroy(NULL);
	struct qmp_client *c = (struct qmp_client *)1;
	assert_int_equal(qmp_client_open_fd(-1, &c), -EBADF);
	assert_null(c);
}

static void test_events_before_return(void **state)
{
	struct fake *f = *state;
	char name[32];
	json_t *data;

	fake_send(f, "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 0}}\r\n"
		     "{\"event\": \"NIC_RX_FILTER_CHANGED\", \"data\": {\"name\": \"n0\"}}\r\n"
		     "{\"return\": {}, \"id\": \"uvmlab-1\"}\r\n"
		     "{\"event\": \"RESUME\"}\r\n");
	assert_int_equal(qmp_client_execute(f->c, "stop", NULL, 1000, NULL, NULL, 0), 0);
	/* the event after the return stays unread until someone pumps */
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), &data), 1);
	assert_string_equal(name, "STOP");
	assert_null(data);
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), &data), 1);
	assert_string_equal(name, "NIC_RX_FILTER_CHANGED");
	assert_string_equal(json_string_value(json_object_get(data, "name")), "n0");
	json_decref(data);
	/* read along with the return, so queued now: poll() would not wake
	 * the caller for it again */
	assert_int_equal(qmp_client_next_event(f->c, name, 4, NULL), 1);
	assert_string_equal(name, "RES");
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), &data), 0);
	assert_int_equal(qmp_client_pump(f->c), 0);
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), &data), 0);
	assert_int_equal(qmp_client_events_dropped(f->c), 0);
}

static void test_stale_reply_skipped(void **state)
{
	struct fake *f = *state;
	json_t *ret = NULL;

	/* the first command times out; its late answer must not be taken as
	 * the second command's */
	assert_int_equal(qmp_client_execute(f->c, "slow", NULL, 20, NULL, NULL, 0), -ETIMEDOUT);
	fake_send(f, "{\"return\": {\"who\": \"slow\"}, \"id\": \"uvmlab-1\"}\r\n"
		     "{\"return\": {\"who\": \"fast\"}, \"id\": \"uvmlab-2\"}\r\n");
	assert_int_equal(qmp_client_execute(f->c, "fast", NULL, 1000, &ret, NULL, 0), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "who")), "fast");
	assert_int_equal(f->c->stray_replies, 1);
	json_decref(ret);
}

static void test_partial_lines_pump(void **state)
{
	struct fake *f = *state;
	char name[32];

	fake_send(f, "{\"event\": \"SHUT");
	assert_int_equal(qmp_client_pump(f->c), 0);
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), NULL), 0);
	fake_send(f, "DOWN\", \"data\": {\"guest\": true}}\r");
	assert_int_equal(qmp_client_pump(f->c), 0);
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), NULL), 0);
	fake_send(f, "\n{\"event\": \"STOP\"}\r\n{\"ev");
	assert_int_equal(qmp_client_pump(f->c), 0);
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), NULL), 1);
	assert_string_equal(name, "SHUTDOWN");
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), NULL), 1);
	assert_string_equal(name, "STOP");
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), NULL), 0);
}

/* A child writes S in small, delayed pieces so that the client's reads land
 * mid-line while it is blocked in execute(). */
static pid_t slow_writer(int fd, const char *s, size_t piece, useconds_t delay)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		size_t len = strlen(s);

		for (size_t off = 0; off < len; off += piece) {
			size_t n = len - off < piece ? len - off : piece;

			if (write(fd, s + off, n) != (ssize_t)n)
				_exit(1);
			usleep(delay);
		}
		_exit(0);
	}
	return pid;
}

static void test_partial_lines_execute(void **state)
{
	struct fake *f = *state;
	json_t *ret = NULL;
	int status;
	pid_t pid;
	char name[16];

	pid = slow_writer(f->peer, "{\"event\": \"STOP\"}\r\n{\"return\": {\"status\": "
				   "\"running\"}, \"id\": \"uvmlab-1\"}\r\n", 5, 3000);
	assert_int_equal(qmp_client_execute(f->c, "query-status", NULL, 5000, &ret, NULL, 0), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), NULL), 1);
	assert_string_equal(name, "STOP");
	json_decref(ret);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Write all of BUF to the peer without blocking, draining the client with
 * pump() whenever the socket is full. Returns the first pump() failure. */
static int feed_pumping(struct fake *f, const char *buf, size_t len)
{
	int ret = 0, avail = 0;

	while (len > 0 && ret == 0) {
		ssize_t n = send(f->peer, buf, len, MSG_DONTWAIT);

		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			ret = qmp_client_pump(f->c);
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	while (ret == 0) {
		assert_int_equal(ioctl(qmp_client_fd(f->c), FIONREAD, &avail), 0);
		if (avail == 0)
			break;
		ret = qmp_client_pump(f->c);
	}
	return ret;
}

static char *big_event_line(size_t total)
{
	static const char head[] = "{\"event\": \"BIG\", \"data\": {\"s\": \"";
	static const char tail[] = "\"}}\r\n";
	char *line = malloc(total + 1);

	assert_non_null(line);
	memset(line, 'x', total);
	memcpy(line, head, strlen(head));
	memcpy(line + total - strlen(tail), tail, strlen(tail));
	line[total] = '\0';
	return line;
}

static void test_oversized_line(void **state)
{
	struct fake *f = *state;
	char *fits = big_event_line(QMP_MAX_LINE);
	char *big = big_event_line(QMP_MAX_LINE + 1);
	json_t *data = NULL;
	char name[8];

	assert_int_equal(feed_pumping(f, fits, QMP_MAX_LINE), 0);
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), &data), 1);
	assert_string_equal(name, "BIG");
	assert_int_equal(json_string_length(json_object_get(data, "s")),
			 QMP_MAX_LINE - strlen("{\"event\": \"BIG\", \"data\": {\"s\": \"\"}}\r\n"));
	json_decref(data);
	assert_true(f->c->rx_cap <= QMP_MAX_LINE);

	assert_int_equal(feed_pumping(f, big, QMP_MAX_LINE + 1), -EPROTO);
	assert_true(f->c->rx_cap <= QMP_MAX_LINE);
	/* framing is lost for good */
	assert_int_equal(qmp_client_pump(f->c), -EPROTO);
	assert_int_equal(qmp_client_execute(f->c, "x", NULL, 100, NULL, NULL, 0), -EPROTO);
	free(fits);
	free(big);
}

static void test_oversized_line_in_execute(void **state)
{
	struct fake *f = *state;
	char *line = malloc(4096);

	/* a small limit so the whole line fits in the socket buffer */
	f->c->max_line = 1024;
	memset(line, ' ', 4096);
	memcpy(line, "{\"return\": {}}", 14);
	line[4095] = '\n';
	assert_int_equal(write(f->peer, line, 4096), 4096);
	assert_int_equal(qmp_client_execute(f->c, "x", NULL, 1000, NULL, NULL, 0), -EPROTO);
	free(line);
}

static void test_peer_close(void **state)
{
	struct fake *f = *state;
	char name[16];

	fake_send(f, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false}}\r\n{\"event\": \"TRUNC");
	close(f->peer);
	f->peer = -1;
	assert_int_equal(qmp_client_pump(f->c), -ECONNRESET);
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), NULL), 1);
	assert_string_equal(name, "SHUTDOWN");
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), NULL), 0);
	assert_int_equal(qmp_client_pump(f->c), -ECONNRESET);
	assert_int_equal(qmp_client_execute(f->c, "x", NULL, 100, NULL, NULL, 0), -ECONNRESET);
}

static void test_peer_close_while_waiting(void **state)
{
	struct fake *f = *state;
	int64_t t0 = qmp_client_now_ms();

	shutdown(f->peer, SHUT_WR);
	assert_int_equal(qmp_client_execute(f->c, "x", NULL, 5000, NULL, NULL, 0), -ECONNRESET);
	assert_true(qmp_client_now_ms() - t0 < 2000);
	close(f->peer);
	f->peer = -1;
	/* the send side now sees the closed peer */
	assert_int_equal(qmp_client_execute(f->c, "x", NULL, 100, NULL, NULL, 0), -ECONNRESET);
}

static void test_timeout(void **state)
{
	struct fake *f = *state;
	int64_t t0 = qmp_client_now_ms(), dt;

	fake_send(f, "{\"event\": \"STOP\"}\r\n{\"return\": {}, \"id\": \"other\"}\r\n");
	assert_int_equal(qmp_client_execute(f->c, "x", NULL, 150, NULL, NULL, 0), -ETIMEDOUT);
	dt = qmp_client_now_ms() - t0;
	assert_true(dt >= 145);
	assert_true(dt < 3000);
	assert_int_equal(qmp_client_next_event(f->c, NULL, 0, NULL), 1);
}

static void test_malformed_json(void **state)
{
	struct fake *f = *state;

	fake_send(f, "{\"event\": \"OK\"}\r\n{\"event\": \"BAD\",,}\r\n");
	assert_int_equal(qmp_client_pump(f->c), -EPROTO);
	assert_int_equal(qmp_client_next_event(f->c, NULL, 0, NULL), 1);
	assert_int_equal(qmp_client_pump(f->c), -EPROTO);
}

static void test_wrong_types_in_stream(void **state)
{
	struct fake *f = *state;

	fake_send(f, "{\"return\": null, \"id\": \"uvmlab-1\"}\r\n");
	assert_int_equal(qmp_client_execute(f->c, "x", NULL, 1000, NULL, NULL, 0), -EPROTO);
}

static void test_blank_lines_ignored(void **state)
{
	struct fake *f = *state;

	fake_send(f, "\r\n  \n{\"return\": {}, \"id\": \"uvmlab-1\"}\r\n");
	assert_int_equal(qmp_client_execute(f->c, "x", NULL, 1000, NULL, NULL, 0), 0);
}

static void test_event_queue_overflow(void **state)
{
	struct fake *f = *state;
	char name[32], *all = calloc(300, 64);
	size_t len = 0;
	json_t *data;

	/* one buffer: 300 small writes would exceed the socket's skb budget */
	assert_non_null(all);
	for (int i = 0; i < 300; i++)
		len += (size_t)sprintf(all + len, "{\"event\": \"E\", \"data\": {\"n\": %d}}\n", i);
	assert_int_equal(feed_pumping(f, all, len), 0);
	free(all);
	assert_int_equal(qmp_client_events_dropped(f->c), 300 - QMP_CLIENT_EVQ_MAX);
	for (int i = 300 - QMP_CLIENT_EVQ_MAX; i < 300; i++) {
		assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), &data), 1);
		assert_int_equal(json_integer_value(json_object_get(data, "n")), i);
		json_decref(data);
	}
	assert_int_equal(qmp_client_next_event(f->c, name, sizeof(name), &data), 0);
	assert_null(data);
}

static void test_ingest_matches_socket_path(void **state)
{
	struct qmp_client *c = qmp_client_alloc(-1);
	static const char stream[] = "{\"event\": \"A\"}\r\n{\"return\": {}}\n{\"event\": \"B\"}\n{\"ev";
	char name[8];

	assert_non_null(c);
	assert_int_equal(qmp_client_ingest(c, stream, strlen(stream)), 0);
	assert_int_equal(c->stray_replies, 1);
	assert_int_equal(qmp_client_next_event(c, name, sizeof(name), NULL), 1);
	assert_string_equal(name, "A");
	assert_int_equal(qmp_client_next_event(c, name, sizeof(name), NULL), 1);
	assert_string_equal(name, "B");
	assert_int_equal(qmp_client_next_event(c, name, sizeof(name), NULL), 0);
	assert_int_equal(qmp_client_ingest(c, "ent\": \"C\"}\n", 11), 0);
	assert_int_equal(qmp_client_next_event(c, name, sizeof(name), NULL), 1);
	assert_string_equal(name, "C");
	qmp_client_destroy(c);
}

static char *find_in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *dup, *dir, *save = NULL, *found = NULL;

	dup = strdup(path ? path : "/usr/bin:/bin");
	assert_non_null(dup);
	for (dir = strtok_r(dup, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *cand;

		assert_true(asprintf(&cand, "%s/%s", dir, prog) > 0);
		if (access(cand, X_OK) == 0)
			found = cand;
		else
			free(cand);
	}
	free(dup);
	return found;
}

static int wait_exit(pid_t pid, int timeout_ms, int *status)
{
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

static void test_real_qemu(void **state)
{
	char *qemu = find_in_path("qemu-system-x86_64");
	char dir[] = "/tmp/uvmlab-qmp-XXXXXX", sockpath[64], chardev[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	struct qmp_client *c = NULL;
	json_t *ret = NULL;
	int lfd, fd, major = 0, minor = -1, status = 0, r;
	pid_t pid;

	if (!qemu) {
		print_message("qemu-system-x86_64 not installed\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(sockpath, sizeof(sockpath), "%s/qmp.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
	snprintf(chardev, sizeof(chardev), "socket,id=q,path=%s,server=off", sockpath);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { qemu, "-M", "microvm", "-accel", "tcg", "-nodefaults",
				 "-no-user-config", "-display", "none", "-S",
				 "-chardev", chardev, "-mon", "chardev=q,mode=control", NULL };
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		execv(qemu, argv);
		_exit(127);
	}
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	r = poll(&pfd, 1, 30000);
	if (r != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("QEMU did not connect to %s", sockpath);
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(qmp_client_open_fd(fd, &c), 0);

	r = qmp_client_handshake(c, 30000, &major, &minor, NULL);
	if (r == 0)
		r = qmp_client_execute(c, "query-status", NULL, 10000, &ret, NULL, 0);
	if (r < 0 || major != 7) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("handshake/query-status: %d, major %d", r, major);
	}
	const char *st = json_string_value(json_object_get(ret, "status"));
	assert_non_null(st);
	assert_true(strcmp(st, "prelaunch") == 0 || strcmp(st, "paused") == 0);
	json_decref(ret);

	/* QEMU may close the socket before its return reaches us */
	r = qmp_client_execute(c, "quit", NULL, 10000, NULL, NULL, 0);
	assert_true(r == 0 || r == -ECONNRESET);
	if (wait_exit(pid, 20000, &status) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("QEMU did not exit after quit");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	qmp_client_destroy(c);
	close(lfd);
	unlink(sockpath);
	rmdir(dir);
	free(qemu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_shapes),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_line_len),
		cmocka_unit_test_setup_teardown(test_handshake, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_handshake_timeout, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_handshake_reply_before_greeting, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_handshake_refused, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_execute_return, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_execute_error, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_execute_bad_args, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_events_before_return, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_stale_reply_skipped, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_partial_lines_pump, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_partial_lines_execute, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_oversized_line, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_oversized_line_in_execute, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_peer_close, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_peer_close_while_waiting, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_timeout, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_json, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_types_in_stream, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_blank_lines_ignored, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_event_queue_overflow, fake_setup, fake_teardown),
		cmocka_unit_test(test_ingest_matches_socket_path),
		cmocka_unit_test(test_real_qemu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
