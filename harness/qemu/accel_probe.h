/* SPDX-License-Identifier: MIT */
/* accel_probe.h: choose KVM or TCG, by booting a probe guest rather than trusting /dev/kvm.
 *
 * /dev/kvm existing is not enough: PVM hosts expose it but hang stock guest
 * kernels. `auto` boots the lab's own kernel under KVM and waits a few seconds
 * for the agent's init marker; the verdict is cached per host boot
 * (/proc/sys/kernel/random/boot_id) under the run root.
 */
#ifndef UVMLAB_ACCEL_PROBE_H
#define UVMLAB_ACCEL_PROBE_H

#include "qemu/qemu_argv.h"
#include "scenario/scenario.h"

struct accel_choice {
	enum qemu_accel_id id;
	enum scn_accel requested;
	int cached;             /* verdict came from the per-boot cache */
	char reason[256];
};

struct accel_probe_cfg {
	const char *qemu_bin;
	const char *kernel;
	const char *initrd;
	const char *cache_dir;  /* e.g. /run/uvmlab */
	int timeout_ms;         /* probe budget; 0 = default 5000 */
};

/* Decide. 0 with *OUT filled; -ENODEV when KVM was requested explicitly but
 * /dev/kvm cannot be opened (OUT->reason says why). */
int accel_probe_choose(enum scn_accel requested, const struct accel_probe_cfg *cfg,
		       struct accel_choice *out);

/* The probe itself (no cache): 1 if a guest reached init under KVM within
 * the budget, 0 if not, negative errno if it could not be tried. */
int accel_probe_kvm_boots(const struct accel_probe_cfg *cfg, char *why, size_t len);

#endif
