/* SPDX-License-Identifier: MIT */
/* test_agent_client.c: host client against a scripted fake agent on a socketpair. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/stat.h>

#include "lab/agent_client.c"

struct fake {
	struct agent_conn *c;
	int peer; /* the fake agent's end */
};

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(agent_client_wrap(sv[0], &f->c), 0);
	f->peer = sv[1];
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	agent_conn_close(f->c);
	if (f->peer >= 0)
		close(f->peer);
	free(f);
	return 0;
}

static void fake_send_raw(struct fake *f, const void *p, size_t n)
{
	assert_int_equal(write(f->peer, p, n), (ssize_t)n);
}

static void fake_send(struct fake *f, struct agent_buf *b)
{
	agent_buf_finish(b);
	fake_send_raw(f, b->data, b->len);
	agent_buf_release(b);
}

static void fake_hangup(struct fake *f)
{
	close(f->peer);
	f->peer = -1;
}

/* Read the request the client sent; payload malloc'd. */
static uint32_t fake_recv(struct fake *f, uint8_t **payload, uint32_t *len)
{
	uint8_t hdr[8];
	uint32_t type;
	size_t got;

	assert_int_equal(read(f->peer, hdr, 8), 8);
	assert_int_equal(agent_hdr_decode(hdr, &type, len), 0);
	*payload = malloc(*len + 1);
	assert_non_null(*payload);
	if (*len)
		assert_int_equal(agent_client_read_some(f->peer, *payload, *len,
							agent_client_now_ms() + 1000, &got), 0);
	assert_int_equal(agent_payload_check(*payload, *len), 0);
	return type;
}

/* A HELLO as the agent sends it; NONCE 0 means the unsolicited one. */
static void hello_frame(struct agent_buf *b, uint32_t version, uint64_t nonce)
{
	uint8_t ph[24] = { 0 };

	ph[0] = 1;
	ph[8] = 2;
	ph[23] = 0x80;
	assert_int_equal(agent_buf_start(b, AGENT_MSG_HELLO), 0);
	assert_int_equal(agent_buf_put_u32(b, AGENT_ATTR_VERSION, version), 0);
	assert_int_equal(agent_buf_put_str(b, AGENT_ATTR_VM_NAME, "work"), 0);
	assert_int_equal(agent_buf_put_str(b, AGENT_ATTR_ROLE, "app"), 0);
	assert_int_equal(agent_buf_put_str(b, AGENT_ATTR_KERNEL, "6.1.0-50-amd64"), 0);
	assert_int_equal(agent_buf_put_u64(b, AGENT_ATTR_BOOTTIME_INIT_NS, 1500000000ull), 0);
	assert_int_equal(agent_buf_put_u64(b, AGENT_ATTR_BOOTTIME_READY_NS, 2500000000ull), 0);
	assert_int_equal(agent_buf_put(b, AGENT_ATTR_PHASE_NS, ph, sizeof(ph)), 0);
	/* Future fields must be skipped, not rejected. */
	assert_int_equal(agent_buf_put_u32(b, 999, 5), 0);
	if (nonce)
		assert_int_equal(agent_buf_put_u64(b, AGENT_ATTR_NONCE, nonce), 0);
}

static void test_hello(void **state)
{
	struct fake *f = *state;
	struct agent_buf b = { 0 };
	struct agent_attr_view a;
	struct agent_hello h;
	uint64_t nonce;
	uint8_t *p;
	uint32_t len;

	/* The nonce the client is about to use; the test includes the .c. */
	hello_frame(&b, AGENT_PROTO_VERSION, f->c->nonce + 1);
	fake_send(f, &b);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), 0);
	assert_int_equal(h.version, AGENT_PROTO_VERSION);
	assert_string_equal(h.vm, "work");
	assert_string_equal(h.role, "app");
	assert_string_equal(h.kernel, "6.1.0-50-amd64");
	assert_true(h.boottime_init_ns == 1500000000ull);
	assert_true(h.boottime_ready_ns == 2500000000ull);
	assert_true(h.phase_ns[0] == 1);
	assert_true(h.phase_ns[1] == 2);
	assert_true(h.phase_ns[2] == 0x8000000000000000ull);
	assert_int_equal(agent_conn_fd(f->c) >= 0, 1);
	/* The client opened with a HELLO carrying that nonce. */
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_HELLO);
	assert_int_equal(agent_attr_find(p, len, AGENT_ATTR_NONCE, &a), 1);
	assert_int_equal(agent_attr_u64(&a, &nonce), 0);
	assert_true(nonce == f->c->nonce);
	free(p);
}

static void test_hello_resync(void **state)
{
	struct fake *f = *state;
	struct agent_buf b = { 0 };
	struct agent_hello h;

	/* What a guest that missed our reconnect sends: a stale reply from the
	 * old conversation, its own unsolicited HELLO, an echo of an old nonce,
	 * then ours. Only the last one counts. */
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_EXEC_RESP), 0);
	assert_int_equal(agent_buf_put_u32(&b, AGENT_ATTR_EXIT_STATUS, 1), 0);
	fake_send(f, &b);
	hello_frame(&b, AGENT_PROTO_VERSION + 7, 0);
	fake_send(f, &b);
	hello_frame(&b, AGENT_PROTO_VERSION + 7, f->c->nonce);
	fake_send(f, &b);
	hello_frame(&b, AGENT_PROTO_VERSION, f->c->nonce + 1);
	fake_send(f, &b);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), 0);
	assert_string_equal(h.vm, "work");

	/* Without our echo there is no HELLO, however much else arrives. */
	hello_frame(&b, AGENT_PROTO_VERSION, 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_read_hello(f->c, 200, &h), -ETIMEDOUT);
}

static void test_hello_bad(void **state)
{
	struct fake *f = *state;
	struct agent_buf b = { 0 };
	struct agent_hello h;
	char longname[200];

	hello_frame(&b, AGENT_PROTO_VERSION + 1, f->c->nonce + 1);
	fake_send(f, &b);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), -EPROTO);

	/* Wrong-size integer. */
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_HELLO), 0);
	assert_int_equal(agent_buf_put_u64(&b, AGENT_ATTR_VERSION, 1), 0);
	assert_int_equal(agent_buf_put_u64(&b, AGENT_ATTR_NONCE, f->c->nonce + 1), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), -EPROTO);

	/* Short PHASE_NS. */
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_HELLO), 0);
	assert_int_equal(agent_buf_put_u32(&b, AGENT_ATTR_VERSION, 1), 0);
	assert_int_equal(agent_buf_put(&b, AGENT_ATTR_PHASE_NS, longname, 16), 0);
	assert_int_equal(agent_buf_put_u64(&b, AGENT_ATTR_NONCE, f->c->nonce + 1), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), -EPROTO);

	/* An over-long name is cut, not fatal; the struct stays terminated. */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_HELLO), 0);
	assert_int_equal(agent_buf_put_u32(&b, AGENT_ATTR_VERSION, 1), 0);
	assert_int_equal(agent_buf_put_str(&b, AGENT_ATTR_VM_NAME, longname), 0);
	assert_int_equal(agent_buf_put_u64(&b, AGENT_ATTR_NONCE, f->c->nonce + 1), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), 0);
	assert_int_equal(strlen(h.vm), sizeof(h.vm) - 1);
	assert_int_equal(h.phase_ns[2], 0);
}

static void test_timeout(void **state)
{
	struct fake *f = *state;
	struct agent_hello h;
	int64_t t0 = agent_client_now_ms();

	assert_int_equal(agent_conn_read_hello(f->c, 150, &h), -ETIMEDOUT);
	assert_true(agent_client_now_ms() - t0 >= 140);
	assert_true(agent_client_now_ms() - t0 < 2000);
	/* Header only, payload never comes: still bounded. */
	fake_send_raw(f, "\x01\0\0\0\x10\0\0\0", 8);
	assert_int_equal(agent_conn_read_hello(f->c, 150, &h), -ETIMEDOUT);
}

static void test_truncated(void **state)
{
	struct fake *f = *state;
	struct agent_hello h;

	/* Announces 16 payload bytes, delivers 4, hangs up. */
	fake_send_raw(f, "\x01\0\0\0\x10\0\0\0\x01\0\0\0", 12);
	fake_hangup(f);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), -ECONNRESET);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), -ECONNRESET);
}

static void test_half_header(void **state)
{
	struct fake *f = *state;
	struct agent_hello h;

	fake_send_raw(f, "\x01\0\0", 3);
	fake_hangup(f);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), -ECONNRESET);
}

static void test_oversized(void **state)
{
	struct fake *f = *state;
	struct agent_hello h;
	uint8_t hdr[8] = { 1, 0, 0, 0 };
	uint32_t big = AGENT_MAX_PAYLOAD + 1;

	memcpy(hdr + 4, &big, 4); /* test host is little endian like the wire */
	fake_send_raw(f, hdr, 8);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), -EPROTO);
	/* Unknown message type. */
	fake_send_raw(f, "\x63\0\0\0\0\0\0\0", 8);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), -EPROTO);
	/* Attribute with a non-zero reserved field. */
	fake_send_raw(f, "\x01\0\0\0\x08\0\0\0\x01\0\x01\0\0\0\0\0", 16);
	assert_int_equal(agent_conn_read_hello(f->c, 1000, &h), -EPROTO);
}

static void test_exec_roundtrip(void **state)
{
	struct fake *f = *state;
	const char *argv[] = { "ping", "-c1", "198.18.1.10", NULL };
	struct agent_exec_result res;
	struct agent_attr_view a;
	struct agent_buf b = { 0 };
	uint8_t *p;
	uint32_t len, off = 0, u;
	char s[32];
	int nargs = 0;

	/* The reply is queued first so the test needs no second thread. */
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_EXEC_RESP), 0);
	assert_int_equal(agent_buf_put_u32(&b, AGENT_ATTR_EXIT_STATUS, 3), 0);
	assert_int_equal(agent_buf_put_u32(&b, AGENT_ATTR_TIMED_OUT, 1), 0);
	assert_int_equal(agent_buf_put(&b, AGENT_ATTR_STDOUT, "out\0put", 7), 0);
	assert_int_equal(agent_buf_put_u64(&b, AGENT_ATTR_STDOUT_DROPPED, 5000000000ull), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_exec(f->c, argv, 2500, "in", 2, &res, s, sizeof(s)), 0);
	assert_int_equal(res.status, 3);
	/* The agent's cut comes through; a stream it did not cut reads 0. */
	assert_true(res.out_dropped == 5000000000ull);
	assert_true(res.err_dropped == 0);
	assert_int_equal(res.timed_out, 1);
	assert_int_equal(res.out_len, 7);
	assert_memory_equal(res.out, "out\0put", 7);
	/* Absent stream comes back as an empty string, never NULL. */
	assert_non_null(res.err);
	assert_int_equal(res.err_len, 0);
	assert_int_equal(res.err[0], 0);
	agent_exec_result_release(&res);
	agent_exec_result_release(NULL);

	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_EXEC_REQ);
	while (agent_attr_next(p, len, &off, &a) == 1) {
		if (a.tag == AGENT_ATTR_ARG) {
			assert_int_equal(agent_attr_str(&a, s, sizeof(s)), 0);
			assert_string_equal(s, argv[nargs]);
			nargs++;
		} else if (a.tag == AGENT_ATTR_TIMEOUT_MS) {
			assert_int_equal(agent_attr_u32(&a, &u), 0);
			assert_int_equal(u, 2500);
		} else if (a.tag == AGENT_ATTR_STDIN) {
			assert_int_equal(a.len, 2);
			assert_memory_equal(a.val, "in", 2);
		} else {
			fail_msg("unexpected tag %u", a.tag);
		}
	}
	assert_int_equal(nargs, 3);
	free(p);
}

static void test_exec_errors(void **state)
{
	struct fake *f = *state;
	const char *argv[] = { "nosuch", NULL };
	const char *noargv[] = { NULL };
	struct agent_exec_result res;
	struct agent_buf b = { 0 };
	char err[64];
	uint8_t *p;
	uint32_t len;

	assert_int_equal(agent_conn_exec(f->c, noargv, 100, NULL, 0, &res, err, sizeof(err)),
			 -EINVAL);

	assert_int_equal(agent_buf_start(&b, AGENT_MSG_ERROR), 0);
	assert_int_equal(agent_buf_put_u32(&b, AGENT_ATTR_ERRNO, ENOENT), 0);
	assert_int_equal(agent_buf_put_str(&b, AGENT_ATTR_MESSAGE, "exec nosuch: No such file"), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_exec(f->c, argv, 100, NULL, 0, &res, err, sizeof(err)),
			 -EREMOTEIO);
	assert_string_equal(err, "exec nosuch: No such file");
	assert_null(res.out);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_EXEC_REQ);
	free(p);

	/* A reply without EXIT_STATUS is not an answer. */
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_EXEC_RESP), 0);
	assert_int_equal(agent_buf_put(&b, AGENT_ATTR_STDOUT, "x", 1), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_exec(f->c, argv, 100, NULL, 0, &res, err, sizeof(err)),
			 -EPROTO);
	assert_null(res.out);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_EXEC_REQ);
	free(p);

	/* The reply to some other request. */
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_READ_RESP), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_exec(f->c, argv, 100, NULL, 0, &res, NULL, 0), -EPROTO);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_EXEC_REQ);
	free(p);

	/* Agent dies mid-request. */
	fake_hangup(f);
	assert_int_equal(agent_conn_exec(f->c, argv, 100, NULL, 0, &res, NULL, 0), -ECONNRESET);
}

static void test_exec_timeout(void **state)
{
	struct fake *f = *state;
	const char *argv[] = { "sleep", "1", NULL };
	struct agent_exec_result res;
	int64_t t0 = agent_client_now_ms();

	/* No reply: the client gives the agent TIMEOUT + slack, then stops. */
	assert_int_equal(agent_conn_exec(f->c, argv, 0, NULL, 0, &res, NULL, 0), -ETIMEDOUT);
	assert_true(agent_client_now_ms() - t0 >= AGENT_CLIENT_EXEC_SLACK_MS - 10);
}

/* An EXEC_RESP with exit status STATUS and stdout OUT. */
static void exec_resp_frame(struct agent_buf *b, uint32_t status, const char *out)
{
	assert_int_equal(agent_buf_start(b, AGENT_MSG_EXEC_RESP), 0);
	assert_int_equal(agent_buf_put_u32(b, AGENT_ATTR_EXIT_STATUS, status), 0);
	assert_int_equal(agent_buf_put(b, AGENT_ATTR_STDOUT, out, (uint32_t)strlen(out)), 0);
}

/* What made `run` end in "exec ping: Protocol error" under load: a request
 * gives up at its deadline (here a read of /proc/net/snmp whose error the
 * check ignores), its reply arrives late, and the next request on the same
 * connection took that stale READ_RESP for its own answer. */
static void test_late_reply(void **state)
{
	struct fake *f = *state;
	const char *argv[] = { "ping", "-c", "1", "198.18.10.2", NULL };
	struct agent_exec_result res;
	struct agent_buf b = { 0 };
	uint8_t *p, *data = NULL;
	uint32_t len;
	size_t n;

	assert_int_equal(agent_conn_read_file(f->c, "/proc/net/snmp", 100, &data, &n), -ETIMEDOUT);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_READ_REQ);
	free(p);
	/* The guest, in turn: the late READ_RESP, the echo of the client's
	 * next nonce, then the answer to the exec. */
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_READ_RESP), 0);
	assert_int_equal(agent_buf_put(&b, AGENT_ATTR_DATA, "Icmp: 1", 7), 0);
	fake_send(f, &b);
	hello_frame(&b, AGENT_PROTO_VERSION, f->c->nonce + 1);
	fake_send(f, &b);
	exec_resp_frame(&b, 0, "1 packets received");
	fake_send(f, &b);
	assert_int_equal(agent_conn_exec(f->c, argv, 1000, NULL, 0, &res, NULL, 0), 0);
	assert_int_equal(res.status, 0);
	assert_string_equal((char *)res.out, "1 packets received");
	agent_exec_result_release(&res);
	/* On the wire: the resync HELLO went before the request. */
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_HELLO);
	free(p);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_EXEC_REQ);
	free(p);
	assert_false(f->c->desync);
}

/* A reply cut off by the deadline mid-header or mid-payload: the rest of it
 * is dropped, not read as the next frame's header. */
static void test_late_partial_reply(void **state)
{
	struct fake *f = *state;
	const char *argv[] = { "true", NULL };
	struct agent_exec_result res;
	struct agent_buf b = { 0 };
	uint8_t *p, *data = NULL;
	uint32_t len;
	size_t cut, n;

	for (cut = 3; cut <= 20; cut += 17) {
		exec_resp_frame(&b, 1, "a stale answer");
		agent_buf_finish(&b);
		fake_send_raw(f, b.data, cut);
		assert_int_equal(agent_conn_read_file(f->c, "/x", 100, &data, &n), -ETIMEDOUT);
		assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_READ_REQ);
		free(p);
		fake_send_raw(f, b.data + cut, b.len - cut);
		agent_buf_release(&b);
		hello_frame(&b, AGENT_PROTO_VERSION, f->c->nonce + 1);
		fake_send(f, &b);
		exec_resp_frame(&b, 0, "fresh");
		fake_send(f, &b);
		assert_int_equal(agent_conn_exec(f->c, argv, 0, NULL, 0, &res, NULL, 0), 0);
		assert_string_equal((char *)res.out, "fresh");
		agent_exec_result_release(&res);
		assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_HELLO);
		free(p);
		assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_EXEC_REQ);
		free(p);
	}
}

static void test_files(void **state)
{
	struct fake *f = *state;
	struct agent_attr_view a;
	struct agent_buf b = { 0 };
	uint8_t *p, *data;
	uint32_t len, u;
	size_t n;
	char s[32];

	assert_int_equal(agent_buf_start(&b, AGENT_MSG_READ_RESP), 0);
	assert_int_equal(agent_buf_put(&b, AGENT_ATTR_DATA, "abc", 3), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_read_file(f->c, "/proc/cmdline", 1000, &data, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal((char *)data, "abc");
	free(data);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_READ_REQ);
	assert_int_equal(agent_attr_find(p, len, AGENT_ATTR_PATH, &a), 1);
	assert_int_equal(agent_attr_str(&a, s, sizeof(s)), 0);
	assert_string_equal(s, "/proc/cmdline");
	free(p);

	/* The guest's errno comes back as ours. */
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_ERROR), 0);
	assert_int_equal(agent_buf_put_u32(&b, AGENT_ATTR_ERRNO, ENOENT), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_read_file(f->c, "/nope", 1000, &data, &n), -ENOENT);
	assert_null(data);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_READ_REQ);
	free(p);

	/* A nonsense errno is not passed through. */
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_ERROR), 0);
	assert_int_equal(agent_buf_put_u32(&b, AGENT_ATTR_ERRNO, 0x7fffffff), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_read_file(f->c, "/x", 1000, &data, &n), -EREMOTEIO);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_READ_REQ);
	free(p);

	/* READ_RESP without DATA. */
	assert_int_equal(agent_buf_start(&b, AGENT_MSG_READ_RESP), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_read_file(f->c, "/x", 1000, &data, &n), -EPROTO);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_READ_REQ);
	free(p);

	assert_int_equal(agent_buf_start(&b, AGENT_MSG_WRITE_RESP), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_write_file(f->c, "/etc/x", 0600, "hi", 2, 1000), 0);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_WRITE_REQ);
	assert_int_equal(agent_attr_find(p, len, AGENT_ATTR_MODE, &a), 1);
	assert_int_equal(agent_attr_u32(&a, &u), 0);
	assert_int_equal(u, 0600);
	assert_int_equal(agent_attr_find(p, len, AGENT_ATTR_DATA, &a), 1);
	assert_int_equal(a.len, 2);
	free(p);

	assert_int_equal(agent_buf_start(&b, AGENT_MSG_ERROR), 0);
	assert_int_equal(agent_buf_put_u32(&b, AGENT_ATTR_ERRNO, EROFS), 0);
	fake_send(f, &b);
	assert_int_equal(agent_conn_write_file(f->c, "/x", 0644, "", 0, 1000), -EROFS);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_WRITE_REQ);
	free(p);

	assert_int_equal(agent_conn_poweroff(f->c), 0);
	assert_int_equal(fake_recv(f, &p, &len), AGENT_MSG_POWEROFF_REQ);
	assert_int_equal(len, 0);
	free(p);
}

static void test_open(void **state)
{
	char dir[] = "/tmp/agentclient.XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct agent_conn *c = NULL;
	char longpath[200];
	int64_t t0;
	int lfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ag.sock", dir);
	t0 = agent_client_now_ms();
	assert_int_equal(agent_conn_open(sa.sun_path, 100, &c), -ETIMEDOUT);
	assert_true(agent_client_now_ms() - t0 >= 100);
	assert_null(c);

	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* Bound but not listening refuses: still retried, then times out. */
	assert_int_equal(agent_conn_open(sa.sun_path, 60, &c), -ETIMEDOUT);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(agent_conn_open(sa.sun_path, 100, &c), 0);
	assert_non_null(c);
	agent_conn_close(c);
	agent_conn_close(NULL);
	close(lfd);
	unlink(sa.sun_path);
	rmdir(dir);

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = 0;
	assert_int_equal(agent_conn_open(longpath, 100, &c), -ENAMETOOLONG);
	/* A path that can never become a socket: reported at once, not retried. */
	t0 = agent_client_now_ms();
	assert_int_equal(agent_conn_open("/dev/null/ag.sock", 5000, &c), -ENOTDIR);
	assert_true(agent_client_now_ms() - t0 < 1000);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A listener that never accepts (a SIGSTOPped QEMU) with its backlog full:
 * a blocking connect() would wait forever. The alarm only turns such a hang
 * into a failed assertion (EINTR) instead of a stuck test. */
static void test_open_full_backlog(void **state)
{
	char dir[] = "/tmp/agentclient.XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction act = { .sa_handler = on_alarm }, old;
	struct agent_conn *c = NULL;
	struct agent_hello h;
	int lfd, fill[16], nfill = 0, fd;
	int64_t t0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ag.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			assert_int_equal(errno, EAGAIN);
			close(fd);
			break;
		}
		assert_true(nfill < 16);
		fill[nfill++] = fd;
	}
	assert_int_equal(sigaction(SIGALRM, &act, &old), 0); /* no SA_RESTART */
	alarm(3);
	t0 = agent_client_now_ms();
	assert_int_equal(agent_conn_open(sa.sun_path, 200, &c), -ETIMEDOUT);
	assert_true(agent_client_now_ms() - t0 >= 190);
	assert_true(agent_client_now_ms() - t0 < 1000);
	assert_null(c);
	/* The whole attach (3 connects, 2 HELLOs each) keeps to its budget. */
	t0 = agent_client_now_ms();
	assert_int_equal(agent_conn_attach(sa.sun_path, 3, 5000, 300, &c, &h), -ETIMEDOUT);
	assert_true(agent_client_now_ms() - t0 < 1500);
	assert_null(c);
	/* Room in the backlog but nobody answers HELLO: bounded the same way. */
	close(fill[--nfill]);
	t0 = agent_client_now_ms();
	assert_int_equal(agent_conn_attach(sa.sun_path, 3, 5000, 300, &c, &h), -ETIMEDOUT);
	assert_true(agent_client_now_ms() - t0 < 1500);
	assert_null(c);
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	while (nfill)
		close(fill[--nfill]);
	close(lfd);
	unlink(sa.sun_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_hello_resync, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_hello_bad, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_timeout, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_truncated, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_half_header, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_oversized, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_exec_roundtrip, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_exec_errors, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_exec_timeout, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_late_reply, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_late_partial_reply, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_files, fake_setup, fake_teardown),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_open_full_backlog),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
