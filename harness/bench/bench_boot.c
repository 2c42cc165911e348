/* SPDX-License-Identifier: MIT */
/* bench_boot.c: boot-latency benchmark: a fresh VM per sample, raw samples kept. */
#include "bench/bench_boot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lab/lab_plugin.h"
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

/* The parameters that shaped a VM's boot samples. */
static json_t *bench_boot_params(const struct lab_boot_info *b)
{
	const struct scn_vm *sv = b->vm->scn;
	char ksum[65] = "", isum[65] = "";
	struct stat st;
	int pvh = sv->has_boot ? sv->boot == SCN_BOOT_PVH : sv->kernel == SCN_KERNEL_LAB;
	json_t *argv = json_array();
	size_t i;

	util_sha256_file(b->kernel, ksum);
	util_sha256_file(b->initrd, isum);
	for (i = 0; i < b->argc; i++)
		json_array_append_new(argv, json_string(b->argv[i]));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:i,s:b,s:i,s:i,s:s,s:s,s:I,s:s,s:o}",
		"machine", scn_machine_name(b->vm->machine),
		"kernel", scn_kernel_name(sv->kernel), "kernel_path", b->kernel, "kernel_sha256", ksum,
		"boot_protocol", pvh ? "pvh" : "bzimage",
		"initramfs_bytes", (json_int_t)(stat(b->initrd, &st) == 0 ? st.st_size : 0) +
			(json_int_t)sv->initramfs_pad_mib * (1 << 20),
		"initramfs_sha256", isum, "initramfs_pad_mib", (int)sv->initramfs_pad_mib,
		"console", sv->console == SCN_CONSOLE_ON,
		"memory_mib", (int)b->vm->memory_mib, "vcpus", (int)b->vm->vcpus,
		"accelerator", b->accel, "cmdline", b->cmdline,
		"tsc_khz", (json_int_t)b->tsc_khz, "role", scn_role_name(b->vm->role),
		"argv", argv);
}

static json_t *bench_boot_stats_json(const struct stats_summary *st)
{
	return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f}",
		"n", (json_int_t)st->n, "median", st->median, "ci_lo", st->ci_lo, "ci_hi", st->ci_hi,
		"mean", st->mean, "cv", st->cv, "min", st->min, "max", st->max);
}

/* The same phases on the guest's own clock (CLOCK_BOOTTIME, counted from the
 * kernel's clock start): the agent's start and its ready. Under --timing
 * virtual that clock is QEMU's instruction counter, so these repeat where
 * the host-side phases wobble with the host's load. */
static json_t *bench_boot_guest_summary(json_t *samples, double *x)
{
	static const struct { const char *key, *name; } keys[] = {
		{ "guest_init_ms", "init_start" }, { "guest_ready_ms", "agent_ready" },
	};
	json_t *g = json_object(), *s;
	double med[2] = { 0, 0 };
	size_t k, i, n;

	for (k = 0; k < UTIL_ARRAY_SIZE(keys); k++) {
		struct stats_summary st;

		n = 0;
		json_array_foreach(samples, i, s) {
			json_t *v = json_object_get(s, keys[k].key);

			if (json_is_true(json_object_get(s, "warmup")) || !json_is_number(v) ||
			    json_number_value(v) <= 0)
				continue;
			x[n++] = json_number_value(v);
		}
		if (stats_summarize(x, n, &st) < 0) {
			json_decref(g);
			return NULL;
		}
		med[k] = st.median;
		json_object_set_new(g, keys[k].name, bench_boot_stats_json(&st));
	}
	json_object_set_new(g, "segments_median_ms", json_pack("{s:f,s:f}", "kernel", med[0],
							       "agent", med[1] - med[0]));
	return g;
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
		json_object_set_new(sum, keys[k], bench_boot_stats_json(&st));
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
	s = bench_boot_guest_summary(samples, x);
	if (s)
		json_object_set_new(sum, "guest_clock", s);
	free(x);
	return sum;
}

int bench_boot_run(struct lab *lab, const struct bench_boot_opts *o, json_t **metrics)
{
	size_t nvm = lab_plugin_vm_count(lab), i, r, rounds = o->warmup + o->repeat;
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
			const char *name = lab_plugin_vm_name(lab_plugin_vm(lab, v));
			json_t *smp = NULL;

			util_progress("round %zu/%zu%s: %s", r + 1, rounds, r < o->warmup ? " (warmup)" : "",
				      name);
			ret = lab_sample_boot(lab, v, 0, &smp, bench_boot_params, &params[v]);
			if (!ret) {
				json_object_set_new(smp, "round", json_integer((json_int_t)r));
				json_object_set_new(smp, "warmup", json_boolean(r < o->warmup));
				json_array_append_new(samples[v], smp);
			}
			if (!ret && o->bare) {
				smp = NULL;
				ret = lab_sample_boot(lab, v, 1, &smp, NULL, NULL);
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
		json_t *m;

		m = json_pack("{s:s,s:s,s:O,s:O,s:o}", "name", "boot", "vm",
			      lab_plugin_vm_name(lab_plugin_vm(lab, i)),
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
	int guest = 0;

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
		guest |= json_object_get(sum, "guest_clock") != NULL;
	}
	if (!guest)
		return;
	/* the guest's own clock: virtual time under --timing virtual */
	fprintf(f, "\n%-20s %12s %7s %14s %7s   (guest clock, from kernel start)\n", "CONFIG",
		"INIT ms", "CV", "READY ms", "CV");
	json_array_foreach(metrics, i, m) {
		json_t *g = json_object_get(json_object_get(m, "summary"), "guest_clock");
		json_t *in = json_object_get(g, "init_start"), *rd = json_object_get(g, "agent_ready");

		if (!g)
			continue;
		fprintf(f, "%-20s %12.1f %6.2f%% %14.1f %6.2f%%\n",
			json_string_value(json_object_get(m, "vm")),
			json_real_value(json_object_get(in, "median")),
			100 * json_real_value(json_object_get(in, "cv")),
			json_real_value(json_object_get(rd, "median")),
			100 * json_real_value(json_object_get(rd, "cv")));
	}
}
