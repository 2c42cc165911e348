/* SPDX-License-Identifier: MIT */
/* lab.h: a live lab run: namespace, bridges, taps, one QEMU per VM, teardown.
 *
 * Life cycle: lab_create() → lab_up() → (lab_exec(), checks) → lab_down() →
 * lab_destroy(). lab_up() moves the calling process into a new network
 * namespace that only the run uses; it disappears when the last process in it
 * (this one and its QEMUs) exits, so even kill -9 leaves no link behind.
 * QEMU children die with their parent (PR_SET_PDEATHSIG). Before it starts
 * anything, lab_up() (and lab_prepare()) also moves the calling process into
 * the run's cgroup (lab/cgroup.h), so every process it starts is a member;
 * lab_down() moves it back out.
 */
#ifndef UVMLAB_LAB_H
#define UVMLAB_LAB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lab/agent_client.h"
#include "plan/plan.h"
#include "qemu/qemu_argv.h"

struct service_ops;

struct lab_opts {
	const char *results_root;  /* default "results" */
	const char *run_root;      /* default "/run/uvmlab" */
	const char *images_dir;    /* kernel, <role>.cpio, manifest.json */
	const char *qemu_bin;      /* default "qemu-system-x86_64" */
	int accel;                 /* -1: from scenario; else enum scn_accel */
	uint32_t boot_timeout_s;   /* 0: from plan/default */
	int timing_virtual;        /* guests under TCG -icount (qemu_accel.c) */
	/* host services (services/service.h); NULL: services_registry() */
	const struct service_ops *const *services;
	size_t n_services;
};

/* Set by the CLI's signal handler (the signal's number): lab_up() and long
 * waits give up with -EINTR, lab_supervise() returns. */
extern volatile sig_atomic_t lab_stop_flag;

/* Boot phases on the host's CLOCK_MONOTONIC, in order. */
enum lab_phase {
	LAB_PHASE_EXEC = 0,        /* exec of QEMU (the child's clock just before execve) */
	LAB_PHASE_QMP,             /* QMP greeting received */
	LAB_PHASE_CONSOLE,         /* first byte on the serial console */
	LAB_PHASE_INIT,            /* agent's init marker ('I' on isa-debugcon) */
	LAB_PHASE_AGENT,           /* agent HELLO received: the VM is ready */
	LAB_PHASE_COUNT,
};
const char *lab_phase_name(enum lab_phase p);

struct lab;

/* Derive run id and paths; nothing is created yet. 0 or negative errno. */
int lab_create(const struct plan *plan, const struct lab_opts *opts, struct lab **out);

const char *lab_run_id(const struct lab *lab);
const char *lab_results_dir(const struct lab *lab);
/* When lab_create() ran, "2026-12-02T01:02:03Z". */
const char *lab_started_at(const struct lab *lab);
/* The boot timeout in force (known once lab_prepare() chose the accel). */
uint32_t lab_boot_timeout_s(const struct lab *lab);
/* The last error with context, e.g. `vm "a": boot timed out after 120 s ...`. */
const char *lab_error(const struct lab *lab);

/* Everything lab_up() does before the first VM: choose the accel,
 * create folders, namespace and bridges. Used alone by benchmarks, which
 * then boot one fresh VM per sample. */
int lab_prepare(struct lab *lab);

/* Choose the accel, create the run's folders, namespace, bridges
 * and taps, start the VMs in dependency order (independent ones in parallel)
 * and wait until every agent said hello, each bounded by the boot timeout.
 * 0, -EINTR when a stop signal arrived, or another negative errno with
 * lab_error() set. On failure the caller still calls lab_down(). */
int lab_up(struct lab *lab);

/* What a VM's start was given (valid during the callback only). */
struct lab_boot_info {
	const struct plan_vm *vm;
	const char *kernel;        /* the kernel file booted */
	const char *initrd;        /* the role's image, before any padding */
	const char *cmdline;       /* the kernel command line */
	char *const *argv;         /* QEMU's argv, ARGC entries */
	size_t argc;
	const char *accel;         /* the accel's name ("tcg", "kvm") */
	uint64_t tsc_khz;
};
/* Turns a boot's inputs into the caller's parameter record (new reference). */
typedef json_t *(*lab_sample_params_fn)(const struct lab_boot_info *info);

/* Benchmarks, after lab_prepare(): boot VM number I (plan order) afresh
 * and return its timeline as a new sample object in *SAMPLE; the VM is
 * stopped and reset after. BARE=0: a managed boot ({"mode": "uvmlab",
 * "phases_ms": {...}, guest times, QEMU CPU}); while *PARAMS is still NULL
 * it gets PARAMS_FN's record of what the start was given. BARE=1: the
 * baseline, QEMU under /bin/sh with console and marker to files, timed
 * through the marker file ({"mode": "bare"}); PARAMS_FN and PARAMS are
 * unused (may be NULL). 0, -EINTR on a stop signal, or negative errno with
 * lab_error() set. */
int lab_sample_boot(struct lab *lab, size_t i, int bare, json_t **sample,
		    lab_sample_params_fn params_fn, json_t **params);

/* A request on the run's control socket (LAB_CONTROL_SOCK in the run dir),
 * e.g. from `uvmlab check`: FD is the connected client. While it runs the
 * VMs' agent connections are open (lab_exec() works); it must return promptly
 * once the client is gone. */
typedef void (*lab_control_fn)(struct lab *lab, int fd, void *arg);
#define LAB_CONTROL_SOCK "control.sock"

/* Keep logging consoles and watching QEMUs until a stop signal or a VM exits
 * (supervisor mode of `uvmlab up`). Closes the agent connections first so
 * `uvmlab exec` can connect, and reopens them only while FN serves a control
 * request (one at a time). 0 on stop signal, -ECHILD if a VM exited. */
int lab_supervise(struct lab *lab, lab_control_fn fn, void *arg);

/* Run ARGV in VM through its agent. See agent_conn_exec(). */
int lab_exec(struct lab *lab, const char *vm, const char *const *argv, uint32_t timeout_ms,
	     struct agent_exec_result *res);

/* Paths checks need: the images folder (host-side tools live there too) and
 * the run's state folder. */
const char *lab_images_dir(const struct lab *lab);
const char *lab_run_dir(const struct lab *lab);

/* Read a guest file through VM's agent (see agent_conn_read_file()). */
int lab_read_file(struct lab *lab, const char *vm, const char *path, uint8_t **data, size_t *len);

/* Verify that every VM that came up is still alive and answering: its QEMU
 * process exists and is not stopped, QMP query-status says "running", and
 * the agent runs `true` (each bounded by a few seconds); and that every host
 * service the run started with a health hook (services/service.h) is alive
 * and answering. Call after the checks and before lab_down(); what was found
 * becomes the VM's state in lab_vms_json() ("dead", "hung", "paused"). 0
 * when every VM is; else -ECHILD (a VM died), -ETIMEDOUT (hung or paused)
 * or -EPIPE (a host service is gone) with lab_error() naming every bad VM
 * and service. */
int lab_verify_alive(struct lab *lab);

/* Tests only: UVMLAB_TEST_FAULT_AFTER_CHECKS=VM:KILL or VM:STOP sends
 * SIGKILL or SIGSTOP to VM's QEMU once the checks are done, so a test can
 * show that a VM lost after its checks fails the run. 0 when unset, 1 when
 * a fault was injected, negative errno for a bad value (lab_error() set). */
int lab_test_fault_after_checks(struct lab *lab);

/* Stop every QEMU (QMP quit, then SIGKILL), close everything, kill whatever
 * is still in the run's cgroup and remove it, remove the run's state folder.
 * Safe to call more than once and after a failed lab_up(). */
int lab_down(struct lab *lab);

/* Result pieces for result.json: the accel block, the VMs array (argv,
 * NICs, boot timeline) and image manifest. New references. */
json_t *lab_accel_json(const struct lab *lab);
json_t *lab_vms_json(const struct lab *lab);
json_t *lab_images_json(const struct lab *lab);
json_t *lab_host_json(const struct lab *lab);
/* The run's cgroup for result.json: {"dirs": [leaf, ...], "limits": {...}}
 * (empty when the host gave none). */
json_t *lab_cgroup_json(const struct lab *lab);

/* Give the lab up without tearing it down (another process, the
 * supervisor, owns it now): lab_down() and lab_destroy() then only free. */
void lab_disown(struct lab *lab);

/* lab_down() if needed, then free; NULL is fine. */
void lab_destroy(struct lab *lab);

#endif
