/* SPDX-License-Identifier: MIT */
/* lab_internal.h: the live-run structures, private to harness/lab/.
 *
 * Everything outside harness/lab/ uses lab.h and lab_plugin.h (and
 * services/lab_services.h for the host services' state). */
#ifndef UVMLAB_LAB_INTERNAL_H
#define UVMLAB_LAB_INTERNAL_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "qemu/accel_probe.h"
#include "lab/agent_client.h"
#include "lab/cgroup.h"
#include "lab/lab.h"
#include "lab/lab_plugin.h"
#include "lab/lab_stamp.h"
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

/* A role step stamped on a VM (lab_plugin_vm_mark()). */
struct lab_vm_mark {
	const char *phase;           /* key in boot.phases_ms */
	const char *span_key;        /* VM key: ms from here to services_ready, or NULL */
	uint64_t t;
};

struct lab_vm {
	struct lab *lab;
	const struct plan_vm *pvm;
	enum lab_vm_state state;
	char dir[512];
	char qmp_path[600], con_path[600], mark_path[600], agent_path[600];
	char console_log[1200], qemu_log[1200];
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
	/* arrival times stamped by lab->stamper: QMP connection (greeting),
	 * console bytes, marker bytes, agent bytes (HELLO) */
	struct lab_stamp_ring st_qmp, st_con, st_mark, st_agent;
	unsigned int stamped_late;   /* 1 << LAB_SRC_*: bytes were waiting at watch time */
	uint64_t t_ready_marker;
	uint64_t deadline;
	struct agent_hello hello;
	int64_t cpu_user_ms, cpu_sys_ms;
	int qemu_version[3];
	int exit_status;             /* wait status, when EXITED */
	char died[48];               /* "killed by signal 9": QEMU ended on its own, not by lab_vm_stop() */
	int bare;                    /* next start is a bare QEMU (bench baseline) */
	char **sh_argv;              /* bare: sh -c 'exec "$@"' sh ARGV... */
	/* the console log: at most con_max bytes are kept (lab.console_log_max) */
	uint64_t con_kept;           /* bytes written to console_log */
	uint64_t con_dropped;        /* bytes read but not kept: past the cap or after an error */
	uint32_t con_max;
	int con_cut;                 /* con_kept reached con_max */
	int con_err;                 /* errno of a failed log write (the log is closed), 0 = none */
	int con_nl;                  /* the last byte kept was a newline (or none kept) */
	char last_line[256];         /* last complete console line */
	char partial[256];
	size_t partial_len;
	uint64_t t_role;             /* role services ready (roles/), 0 = not reached */
	struct lab_vm_mark marks[LAB_PLUGIN_MAX_MARKS]; /* role steps, in stamping order */
	size_t n_marks;
	void *role_state;            /* the role's own, lab_plugin_vm_set_role_state() */
	void (*role_state_free)(void *);
	int probe_started;           /* the guest probe is loaded (roles/) */
	int filter_applied;          /* router filter in force and forwarding on (roles/) */
	char *filter_ruleset;        /* what `nft list table inet uvmlab_filter` read back,
	                              * malloc'd; freed by lab_vm_reset() and lab_destroy() */
	uint64_t t_filter;           /* filter in force, 0 = not (yet) */
	enum lab_vm_health health;   /* lab_health.c; shown as the state in result.json */
	char health_why[256];        /* "QEMU (pid 412) died: killed by signal 9" */
	pid_t last_pid;              /* QEMU's pid, kept after it was reaped */
	uint32_t uid;                /* QEMU runs as uid = gid = this (lab_ids.c), 0 = none yet */
};

/* A host service of the run (services/service.h) and its state block. */
struct lab_service {
	const struct service_ops *ops;
	void *state;
	int wanted, started;
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
	struct cgroup_run cg;        /* the run's cgroups (cg.n 0: none could be made) */
	int epfd;
	struct lab_stamper stamper; /* arrival times of the VMs' channels (lab_stamp.h) */
	struct lab_service *svc;     /* the registry's services, in start order */
	size_t n_svc;
	int up_started, down_done;
	int state_dirty;             /* a VM died: state.json must say so (lab_supervise) */
	uint64_t t_start_wall_ns;
	char started_at[32];
	uint32_t helper_uid;         /* the run's helpers (backends, fixtures): uid = gid, 0 = none */
	int ids_leased;              /* helper_uid and every vm->uid are leased (lab_ids.c) */
};

/* lab_service.c: the run's host services (services/service.h), through
 * their hooks. Each returns 0 or the first hook's negative errno (lab->err
 * set by the hook). */
int lab_service_create(struct lab *lab);        /* lab_create(): state blocks, init */
int lab_service_start_all(struct lab *lab);     /* lab_prepare(), after the namespace */
int lab_service_vm_argv(struct lab_vm *vm, struct qemu_vm_spec *spec);
int lab_service_vm_taps(struct lab_vm *vm);
/* Append the inode of each service's own network namespace to NETNS. */
void lab_service_netns(const struct lab *lab, json_t *netns);
/* health() of each wanted service; the messages joined into MSG. */
int lab_service_health(struct lab *lab, char *msg, size_t len, size_t *off);
/* Whether a started service's health() says it is gone (-EPIPE), or with
 * OR_SILENT also alive but not answering (any other error): then 1, with
 * its message (e.g. how the daemon died) in MSG; lab->err is overwritten.
 * 0 when every service is there. */
int lab_service_dead(struct lab *lab, int or_silent, char *msg, size_t len);
void lab_service_stop_all(struct lab *lab);     /* lab_down(), reverse order */
void lab_service_destroy(struct lab *lab);      /* lab_destroy() */


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

/* lab_ids.c: dynamic ids. A run leases 1 + n_vms ids from [LAB_IDS_BASE,
 * LAB_IDS_BASE + LAB_IDS_COUNT): one for its helpers, one per VM, each used
 * as both uid and gid, with no passwd entry. Systemd hands out 61184-65519
 * (DynamicUser) and 524288-1879048191 (containers); Debian's subuid ranges
 * start at 100000 in blocks of 65536, far below. */
#define LAB_IDS_BASE 2000000000u
#define LAB_IDS_COUNT 65536u
#define LAB_IDS_DIR "/run/uvmlab-ids"
/* 1 when ID must not be handed out (a process uses it, a live lease). */
typedef int (*lab_ids_busy_fn)(uint32_t id, void *ctx);
/* Pure: the N lowest ids of [BASE, BASE + COUNT) that BUSY says are free,
 * ascending, into OUT. 0, -EUSERS when fewer are free, -EINVAL. */
int lab_ids_pick(uint32_t base, uint32_t count, size_t n, lab_ids_busy_fn busy, void *ctx,
		 uint32_t *out);
/* Lease N ids under DIR (flock'd; created 0755 if missing) for this
 * process, naming OWNER (the run id) in each lease. 0 or negative errno;
 * on failure nothing stays leased. */
int lab_ids_alloc(const char *dir, const char *owner, size_t n, uint32_t *out);
/* Give the leases back (ids of 0 are skipped). */
void lab_ids_release(const char *dir, const uint32_t *ids, size_t n);
/* Release every lease in DIR whose owner (run id) is OWNER: the reaper of a
 * killed run. */
void lab_ids_release_owned(const char *dir, const char *owner);
/* In a forked child before exec (async-signal-safe): setgroups(GROUPS),
 * setresgid(GID x3), setresuid(UID x3). 0 or negative errno (the caller
 * must _exit: a half-dropped child must never exec). */
int lab_drop_to(uint32_t uid, uint32_t gid, const gid_t *groups, size_t n_groups);
/* Make sure PATH and every folder above it let other users search them
 * (PATH itself gets o+x when root owns it). 0, or -EACCES with the first
 * folder that does not in BAD, or another negative errno. */
int lab_ids_path_searchable(const char *path, char *bad, size_t len);
/* lab.c: lease the run's ids, give each VM folder to its VM (owner the
 * VM's id, group the helpers' id, 0770), record them in the run state. */
int lab_ids_lease(struct lab *lab);
void lab_ids_unlease(struct lab *lab);

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
/* Free and clear what roles recorded on VM (marks, filter, role state). */
void lab_vm_reset_role(struct lab_vm *vm);
/* The kernel file VM boots (stock bzImage, lab bzImage or lab vmlinux). */
void lab_vm_kernel_path(const struct lab_vm *vm, char *buf, size_t len);
void lab_vm_close(struct lab_vm *vm);
enum lab_phase lab_vm_last_phase(const struct lab_vm *vm);
json_t *lab_vm_json(const struct lab_vm *vm);

#endif
