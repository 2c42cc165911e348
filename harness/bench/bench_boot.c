/* SPDX-License-Identifier: MIT */
/* bench_boot.c: boot-latency benchmark: a fresh VM per sample, raw samples kept. */
#include "bench/bench_boot.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab/lab_internal.h"
#include "bench/stats.h"
#include "base/util.h"

/* Segments between consecutive phases: where boot time goes. */
static const struct {
	const char *name;
	const char *from, *to;
} bench_boot_segments[] = {
	{ "qemu_start", NULL, "qmp_greeting" },             /* QEMU's own init */
	{ "firmware", "qmp_greeting", "console_first_byte" },/* firmware + decompressor */
	{ "kernel", "console_first_byte", "init_start" },    /* kernel to the first user instruction */
	{ "agent", "init_start", "agent_ready" },            /* modules, network, port, hello */
};

static double bench_boot_ms(uint64_t t, uint64_t t0)
{
	return t && t0 ? (double)(t - t0) / 1e6 : -1.0;
}

static json_t *bench_boot_params(const struct lab_vm *vm)
{
	const struct scn_vm *sv = vm->pvm->scn;
	char kernel[1200], initrd[1200], ksum[65] = "", isum[65] = "";
	struct stat st;
	int pvh = sv->has_boot ? sv->boot == SCN_BOOT_PVH : sv->kernel == SCN_KERNEL_LAB;
	json_t *argv = json_array();
	size_t i;

	lab_vm_kernel_path(vm, kernel, sizeof(kernel));
	snprintf(initrd, sizeof(initrd), "%s/%s.cpio", vm->lab->images_dir, scn_role_name(vm->pvm->role));
	util_sha256_file(kernel, ksum);
	util_sha256_file(initrd, isum);
	for (i = 0; i < vm->argv.n; i++)
		json_array_append_new(argv, json_string(vm->argv.v[i]));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:i,s:b,s:i,s:i,s:s,s:s,s:I,s:s,s:o}",
		"machine", scn_machine_name(vm->pvm->machine),
		"kernel", scn_kernel_name(sv->kernel), "kernel_path", kernel, "kernel_sha256", ksum,
		"boot_protocol", pvh ? "pvh" : "bzimage",
		"initramfs_bytes", (json_int_t)(stat(initrd, &st) == 0 ? st.st_size : 0) +
			(json_int_t)sv->initramfs_pad_mib * (1 << 20),
		"initramfs_sha256", isum, "initramfs_pad_mib", (int)sv->initramfs_pad_mib,
		"console", sv->console == SCN_CONSOLE_ON,
		"memory_mib", (int)vm->pvm->memory_mib, "vcpus", (int)vm->pvm->vcpus,
		"accelerator", vm->lab->accel_ops->name, "cmdline", vm->cmdline,
		"tsc_khz", (json_int_t)vm->lab->tsc_khz, "role", scn_role_name(vm->pvm->role),
		"argv", argv);
}

static int bench_boot_managed(struct lab *lab, struct lab_vm *vm, json_t **out, json_t **params)
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
				    json_real(bench_boot_ms(vm->t[p], t0)));
	json_object_set_new(ph, "ready_marker", json_real(bench_boot_ms(vm->t_ready_marker, t0)));
	*out = json_pack("{s:s,s:o,s:f,s:f,s:{s:I,s:I}}", "mode", "uvmlab", "phases_ms", ph,
		"guest_init_ms", (double)vm->hello.boottime_init_ns / 1e6,
		"guest_ready_ms", (double)vm->hello.boottime_ready_ns / 1e6,
		"qemu_cpu_ms", "user", (json_int_t)vm->cpu_user_ms, "sys", (json_int_t)vm->cpu_sys_ms);
	if (!*params)
		*params = bench_boot_params(vm); /* while the argv of a real start exists */
	lab_vm_reset(vm);
	return 0;
}

/* The baseline: QEMU under /bin/sh, console and marker to files; we only
 * watch the marker file for 'I' and 'R' (2 ms polling resolution). */
static int bench_boot_bare(struct lab *lab, struct lab_vm *vm, json_t **out)
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
			"phases_ms", "init_start", bench_boot_ms(t_init, t0),
			"ready_marker", bench_boot_ms(t_ready, t0),
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

/* Median, CI and CV per phase over the measured (non-warmup) samples. */
static json_t *bench_boot_summary(json_t *samples)
{
	static const char *const keys[] = { "qmp_greeting", "console_first_byte", "init_start",
					     "ready_marker", "agent_ready" };
	json_t *sum = json_object(), *segs = json_object(), *s;
	double *x = calloc(json_array_size(samples) + 1, sizeof(double));
	double best = -1, prev_med = 0;
	const char *bottleneck = NULL;
	size_t k, i, n;

	if (!x)
		return sum;
	for (k = 0; k < UTIL_ARRAY_SIZE(keys); k++) {
		struct stats_summary st;

		n = 0;
		json_array_foreach(samples, i, s) {
			json_t *v = json_object_get(json_object_get(s, "phases_ms"), keys[k]);

			if (json_is_true(json_object_get(s, "warmup")) || !json_is_number(v))
				continue;
			x[n++] = json_number_value(v);
		}
		if (stats_summarize(x, n, &st) < 0)
			continue;
		json_object_set_new(sum, keys[k], json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f}",
			"n", (json_int_t)st.n, "median", st.median, "ci_lo", st.ci_lo, "ci_hi", st.ci_hi,
			"mean", st.mean, "cv", st.cv, "min", st.min, "max", st.max));
	}
	for (k = 0; k < UTIL_ARRAY_SIZE(bench_boot_segments); k++) {
		json_t *to = json_object_get(sum, bench_boot_segments[k].to);
		double med, d;

		if (!to)
			continue;
		med = json_real_value(json_object_get(to, "median"));
		d = med - prev_med;
		prev_med = med;
		json_object_set_new(segs, bench_boot_segments[k].name, json_real(d));
		if (d > best) {
			best = d;
			bottleneck = bench_boot_segments[k].name;
		}
	}
	json_object_set_new(sum, "segments_median_ms", segs);
	if (bottleneck)
		json_object_set_new(sum, "bottleneck", json_string(bottleneck));
	free(x);
	return sum;
}

int bench_boot_run(struct lab *lab, const struct bench_boot_opts *o, json_t **metrics)
{
	size_t nvm = lab->n_vms, i, r, rounds = o->warmup + o->repeat;
	json_t **samples = calloc(nvm + 1, sizeof(json_t *)), **bare = calloc(nvm + 1, sizeof(json_t *));
	json_t **params = calloc(nvm + 1, sizeof(json_t *));
	json_t *out = json_array();
	int ret = 0;

	if (!samples || !bare || !params || !out) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < nvm; i++) {
		samples[i] = json_array();
		bare[i] = json_array();
	}
	for (r = 0; r < rounds && !ret; r++) {
		for (i = 0; i < nvm && !ret; i++) {
			/* rotate the order each round: no configuration always goes first */
			size_t v = (i + r) % nvm;
			struct lab_vm *vm = &lab->vms[v];
			json_t *smp = NULL;

			util_progress("round %zu/%zu%s: %s", r + 1, rounds, r < o->warmup ? " (warmup)" : "",
				      vm->pvm->name);
			ret = bench_boot_managed(lab, vm, &smp, &params[v]);
			if (!ret) {
				json_object_set_new(smp, "round", json_integer((json_int_t)r));
				json_object_set_new(smp, "warmup", json_boolean(r < o->warmup));
				json_array_append_new(samples[v], smp);
			}
			if (!ret && o->bare) {
				smp = NULL;
				ret = bench_boot_bare(lab, vm, &smp);
				if (!ret) {
					json_object_set_new(smp, "round", json_integer((json_int_t)r));
					json_object_set_new(smp, "warmup", json_boolean(r < o->warmup));
					json_array_append_new(bare[v], smp);
				}
			}
		}
	}
	if (ret)
		goto cleanup;
	for (i = 0; i < nvm; i++) {
		struct lab_vm *vm = &lab->vms[i];
		json_t *m;

		m = json_pack("{s:s,s:s,s:O,s:O,s:o}", "name", "boot", "vm", vm->pvm->name,
			      "params", params[i], "samples", samples[i],
			      "summary", bench_boot_summary(samples[i]));
		if (o->bare) {
			json_t *b = json_pack("{s:O,s:o}", "samples", bare[i], "summary",
					      bench_boot_summary(bare[i]));
			json_t *ms = json_object_get(json_object_get(json_object_get(m, "summary"),
								      "ready_marker"), "median");
			json_t *bs = json_object_get(json_object_get(json_object_get(b, "summary"),
								      "ready_marker"), "median");

			if (ms && bs && json_real_value(bs) > 0)
				json_object_set_new(m, "overhead_ratio",
						    json_real(json_real_value(ms) / json_real_value(bs)));
			json_object_set_new(m, "bare", b);
		}
		json_array_append_new(out, m);
	}
	*metrics = out;
	out = NULL;
cleanup:
	for (i = 0; samples && bare && params && i < nvm; i++) {
		json_decref(samples[i]);
		json_decref(bare[i]);
		json_decref(params[i]);
	}
	free(params);
	free(samples);
	free(bare);
	json_decref(out);
	return ret;
}

void bench_boot_print(FILE *f, json_t *metrics)
{
	size_t i;
	json_t *m;

	fprintf(f, "%-20s %-8s %-6s %-7s %10s %19s %6s %10s  %s\n", "CONFIG", "MACHINE", "KERNEL",
		"BOOT", "READY ms", "95% CI", "CV", "UVMLAB/BARE", "BOTTLENECK");
	json_array_foreach(metrics, i, m) {
		json_t *p = json_object_get(m, "params");
		json_t *sum = json_object_get(m, "summary");
		json_t *ready = json_object_get(sum, "agent_ready");
		char ratio[16] = "-";

		if (json_object_get(m, "overhead_ratio"))
			snprintf(ratio, sizeof(ratio), "%.3f",
				 json_real_value(json_object_get(m, "overhead_ratio")));
		fprintf(f, "%-20s %-8s %-6s %-7s %10.0f %9.0f..%-9.0f %5.1f%% %10s  %s\n",
			json_string_value(json_object_get(m, "vm")),
			json_string_value(json_object_get(p, "machine")),
			json_string_value(json_object_get(p, "kernel")),
			json_string_value(json_object_get(p, "boot_protocol")),
			json_real_value(json_object_get(ready, "median")),
			json_real_value(json_object_get(ready, "ci_lo")),
			json_real_value(json_object_get(ready, "ci_hi")),
			100 * json_real_value(json_object_get(ready, "cv")), ratio,
			json_string_value(json_object_get(sum, "bottleneck")) ?: "-");
	}
}
