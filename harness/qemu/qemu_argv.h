/* SPDX-License-Identifier: MIT */
/* qemu_argv.h: the QEMU command line for one lab VM.
 *
 * The argv is a pure function of a qemu_vm_spec, so unit tests pin it down
 * without starting anything. Machine types and accelerators are variants
 * picked through ops tables (qemu_machine.c, qemu_accel.c).
 */
#ifndef UVMLAB_QEMU_ARGV_H
#define UVMLAB_QEMU_ARGV_H

#include <stddef.h>
#include <stdint.h>

#include "plan/plan.h"

/* A NULL-terminated, owned argv. */
struct qemu_argv {
	char **v;
	size_t n;
	size_t cap;
};

int qemu_argv_add(struct qemu_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qemu_argv_release(struct qemu_argv *a);
/* Join with spaces (no quoting: for logs), malloc'd. */
char *qemu_argv_join(const struct qemu_argv *a);
/* Index of the first element equal to S, or -1 (tests). */
int qemu_argv_find(const struct qemu_argv *a, const char *s);

/* Machine type variant. */
struct qemu_machine_ops {
	enum scn_machine id;        /* its name: scn_machine_name(id) */
	/* -machine value */
	const char *machine_arg;
	/* suffix of virtio devices: "device" (virtio-mmio) or "pci" */
	const char *virtio_bus;
	/* extra kernel command line for this machine, may be "" */
	const char *cmdline;
};
const struct qemu_machine_ops *qemu_machine_get(enum scn_machine id);

/* Accelerator variant. */
/* QEMU_ACCEL_TCG_ICOUNT is TCG in virtual time (--timing virtual): never a
 * probe's choice, only what a lab on TCG switches to when asked. */
enum qemu_accel_id { QEMU_ACCEL_TCG = 0, QEMU_ACCEL_KVM, QEMU_ACCEL_TCG_ICOUNT };
/* The guest TSC rate under -icount: one tick per virtual nanosecond. */
#define QEMU_ICOUNT_TSC_KHZ 1000000u
struct qemu_accel_ops {
	enum qemu_accel_id id;
	const char *name;
	/* append -accel/-cpu arguments */
	int (*add_args)(struct qemu_argv *a);
	/* extra kernel command line (e.g. tsc_early_khz under TCG); TSC_KHZ may be 0 */
	int (*add_cmdline)(char *buf, size_t len, uint64_t tsc_khz);
};
const struct qemu_accel_ops *qemu_accel_get(enum qemu_accel_id id);

/* A vhost-user device whose backend is a host daemon: chardev id KIND on
 * SOCK (the daemon listens), device vhost-user-KIND-<bus>. */
#define QEMU_MAX_VHOST_USER 4
struct qemu_vhost_user_dev {
	const char *kind;          /* "vsock": also the chardev id */
	const char *sock;
};

/* Everything the argv depends on. Paths are of the live run. */
struct qemu_vm_spec {
	const struct plan_vm *vm;
	const struct plan *plan;
	const struct qemu_machine_ops *machine;
	const struct qemu_accel_ops *accel;
	const char *qemu_bin;
	const char *kernel;
	const char *initrd;
	const char *qmp_sock;      /* we listen, QEMU connects */
	const char *console_sock;  /* we listen, QEMU connects */
	const char *marker_sock;   /* we listen, QEMU connects (isa-debugcon) */
	const char *agent_sock;    /* QEMU listens, agent clients connect */
	int tap_fds[PLAN_MAX_NICS];/* inherited tap fds, one per NIC */
	uint64_t tsc_khz;
	const char *extra_cmdline; /* appended last; may be NULL */
	/* vhost-user devices, added by host services (service.h vm_argv);
	 * with any, guest RAM is a shared memfd the backends map */
	struct qemu_vhost_user_dev vhost_user[QEMU_MAX_VHOST_USER];
	size_t n_vhost_user;
	int console;               /* 1: kernel console on ttyS0; 0: quiet, no console */
	int bare;                  /* 1: no QMP, console and marker to plain files (the
	                            * *_sock paths), as a shell script would start QEMU:
	                            * the baseline for uvmlab's own overhead */
};

/* The agent's boot markers ('I' init start, 'R' ready) go to an isa-debugcon
 * at this I/O port. Not 0x402: SeaBIOS (pc, q35) writes its debug log there,
 * and its text would be taken for markers. */
#define QEMU_MARKER_PORT 0x5f0

/* The -sandbox value every QEMU uvmlab starts carries (QEMU 7.2 syntax). */
#define QEMU_SANDBOX_ARG "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

/* Add a vhost-user device (KIND and SOCK must outlive S's use). 0, or
 * -ENOSPC past QEMU_MAX_VHOST_USER. */
int qemu_argv_spec_vhost_user(struct qemu_vm_spec *s, const char *kind, const char *sock);

/* Build the kernel command line into BUF. 0 or -ENAMETOOLONG. */
int qemu_cmdline_build(const struct qemu_vm_spec *s, char *buf, size_t len);
/* Build the full argv (argv[0] = qemu_bin). 0 or negative errno. */
int qemu_argv_build(const struct qemu_vm_spec *s, struct qemu_argv *out);

#endif
