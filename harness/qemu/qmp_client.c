/* SPDX-License-Identifier: MIT */
/* qmp_client.c: QMP client: line framing, message checks, event queue, timeouts. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "qemu/qmp_client.h"

/* A guest that floods events must not grow our memory without bound: the
 * queue is capped both in count and in (wire) bytes, dropping the oldest. */
#define QMP_CLIENT_EVQ_MAX   256u
#define QMP_CLIENT_EVQ_BYTES (8u << 20)
#define QMP_CLIENT_RX_INIT   4096u
/* pump() stops after this many reads so one chatty VM cannot starve the
 * caller's poll loop; poll() will report the fd readable again. */
#define QMP_CLIENT_PUMP_READS 16

enum qmp_client_want { QMP_CLIENT_WANT_NONE, QMP_CLIENT_WANT_GREETING, QMP_CLIENT_WANT_REPLY };

struct qmp_client_event {
	struct qmp_msg msg;
	size_t wire_len;
};

struct qmp_client {
	int fd;
	int err;               /* sticky: once framing is lost the stream is unusable */
	bool eof;
	bool greeted;
	int major, minor, micro;
	size_t max_line;       /* QMP_MAX_LINE; smaller only in tests and the fuzzer */
	char *rx;
	size_t rx_off, rx_len, rx_cap; /* unparsed bytes are rx[rx_off, rx_len) */
	struct qmp_client_event evq[QMP_CLIENT_EVQ_MAX];
	uint32_t ev_head, ev_count;
	size_t ev_bytes;
	uint64_t ev_dropped;
	uint64_t stray_replies;
	uint64_t next_id;
	char want_id[32];
};

static int qmp_msg_parse_version(json_t *qmp, struct qmp_msg *m)
{
	json_t *qemu = json_object_get(json_object_get(qmp, "version"), "qemu");
	const char *keys[3] = { "major", "minor", "micro" };
	int *dst[3] = { &m->major, &m->minor, &m->micro };

	if (!json_is_object(qemu))
		return -EPROTO;
	for (int i = 0; i < 3; i++) {
		json_t *v = json_object_get(qemu, keys[i]);

		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT32_MAX)
			return -EPROTO;
		*dst[i] = (int)json_integer_value(v);
	}
	return 0;
}

int qmp_msg_parse(const char *line, size_t len, struct qmp_msg *out)
{
	json_t *root, *v;
	int shapes = 0, ret = -EPROTO;

	memset(out, 0, sizeof(*out));
	/* \u0000 stays rejected (no JSON_ALLOW_NUL): we hand out C strings. */
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root))
		goto cleanup;
	/* Exactly one shape: a message that is both a return and an error
	 * would be interpreted differently by different readers. */
	shapes = !!json_object_get(root, "QMP") + !!json_object_get(root, "return") +
		 !!json_object_get(root, "error") + !!json_object_get(root, "event");
	if (shapes != 1)
		goto cleanup;

	if ((v = json_object_get(root, "QMP"))) {
		if (!json_is_object(v) || qmp_msg_parse_version(v, out) < 0)
			goto cleanup;
		out->kind = QMP_MSG_GREETING;
	} else if ((v = json_object_get(root, "return"))) {
		/* Commands return objects or arrays, except the few QAPI
		 * exceptions (human-monitor-command: str, qom-get: any). Only
		 * null has no meaning as a return value. */
		if (json_is_null(v))
			goto cleanup;
		out->kind = QMP_MSG_RETURN;
		out->data = v;
	} else if ((v = json_object_get(root, "error"))) {
		json_t *cls = json_object_get(v, "class");
		json_t *desc = json_object_get(v, "desc");

		if (!json_is_object(v) || !json_is_string(cls) || (desc && !json_is_string(desc)))
			goto cleanup;
		out->kind = QMP_MSG_ERROR;
		out->err_class = json_string_value(cls);
		out->err_desc = desc ? json_string_value(desc) : "";
	} else {
		json_t *ev = json_object_get(root, "event");
		json_t *data = json_object_get(root, "data");

		if (!json_is_string(ev) || json_string_length(ev) == 0 ||
		    (data && !json_is_object(data)))
			goto cleanup;
		out->kind = QMP_MSG_EVENT;
		out->event = json_string_value(ev);
		out->data = data;
	}
	out->root = root;
	root = NULL;
	ret = 0;
cleanup:
	json_decref(root);
	return ret;
}

void qmp_msg_release(struct qmp_msg *m)
{
	if (!m)
		return;
	json_decref(m->root);
	memset(m, 0, sizeof(*m));
}

/* Length of the first line in BUF[0, LEN), '\n' included; 0 when no line is
 * complete yet; -EPROTO when no '\n' occurs within MAX bytes, i.e. the line
 * can never fit. Pure, so the fuzzer can hammer it directly. */
static int64_t qmp_client_line_len(const char *buf, size_t len, size_t max)
{
	const char *nl;

	if (len == 0)
		return 0; /* BUF may be NULL before the first read */
	nl = memchr(buf, '\n', len < max ? len : max);
	if (nl)
		return nl - buf + 1;
	return len >= max ? -EPROTO : 0;
}

static bool qmp_client_line_blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

static void qmp_client_evq_drop_oldest(struct qmp_client *c)
{
	struct qmp_client_event *e = &c->evq[c->ev_head];

	c->ev_bytes -= e->wire_len;
	qmp_msg_release(&e->msg);
	c->ev_head = (c->ev_head + 1) % QMP_CLIENT_EVQ_MAX;
	c->ev_count--;
	c->ev_dropped++;
}

/* Takes over M. */
static void qmp_client_evq_push(struct qmp_client *c, struct qmp_msg *m, size_t wire_len)
{
	struct qmp_client_event *e;

	while (c->ev_count > 0 && (c->ev_count == QMP_CLIENT_EVQ_MAX ||
				   c->ev_bytes + wire_len > QMP_CLIENT_EVQ_BYTES))
		qmp_client_evq_drop_oldest(c);
	e = &c->evq[(c->ev_head + c->ev_count) % QMP_CLIENT_EVQ_MAX];
	e->msg = *m;
	e->wire_len = wire_len;
	c->ev_count++;
	c->ev_bytes += wire_len;
	memset(m, 0, sizeof(*m));
}

/* A reply is ours unless it carries an id that is not the one we sent: a
 * stale id is the late answer to a command that timed out. */
static bool qmp_client_reply_is_ours(const struct qmp_client *c, const struct qmp_msg *m)
{
	json_t *id = json_object_get(m->root, "id");

	if (!id)
		return true;
	return c->want_id[0] && json_is_string(id) &&
	       strcmp(json_string_value(id), c->want_id) == 0;
}

/* Parse the complete lines in the receive buffer. Events are queued and the
 * greeting is recorded. Stops and returns 1 once WANT is satisfied (a reply
 * is then moved to *REPLY); 0 when no complete line is left; -EPROTO. */
static int qmp_client_process(struct qmp_client *c, enum qmp_client_want want,
			      struct qmp_msg *reply)
{
	struct qmp_msg m = { 0 };
	int ret = 0;

	if (c->err)
		return c->err;
	while (ret == 0) {
		const char *p = c->rx + c->rx_off;
		int64_t n = qmp_client_line_len(p, c->rx_len - c->rx_off, c->max_line);

		if (n == 0)
			break;
		if (n < 0) {
			ret = (int)n;
			break;
		}
		c->rx_off += (size_t)n;
		if (qmp_client_line_blank(p, (size_t)n))
			continue;
		ret = qmp_msg_parse(p, (size_t)n, &m);
		if (ret < 0)
			break;
		switch (m.kind) {
		case QMP_MSG_EVENT:
			qmp_client_evq_push(c, &m, (size_t)n);
			break;
		case QMP_MSG_GREETING:
			if (!c->greeted) {
				c->greeted = true;
				c->major = m.major;
				c->minor = m.minor;
				c->micro = m.micro;
			}
			if (want == QMP_CLIENT_WANT_GREETING)
				ret = 1;
			break;
		case QMP_MSG_RETURN:
		case QMP_MSG_ERROR:
			if (want == QMP_CLIENT_WANT_GREETING) {
				ret = -EPROTO; /* QEMU always greets first */
			} else if (want == QMP_CLIENT_WANT_REPLY && qmp_client_reply_is_ours(c, &m)) {
				*reply = m;
				memset(&m, 0, sizeof(m));
				ret = 1;
			} else {
				c->stray_replies++;
			}
			break;
		}
		qmp_msg_release(&m);
	}
	if (c->rx_off == c->rx_len)
		c->rx_off = c->rx_len = 0;
	if (ret < 0)
		c->err = ret;
	return ret;
}

/* Make room for at least one more byte after rx_len, compacting first and
 * growing only up to the line limit. */
static int qmp_client_rx_reserve(struct qmp_client *c)
{
	char *p;
	size_t cap;

	if (c->rx_off > 0) {
		memmove(c->rx, c->rx + c->rx_off, c->rx_len - c->rx_off);
		c->rx_len -= c->rx_off;
		c->rx_off = 0;
	}
	if (c->rx_len < c->rx_cap)
		return 0;
	if (c->rx_cap >= c->max_line)
		return -EPROTO; /* process() reports this first; kept for safety */
	cap = c->rx_cap ? c->rx_cap * 2 : QMP_CLIENT_RX_INIT;
	if (cap > c->max_line)
		cap = c->max_line;
	p = realloc(c->rx, cap);
	if (!p)
		return -ENOMEM;
	c->rx = p;
	c->rx_cap = cap;
	return 0;
}

/* Append bytes as if they had been received, then parse what is complete.
 * The socket path reads in place instead; the fuzzer and tests use this. */
__attribute__((unused))
static int qmp_client_ingest(struct qmp_client *c, const char *data, size_t len)
{
	int ret = 0;

	while (len > 0 && ret == 0) {
		size_t room;

		ret = qmp_client_rx_reserve(c);
		if (ret < 0)
			break;
		room = c->rx_cap - c->rx_len;
		if (room > len)
			room = len;
		memcpy(c->rx + c->rx_len, data, room);
		c->rx_len += room;
		data += room;
		len -= room;
		ret = qmp_client_process(c, QMP_CLIENT_WANT_NONE, NULL);
	}
	return ret;
}

/* One non-blocking read into the buffer: bytes read, 0 on EOF, -EAGAIN. */
static int64_t qmp_client_read(struct qmp_client *c)
{
	ssize_t n;
	int ret;

	if (c->eof)
		return 0;
	ret = qmp_client_rx_reserve(c);
	if (ret < 0)
		return ret;
	do
		n = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		c->eof = true;
	c->rx_len += (size_t)n;
	return n;
}

static int64_t qmp_client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll() for EVENTS until DEADLINE: 0 ready, -ETIMEDOUT, or -errno. */
static int qmp_client_poll(struct qmp_client *c, int16_t events, int64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	int n;

	for (;;) {
		int64_t left = deadline - qmp_client_now_ms();

		if (left < 0)
			left = 0;
		n = poll(&pfd, 1, (int)(left > INT_MAX ? INT_MAX : left));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int qmp_client_wait(struct qmp_client *c, enum qmp_client_want want, int64_t deadline,
			   struct qmp_msg *reply)
{
	int ret;

	for (;;) {
		int64_t n;

		ret = qmp_client_process(c, want, reply);
		if (ret != 0)
			break;
		if (c->eof) {
			ret = -ECONNRESET;
			break;
		}
		ret = qmp_client_poll(c, POLLIN, deadline);
		if (ret < 0)
			break;
		n = qmp_client_read(c);
		if (n < 0 && n != -EAGAIN) {
			ret = (int)n;
			break;
		}
	}
	if (ret == -EPIPE)
		ret = -ECONNRESET;
	return ret > 0 ? 0 : ret;
}

static int qmp_client_send_all(struct qmp_client *c, const char *buf, size_t len,
			       int64_t deadline)
{
	int ret = 0;

	while (len > 0) {
		ssize_t n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EWOULDBLOCK) {
			ret = qmp_client_poll(c, POLLOUT, deadline);
			if (ret < 0)
				break;
			continue;
		}
		if (n < 0) {
			ret = (errno == EPIPE || errno == ECONNRESET) ? -ECONNRESET : -errno;
			break;
		}
		buf += n;
		len -= (size_t)n;
	}
	return ret;
}

static struct qmp_client *qmp_client_alloc(int fd)
{
	struct qmp_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->max_line = QMP_MAX_LINE;
	c->next_id = 1;
	return c;
}

int qmp_client_open_fd(int fd, struct qmp_client **out)
{
	struct qmp_client *c;

	*out = NULL;
	if (fd < 0)
		return -EBADF;
	c = qmp_client_alloc(fd);
	if (!c)
		return -ENOMEM;
	*out = c;
	return 0;
}

int qmp_client_fd(const struct qmp_client *c)
{
	return c->fd;
}

uint64_t qmp_client_events_dropped(const struct qmp_client *c)
{
	return c->ev_dropped;
}

/* Send CMD and wait for its reply, moved to *REPLY on success. */
static int qmp_client_roundtrip(struct qmp_client *c, const char *cmd, json_t *args,
				int64_t deadline, struct qmp_msg *reply)
{
	json_t *req = NULL;
	char *text = NULL;
	size_t len;
	int ret = -ENOMEM;

	if (c->err) {
		ret = c->err;
		goto cleanup;
	}
	if (c->eof) {
		ret = -ECONNRESET;
		goto cleanup;
	}
	snprintf(c->want_id, sizeof(c->want_id), "uvmlab-%" PRIu64, c->next_id++);
	req = json_pack("{s:s, s:s}", "execute", cmd, "id", c->want_id);
	if (!req) {
		ret = -EINVAL; /* CMD is not UTF-8, far likelier than OOM */
		goto cleanup;
	}
	if (args && json_object_set(req, "arguments", args) < 0)
		goto cleanup;
	text = json_dumps(req, JSON_COMPACT);
	if (!text)
		goto cleanup;
	len = strlen(text);
	/* QEMU's JSON streamer does not need the newline, but it keeps the
	 * stream line-oriented for captures and for peers that split on it. */
	ret = qmp_client_send_all(c, text, len, deadline);
	if (ret == 0)
		ret = qmp_client_send_all(c, "\n", 1, deadline);
	if (ret == 0)
		ret = qmp_client_wait(c, QMP_CLIENT_WANT_REPLY, deadline, reply);
	/* Queue events that came in the same read as the reply: the caller's
	 * poll() will not report them again. A framing error here stays
	 * sticky and surfaces on the next call. */
	if (ret == 0)
		qmp_client_process(c, QMP_CLIENT_WANT_NONE, NULL);
cleanup:
	c->want_id[0] = '\0';
	free(text);
	json_decref(req);
	return ret;
}

int qmp_client_handshake(struct qmp_client *c, int timeout_ms, int *major, int *minor,
			 int *micro)
{
	struct qmp_msg reply = { 0 };
	int64_t deadline;
	int ret = -EINVAL;

	if (timeout_ms < 0)
		goto cleanup;
	deadline = qmp_client_now_ms() + timeout_ms;
	ret = 0;
	if (!c->greeted)
		ret = qmp_client_wait(c, QMP_CLIENT_WANT_GREETING, deadline, NULL);
	if (ret < 0)
		goto cleanup;
	ret = qmp_client_roundtrip(c, "qmp_capabilities", NULL, deadline, &reply);
	if (ret < 0)
		goto cleanup;
	if (reply.kind != QMP_MSG_RETURN) {
		ret = -EPROTO; /* a monitor that refuses capabilities is unusable */
		goto cleanup;
	}
	if (major)
		*major = c->major;
	if (minor)
		*minor = c->minor;
	if (micro)
		*micro = c->micro;
cleanup:
	qmp_msg_release(&reply);
	return ret;
}

int qmp_client_execute(struct qmp_client *c, const char *cmd, json_t *args, int timeout_ms,
		       json_t **ret_out, char *errbuf, size_t errlen)
{
	struct qmp_msg reply = { 0 };
	int ret = -EINVAL;

	if (ret_out)
		*ret_out = NULL;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!cmd || timeout_ms < 0 || (args && !json_is_object(args)))
		goto cleanup;
	ret = qmp_client_roundtrip(c, cmd, args, qmp_client_now_ms() + timeout_ms, &reply);
	if (ret < 0)
		goto cleanup;
	if (reply.kind == QMP_MSG_ERROR) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s", reply.err_desc);
		ret = -EREMOTEIO;
		goto cleanup;
	}
	if (ret_out)
		*ret_out = json_incref(reply.data);
cleanup:
	qmp_msg_release(&reply);
	return ret;
}

int qmp_client_pump(struct qmp_client *c)
{
	/* Complete lines may be buffered already (read along with a reply). */
	int ret = qmp_client_process(c, QMP_CLIENT_WANT_NONE, NULL);

	for (int i = 0; i < QMP_CLIENT_PUMP_READS && ret == 0; i++) {
		int64_t n = qmp_client_read(c);

		if (n == -EAGAIN)
			break;
		ret = n < 0 ? (int)n : qmp_client_process(c, QMP_CLIENT_WANT_NONE, NULL);
		/* Events that came before the close are queued above. */
		if (ret == 0 && n == 0)
			ret = -ECONNRESET;
	}
	if (ret == -EPIPE)
		ret = -ECONNRESET;
	return ret;
}

int qmp_client_next_event(struct qmp_client *c, char *name, size_t len, json_t **data)
{
	struct qmp_client_event *e;

	if (data)
		*data = NULL;
	if (c->ev_count == 0)
		return 0;
	e = &c->evq[c->ev_head];
	if (name && len)
		snprintf(name, len, "%s", e->msg.event);
	if (data)
		*data = json_incref(e->msg.data);
	c->ev_bytes -= e->wire_len;
	qmp_msg_release(&e->msg);
	c->ev_head = (c->ev_head + 1) % QMP_CLIENT_EVQ_MAX;
	c->ev_count--;
	return 1;
}

void qmp_client_destroy(struct qmp_client *c)
{
	if (!c)
		return;
	while (c->ev_count > 0) {
		qmp_msg_release(&c->evq[c->ev_head].msg);
		c->ev_head = (c->ev_head + 1) % QMP_CLIENT_EVQ_MAX;
		c->ev_count--;
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c->rx);
	free(c);
}
