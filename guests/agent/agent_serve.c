/* SPDX-License-Identifier: MIT */
/* agent_serve.c: one host connection of uvmlab-agent: HELLO, then requests in turn. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A host that stops reading our reply for this long is treated as gone. */
#define AGENT_SERVE_WRITE_TIMEOUT_MS 60000
/* Room for the READ_RESP attribute header inside AGENT_MAX_PAYLOAD. */
#define AGENT_SERVE_MAX_FILE (AGENT_MAX_PAYLOAD - AGENT_ATTR_HDR_LEN)
#define AGENT_SERVE_MAX_ARGS 4096

void agent_serve_reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* Read exactly LEN bytes. 0 done, -ENODATA on EOF/hang-up before the first
 * byte, -ECONNRESET on EOF in the middle. Zombies are reaped while idle. */
static int agent_serve_read_full(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t *b = buf;
	size_t got = 0;
	ssize_t n;
	int r;

	while (got < len) {
		r = poll(&p, 1, 1000);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0) {
			agent_serve_reap();
			continue;
		}
		n = read(fd, b + got, len - got);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			/* virtio-serial: POLLHUP with nothing to read is a hang-up. */
			if (p.revents & POLLHUP)
				n = 0;
			else
				continue;
		}
		if (n < 0)
			return -errno;
		return got ? -ECONNRESET : -ENODATA;
	}
	return 0;
}

static int agent_serve_write_full(int fd, const void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	const uint8_t *b = buf;
	size_t done = 0;
	ssize_t n;
	int r;

	while (done < len) {
		r = poll(&p, 1, AGENT_SERVE_WRITE_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		if ((p.revents & (POLLHUP | POLLERR)) && !(p.revents & POLLOUT))
			return -ECONNRESET;
		n = write(fd, b + done, len - done);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return errno == EPIPE ? -ECONNRESET : -errno;
		done += (size_t)n;
	}
	return 0;
}

static int agent_serve_send(int fd, struct agent_buf *b)
{
	agent_buf_finish(b);
	return agent_serve_write_full(fd, b->data, b->len);
}

static int agent_serve_error(int fd, struct agent_buf *b, int err, const char *what)
{
	char msg[256];
	int rc;

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
	rc = agent_buf_start(b, AGENT_MSG_ERROR);
	if (rc == 0)
		rc = agent_buf_put_u32(b, AGENT_ATTR_ERRNO, (uint32_t)err);
	if (rc == 0)
		rc = agent_buf_put_str(b, AGENT_ATTR_MESSAGE, msg);
	if (rc == 0)
		rc = agent_serve_send(fd, b);
	return rc;
}

/* NONCE is the host's resync token to echo, or NULL for the unsolicited HELLO. */
static int agent_serve_hello(const struct agent_serve *s, int fd, struct agent_buf *b,
			     const uint64_t *nonce)
{
	uint8_t phases[24];
	int rc, i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 8; j++)
			phases[i * 8 + j] = (uint8_t)(s->phase_ns[i] >> (8 * j));
	rc = agent_buf_start(b, AGENT_MSG_HELLO);
	if (rc == 0)
		rc = agent_buf_put_u32(b, AGENT_ATTR_VERSION, AGENT_PROTO_VERSION);
	if (rc == 0)
		rc = agent_buf_put_str(b, AGENT_ATTR_VM_NAME, s->vm);
	if (rc == 0)
		rc = agent_buf_put_str(b, AGENT_ATTR_ROLE, s->role);
	if (rc == 0)
		rc = agent_buf_put_str(b, AGENT_ATTR_KERNEL, s->kernel);
	if (rc == 0)
		rc = agent_buf_put_u64(b, AGENT_ATTR_BOOTTIME_INIT_NS, s->boottime_init_ns);
	if (rc == 0)
		rc = agent_buf_put_u64(b, AGENT_ATTR_BOOTTIME_READY_NS, s->boottime_ready_ns);
	if (rc == 0)
		rc = agent_buf_put(b, AGENT_ATTR_PHASE_NS, phases, sizeof(phases));
	if (rc == 0 && nonce)
		rc = agent_buf_put_u64(b, AGENT_ATTR_NONCE, *nonce);
	if (rc == 0)
		rc = agent_serve_send(fd, b);
	return rc;
}

/* Copy a string attribute into fresh memory. */
static int agent_serve_strdup(const struct agent_attr_view *a, char **out)
{
	char *p = malloc((size_t)a->len + 1);
	int rc;

	if (!p)
		return -ENOMEM;
	rc = agent_attr_str(a, p, (size_t)a->len + 1);
	if (rc < 0) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* Returns 0 when a reply (possibly ERROR) was sent, <0 on I/O failure. */
static int agent_serve_exec(int fd, const uint8_t *p, uint32_t len, struct agent_buf *b)
{
	struct agent_exec_req req = { 0 };
	struct agent_exec_out res = { 0 };
	struct agent_attr_view a;
	char **argv = NULL;
	size_t argc = 0;
	uint32_t off = 0;
	int rc, err = 0;
	size_t i;

	argv = calloc(AGENT_SERVE_MAX_ARGS + 1, sizeof(*argv));
	if (!argv)
		return agent_serve_error(fd, b, ENOMEM, "exec");
	while ((rc = agent_attr_next(p, len, &off, &a)) == 1 && !err) {
		switch (a.tag) {
		case AGENT_ATTR_ARG:
			if (argc == AGENT_SERVE_MAX_ARGS) {
				err = E2BIG;
				break;
			}
			rc = agent_serve_strdup(&a, &argv[argc]);
			if (rc < 0)
				err = -rc;
			else
				argc++;
			break;
		case AGENT_ATTR_TIMEOUT_MS:
			if (agent_attr_u32(&a, &req.timeout_ms) < 0)
				err = EPROTO;
			break;
		case AGENT_ATTR_STDIN:
			req.stdin_data = a.val;
			req.stdin_len = a.len;
			break;
		default:
			break;
		}
	}
	if (!err && argc == 0)
		err = EINVAL;
	if (err) {
		rc = agent_serve_error(fd, b, err, "exec request");
		goto out;
	}
	req.argv = argv;
	rc = agent_exec_run(&req, &res);
	if (rc < 0) {
		char what[128];

		snprintf(what, sizeof(what), "exec %.100s", argv[0]);
		rc = agent_serve_error(fd, b, -rc, what);
		goto out;
	}
	rc = agent_buf_start(b, AGENT_MSG_EXEC_RESP);
	if (rc == 0)
		rc = agent_buf_put_u32(b, AGENT_ATTR_EXIT_STATUS, res.status);
	if (rc == 0)
		rc = agent_buf_put_u32(b, AGENT_ATTR_TIMED_OUT, res.timed_out ? 1 : 0);
	if (rc == 0)
		rc = agent_buf_put(b, AGENT_ATTR_STDOUT, res.out, (uint32_t)res.out_len);
	if (rc == 0)
		rc = agent_buf_put(b, AGENT_ATTR_STDERR, res.err, (uint32_t)res.err_len);
	/* Only when something was cut, so replies stay as they were otherwise. */
	if (rc == 0 && res.out_dropped)
		rc = agent_buf_put_u64(b, AGENT_ATTR_STDOUT_DROPPED, res.out_dropped);
	if (rc == 0 && res.err_dropped)
		rc = agent_buf_put_u64(b, AGENT_ATTR_STDERR_DROPPED, res.err_dropped);
	rc = rc == 0 ? agent_serve_send(fd, b) : agent_serve_error(fd, b, -rc, "exec reply");
out:
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	agent_exec_out_release(&res);
	return rc;
}

/* Read the whole file (proc files report size 0, so read to EOF). */
static int agent_serve_slurp(const char *path, struct agent_buf *b)
{
	uint8_t *data = NULL, *np;
	size_t len = 0, cap = 0;
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= AGENT_SERVE_MAX_FILE + (size_t)1) {
				rc = -EFBIG;
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			/* One byte over the limit tells "exactly full" from "too big". */
			if (cap > AGENT_SERVE_MAX_FILE + (size_t)1)
				cap = AGENT_SERVE_MAX_FILE + (size_t)1;
			np = realloc(data, cap);
			if (!np) {
				rc = -ENOMEM;
				goto out;
			}
			data = np;
		}
		n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > AGENT_SERVE_MAX_FILE) {
		rc = -EFBIG;
		goto out;
	}
	rc = agent_buf_start(b, AGENT_MSG_READ_RESP);
	if (rc == 0)
		rc = agent_buf_put(b, AGENT_ATTR_DATA, data, (uint32_t)len);
out:
	free(data);
	close(fd);
	return rc;
}

/* The PATH attribute of a READ or WRITE request as a new string in *PATH
 * (the caller frees it). 0, -EINVAL when the request names none, or the
 * error of agent_serve_strdup(). */
static int agent_serve_path(const uint8_t *p, uint32_t len, char **path)
{
	struct agent_attr_view a;

	if (agent_attr_find(p, len, AGENT_ATTR_PATH, &a) != 1)
		return -EINVAL;
	return agent_serve_strdup(&a, path);
}

static int agent_serve_read(int fd, const uint8_t *p, uint32_t len, struct agent_buf *b)
{
	char *path = NULL;
	int rc;

	rc = agent_serve_path(p, len, &path);
	if (rc == 0)
		rc = agent_serve_slurp(path, b);
	rc = rc == 0 ? agent_serve_send(fd, b) : agent_serve_error(fd, b, -rc, path ? path : "read");
	free(path);
	return rc;
}

static int agent_serve_store(const char *path, uint32_t mode, const uint8_t *data, uint32_t len)
{
	struct stat st;
	uint32_t done = 0;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, mode & 07777);
	if (fd < 0)
		return -errno;
	while (done < len) {
		n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto out;
		}
		done += (uint32_t)n;
	}
	/* An existing file keeps its old mode through O_CREAT; the host asked
	 * for MODE. Not for /proc or /sys files, which have no mode of their own. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) != (mode & 07777) &&
	    fchmod(fd, mode & 07777) < 0)
		rc = -errno;
out:
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int agent_serve_write(int fd, const uint8_t *p, uint32_t len, struct agent_buf *b)
{
	struct agent_attr_view a, d = { 0 };
	uint32_t mode = 0644;
	char *path = NULL;
	int rc;

	rc = agent_serve_path(p, len, &path);
	if (rc == 0 && agent_attr_find(p, len, AGENT_ATTR_MODE, &a) == 1 &&
	    agent_attr_u32(&a, &mode) < 0)
		rc = -EPROTO;
	if (rc == 0 && agent_attr_find(p, len, AGENT_ATTR_DATA, &a) == 1)
		d = a;
	if (rc == 0)
		rc = agent_serve_store(path, mode, d.val, d.len);
	if (rc == 0)
		rc = agent_buf_start(b, AGENT_MSG_WRITE_RESP);
	rc = rc == 0 ? agent_serve_send(fd, b) : agent_serve_error(fd, b, -rc, path ? path : "write");
	free(path);
	return rc;
}

/* Answer one well-framed request. <0 only when the connection is unusable. */
static int agent_serve_one(struct agent_serve *s, int fd, uint32_t type, const uint8_t *p,
			   uint32_t len, struct agent_buf *b)
{
	struct agent_attr_view a;
	uint64_t nonce;
	char what[64];

	if (agent_payload_check(p, len) < 0)
		return agent_serve_error(fd, b, EPROTO, "malformed attributes");
	switch (type) {
	case AGENT_MSG_EXEC_REQ:
		return agent_serve_exec(fd, p, len, b);
	case AGENT_MSG_READ_REQ:
		return agent_serve_read(fd, p, len, b);
	case AGENT_MSG_WRITE_REQ:
		return agent_serve_write(fd, p, len, b);
	case AGENT_MSG_HELLO:
		/* The host starts every conversation this way because we may
		 * have missed its reconnect (see agent_proto.h). */
		if (agent_attr_find(p, len, AGENT_ATTR_NONCE, &a) != 1 ||
		    agent_attr_u64(&a, &nonce) < 0)
			return agent_serve_error(fd, b, EINVAL, "hello without nonce");
		return agent_serve_hello(s, fd, b, &nonce);
	case AGENT_MSG_POWEROFF_REQ:
		agent_log_msg(s->log_fd, "power off requested");
		if (s->ops && s->ops->poweroff)
			s->ops->poweroff(s->ops_arg);
		return 0;
	default:
		snprintf(what, sizeof(what), "message type %u", type);
		return agent_serve_error(fd, b, EOPNOTSUPP, what);
	}
}

int agent_serve_session(struct agent_serve *s, int fd)
{
	struct agent_buf b = { 0 };
	uint8_t hdr[AGENT_HDR_LEN];
	uint8_t *payload = NULL;
	uint32_t type, len;
	int rc;

	rc = agent_serve_hello(s, fd, &b, NULL);
	while (rc == 0) {
		rc = agent_serve_read_full(fd, hdr, sizeof(hdr));
		if (rc == -ENODATA) {
			rc = 0;
			break;
		}
		if (rc < 0)
			break;
		if (agent_hdr_decode(hdr, &type, &len) < 0) {
			/* Framing is lost: say so, then let the caller wait for
			 * the host to reconnect rather than guess at a boundary. */
			agent_serve_error(fd, &b, EPROTO, "bad frame header");
			rc = -EPROTO;
			break;
		}
		payload = malloc(len ? len : 1);
		if (!payload) {
			rc = -ENOMEM;
			break;
		}
		rc = agent_serve_read_full(fd, payload, len);
		if (rc == -ENODATA)
			rc = -ECONNRESET;
		if (rc == 0)
			rc = agent_serve_one(s, fd, type, payload, len, &b);
		free(payload);
		payload = NULL;
		agent_serve_reap();
	}
	agent_buf_release(&b);
	return rc;
}
