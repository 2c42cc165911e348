/* SPDX-License-Identifier: MIT */
/* agent_client.c: host side of the guest agent protocol over QEMU's Unix socket. */
#include "lab/agent_client.h"
#include "proto/agent_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Slack on top of the guest-side exec timeout: TCG guests are slow to fork,
 * and the reply itself can be 2 MiB over virtio-serial. */
#define AGENT_CLIENT_EXEC_SLACK_MS 5000

struct agent_conn {
	int fd;
	uint64_t nonce; /* of the last resync HELLO we sent */
	/* A call that gave up (deadline, bad frame) leaves its reply, or the
	 * rest of a frame, in the stream; the next call must resync first or
	 * it reads that as its own answer. */
	int desync;
	uint8_t hdr[AGENT_HDR_LEN]; /* header of the frame being read */
	uint32_t hdr_got;           /* bytes of HDR read so far */
	uint32_t skip;              /* payload bytes of an abandoned frame still to come */
};

/* One received frame; payload is malloc'd with a trailing NUL. */
struct agent_client_frame {
	uint32_t type;
	uint32_t len;
	uint8_t *payload;
};

static int64_t agent_client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int agent_client_wait(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - agent_client_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* Read LEN bytes before DEADLINE, counting progress in *GOTP (also on
 * failure). -ECONNRESET on EOF. */
static int agent_client_read_some(int fd, void *buf, size_t len, int64_t deadline, size_t *gotp)
{
	uint8_t *p = buf;
	size_t got = 0;
	ssize_t n;
	int rc;

	*gotp = 0;
	while (got < len) {
		rc = agent_client_wait(fd, POLLIN, deadline);
		if (rc < 0)
			return rc;
		n = recv(fd, p + got, len - got, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		got += (size_t)n;
		*gotp = got;
	}
	return 0;
}

static int agent_client_write_full(int fd, const void *buf, size_t len, int64_t deadline)
{
	const uint8_t *p = buf;
	size_t done = 0;
	ssize_t n;
	int rc;

	while (done < len) {
		rc = agent_client_wait(fd, POLLOUT, deadline);
		if (rc < 0)
			return rc;
		n = send(fd, p + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == EPIPE ? -ECONNRESET : -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

static void agent_client_frame_release(struct agent_client_frame *f)
{
	free(f->payload);
	f->payload = NULL;
	f->len = 0;
}

/* Discard what is left of a frame an earlier call gave up on, so the
 * next read starts on a frame boundary. */
static int agent_client_skip(struct agent_conn *c, int64_t deadline)
{
	uint8_t junk[4096];
	size_t got;
	int rc;

	while (c->skip) {
		rc = agent_client_read_some(c->fd, junk, c->skip < sizeof(junk) ? c->skip : sizeof(junk),
					    deadline, &got);
		c->skip -= (uint32_t)got;
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Read one whole, well-formed frame. The length is checked before anything
 * is allocated, so a hostile guest cannot make us allocate more than
 * AGENT_MAX_PAYLOAD. A frame cut off by the deadline is finished (and
 * dropped) by the next read, which keeps the stream in step. */
static int agent_client_read_frame(struct agent_conn *c, int64_t deadline,
				   struct agent_client_frame *f)
{
	size_t got = 0;
	int rc;

	f->payload = NULL;
	f->len = 0;
	rc = agent_client_skip(c, deadline);
	if (rc < 0)
		goto out;
	rc = agent_client_read_some(c->fd, c->hdr + c->hdr_got, AGENT_HDR_LEN - c->hdr_got,
				    deadline, &got);
	c->hdr_got += (uint32_t)got;
	if (rc < 0)
		goto out;
	c->hdr_got = 0;
	rc = agent_hdr_decode(c->hdr, &f->type, &f->len);
	if (rc < 0)
		goto out;
	f->payload = malloc((size_t)f->len + 1);
	if (!f->payload) {
		c->skip = f->len;
		rc = -ENOMEM;
		goto out;
	}
	rc = agent_client_read_some(c->fd, f->payload, f->len, deadline, &got);
	if (rc < 0) {
		c->skip = f->len - (uint32_t)got;
		goto out;
	}
	f->payload[f->len] = 0;
	rc = agent_payload_check(f->payload, f->len);
out:
	if (rc < 0)
		agent_client_frame_release(f);
	return rc;
}

static int agent_client_wrap(int fd, struct agent_conn **out)
{
	struct agent_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fd = fd;
	/* Unpredictable start so a nonce from an earlier client that is still
	 * buffered in the guest cannot match ours. */
	if (getrandom(&c->nonce, sizeof(c->nonce), GRND_NONBLOCK) != sizeof(c->nonce))
		c->nonce = (uint64_t)agent_client_now_ms() << 20 ^ (uint64_t)getpid();
	*out = c;
	return 0;
}

/* One non-blocking connect to SA, finished before DEADLINE. A blocking
 * connect() to a listener whose backlog is full (a stopped QEMU accepts
 * nothing) would wait with no bound; without blocking, Linux reports that as
 * EAGAIN, which the caller retries like a missing socket. */
static int agent_client_connect(const struct sockaddr_un *sa, int64_t deadline, int *out)
{
	socklen_t sl = sizeof(int);
	int fd, rc, e = 0;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? 0 : -errno;
	if (rc == -EINPROGRESS || rc == -EINTR) {
		rc = agent_client_wait(fd, POLLOUT, deadline);
		if (rc == 0)
			rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0 ? -errno : -e;
	}
	/* Back to blocking, as before: every read and write here is bounded by
	 * poll() and MSG_DONTWAIT, and callers of agent_conn_fd() may expect it. */
	if (rc == 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		rc = -errno;
	if (rc < 0)
		close(fd);
	else
		*out = fd;
	return rc;
}

static int agent_client_open_by(const char *path, int64_t deadline, struct agent_conn **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = -1;
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (;;) {
		rc = agent_client_connect(&sa, deadline, &fd);
		if (rc == 0)
			break;
		/* QEMU creates the socket a moment after exec, and a busy (or
		 * stopped) one lets its backlog fill; anything else is real. */
		if (rc != -ENOENT && rc != -ECONNREFUSED && rc != -EAGAIN)
			goto out;
		if (agent_client_now_ms() >= deadline) {
			rc = -ETIMEDOUT;
			goto out;
		}
		usleep(20000);
	}
	rc = agent_client_wrap(fd, out);
	if (rc == 0)
		fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int agent_conn_open(const char *path, int timeout_ms, struct agent_conn **out)
{
	return agent_client_open_by(path, agent_client_now_ms() + timeout_ms, out);
}

int agent_conn_fd(const struct agent_conn *c)
{
	return c->fd;
}

/* Copy string attribute A into BUF, truncating quietly when it is too long
 * (a long VM name is the guest's problem, not a reason to reject HELLO). */
static int agent_client_str(const struct agent_attr_view *a, char *buf, size_t cap)
{
	struct agent_attr_view cut = *a;

	if (cut.len > cap - 1)
		cut.len = (uint32_t)(cap - 1);
	return agent_attr_str(&cut, buf, cap);
}

static int agent_client_parse_hello(const uint8_t *p, uint32_t len, struct agent_hello *h)
{
	struct agent_attr_view a, sub;
	uint32_t off = 0;
	int rc, i;

	memset(h, 0, sizeof(*h));
	while ((rc = agent_attr_next(p, len, &off, &a)) == 1) {
		switch (a.tag) {
		case AGENT_ATTR_VERSION:
			rc = agent_attr_u32(&a, &h->version);
			break;
		case AGENT_ATTR_VM_NAME:
			rc = agent_client_str(&a, h->vm, sizeof(h->vm));
			break;
		case AGENT_ATTR_ROLE:
			rc = agent_client_str(&a, h->role, sizeof(h->role));
			break;
		case AGENT_ATTR_KERNEL:
			rc = agent_client_str(&a, h->kernel, sizeof(h->kernel));
			break;
		case AGENT_ATTR_BOOTTIME_INIT_NS:
			rc = agent_attr_u64(&a, &h->boottime_init_ns);
			break;
		case AGENT_ATTR_BOOTTIME_READY_NS:
			rc = agent_attr_u64(&a, &h->boottime_ready_ns);
			break;
		case AGENT_ATTR_PHASE_NS:
			if (a.len != 3 * 8) {
				rc = -EPROTO;
				break;
			}
			for (i = 0; i < 3 && rc >= 0; i++) {
				sub = (struct agent_attr_view){ .tag = a.tag, .len = 8,
								.val = a.val + 8 * i };
				rc = agent_attr_u64(&sub, &h->phase_ns[i]);
			}
			break;
		default:
			/* Unknown tags are tolerated so the guest can add fields. */
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	/* Newer agents must bump the version only for incompatible changes. */
	return h->version == AGENT_PROTO_VERSION ? 0 : -EPROTO;
}

/* 1 when P is a HELLO payload carrying NONCE, else 0. */
static int agent_client_is_echo(const uint8_t *p, uint32_t len, uint64_t nonce)
{
	struct agent_attr_view a;
	uint64_t v;

	return agent_attr_find(p, len, AGENT_ATTR_NONCE, &a) == 1 && agent_attr_u64(&a, &v) == 0 &&
	       v == nonce;
}

/* Send HELLO with a fresh nonce and skip until its echo (see agent_proto.h).
 * Clears the desync mark on success, sets it on failure. */
static int agent_client_resync(struct agent_conn *c, int64_t deadline, struct agent_hello *out)
{
	struct agent_client_frame f = { 0 };
	struct agent_buf b = { 0 };
	int rc;

	c->desync = 1;
	c->nonce++;
	rc = agent_buf_start(&b, AGENT_MSG_HELLO);
	if (rc == 0)
		rc = agent_buf_put_u64(&b, AGENT_ATTR_NONCE, c->nonce);
	if (rc < 0)
		goto out;
	agent_buf_finish(&b);
	rc = agent_client_write_full(c->fd, b.data, b.len, deadline);
	/* Skip until our echo: everything before it belongs to an older
	 * conversation. The deadline bounds how long a chatty guest can stall. */
	while (rc == 0) {
		rc = agent_client_read_frame(c, deadline, &f);
		if (rc < 0)
			break;
		if (f.type == AGENT_MSG_HELLO && agent_client_is_echo(f.payload, f.len, c->nonce)) {
			rc = agent_client_parse_hello(f.payload, f.len, out);
			if (rc == 0)
				c->desync = 0;
			break;
		}
		agent_client_frame_release(&f);
	}
out:
	agent_client_frame_release(&f);
	agent_buf_release(&b);
	return rc;
}

int agent_conn_read_hello(struct agent_conn *c, int timeout_ms, struct agent_hello *out)
{
	return agent_client_resync(c, agent_client_now_ms() + timeout_ms, out);
}

int agent_conn_attach(const char *path, int connects, int hello_ms, int timeout_ms,
		      struct agent_conn **out, struct agent_hello *hello)
{
	int64_t end = agent_client_now_ms() + timeout_ms, deadline;
	int rc = -ETIMEDOUT;

	*out = NULL;
	for (int i = 0; i < connects && rc == -ETIMEDOUT; i++) {
		deadline = agent_client_now_ms() + 5000;
		rc = agent_client_open_by(path, deadline < end ? deadline : end, out);
		for (int attempt = 0; rc == 0 && attempt < 2; attempt++) {
			deadline = agent_client_now_ms() + hello_ms;
			rc = agent_client_resync(*out, deadline < end ? deadline : end, hello);
			if (rc != -ETIMEDOUT)
				break;
		}
		if (rc < 0 && *out) {
			agent_conn_close(*out);
			*out = NULL;
		}
		if (agent_client_now_ms() >= end)
			break;
	}
	return rc;
}

/* Turn an ERROR frame into a negative errno (EREMOTEIO when the guest sent
 * nothing sensible) and copy its message into ERRBUF. */
static int agent_client_parse_error(const uint8_t *p, uint32_t len, char *errbuf,
				    size_t errlen)
{
	struct agent_attr_view a;
	uint32_t e = 0;

	if (errbuf && errlen) {
		errbuf[0] = 0;
		if (agent_attr_find(p, len, AGENT_ATTR_MESSAGE, &a) == 1 &&
		    agent_client_str(&a, errbuf, errlen) < 0)
			errbuf[0] = 0;
	}
	if (agent_attr_find(p, len, AGENT_ATTR_ERRNO, &a) == 1 && agent_attr_u32(&a, &e) == 0 &&
	    e > 0 && e < 4096)
		return -(int)e;
	return -EREMOTEIO;
}

/* Send the frame in B and wait for a reply of WANT (or ERROR) before DEADLINE.
 * After a call that gave up, resync first: the guest answers requests in
 * turn, so the late reply to that call would otherwise be taken for ours. */
static int agent_client_call(struct agent_conn *c, struct agent_buf *b, uint32_t want,
			     int64_t deadline, struct agent_client_frame *f)
{
	struct agent_hello h;
	int rc;

	if (c->desync) {
		rc = agent_client_resync(c, deadline, &h);
		if (rc < 0)
			return rc;
	}
	agent_buf_finish(b);
	/* Until the reply is in, a failure leaves the stream out of step. */
	c->desync = 1;
	rc = agent_client_write_full(c->fd, b->data, b->len, deadline);
	if (rc < 0)
		return rc;
	rc = agent_client_read_frame(c, deadline, f);
	if (rc < 0)
		return rc;
	if (f->type != want && f->type != AGENT_MSG_ERROR) {
		agent_client_frame_release(f);
		return -EPROTO;
	}
	c->desync = 0;
	return 0;
}

static int agent_client_dup_bytes(const struct agent_attr_view *a, uint8_t **out, size_t *len)
{
	uint8_t *p = malloc((size_t)a->len + 1);

	if (!p)
		return -ENOMEM;
	if (a->len)
		memcpy(p, a->val, a->len);
	p[a->len] = 0;
	free(*out);
	*out = p;
	*len = a->len;
	return 0;
}

static int agent_client_parse_exec(const uint8_t *p, uint32_t len, struct agent_exec_result *res)
{
	struct agent_attr_view a;
	uint32_t off = 0, u;
	int have_status = 0;
	int rc;

	while ((rc = agent_attr_next(p, len, &off, &a)) == 1) {
		switch (a.tag) {
		case AGENT_ATTR_EXIT_STATUS:
			rc = agent_attr_u32(&a, &res->status);
			have_status = 1;
			break;
		case AGENT_ATTR_TIMED_OUT:
			rc = agent_attr_u32(&a, &u);
			res->timed_out = u != 0;
			break;
		case AGENT_ATTR_STDOUT:
			rc = agent_client_dup_bytes(&a, &res->out, &res->out_len);
			break;
		case AGENT_ATTR_STDERR:
			rc = agent_client_dup_bytes(&a, &res->err, &res->err_len);
			break;
		case AGENT_ATTR_STDOUT_DROPPED:
			rc = agent_attr_u64(&a, &res->out_dropped);
			break;
		case AGENT_ATTR_STDERR_DROPPED:
			rc = agent_attr_u64(&a, &res->err_dropped);
			break;
		default:
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!have_status)
		return -EPROTO;
	/* Callers may treat both streams as strings without NULL checks. */
	if (!res->out && (rc = agent_client_dup_bytes(&(struct agent_attr_view){ 0 },
						      &res->out, &res->out_len)) < 0)
		return rc;
	if (!res->err && (rc = agent_client_dup_bytes(&(struct agent_attr_view){ 0 },
						      &res->err, &res->err_len)) < 0)
		return rc;
	return 0;
}

int agent_conn_exec(struct agent_conn *c, const char *const *argv, uint32_t timeout_ms,
		    const void *stdin_data, size_t stdin_len,
		    struct agent_exec_result *res, char *errbuf, size_t errlen)
{
	struct agent_client_frame f = { 0 };
	struct agent_buf b = { 0 };
	int64_t deadline;
	int rc;
	size_t i;

	memset(res, 0, sizeof(*res));
	if (errbuf && errlen)
		errbuf[0] = 0;
	if (!argv || !argv[0] || stdin_len > AGENT_MAX_PAYLOAD)
		return -EINVAL;
	deadline = agent_client_now_ms() + (int64_t)timeout_ms + AGENT_CLIENT_EXEC_SLACK_MS;
	rc = agent_buf_start(&b, AGENT_MSG_EXEC_REQ);
	for (i = 0; rc == 0 && argv[i]; i++)
		rc = agent_buf_put_str(&b, AGENT_ATTR_ARG, argv[i]);
	if (rc == 0)
		rc = agent_buf_put_u32(&b, AGENT_ATTR_TIMEOUT_MS, timeout_ms);
	if (rc == 0 && stdin_data)
		rc = agent_buf_put(&b, AGENT_ATTR_STDIN, stdin_data, (uint32_t)stdin_len);
	if (rc < 0)
		goto out;
	rc = agent_client_call(c, &b, AGENT_MSG_EXEC_RESP, deadline, &f);
	if (rc < 0)
		goto out;
	if (f.type == AGENT_MSG_ERROR) {
		/* The contract folds every guest-side failure (e.g. ENOENT for a
		 * missing program) into EREMOTEIO; the detail is in ERRBUF. */
		agent_client_parse_error(f.payload, f.len, errbuf, errlen);
		rc = -EREMOTEIO;
		goto out;
	}
	rc = agent_client_parse_exec(f.payload, f.len, res);
out:
	if (rc < 0)
		agent_exec_result_release(res);
	agent_client_frame_release(&f);
	agent_buf_release(&b);
	return rc;
}

void agent_exec_result_release(struct agent_exec_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
}

int agent_conn_read_file(struct agent_conn *c, const char *path, int timeout_ms,
			 uint8_t **data, size_t *len)
{
	struct agent_client_frame f = { 0 };
	struct agent_buf b = { 0 };
	struct agent_attr_view a;
	int rc;

	*data = NULL;
	*len = 0;
	rc = agent_buf_start(&b, AGENT_MSG_READ_REQ);
	if (rc == 0)
		rc = agent_buf_put_str(&b, AGENT_ATTR_PATH, path);
	if (rc < 0)
		goto out;
	rc = agent_client_call(c, &b, AGENT_MSG_READ_RESP, agent_client_now_ms() + timeout_ms, &f);
	if (rc < 0)
		goto out;
	if (f.type == AGENT_MSG_ERROR) {
		rc = agent_client_parse_error(f.payload, f.len, NULL, 0);
		goto out;
	}
	rc = agent_attr_find(f.payload, f.len, AGENT_ATTR_DATA, &a);
	if (rc == 0)
		rc = -EPROTO;
	if (rc < 0)
		goto out;
	rc = agent_client_dup_bytes(&a, data, len);
out:
	agent_client_frame_release(&f);
	agent_buf_release(&b);
	return rc;
}

int agent_conn_write_file(struct agent_conn *c, const char *path, uint32_t mode,
			  const void *data, size_t len, int timeout_ms)
{
	struct agent_client_frame f = { 0 };
	struct agent_buf b = { 0 };
	int rc;

	if (len > AGENT_MAX_PAYLOAD)
		return -E2BIG;
	rc = agent_buf_start(&b, AGENT_MSG_WRITE_REQ);
	if (rc == 0)
		rc = agent_buf_put_str(&b, AGENT_ATTR_PATH, path);
	if (rc == 0)
		rc = agent_buf_put_u32(&b, AGENT_ATTR_MODE, mode);
	if (rc == 0)
		rc = agent_buf_put(&b, AGENT_ATTR_DATA, data, (uint32_t)len);
	if (rc < 0)
		goto out;
	rc = agent_client_call(c, &b, AGENT_MSG_WRITE_RESP, agent_client_now_ms() + timeout_ms, &f);
	if (rc < 0)
		goto out;
	if (f.type == AGENT_MSG_ERROR)
		rc = agent_client_parse_error(f.payload, f.len, NULL, 0);
out:
	agent_client_frame_release(&f);
	agent_buf_release(&b);
	return rc;
}

int agent_conn_poweroff(struct agent_conn *c)
{
	struct agent_buf b = { 0 };
	int rc;

	rc = agent_buf_start(&b, AGENT_MSG_POWEROFF_REQ);
	if (rc == 0) {
		agent_buf_finish(&b);
		rc = agent_client_write_full(c->fd, b.data, b.len, agent_client_now_ms() + 5000);
	}
	agent_buf_release(&b);
	return rc;
}

void agent_conn_close(struct agent_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
