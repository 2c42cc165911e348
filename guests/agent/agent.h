/* SPDX-License-Identifier: MIT */
/* agent.h: internals of uvmlab-agent, the guest's PID 1 (see agent_proto.h for the wire).
 *
 * The agent is split so that everything touching the protocol (agent_serve.c,
 * agent_exec.c) works on any fd and runs unprivileged on the host in unit
 * tests; boot-only work (mounts, modules, network, virtio port) lives in the
 * other files and runs only inside the guest.
 */
#ifndef UVMLAB_AGENT_H
#define UVMLAB_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/agent_proto.h"

/* ---- agent_log.c ---- */

/* Print "uvmlab-agent: MSG\n" to FD (the console); FD < 0 drops it. */
void agent_log_msg(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* CLOCK_BOOTTIME in ns: the guest's own clock, comparable across boots. */
uint64_t agent_log_boottime_ns(void);

/* ---- agent_cmdline.c ---- */

#define AGENT_CMDLINE_MAX_IFS 16

struct agent_cmdline_if {
	uint8_t mac[6];
	uint32_t addr;   /* IPv4, network byte order */
	uint8_t prefix;  /* 0..32 */
};

/* What the host put on the kernel command line for us (uvmlab.* keys). */
struct agent_cmdline {
	char vm[64];
	char role[32];
	uint32_t marker_port;  /* isa-debugcon port; 0 = no markers */
	uint32_t n_ifs;
	struct agent_cmdline_if ifs[AGENT_CMDLINE_MAX_IFS];
	uint32_t gw;           /* network byte order; valid when has_gw */
	int has_gw;
	int forward;
	uint32_t n_bad;        /* uvmlab.* tokens that were ignored as malformed */
};

/* Parse the LEN bytes of TEXT (the contents of /proc/cmdline; need not be
 * NUL-terminated). Malformed uvmlab.* tokens are counted in n_bad and skipped,
 * so a typo costs one feature, not the boot. Always 0. */
int agent_cmdline_parse(const char *text, size_t len, struct agent_cmdline *out);

/* ---- agent_boot.c (guest only) ---- */

/* Mount proc only: needed to read the cmdline before anything else. */
int agent_boot_mount_proc(void);
/* Mount sys, devtmpfs, /tmp, /run; make fds 0-2 valid. Returns a console fd
 * for logging (or -1). */
int agent_boot_mount_rest(int log_fd);
/* Write one byte to the isa-debugcon PORT (no-op when PORT is 0). */
int agent_boot_marker(uint32_t port, uint8_t byte);
/* Load each module listed in PATH (one .ko path per line) in order. Returns
 * the number of modules that failed (each already logged). */
int agent_boot_modules(const char *path, int log_fd);

/* ---- agent_net.c (guest only) ---- */

/* Bring lo and every uvmlab.if NIC up with its address, add the default
 * route and set ip_forward. Waits up to WAIT_MS for NICs to appear. 0 or the
 * first negative errno (all steps are attempted regardless). */
int agent_net_configure(const struct agent_cmdline *cl, int wait_ms, int log_fd);

/* ---- agent_exec.c ---- */

struct agent_exec_req {
	char *const *argv;          /* NULL-terminated */
	uint32_t timeout_ms;        /* 0: AGENT_EXEC_DEFAULT_TIMEOUT_MS */
	const uint8_t *stdin_data;
	size_t stdin_len;
};

#define AGENT_EXEC_DEFAULT_TIMEOUT_MS 60000u

struct agent_exec_out {
	uint32_t status;     /* exit code or 128+signal */
	int timed_out;
	uint8_t *out;        /* malloc'd, at most AGENT_MAX_OUTPUT bytes */
	size_t out_len;
	uint8_t *err;
	size_t err_len;
	uint64_t out_dropped; /* bytes past AGENT_MAX_OUTPUT read and discarded */
	uint64_t err_dropped;
};

/* Run REQ->argv in a new process group with PATH=/bin:/sbin:/usr/bin:/usr/sbin,
 * feeding stdin and capturing both streams; kills the group at the timeout.
 * 0 with *OUT filled (release with agent_exec_out_release), or the negative
 * errno of a failed fork/exec (e.g. -ENOENT for an unknown program). */
int agent_exec_run(const struct agent_exec_req *req, struct agent_exec_out *out);
void agent_exec_out_release(struct agent_exec_out *out);

/* ---- agent_serve.c ---- */

/* Ways the serve loop reaches outside the process; a test swaps them. */
struct agent_serve_ops {
	/* Called after POWEROFF_REQ; the real one syncs and never returns. */
	void (*poweroff)(void *arg);
};

struct agent_serve {
	const struct agent_serve_ops *ops;
	void *ops_arg;
	int log_fd;
	char vm[64];
	char role[32];
	char kernel[128];
	uint64_t boottime_init_ns;
	uint64_t boottime_ready_ns;
	uint64_t phase_ns[3];  /* after modules, after net, after port open */
};

/* Serve one connection on FD: send HELLO, then answer requests until the host
 * hangs up. 0 on a clean hang-up; -EPROTO when the byte stream lost framing
 * (the caller must wait for a reconnect); another negative errno on I/O
 * failure. FD may be a socket or a virtio-serial port, blocking or not. */
int agent_serve_session(struct agent_serve *s, int fd);
/* Reap every exited child without blocking: PID 1 inherits orphans. */
void agent_serve_reap(void);

/* ---- agent_port.c (guest only) ---- */

/* Find the virtio-serial port named AGENT_PORT_NAME and open it, waiting up
 * to WAIT_MS for the device. fd or negative errno. */
int agent_port_open(int wait_ms, int log_fd);
/* Wait for the host to connect, serve, repeat. Never returns. */
void agent_port_serve_forever(struct agent_serve *s, int fd);

#endif
