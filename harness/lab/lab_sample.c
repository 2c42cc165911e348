/* SPDX-License-Identifier: MIT */
/* lab_sample.c: one fresh boot of one VM as a benchmark sample: its timeline, managed or bare. */
#include "lab/lab_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "roles/role.h"

static double lab_sample_ms(uint64_t t, uint64_t t0)
{
	return t && t0 ? (double)(t - t0) / 1e6 : -1.0;
}

/* What the VM's start was given, for the caller's parameter record. */
static json_t *lab_sample_params(const struct lab_vm *vm, lab_sample_params_fn fn)
{
	char kernel[1200], initrd[1200];
	struct lab_boot_info info;

	lab_vm_kernel_path(vm, kernel, sizeof(kernel));
	snprintf(initrd, sizeof(initrd), "%s/%s.cpio", vm->lab->images_dir, role_get(vm->pvm->role)->image);
	info = (struct lab_boot_info){ .vm = vm->pvm, .kernel = kernel, .initrd = initrd,
		.cmdline = vm->cmdline, .argv = vm->argv.v, .argc = vm->argv.n,
		.accel = vm->lab->accel_ops->name, .tsc_khz = vm->lab->tsc_khz };
	return fn(&info);
}

static int lab_sample_managed(struct lab *lab, struct lab_vm *vm, json_t **out,
			      lab_sample_params_fn params_fn, json_t **params)
{
	uint64_t t0;
	json_t *ph;
	int ret = 0, p;

	lab_vm_reset(vm);
	vm->bare = 0;
	ret = lab_vm_start(vm);
	while (!ret && vm->state == LAB_VM_BOOTING) {
		if (lab_stop_flag) {
			lab_set_err(lab, "interrupted by signal %d (%s)", (int)lab_stop_flag, strsignal((int)lab_stop_flag));
			ret = -EINTR;
			break;
		}
		ret = lab_poll(lab, 50);
	}
	if (!ret && vm->state != LAB_VM_READY)
		ret = -EIO;
	if (ret < 0) {
		lab_vm_reset(vm);
		return ret;
	}
	t0 = vm->t[LAB_PHASE_EXEC];
	ph = json_object();
	for (p = LAB_PHASE_QMP; p < LAB_PHASE_COUNT; p++)
		json_object_set_new(ph, lab_phase_name((enum lab_phase)p),
				    json_real(lab_sample_ms(vm->t[p], t0)));
	json_object_set_new(ph, "ready_marker", json_real(lab_sample_ms(vm->t_ready_marker, t0)));
	*out = json_pack("{s:s,s:o,s:f,s:f,s:{s:I,s:I}}", "mode", "uvmlab", "phases_ms", ph,
		"guest_init_ms", (double)vm->hello.boottime_init_ns / 1e6,
		"guest_ready_ms", (double)vm->hello.boottime_ready_ns / 1e6,
		"qemu_cpu_ms", "user", (json_int_t)vm->cpu_user_ms, "sys", (json_int_t)vm->cpu_sys_ms);
	if (params_fn && params && !*params)
		*params = lab_sample_params(vm, params_fn); /* while the argv of a real start exists */
	lab_vm_reset(vm);
	return 0;
}

/* The baseline: QEMU under /bin/sh, console and marker to files; we only
 * watch the marker file for 'I' and 'R' (2 ms polling resolution). */
static int lab_sample_bare(struct lab *lab, struct lab_vm *vm, json_t **out)
{
	struct timespec nap = { 0, 2 * 1000 * 1000 };
	uint64_t t_init = 0, t_ready = 0, t0, deadline;
	int fd = -1, ret, st;
	char buf[64];

	lab_vm_reset(vm);
	vm->bare = 1;
	ret = lab_vm_start(vm);
	vm->bare = 0;
	if (ret < 0) {
		lab_vm_reset(vm);
		return ret;
	}
	t0 = vm->t[LAB_PHASE_EXEC];
	deadline = vm->deadline;
	while (!t_ready) {
		uint64_t now = util_mono_ns();
		ssize_t n;

		if (lab_stop_flag || now >= deadline || waitpid(vm->pid, &st, WNOHANG) == vm->pid) {
			if (now >= deadline)
				lab_set_err(lab, "vm \"%s\" (bare QEMU): no ready marker within %u s",
					    vm->pvm->name, lab->boot_timeout_s);
			else if (lab_stop_flag)
				lab_set_err(lab, "interrupted by signal %d (%s)", (int)lab_stop_flag, strsignal((int)lab_stop_flag));
			else {
				vm->pid = 0;
				lab_set_err(lab, "vm \"%s\" (bare QEMU) exited during boot (see %s)",
					    vm->pvm->name, vm->qemu_log);
			}
			ret = lab_stop_flag ? -EINTR : -EIO;
			break;
		}
		if (fd < 0)
			fd = open(vm->mark_path, O_RDONLY | O_CLOEXEC);
		while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
			now = util_mono_ns();
			if (memchr(buf, 'I', (size_t)n) && !t_init)
				t_init = now;
			if (memchr(buf, 'R', (size_t)n))
				t_ready = now;
		}
		if (!t_ready)
			nanosleep(&nap, NULL);
	}
	if (fd >= 0)
		close(fd);
	if (!ret) {
		util_proc_cpu_ms(vm->pid, &vm->cpu_user_ms, &vm->cpu_sys_ms);
		*out = json_pack("{s:s,s:{s:f,s:f},s:{s:I,s:I}}", "mode", "bare",
			"phases_ms", "init_start", lab_sample_ms(t_init, t0),
			"ready_marker", lab_sample_ms(t_ready, t0),
			"qemu_cpu_ms", "user", (json_int_t)vm->cpu_user_ms, "sys", (json_int_t)vm->cpu_sys_ms);
	}
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, &st, 0);
		vm->pid = 0;
	}
	unlink(vm->con_path);
	unlink(vm->mark_path);
	lab_vm_reset(vm);
	return ret;
}

int lab_sample_boot(struct lab *lab, size_t i, int bare, json_t **sample,
		    lab_sample_params_fn params_fn, json_t **params)
{
	if (i >= lab->n_vms)
		return -ENOENT;
	return bare ? lab_sample_bare(lab, &lab->vms[i], sample) :
		      lab_sample_managed(lab, &lab->vms[i], sample, params_fn, params);
}
