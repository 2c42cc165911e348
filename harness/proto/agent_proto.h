/* SPDX-License-Identifier: MIT */
/* agent_proto.h: wire format between uvmlab (host) and uvmlab-agent (guest PID 1).
 *
 * Shared by both sides; the host treats everything from the guest as untrusted,
 * so every decoder here is bounds-checked and fuzzed (harness/tests/fuzz).
 *
 * Frame: u32 type, u32 len (little endian), then LEN payload bytes
 * (LEN <= AGENT_MAX_PAYLOAD). The payload is a sequence of attributes:
 * u16 tag, u16 zero, u32 len (little endian), then LEN value bytes; no padding.
 * Integers in values are little endian. Strings carry no NUL.
 *
 * Conversation: whenever the host connects to the agent's virtio-serial port,
 * the agent sends HELLO first. Then the host sends requests, one at a time, and
 * the agent answers each with the matching *_RESP (or ERROR).
 *
 * Resync: the guest cannot always see a reconnect (virtio-serial reports the
 * host's state, not its edges: a close quickly followed by a connect, e.g. a
 * second client waiting in QEMU's listen backlog, leaves no POLLHUP to see), so
 * it may still be in the old conversation with stale replies in flight. The
 * host therefore opens every conversation by sending HELLO carrying a fresh
 * NONCE; the agent answers any HELLO from the host with a HELLO echoing it, and
 * the host discards everything before that echo.
 */
#ifndef UVMLAB_AGENT_PROTO_H
#define UVMLAB_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_PROTO_VERSION 1u
#define AGENT_HDR_LEN 8u
#define AGENT_ATTR_HDR_LEN 8u
#define AGENT_MAX_PAYLOAD (4u << 20)
#define AGENT_MAX_OUTPUT (1u << 20) /* per exec stream; the agent truncates and says how much */
#define AGENT_PORT_NAME "uvmlab.agent"

enum agent_msg_type {
	AGENT_MSG_HELLO = 1,        /* guest -> host; host -> guest with NONCE: resync */
	AGENT_MSG_EXEC_REQ = 2,     /* host -> guest */
	AGENT_MSG_EXEC_RESP = 3,
	AGENT_MSG_READ_REQ = 4,
	AGENT_MSG_READ_RESP = 5,
	AGENT_MSG_WRITE_REQ = 6,
	AGENT_MSG_WRITE_RESP = 7,
	AGENT_MSG_POWEROFF_REQ = 8, /* agent syncs and powers off; no response */
	AGENT_MSG_ERROR = 9,        /* either way: ERRNO + MESSAGE */
	AGENT_MSG_TYPE_MAX = 9,
};

enum agent_attr_tag {
	AGENT_ATTR_VERSION = 1,          /* u32 */
	AGENT_ATTR_VM_NAME = 2,          /* str */
	AGENT_ATTR_ROLE = 3,             /* str */
	AGENT_ATTR_KERNEL = 4,           /* str: uname -r */
	AGENT_ATTR_BOOTTIME_INIT_NS = 5, /* u64: CLOCK_BOOTTIME when the agent started */
	AGENT_ATTR_BOOTTIME_READY_NS = 6,/* u64: CLOCK_BOOTTIME when it became ready */
	AGENT_ATTR_ARG = 7,              /* str, repeated: argv of EXEC_REQ */
	AGENT_ATTR_TIMEOUT_MS = 8,       /* u32 */
	AGENT_ATTR_STDIN = 9,            /* bytes */
	AGENT_ATTR_EXIT_STATUS = 10,     /* u32: exit code, or 128+signal */
	AGENT_ATTR_STDOUT = 11,          /* bytes */
	AGENT_ATTR_STDERR = 12,          /* bytes */
	AGENT_ATTR_TIMED_OUT = 13,       /* u32 0/1 */
	AGENT_ATTR_PATH = 14,            /* str */
	AGENT_ATTR_DATA = 15,            /* bytes */
	AGENT_ATTR_MODE = 16,            /* u32 */
	AGENT_ATTR_ERRNO = 17,           /* u32, positive errno */
	AGENT_ATTR_MESSAGE = 18,         /* str */
	AGENT_ATTR_PHASE_NS = 19,        /* u64 x3: boottime after modules, after net, after port open */
	AGENT_ATTR_NONCE = 20,           /* u64: in a host HELLO, echoed in the agent's reply */
	AGENT_ATTR_STDOUT_DROPPED = 21,  /* u64: stdout bytes past AGENT_MAX_OUTPUT, read and dropped */
	AGENT_ATTR_STDERR_DROPPED = 22,  /* u64: the same for stderr; both absent when nothing was */
	AGENT_ATTR_TAG_MAX = 22,
};

/* A growable encoder for one frame. */
struct agent_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Start a frame of TYPE in B (B's previous contents are dropped). 0 / -ENOMEM. */
int agent_buf_start(struct agent_buf *b, uint32_t type);
/* Append an attribute. -E2BIG if the payload would exceed AGENT_MAX_PAYLOAD. */
int agent_buf_put(struct agent_buf *b, uint16_t tag, const void *val, uint32_t len);
int agent_buf_put_u32(struct agent_buf *b, uint16_t tag, uint32_t v);
int agent_buf_put_u64(struct agent_buf *b, uint16_t tag, uint64_t v);
int agent_buf_put_str(struct agent_buf *b, uint16_t tag, const char *s);
/* Write the payload length into the header; call before sending b->data/b->len. */
void agent_buf_finish(struct agent_buf *b);
/* Free B's memory; B may be reused after agent_buf_start(). */
void agent_buf_release(struct agent_buf *b);

/* Decode a frame header. 0, or -EPROTO for an unknown type or a length over
 * AGENT_MAX_PAYLOAD. */
int agent_hdr_decode(const uint8_t hdr[AGENT_HDR_LEN], uint32_t *type, uint32_t *len);

struct agent_attr_view {
	uint16_t tag;
	uint32_t len;
	const uint8_t *val; /* points into the payload */
};

/* Iterate attributes: *OFF starts at 0. Returns 1 with *OUT filled, 0 at the
 * end, -EPROTO if an attribute header or value runs past LEN or its reserved
 * field is not zero. */
int agent_attr_next(const uint8_t *payload, uint32_t len, uint32_t *off,
		    struct agent_attr_view *out);
/* Validate the whole payload: every attribute well formed. 0 / -EPROTO. */
int agent_payload_check(const uint8_t *payload, uint32_t len);
/* First attribute with TAG: 1 found, 0 absent, -EPROTO malformed payload. */
int agent_attr_find(const uint8_t *payload, uint32_t len, uint16_t tag,
		    struct agent_attr_view *out);
/* Typed value readers: -EPROTO if the length is wrong. */
int agent_attr_u32(const struct agent_attr_view *a, uint32_t *v);
int agent_attr_u64(const struct agent_attr_view *a, uint64_t *v);
/* Copy a string value into BUF (NUL-terminated). -EPROTO if it has a NUL byte,
 * -ENAMETOOLONG if it does not fit in CAP - 1 bytes. */
int agent_attr_str(const struct agent_attr_view *a, char *buf, size_t cap);

#endif
