/* SPDX-License-Identifier: MIT */
/* agent_client.h: host side of the guest agent protocol (see agent_proto.h).
 *
 * Connects to the Unix socket QEMU serves for a VM's agent port
 * (-chardev socket,server=on,wait=off), reads the agent's HELLO and issues
 * requests. Every read is bounded by a timeout and by AGENT_MAX_PAYLOAD; all
 * guest data is treated as untrusted.
 *
 * A request that fails after it was sent (its deadline passed, a bad frame)
 * leaves the connection out of step: its reply may still come. The next
 * request resyncs first (a HELLO with a fresh nonce, see agent_proto.h), within
 * its own deadline, so it never takes an older reply for its own.
 */
#ifndef UVMLAB_AGENT_CLIENT_H
#define UVMLAB_AGENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct agent_conn;

struct agent_hello {
	uint32_t version;
	char vm[64];
	char role[32];
	char kernel[128];
	uint64_t boottime_init_ns;   /* guest CLOCK_BOOTTIME at agent start */
	uint64_t boottime_ready_ns;  /* guest CLOCK_BOOTTIME when ready */
	uint64_t phase_ns[3];        /* guest CLOCK_BOOTTIME after modules, net, port; 0 if absent */
};

struct agent_exec_result {
	uint32_t status;     /* exit code, or 128+signal */
	int timed_out;       /* the agent killed the command at its timeout */
	uint8_t *out;        /* stdout bytes (malloc'd, NUL-terminated for convenience) */
	size_t out_len;
	uint8_t *err;        /* stderr bytes (same) */
	size_t err_len;
	uint64_t out_dropped; /* stdout bytes the agent cut past AGENT_MAX_OUTPUT; 0 if none */
	uint64_t err_dropped; /* the same for stderr */
};

/* Connect to the Unix socket at PATH, retrying while it does not exist,
 * refuses or has a full backlog (a stopped QEMU), for up to TIMEOUT_MS; no
 * single attempt blocks past it. 0 with *OUT set, or a negative errno
 * (-ETIMEDOUT). */
int agent_conn_open(const char *path, int timeout_ms, struct agent_conn **out);

/* The connected socket, for poll(). */
int agent_conn_fd(const struct agent_conn *c);

/* Start a conversation: send HELLO with a fresh nonce and wait up to
 * TIMEOUT_MS for the agent's HELLO echoing it, discarding anything before it
 * (stale replies, the agent's unsolicited HELLO). Call first after
 * agent_conn_open(), and again to resync after a timeout. 0, -ETIMEDOUT,
 * -EPROTO (bad frame or bad HELLO), -ECONNRESET (closed). */
int agent_conn_read_hello(struct agent_conn *c, int timeout_ms, struct agent_hello *out);

/* Connect to a running VM's agent and resync: up to CONNECTS connections,
 * each with up to 2 HELLOs of HELLO_MS, all within TIMEOUT_MS in total. A
 * slow guest still finishing an earlier client's reply is resynced by a
 * further HELLO; one that missed the port-open event is woken by a fresh
 * connection. 0 with *OUT set, -ETIMEDOUT when the agent did not answer in
 * time (a stopped or hung VM), or another negative errno. */
int agent_conn_attach(const char *path, int connects, int hello_ms, int timeout_ms,
		      struct agent_conn **out, struct agent_hello *hello);

/* Run ARGV (NULL-terminated, argv[0] a path or a busybox applet name) in the
 * guest; the agent kills it after TIMEOUT_MS. This call waits at most
 * TIMEOUT_MS + 5000 ms. STDIN_DATA may be NULL. 0 with *RES filled (release
 * with agent_exec_result_release()), or a negative errno; -EREMOTEIO when the
 * agent answered ERROR (its message is in ERRBUF when given). */
int agent_conn_exec(struct agent_conn *c, const char *const *argv, uint32_t timeout_ms,
		    const void *stdin_data, size_t stdin_len,
		    struct agent_exec_result *res, char *errbuf, size_t errlen);
void agent_exec_result_release(struct agent_exec_result *res);

/* Read the guest file PATH (at most AGENT_MAX_PAYLOAD bytes). 0 with *DATA
 * malloc'd (NUL-terminated) and *LEN set; the guest's errno as a negative value
 * if it failed there. */
int agent_conn_read_file(struct agent_conn *c, const char *path, int timeout_ms,
			 uint8_t **data, size_t *len);

/* Write DATA to the guest file PATH with MODE. 0 or negative errno. */
int agent_conn_write_file(struct agent_conn *c, const char *path, uint32_t mode,
			  const void *data, size_t len, int timeout_ms);

/* Ask the agent to power the guest off. 0 once sent. */
int agent_conn_poweroff(struct agent_conn *c);

/* Close; NULL is fine. */
void agent_conn_close(struct agent_conn *c);

#endif
