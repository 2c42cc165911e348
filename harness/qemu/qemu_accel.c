/* SPDX-License-Identifier: MIT */
/* qemu_accel.c: accelerator variants (TCG emulation, KVM). */
#include "qemu/qemu_argv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

static int qemu_accel_tcg_args(struct qemu_argv *a)
{
	int ret = qemu_argv_add(a, "-accel");

	return ret ? ret : qemu_argv_add(a, "tcg");
}

/* Telling the kernel the TSC rate skips PIT calibration, which under TCG
 * sometimes never completes on microvm (measured: 7 of 30 boots hung with a
 * minimal kernel, ~1 in 9 with Debian's; 0 of 30 with tsc_early_khz). Under
 * TCG the guest TSC is the host's, so it is the one clock the guest can
 * trust: its other ones count timer interrupts, which an emulated vCPU takes
 * late or merges. tsc=reliable keeps the kernel's watchdog from comparing the
 * TSC with those and throwing it out ("skew too large", then
 * refined-jiffies: guest time ran 1.35x fast on an idle host, 3x slow on a
 * loaded one); with it the guest clock keeps the host's rate within 1% once
 * the TSC clocksource is registered (functional/test_guest_clock.py). Time
 * before that (the first ~2 s of guest time with Debian's kernel) still
 * counts jiffies. */
static int qemu_accel_tcg_cmdline(char *buf, size_t len, uint64_t tsc_khz)
{
	int n;

	if (!tsc_khz) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	n = snprintf(buf, len, "tsc_early_khz=%" PRIu64 " tsc=reliable", tsc_khz);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Virtual time: TCG counting instructions (-icount). shift=0 makes every
 * guest instruction 1 ns of virtual time; sleep=off lets an idle vCPU jump
 * to its next timer instead of waiting for the host clock, and align=off
 * never slows the guest to wall-clock speed. Guest time then depends on what
 * the guest executes, not on how busy the host is: boot phases measured on
 * the guest's clock repeat across runs on a loaded machine. -icount makes
 * TCG single-threaded (it is incompatible with MTTCG). */
#define QEMU_ICOUNT_SHIFT 0
static int qemu_accel_icount_args(struct qemu_argv *a)
{
	int ret = qemu_accel_tcg_args(a);

	if (!ret)
		ret = qemu_argv_add(a, "-icount");
	if (!ret)
		ret = qemu_argv_add(a, "shift=%d,align=off,sleep=off", QEMU_ICOUNT_SHIFT);
	return ret;
}

/* Under -icount the guest TSC counts virtual nanoseconds (QEMU's elapsed
 * ticks are the instruction counter's clock): 1 GHz, whatever the host's
 * rate. The kernel is told so, and to trust it, as under plain TCG. */
static int qemu_accel_icount_cmdline(char *buf, size_t len, uint64_t tsc_khz)
{
	(void)tsc_khz;
	return qemu_accel_tcg_cmdline(buf, len, QEMU_ICOUNT_TSC_KHZ);
}

static int qemu_accel_kvm_args(struct qemu_argv *a)
{
	int ret = qemu_argv_add(a, "-accel");

	if (!ret)
		ret = qemu_argv_add(a, "kvm");
	if (!ret)
		ret = qemu_argv_add(a, "-cpu");
	if (!ret)
		ret = qemu_argv_add(a, "host");
	return ret;
}

/* Under KVM the kernel reads the TSC rate from KVM's paravirt clock. */
static int qemu_accel_kvm_cmdline(char *buf, size_t len, uint64_t tsc_khz)
{
	(void)tsc_khz;
	if (len)
		buf[0] = '\0';
	return 0;
}

static const struct qemu_accel_ops qemu_accel_tcg = {
	.id = QEMU_ACCEL_TCG,
	.name = "tcg",
	.add_args = qemu_accel_tcg_args,
	.add_cmdline = qemu_accel_tcg_cmdline,
};

static const struct qemu_accel_ops qemu_accel_icount = {
	.id = QEMU_ACCEL_TCG_ICOUNT,
	.name = "tcg-icount",
	.add_args = qemu_accel_icount_args,
	.add_cmdline = qemu_accel_icount_cmdline,
};

static const struct qemu_accel_ops qemu_accel_kvm = {
	.id = QEMU_ACCEL_KVM,
	.name = "kvm",
	.add_args = qemu_accel_kvm_args,
	.add_cmdline = qemu_accel_kvm_cmdline,
};

static const struct qemu_accel_ops *const qemu_accels[] = {
	&qemu_accel_tcg,
	&qemu_accel_kvm,
	&qemu_accel_icount,
};

const struct qemu_accel_ops *qemu_accel_get(enum qemu_accel_id id)
{
	size_t i;

	for (i = 0; i < sizeof(qemu_accels) / sizeof(qemu_accels[0]); i++)
		if (qemu_accels[i]->id == id)
			return qemu_accels[i];
	return NULL;
}
