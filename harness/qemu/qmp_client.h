/* SPDX-License-Identifier: MIT */
/* qmp_client.h: a minimal QMP (QEMU Machine Protocol) client over a connected socket.
 *
 * QMP messages are one JSON object per line (parsed with jansson). Events that
 * arrive while waiting for a command's return are queued and handed out by
 * qmp_client_next_event(). Everything QEMU sends is size-limited
 * (QMP_MAX_LINE) and checked before use.
 */
#ifndef UVMLAB_QMP_CLIENT_H
#define UVMLAB_QMP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define QMP_MAX_LINE (1u << 20)

enum qmp_msg_kind { QMP_MSG_GREETING = 1, QMP_MSG_RETURN, QMP_MSG_ERROR, QMP_MSG_EVENT };

/* One parsed message. Strings point into JSON owned by ROOT. */
struct qmp_msg {
	enum qmp_msg_kind kind;
	json_t *root;           /* owned: release with qmp_msg_release() */
	const char *event;      /* QMP_MSG_EVENT: event name */
	json_t *data;           /* EVENT: "data" (may be NULL); RETURN: "return" */
	const char *err_class;  /* ERROR: error.class */
	const char *err_desc;   /* ERROR: error.desc */
	int major, minor, micro;/* GREETING: QEMU version */
};

/* Parse one QMP line (without or with trailing newline). 0 or -EPROTO if it is
 * not JSON, not an object, or none of the four known shapes. Pure: used by
 * the fuzzer. */
int qmp_msg_parse(const char *line, size_t len, struct qmp_msg *out);
void qmp_msg_release(struct qmp_msg *m);

struct qmp_client;

/* Take ownership of FD, a connected stream socket to a QEMU monitor in
 * control mode. 0 or -ENOMEM. */
int qmp_client_open_fd(int fd, struct qmp_client **out);

/* For poll(). */
int qmp_client_fd(const struct qmp_client *c);

/* Wait for the greeting, then send qmp_capabilities and wait for its return.
 * *MAJOR/MINOR/MICRO may be NULL. 0, -ETIMEDOUT, -EPROTO, -ECONNRESET.
 * Every wait in this API is bounded: TIMEOUT_MS < 0 is -EINVAL. After
 * -EPROTO the stream is out of sync and every later call fails the same way. */
int qmp_client_handshake(struct qmp_client *c, int timeout_ms,
			 int *major, int *minor, int *micro);

/* Execute CMD with ARGS (borrowed object; NULL for none) and wait for its
 * return, matched by a per-command "id" (a late answer to a command that timed
 * out is discarded). 0 with *RET a new reference (RET may be NULL; the value is
 * an object or array, or a scalar for the few commands that return one);
 * -EREMOTEIO when QEMU answered an error (its desc copied to ERRBUF, which may
 * be NULL); -ETIMEDOUT; -ECONNRESET; -EPROTO; -EINVAL. Events that arrive
 * meanwhile are queued. */
int qmp_client_execute(struct qmp_client *c, const char *cmd, json_t *args,
		       int timeout_ms, json_t **ret, char *errbuf, size_t errlen);

/* Read whatever is available without blocking and queue the events.
 * 0, -ECONNRESET when QEMU closed the socket (events sent before the close are
 * queued), or -EPROTO. Call when poll() says readable. */
int qmp_client_pump(struct qmp_client *c);

/* Pop the oldest queued event: 1 with NAME copied (truncated to LEN-1; NAME
 * may be NULL) and *DATA a new reference (or NULL), 0 when none. The queue
 * keeps at most 256 events (and 8 MiB of them); older ones are dropped. */
int qmp_client_next_event(struct qmp_client *c, char *name, size_t len, json_t **data);

/* How many events were dropped because the queue was full. */
uint64_t qmp_client_events_dropped(const struct qmp_client *c);

/* Close and free; NULL is fine. */
void qmp_client_destroy(struct qmp_client *c);

#endif
