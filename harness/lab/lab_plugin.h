/* SPDX-License-Identifier: MIT */
/* lab_plugin.h: what roles, check kinds and host services may see and do of a live lab.
 *
 * The lab core (lab.c, lab_vm.c) keeps struct lab and struct lab_vm to
 * itself; everything outside harness/lab/ goes through these functions and
 * lab.h. None of them blocks unless it says so, and none of them takes
 * ownership of what it is given unless it says so.
 *
 * VMs are numbered 0 .. lab_plugin_vm_count() - 1 in the plan's order
 * (plan->vms[]); plan->order[] gives the dependency order over the same
 * indexes.
 */
#ifndef UVMLAB_LAB_PLUGIN_H
#define UVMLAB_LAB_PLUGIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lab/agent_client.h"
#include "lab/lab.h"
#include "plan/plan.h"

struct lab_vm;
struct netns_link;
struct service_ops;

/* Where a VM is in its life. */
enum lab_vm_state { LAB_VM_PENDING = 0, LAB_VM_BOOTING, LAB_VM_READY, LAB_VM_FAILED, LAB_VM_EXITED };

/* What lab_health.c found when it last looked at a VM that had come up. */
enum lab_vm_health { LAB_VM_HEALTH_UNCHECKED = 0, LAB_VM_HEALTH_ALIVE, LAB_VM_HEALTH_DEAD,
		     LAB_VM_HEALTH_HUNG, LAB_VM_HEALTH_PAUSED };

/* --- the run ------------------------------------------------------------ */

/* The plan the lab realizes (never NULL). */
const struct plan *lab_plugin_plan(const struct lab *lab);
/* Record the error with context (`vm "a": ...`); lab_error() returns it. */
void lab_set_err(struct lab *lab, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One round of the lab's event loop: wait up to TIMEOUT_MS for console,
 * QMP and agent traffic, dispatch it and enforce boot deadlines. Anything
 * that waits for seconds must call this in its loop. 0 or negative errno
 * (lab_error() set) when a booting VM failed. */
int lab_poll(struct lab *lab, int timeout_ms);
/* Non-zero once a stop signal arrived (its number): a long wait gives up
 * with -EINTR. */
int lab_plugin_stop_requested(void);
/* The run's netlink handle in the run's namespace (valid between
 * lab_prepare() and lab_down(); NULL otherwise). Not to be closed. */
struct netns_link *lab_plugin_netlink(struct lab *lab);
/* The namespace uvmlab was started in (the host's, as far as the lab is
 * concerned), an open fd valid until lab_down(); -1 before the run's own
 * namespace exists. Not to be closed. */
int lab_plugin_host_netns(const struct lab *lab);
/* The K-th network namespace a started service owns (its netns_fd()), from
 * K = 0 on: an fd (not to be closed) with *NAME the service's name; -1 for a
 * service without one; -ENOENT past the last service. */
int lab_plugin_service_netns(const struct lab *lab, size_t k, const char **name);

/* --- host processes ------------------------------------------------------ */

/* Start ARGV (argv[0] an absolute path) in the background with stdout and
 * stderr to OUT_PATH (a fresh file), in its own process group, dying with
 * us. 0 with *PID, or negative errno. */
int lab_spawn(const char *const *argv, const char *out_path, pid_t *pid);
/* lab_spawn(), but the child first enters the network namespace NS_FD (-1:
 * stay) and APPEND keeps OUT_PATH's content. */
int lab_spawn_ns(int ns_fd, const char *const *argv, const char *out_path, int append, pid_t *pid);
/* Wait up to TIMEOUT_MS for PID; kill it after. Returns its exit code
 * (128+signal when killed), or -ETIMEDOUT if it had to be killed. */
int lab_reap(pid_t pid, int timeout_ms);
/* A program installed beside the uvmlab binary, into BUF (LEN bytes). */
void lab_sibling_path(const char *name, char *buf, size_t len);

/* --- VMs ------------------------------------------------------------------ */

size_t lab_plugin_vm_count(const struct lab *lab);
/* VM number I (plan order), or NULL when I is out of range. */
struct lab_vm *lab_plugin_vm(struct lab *lab, size_t i);
/* The VM called NAME, or NULL. */
struct lab_vm *lab_plugin_vm_find(struct lab *lab, const char *name);
struct lab *lab_plugin_vm_lab(const struct lab_vm *vm);
const char *lab_plugin_vm_name(const struct lab_vm *vm);
/* The VM's plan entry: role, NICs (tap names, addresses), scenario entry. */
const struct plan_vm *lab_plugin_vm_plan(const struct lab_vm *vm);
enum lab_vm_state lab_plugin_vm_state(const struct lab_vm *vm);
/* QEMU's pid while it runs, else 0. */
pid_t lab_plugin_vm_pid(const struct lab_vm *vm);
/* The VM's folder in the run's folder (its sockets live there). It is
 * created by lab_vm_start() and by whoever needs it earlier (mkdir -p). */
const char *lab_plugin_vm_dir(const struct lab_vm *vm);
/* The unprivileged id (uid = gid, no passwd entry) VM's QEMU runs as, and
 * the one the run's helpers (backends, fixtures) drop to once they opened
 * what they need. 0 before lab_up() leased them. A socket a VM's QEMU must
 * connect to is chowned to the VM's id, mode 0600; the VM's folder is
 * owner the VM's id, group the helpers' id, mode 0770. */
uint32_t lab_plugin_vm_uid(const struct lab_vm *vm);
uint32_t lab_plugin_helper_uid(const struct lab *lab);
/* The host name of NIC K's tap (as in the plan), or NULL past the last NIC. */
const char *lab_plugin_vm_tap(const struct lab_vm *vm, size_t k);

/* Run ARGV in VM NAME, read or write one of its files, through its agent:
 * lab_exec() and lab_read_file() in lab.h; these complete the set. */
/* Write DATA to PATH in VM through its agent. 0 or negative errno (lab->err set). */
int lab_write_file(struct lab *lab, const char *vm, const char *path, uint32_t mode,
		   const void *data, size_t len);
/* Pause (ON=1, QMP "stop") or resume (ON=0, QMP "cont") VM NAME. */
int lab_vm_pause(struct lab *lab, const char *name, int on);
/* Before a check that needs VM NAME: 0 when its QEMU process is alive and
 * not stopped, else -ECHILD (dead) or -ETIMEDOUT (hung) with lab_error()
 * `vm "b" is dead: QEMU (pid 412) died: killed by signal 9`. Names that are
 * no VM of the lab are left to the caller (0). */
int lab_health_require(struct lab *lab, const char *name);
/* After an operation WHAT (`check "a-b"`) failed: was it because a VM that
 * had come up died? Waits up to WAIT_MS for a QEMU that is exiting (its
 * sockets close a moment before it is a zombie), then -ECHILD with
 * lab_error() `vm "a": QEMU exited (killed by signal 9) during WHAT` for the
 * first dead VM, or 0 (lab_error() untouched) when all live. */
int lab_health_dead_during(struct lab *lab, const char *what, int wait_ms);

/* --- what roles record on a VM ----------------------------------------- */

/* The role's services are up on VM now: ends its boot timeline
 * ("services_ready" in result.json). */
void lab_plugin_vm_services_ready(struct lab_vm *vm);
/* Up to LAB_PLUGIN_MAX_MARKS role steps per VM, stamped now: PHASE names it
 * in the VM's boot.phases_ms; when SPAN_KEY is not NULL and the services
 * become ready, the VM's result entry also gets SPAN_KEY: the milliseconds
 * from this mark to services_ready. Both strings must outlive the lab
 * (literals). 0, or -ENOSPC when the VM has no free mark. */
#define LAB_PLUGIN_MAX_MARKS 4
int lab_plugin_vm_mark(struct lab_vm *vm, const char *phase, const char *span_key);
/* The guest probe is loaded in VM (set once, cleared when the VM restarts). */
int lab_plugin_vm_probe_started(const struct lab_vm *vm);
void lab_plugin_vm_set_probe_started(struct lab_vm *vm);
/* A router's filter. lab_plugin_vm_set_filter_ruleset() takes RULESET
 * (malloc'd, may be NULL: what the router's kernel read back, reported in
 * result.json) and frees the one before; lab_plugin_vm_set_filter_applied()
 * says the filter is in force (and forwarding on) from now: dependents of
 * the router may start. The VM frees the ruleset when it restarts or the lab
 * is destroyed. */
int lab_plugin_vm_filter_applied(const struct lab_vm *vm);
void lab_plugin_vm_set_filter_ruleset(struct lab_vm *vm, char *ruleset);
void lab_plugin_vm_set_filter_applied(struct lab_vm *vm);

/* One pointer per VM for its role's own state (NULL until set). FREE_FN,
 * when not NULL, frees it when the VM restarts or the lab is destroyed. */
void *lab_plugin_vm_role_state(const struct lab_vm *vm);
void lab_plugin_vm_set_role_state(struct lab_vm *vm, void *state, void (*free_fn)(void *));

/* --- host services ------------------------------------------------------ */

/* The state block of service OPS in this lab (OPS->state_size bytes,
 * zeroed then OPS->init()ed at lab_create()), or NULL when OPS is no
 * service of the lab's registry. Valid until lab_destroy(). */
void *lab_service_state(const struct lab *lab, const struct service_ops *ops);
/* Whether service OPS was wanted by this run's plan. */
int lab_service_wanted(const struct lab *lab, const struct service_ops *ops);

#endif
