/* SPDX-License-Identifier: MIT */
/* cli_bench.c: `uvmlab bench boot FILE [--repeat N] [--warmup K] [--no-bare]`. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_boot.h"
#include "bench/bench_vsock.h"
#include "lab/lab.h"
#include "record/result.h"
#include "lab/run_state.h"
#include "base/util.h"

static int cli_bench_count(const char *opt, const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max) {
		util_err("bench: %s wants a whole number 0..%u, not \"%s\"", opt, max, s);
		return CLI_EXIT_USAGE;
	}
	*out = (uint32_t)v;
	return 0;
}

int cli_bench(int argc, char **argv)
{
	struct bench_boot_opts bo = { .repeat = 5, .warmup = 1, .bare = 1 };
	struct cli_opts o;
	struct lab_opts lo;
	struct scenario *scn = NULL;
	struct plan *plan = NULL;
	struct lab *lab = NULL;
	json_t *res = NULL, *metrics = NULL;
	char **rest = NULL, esc[4096];
	int i, n = 0, first, code, ret;

	int vsock = argc >= 2 && !strcmp(argv[1], "vsock");
	json_t *ratios = NULL;

	if (argc < 2 || (strcmp(argv[1], "boot") && !vsock)) {
		util_err("bench: usage: uvmlab bench boot|vsock FILE [--repeat N] [--warmup K] [--no-bare]");
		return CLI_EXIT_USAGE;
	}
	if (vsock)
		bo.repeat = 3;
	/* Pull out the bench-only options; the rest goes through cli_parse(). */
	rest = calloc((size_t)argc + 1, sizeof(char *));
	if (!rest)
		return CLI_EXIT_LAB;
	rest[n++] = "bench boot";
	for (i = 2; i < argc; i++) {
		if ((!strcmp(argv[i], "--repeat") || !strcmp(argv[i], "--warmup")) && i + 1 < argc) {
			code = cli_bench_count(argv[i], argv[i + 1], 1000,
					       argv[i][2] == 'r' ? &bo.repeat : &bo.warmup);
			if (code)
				goto cleanup;
			i++;
		} else if (!strcmp(argv[i], "--no-bare")) {
			bo.bare = 0;
		} else {
			rest[n++] = argv[i];
		}
	}
	code = cli_parse("bench", n, rest, &o, &first);
	if (code)
		goto cleanup;
	if (first != n - 1 || bo.repeat == 0) {
		util_err("bench: usage: uvmlab bench boot FILE [--repeat N>=1] [--warmup K] [--no-bare]");
		code = CLI_EXIT_USAGE;
		goto cleanup;
	}
	code = cli_load(rest[first], &scn, &plan);
	if (code)
		goto cleanup;
	code = CLI_EXIT_LAB;
	cli_signals();
	run_state_reap_all(o.run_root, 1, 5000);
	cli_lab_opts(&o, &lo);
	ret = lab_create(plan, &lo, &lab);
	if (ret < 0) {
		util_err("bench: %s", strerror(-ret));
		goto cleanup;
	}
	res = result_new(lab_run_id(lab), lab_started_at(lab), scn);
	if (vsock)
		util_progress("bench %s: vsock throughput, %u sample(s) per direction and size",
			      lab_run_id(lab), bo.repeat);
	else
		util_progress("bench %s: %zu configuration(s) x (%u warmup + %u) rounds%s", lab_run_id(lab),
			      plan->n_vms, bo.warmup, bo.repeat, bo.bare ? ", each with a bare-QEMU twin" : "");
	if (vsock) {
		ret = lab_up(lab);
		if (!ret)
			ret = bench_vsock_run(lab, plan, bo.repeat, &metrics, &ratios);
	} else {
		ret = lab_prepare(lab);
		if (!ret)
			ret = bench_boot_run(lab, &bo, &metrics);
	}
	json_object_set_new(res, "host", lab_host_json(lab));
	json_object_set_new(res, "accelerator", lab_accel_json(lab));
	json_object_set_new(res, "cgroup", lab_cgroup_json(lab));
	json_object_set_new(res, "images", lab_images_json(lab));
	json_object_set_new(res, "bench", json_pack("{s:s,s:i,s:i,s:b,s:s}", "kind", vsock ? "vsock" : "boot",
		"repeat", (int)bo.repeat, "warmup", vsock ? 0 : (int)bo.warmup, "bare", !vsock && bo.bare,
		"timing", o.timing_virtual ? "virtual" : "wall"));
	json_object_set_new(res, "vms", lab_vms_json(lab));
	if (ratios)
		json_object_set(res, "ratios", ratios);
	if (metrics)
		json_object_set(res, "metrics", metrics);
	lab_down(lab);
	code = ret < 0 ? CLI_EXIT_LAB : CLI_EXIT_PASS;
	result_finish(res, code, ret < 0 ? lab_error(lab) : NULL);
	if (util_mkdir_p(lab_results_dir(lab), 0755) == 0)
		result_write(lab_results_dir(lab), res);
	if (ret < 0) {
		util_err("bench: %s", lab_error(lab));
		goto cleanup;
	}
	if (vsock)
		bench_vsock_print(stdout, metrics, ratios);
	else
		bench_boot_print(stdout, metrics);
	printf("bench %s: %s/result.json\n", lab_run_id(lab), cli_esc(lab_results_dir(lab), esc, sizeof(esc)));
cleanup:
	json_decref(ratios);
	json_decref(metrics);
	json_decref(res);
	lab_destroy(lab);
	plan_free(plan);
	scenario_free(scn);
	free(rest);
	return code;
}
