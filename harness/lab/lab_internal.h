/* SPDX-License-Identifier: MIT */
/* lab_internal.h: the live-run structures shared by lab.c and lab_vm.c only. */
#ifndef UVMLAB_LAB_INTERNAL_H
#define UVMLAB_LAB_INTERNAL_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "qemu/accel_probe.h"
#include "lab/agent_client.h"
#include "lab/lab.h"
#include "lab/netns_link.h"
#include "qemu/qemu_argv.h"
#include "qemu/qmp_client.h"

enum lab_src_kind {
	LAB_SRC_QMP_LISTEN, LAB_SRC_QMP, LAB_SRC_CON_LISTEN, LAB_SRC_CON,
	LAB_SRC_MARK_LISTEN, LAB_SRC_MARK, LAB_SRC_AGENT, LAB_SRC_PIDFD,
	LAB_SRC_COUNT,
};

/* What an epoll event points at. */
struct lab_src {
	struct lab_vm *vm;
	enum lab_src_kind kind;
};

enum lab_vm_state { LAB_VM_PENDING = 0, LAB_VM_BOOTING, LAB_VM_READY, LAB_VM_FAILED, LAB_VM_EXITED };

/* What lab_health.c found when it last looked at a VM that had come up. */
enum lab_vm_health { LAB_VM_HEALTH_UNCHECKED = 0, LAB_VM_HEALTH_ALIVE, LAB_VM_HEALTH_DEAD,
		     LAB_VM_HEALTH_HUNG, LAB_VM_HEALTH_PAUSED };

struct lab_vm {
	struct lab *lab;
	const struct plan_vm *pvm;
	enum lab_vm_state state;
	char dir[512];
	char qmp_path[600], con_path[600], mark_path[600], agent_path[600];
	char console_log[1200], qemu_log[1200];
	char vsock_path[600], vsock_host[600]; /* vhost-user socket, hybrid host socket */
	int lfd[3];                  /* listening: qmp, console, marker */
	int qmp_fd_raw;              /* accepted, before the handshake */
	struct qmp_client *qmp;
	int con_fd, mark_fd, pidfd, console_log_fd;
	struct agent_conn *agent;
	int tap_fds[PLAN_MAX_NICS];
	struct lab_src src[LAB_SRC_COUNT];
	struct qemu_argv argv;
	char cmdline[2048];
	pid_t pid;
	uint64_t starttime;
	uint64_t t[LAB_PHASE_COUNT]; /* host CLOCK_MONOTONIC ns, 0 = not reached */
	uint64_t t_ready_marker;
	uint64_t deadline;
	struct agent_hello hello;
	int64_t cpu_user_ms, cpu_sys_ms;
	int qemu_version[3];
	int exit_status;             /* wait status, when EXITED */
	int bare;                    /* next start is a bare QEMU (bench baseline) */
	char **sh_argv;              /* bare: sh -c 'exec "$@"' sh ARGV... */
	char last_line[256];         /* last complete console line */
	char partial[256];
	size_t partial_len;
	uint64_t t_role;             /* role services ready (roles/roles.c), 0 = not reached */
	uint64_t t_tor_start;        /* tor gateway: tor started (roles/tor_gateway.c), 0 = not */
	int gprobe_started;          /* the guest probe is loaded (checks/lab_gprobe.c) */
	int filter_applied;          /* router filter in force and forwarding on (roles/router.c) */
	char *filter_ruleset;        /* what `nft list table inet uvmlab_filter` read back,
	                              * malloc'd; freed by lab_vm_reset() and lab_destroy() */
	uint64_t t_filter;           /* filter in force, 0 = not (yet) */
	enum lab_vm_health health;   /* lab_health.c; shown as the state in result.json */
	char health_why[256];        /* "QEMU (pid 412) died: killed by signal 9" */
	pid_t last_pid;              /* QEMU's pid, kept after it was reaped */
};

/* The fake internet: its own network namespace (held by a child that only
 * waits), a veth into the bridge of the network with internet: true, and
 * the fixtures running there (lab_internet.c). */
struct lab_internet {
	pid_t holder;                /* its netns is the internet; 0 = none */
	int ns_fd;                   /* /proc/HOLDER/ns/net, -1 = none */
	pid_t web_pid;               /* fake_internet.py serve */
	int tor_started;             /* private_tor.py start succeeded */
	uint32_t gw_addr;            /* the internet's address on the lab network */
	char fixtures_dir[1024];     /* where fake_internet.py and private_tor.py live */
	char tor_dir[600];           /* RUNDIR/tor */
	char log[1200];              /* RESULTS/internet.log: the fake internet's JSON lines */
	char pidfile[600];
	uint32_t exits[16];          /* the private network's exit addresses */
	size_t n_exits;
};

struct lab {
	const struct plan *plan;
	struct lab_opts opts;
	char run_id[128];
	char run_dir[512];
	char results_dir[1024];
	char images_dir[1024];
	char kernel[1100];
	char err[1024];
	struct accel_choice accel;
	const struct qemu_accel_ops *accel_ops;
	uint64_t tsc_khz;
	uint32_t boot_timeout_s;
	struct lab_vm *vms;
	size_t n_vms;
	struct netns_link *nl;
	int orig_netns;              /* to return to at lab_down() */
	int epfd;
	pid_t vsockd_pid;            /* uvmlab-vsockd, when the scenario has vsock */
	struct flow_probe *flows;    /* eBPF flow recorder on every tap (run only), or NULL */
	char vsockd_log[1200];
	char vsockd_dead[1400];      /* how uvmlab-vsockd ended, once lab_vsock_health() saw it */
	int up_started, down_done;
	uint64_t t_start_wall_ns;
	char started_at[32];
	struct lab_internet inet;
};

extern volatile sig_atomic_t lab_stop_flag;

/* lab_vsock.c: uvmlab-vsockd for scenarios with a vsock section */
int lab_vsock_start(struct lab *lab);
void lab_vsock_stop(struct lab *lab);
/* Is the vsock carrier up: uvmlab-vsockd alive, not stopped, and its event
 * loop answering on a host socket within 2 s? 0 (also when the scenario has
 * no vsock), -EPIPE when it died, -ETIMEDOUT or another negative errno when
 * it does not answer; lab->err names the daemon, e.g. "vsock backend
 * uvmlab-vsockd (pid 412) died: killed by signal 9 (see ...)". */
int lab_vsock_health(struct lab *lab);
/* Start PATH ARGV... in the background with stdout+stderr to OUT_PATH, in
 * its own process group, dying with us. 0 with *PID, or negative errno. */
int lab_spawn(const char *const *argv, const char *out_path, pid_t *pid);
/* lab_spawn(), but the child first enters the network namespace NS_FD (-1:
 * stay) and APPEND keeps OUT_PATH's content. */
int lab_spawn_ns(int ns_fd, const char *const *argv, const char *out_path, int append, pid_t *pid);
/* Wait up to TIMEOUT_MS for PID; kill it after. Returns its exit code
 * (128+signal when killed), or -ETIMEDOUT if it had to be killed. */
int lab_reap(pid_t pid, int timeout_ms);
/* A program installed beside the uvmlab binary (uvmlab-vsockd, ...). */
void lab_sibling_path(const char *name, char *buf, size_t len);

/* lab.c, for checks and role services */
/* Write DATA to PATH in VM through its agent. 0 or negative errno (lab->err set). */
int lab_write_file(struct lab *lab, const char *vm, const char *path, uint32_t mode,
		   const void *data, size_t len);
/* Pause (ON=1, QMP "stop") or resume (ON=0, QMP "cont") VM NAME. */
int lab_vm_pause(struct lab *lab, const char *name, int on);

/* lab_internet.c: the fake internet and the private Tor network, when the
 * scenario asks for them. Start after the run's namespace exists and before
 * the first VM; stop before leaving the namespace. */
int lab_internet_start(struct lab *lab);
void lab_internet_stop(struct lab *lab);
/* Run ARGV in the internet's namespace in the background, output appended to
 * OUT_PATH, dying with us. 0 with *PID, or negative errno. */
int lab_internet_spawn(struct lab *lab, const char *const *argv, const char *out_path, pid_t *pid);
/* Wait for the private Tor network's bootstrap (bounded), keeping the lab's
 * event loop running. 0, -ETIMEDOUT or negative errno (lab->err set). */
int lab_internet_wait_tor(struct lab *lab, int timeout_s);

/* lab_health.c: is a VM that came up still alive and answering? */
/* Look at VM now: QEMU process (reaped if it died; stopped = hung), then
 * unless PROCESS_ONLY QMP query-status and a trivial agent exec, each within
 * a short bound. Sets vm->health and vm->health_why; returns vm->health. */
enum lab_vm_health lab_health_vm(struct lab_vm *vm, int process_only);
/* "dead", "hung", "paused", or NULL while alive or unchecked. */
const char *lab_health_name(enum lab_vm_health h);
/* After lab_exec() on VM failed with RET: when the VM is dead or hung, say
 * so in lab->err (`vm "b" is dead: QEMU (pid 412) died: killed by signal 9`)
 * instead of the transport's errno. Returns RET, or -ECHILD when dead. */
int lab_health_explain(struct lab_vm *vm, int ret);
/* Before a check that needs VM NAME: 0 when its QEMU process is alive and
 * not stopped, else -ECHILD (dead) or -ETIMEDOUT (hung) with lab->err
 * `vm "b" is dead: QEMU (pid 412) died: killed by signal 9`. Names that are
 * no VM of the lab are left to the check (0). */
int lab_health_require(struct lab *lab, const char *name);

/* lab_vm.c */
int lab_vm_init(struct lab *lab, struct lab_vm *vm, const struct plan_vm *pvm);
int lab_vm_start(struct lab_vm *vm);
/* Handle an epoll event for SRC. 0, or negative errno when the VM failed
 * (lab->err set). */
int lab_vm_event(struct lab_src *src, uint32_t events);
/* Periodic work: connect the agent once QMP is up, enforce the deadline.
 * 0 or negative errno (lab->err set). */
int lab_vm_tick(struct lab_vm *vm, uint64_t now);
void lab_vm_stop(struct lab_vm *vm);
/* Forget a finished boot so the VM can be started again (benchmarks). */
void lab_vm_reset(struct lab_vm *vm);
/* The kernel file VM boots (stock bzImage, lab bzImage or lab vmlinux). */
void lab_vm_kernel_path(const struct lab_vm *vm, char *buf, size_t len);
/* One round of the event loop: wait up to TIMEOUT_MS, dispatch, tick. */
int lab_poll(struct lab *lab, int timeout_ms);
void lab_vm_close(struct lab_vm *vm);
enum lab_phase lab_vm_last_phase(const struct lab_vm *vm);
json_t *lab_vm_json(const struct lab_vm *vm);
void lab_set_err(struct lab *lab, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
