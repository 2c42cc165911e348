/* SPDX-License-Identifier: MIT */
/* qemu_machine.c: machine type variants (microvm, q35, pc). */
#include "qemu/qemu_argv.h"

#include <stddef.h>

/* microvm: no PCI, virtio-mmio devices described to the guest by ACPI, an
 * ISA bus for the serial console and the debugcon boot marker. Under TCG its
 * boots hang in a fraction of runs when the kernel cannot calibrate the TSC
 * (no PIT/HPET reference); the TCG accelerator passes tsc_early_khz to avoid
 * it (qemu_accel.c). */
static const struct qemu_machine_ops qemu_machine_microvm = {
	.id = SCN_MACHINE_MICROVM,
	.machine_arg = "microvm,rtc=on",
	.virtio_bus = "device",
	.cmdline = "",
};

static const struct qemu_machine_ops qemu_machine_q35 = {
	.id = SCN_MACHINE_Q35,
	.machine_arg = "q35",
	.virtio_bus = "pci",
	.cmdline = "",
};

static const struct qemu_machine_ops qemu_machine_pc = {
	.id = SCN_MACHINE_PC,
	.machine_arg = "pc",
	.virtio_bus = "pci",
	.cmdline = "",
};

static const struct qemu_machine_ops *const qemu_machines[] = {
	&qemu_machine_microvm,
	&qemu_machine_q35,
	&qemu_machine_pc,
};

const struct qemu_machine_ops *qemu_machine_get(enum scn_machine id)
{
	size_t i;

	for (i = 0; i < sizeof(qemu_machines) / sizeof(qemu_machines[0]); i++)
		if (qemu_machines[i]->id == id)
			return qemu_machines[i];
	return NULL;
}
