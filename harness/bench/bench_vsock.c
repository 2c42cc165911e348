/* SPDX-License-Identifier: MIT */
/* bench_vsock.c: vsock throughput and backend CPU cost, with the two ratios issue #6 asks for. */
#include "bench/bench_vsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lab/lab_plugin.h"
#include "services/lab_services.h"
#include "checks/lab_xfer.h"
#include "bench/stats.h"
#include "base/util.h"

static const uint32_t bench_vsock_msgs[] = { 64, 4096, 65536, 1u << 20 };

static double bench_vsock_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_vsock_memcpy_s_per_gib(void)
{
	const size_t chunk = 64u << 20;
	char *src = malloc(chunk), *dst = malloc(chunk);
	double t0, t1;
	size_t i;

	if (!src || !dst) {
		free(src);
		free(dst);
		return 0;
	}
	memset(src, 0x5a, chunk);
	memset(dst, 0, chunk); /* fault the pages in before timing */
	t0 = bench_vsock_cpu_now();
	for (i = 0; i < 16; i++) {
		src[i] = (char)i; /* keep the compiler from eliding copies */
		memcpy(dst, src, chunk);
	}
	t1 = bench_vsock_cpu_now();
	if (dst[3] != 3)
		t1 = t0;
	free(src);
	free(dst);
	return t1 - t0; /* 16 x 64 MiB = 1 GiB */
}

/* Enough bytes for a stable rate, few enough for 64-byte writes under TCG. */
static uint32_t bench_vsock_bytes(uint32_t msg)
{
	uint64_t b = (uint64_t)msg * 2048;

	if (b < (1u << 20))
		b = 1u << 20;
	if (b > (32u << 20))
		b = 32u << 20;
	return (uint32_t)b;
}

static json_t *bench_vsock_summary(json_t *samples, const char *key)
{
	double x[1024];
	size_t i, n = 0;
	json_t *s;
	struct stats_summary st;

	json_array_foreach(samples, i, s)
		if (n < 1024 && json_is_true(json_object_get(s, "ok")) && json_is_number(json_object_get(s, key)))
			x[n++] = json_number_value(json_object_get(s, key));
	if (stats_summarize(x, n, &st) < 0)
		return json_null();
	return json_pack("{s:I,s:f,s:f,s:f,s:f}", "n", (json_int_t)st.n, "median", st.median,
			 "ci_lo", st.ci_lo, "ci_hi", st.ci_hi, "cv", st.cv);
}

static double bench_vsock_median(json_t *metrics, const char *dir, const char *transport,
				 uint32_t msg, const char *key)
{
	size_t i;
	json_t *m;

	json_array_foreach(metrics, i, m) {
		json_t *v;

		if (strcmp(json_string_value(json_object_get(m, "direction")), dir) ||
		    strcmp(json_string_value(json_object_get(m, "transport")), transport) ||
		    json_integer_value(json_object_get(m, "msg")) != (json_int_t)msg)
			continue;
		v = json_object_get(json_object_get(json_object_get(m, "summary"), key), "median");
		return v ? json_real_value(v) : -1;
	}
	return -1;
}

int bench_vsock_run(struct lab *lab, const struct plan *plan, uint32_t repeat,
		    json_t **metrics, json_t **ratios)
{
	const struct scenario *scn = plan->scn;
	const char *a = plan->n_vms ? plan->vms[0].name : NULL, *b = NULL;
	json_t *out = json_array();
	uint16_t port = 6000;
	double memcpy_s;
	size_t d, m;
	uint32_t r;
	int ret = 0;
	struct { const char *from, *to, *label; enum lab_xfer_transport tr; } dirs[4];
	size_t ndirs = 0;

	if (!scn->has_vsock || !a) {
		lab_set_err(lab, "bench vsock: the scenario has no vsock section");
		json_decref(out);
		return -EINVAL;
	}
	if (scn->n_vsock_allow) {
		a = scn->vsock_allow[0].a.name;
		b = scn->vsock_allow[0].b.name;
	}
	dirs[ndirs++] = (typeof(dirs[0])){ LAB_XFER_HOST, a, "host->guest", LAB_XFER_VSOCK };
	dirs[ndirs++] = (typeof(dirs[0])){ a, LAB_XFER_HOST, "guest->host", LAB_XFER_VSOCK };
	if (b) {
		uint32_t addr;

		dirs[ndirs++] = (typeof(dirs[0])){ a, b, "guest->guest", LAB_XFER_VSOCK };
		if (plan_find_vm(plan, b)->n_nics && plan_find_vm(plan, a)->n_nics &&
		    plan_target_addr(plan, plan_find_vm(plan, a), plan_find_vm(plan, b), NULL, &addr) == 0)
			dirs[ndirs++] = (typeof(dirs[0])){ a, b, "guest->guest", LAB_XFER_TCP };
	}
	memcpy_s = bench_vsock_memcpy_s_per_gib();
	for (d = 0; d < ndirs && !ret; d++) {
		for (m = 0; m < UTIL_ARRAY_SIZE(bench_vsock_msgs) && !ret; m++) {
			uint32_t msg = bench_vsock_msgs[m], bytes = bench_vsock_bytes(msg);
			json_t *samples = json_array();

			for (r = 0; r < repeat && !ret; r++) {
				struct lab_xfer_result x;
				int64_t u0 = 0, s0 = 0, u1 = 0, s1 = 0;
				double cpu_ms;

				if (lab_stop_flag) {
					lab_set_err(lab, "interrupted by signal %d", (int)lab_stop_flag);
					ret = -EINTR;
					break;
				}
				util_progress("%s %s msg %u B: sample %u/%u", dirs[d].label,
					      dirs[d].tr == LAB_XFER_TCP ? "tcp" : "vsock", msg, r + 1, repeat);
				util_proc_cpu_ms(lab_vsock_pid(lab), &u0, &s0);
				ret = lab_xfer(lab, plan, dirs[d].from, dirs[d].to, dirs[d].tr, port++, bytes, msg, &x);
				util_proc_cpu_ms(lab_vsock_pid(lab), &u1, &s1);
				if (ret < 0)
					break;
				cpu_ms = (double)((u1 - u0) + (s1 - s0));
				json_array_append_new(samples, json_pack("{s:b,s:I,s:f,s:f,s:f,s:f,s:f,s:s}",
					"ok", x.ok, "bytes", (json_int_t)bytes, "send_mbps", x.send_mbps,
					"recv_mbps", x.recv_mbps, "seconds", x.seconds,
					"vsockd_cpu_ms", cpu_ms,
					"vsockd_cpu_s_per_gib", cpu_ms / 1000.0 / ((double)bytes / (1u << 30)),
					"fnv1a", x.recv_fnv));
				if (!x.ok) {
					lab_set_err(lab, "bench vsock: %s->%s (%s, msg %u) failed: sender exit %d: %s",
						    dirs[d].from, dirs[d].to, dirs[d].tr == LAB_XFER_TCP ? "tcp" : "vsock",
						    msg, x.send_status, x.send_line);
					ret = -EIO;
				}
			}
			json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:o,s:{s:o,s:o}}",
				"name", "throughput", "direction", dirs[d].label,
				"transport", dirs[d].tr == LAB_XFER_TCP ? "virtio-net-tcp" : "vsock",
				"from", dirs[d].from, "to", dirs[d].to, "msg", (json_int_t)msg,
				"bytes", (json_int_t)bytes, "samples", samples,
				"summary", "recv_mbps", bench_vsock_summary(samples, "recv_mbps"),
				"vsockd_cpu_s_per_gib", bench_vsock_summary(samples, "vsockd_cpu_s_per_gib")));
		}
	}
	if (!ret) {
		double cpu = bench_vsock_median(out, "host->guest", "vsock", 1u << 20, "vsockd_cpu_s_per_gib");
		double vs = bench_vsock_median(out, "guest->guest", "vsock", 65536, "recv_mbps");
		double tcp = bench_vsock_median(out, "guest->guest", "virtio-net-tcp", 65536, "recv_mbps");

		*ratios = json_pack("{s:{s:f,s:f,s:f,s:s,s:s},s:{s:f,s:f,s:f,s:s}}",
			"backend_cpu_vs_memcpy", "value", memcpy_s > 0 && cpu >= 0 ? cpu / memcpy_s : -1,
			"vsockd_cpu_s_per_gib", cpu, "memcpy_cpu_s_per_gib", memcpy_s,
			"compares", "uvmlab-vsockd CPU per GiB (host->guest, 1 MiB writes) / memcpy CPU per GiB",
			"target", "<= 3",
			"g2g_vsock_vs_virtio_net", "value", vs > 0 && tcp > 0 ? vs / tcp : -1,
			"vsock_mbps", vs, "virtio_net_tcp_mbps", tcp,
			"compares", "guest->guest MB/s, 64 KiB writes: vsock via uvmlab-vsockd / TCP over virtio-net on a bridge");
		*metrics = out;
		out = NULL;
	}
	json_decref(out);
	return ret;
}

void bench_vsock_print(FILE *f, json_t *metrics, json_t *ratios)
{
	size_t i;
	json_t *m, *r;
	const char *k;

	fprintf(f, "%-14s %-15s %9s %10s %12s %14s\n", "DIRECTION", "TRANSPORT", "MSG B",
		"MB/s", "95% CI", "CPU s/GiB");
	json_array_foreach(metrics, i, m) {
		json_t *t = json_object_get(json_object_get(m, "summary"), "recv_mbps");
		json_t *c = json_object_get(json_object_get(m, "summary"), "vsockd_cpu_s_per_gib");

		fprintf(f, "%-14s %-15s %9lld %10.1f %5.1f..%-6.1f %14.3f\n",
			json_string_value(json_object_get(m, "direction")),
			json_string_value(json_object_get(m, "transport")),
			(long long)json_integer_value(json_object_get(m, "msg")),
			json_real_value(json_object_get(t, "median")),
			json_real_value(json_object_get(t, "ci_lo")),
			json_real_value(json_object_get(t, "ci_hi")),
			json_real_value(json_object_get(c, "median")));
	}
	json_object_foreach(ratios, k, r)
		fprintf(f, "ratio %s = %.2f (%s)\n", k, json_real_value(json_object_get(r, "value")),
			json_string_value(json_object_get(r, "compares")));
}
