/* SPDX-License-Identifier: MIT */
/* checks.c: run a scenario's checks against a live lab and judge them. */
#include "checks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab_internal.h"
#include "util.h"

#define CHECKS_PROBE_TIMEOUT_MS 10000

/* The last non-empty line of S, trimmed, into BUF: the probe's summary. */
static void checks_last_line(const char *s, char *buf, size_t len)
{
	const char *end, *start;

	buf[0] = '\0';
	if (!s)
		return;
	end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	start = end;
	while (start > s && start[-1] != '\n')
		start--;
	snprintf(buf, len, "%.*s", (int)(end - start), start);
}

static int checks_reach(struct lab *lab, const struct plan *plan, const struct scn_check *c,
			json_t *row, struct checks_summary *sum)
{
	const struct plan_vm *from = plan_find_vm(plan, c->from.name);
	const struct plan_vm *to = plan_find_vm(plan, c->to.name);
	char addr[16], port[8], evidence[512] = "", line[256];
	const char *argv_icmp[] = { "ping", "-c", "1", "-W", "2", addr, NULL };
	const char *argv_tcp[] = { "nc", "-z", "-w", "2", addr, port, NULL };
	const char *const *argv = c->proto == SCN_PROTO_TCP ? argv_tcp : argv_icmp;
	int tries = c->expect == SCN_EXPECT_ALLOWED ? 3 : 2, i, ok = 0, fails = 0, ret;
	uint32_t a;

	if (!from || !to || plan_target_addr(plan, from, to, c->network.name, &a) < 0) {
		json_object_set_new(row, "verdict", json_string("error"));
		json_object_set_new(row, "evidence", json_string("target has no address"));
		sum->errors++;
		return 0;
	}
	plan_fmt_addr(a, addr);
	snprintf(port, sizeof(port), "%u", c->port);
	json_object_set_new(row, "addr", json_string(addr));
	for (i = 0; i < tries; i++) {
		struct agent_exec_result r = { 0 };

		ret = lab_exec(lab, c->from.name, argv, CHECKS_PROBE_TIMEOUT_MS, &r);
		if (ret < 0) {
			json_object_set_new(row, "verdict", json_string("error"));
			json_object_set_new(row, "evidence", json_string(lab_error(lab)));
			sum->errors++;
			return ret;
		}
		checks_last_line(r.out_len ? (const char *)r.out : (const char *)r.err, line, sizeof(line));
		snprintf(evidence, sizeof(evidence), "%s %s%s%s from %s: exit %u%s%s", argv[0], addr,
			 c->proto == SCN_PROTO_TCP ? ":" : "", c->proto == SCN_PROTO_TCP ? port : "",
			 c->from.name, r.status, line[0] ? ": " : "", line);
		if (r.status == 0 && !r.timed_out)
			ok++;
		else
			fails++;
		agent_exec_result_release(&r);
		if (c->expect == SCN_EXPECT_ALLOWED && ok)
			break;
		if (c->expect == SCN_EXPECT_BLOCKED && ok)
			break;
	}
	int pass = c->expect == SCN_EXPECT_ALLOWED ? ok > 0 : (ok == 0 && fails == tries);
	json_object_set_new(row, "verdict", json_string(pass ? "pass" : "fail"));
	json_object_set_new(row, "evidence", json_string(evidence));
	json_object_set_new(row, "attempts", json_integer(ok + fails));
	if (pass)
		sum->passed++;
	else
		sum->failed++;
	return 0;
}

/* One "xfer MODE bytes=N seconds=S MBps=R fnv1a=HEX" line from uvmlab-xfer. */
struct checks_xfer {
	unsigned long long bytes;
	double mbps;
	char fnv[17];
};

static int checks_xfer_parse(const char *text, struct checks_xfer *x)
{
	const char *p = text ? strstr(text, "xfer ") : NULL;
	char mode[8];
	double secs;

	for (; p; p = strstr(p + 1, "xfer "))
		if (sscanf(p, "xfer %7s bytes=%llu seconds=%lf MBps=%lf fnv1a=%16[0-9a-f]", mode,
			   &x->bytes, &secs, &x->mbps, x->fnv) == 5)
			return 0;
	return -ENOENT;
}

/* Start a receiver in VM listening on vsock PORT, in the background; its
 * output goes to OUT in the guest. *PID is the guest pid (for cleanup). */
static int checks_guest_recv(struct lab *lab, const char *vm, uint16_t port, uint32_t bytes,
			     const char *out, char *pid, size_t pidlen)
{
	char cmd[256];
	const char *argv[] = { "sh", "-c", cmd, NULL };
	struct agent_exec_result r = { 0 };
	uint8_t *data = NULL;
	size_t len = 0;
	int ret, i;

	snprintf(cmd, sizeof(cmd), "uvmlab-xfer recv --vsock 0:%u --bytes %u --timeout 60 >%s 2>&1 & echo $!",
		 port, bytes, out);
	ret = lab_exec(lab, vm, argv, 10000, &r);
	if (ret < 0)
		return ret;
	snprintf(pid, pidlen, "%.*s", (int)strcspn((char *)r.out, "\n"), (char *)r.out);
	agent_exec_result_release(&r);
	/* listening before anyone connects, or the connection would be refused */
	for (i = 0; i < 100; i++) {
		ret = lab_read_file(lab, vm, out, &data, &len);
		if (ret == 0 && strstr((char *)data, "listening")) {
			free(data);
			return 0;
		}
		free(data);
		data = NULL;
		usleep(100 * 1000);
	}
	return -ETIMEDOUT;
}

static int checks_vsock(struct lab *lab, const struct plan *plan, const struct scn_check *c,
			json_t *row, struct checks_summary *sum)
{
	int from_host = !strcmp(c->from.name, SCN_HOST), to_host = !strcmp(c->to.name, SCN_HOST);
	char xfer[1200], guest_out[64], gpid[32] = "", bytes[16], port[8], dst[32], path[1300];
	char sendout[1300], recvout[1300], evidence[512];
	struct checks_xfer sx = { 0 }, rx = { 0 };
	char *stext = NULL, *rtext = NULL;
	int ret = 0, send_status = -1, ok;
	pid_t hpid = -1;

	snprintf(xfer, sizeof(xfer), "%s/uvmlab-xfer", lab_images_dir(lab));
	snprintf(bytes, sizeof(bytes), "%u", c->bytes);
	snprintf(port, sizeof(port), "%u", c->port);
	snprintf(guest_out, sizeof(guest_out), "/tmp/xfer-%u.out", c->port);
	snprintf(sendout, sizeof(sendout), "%s/xfer-%u.send", lab_run_dir(lab), c->port);
	snprintf(recvout, sizeof(recvout), "%s/xfer-%u.recv", lab_run_dir(lab), c->port);
	/* receiver first */
	if (to_host) {
		const char *argv[] = { xfer, "recv", "--unix", path, "--bytes", bytes, "--timeout", "60", NULL };
		int i;

		snprintf(path, sizeof(path), "%s_%u", lab_vm_vsock_host(lab, c->from.name), c->port);
		ret = lab_spawn(argv, recvout, &hpid);
		for (i = 0; !ret && i < 500 && access(path, F_OK) < 0; i++)
			usleep(10 * 1000);
	} else {
		ret = checks_guest_recv(lab, c->to.name, c->port, c->bytes, guest_out, gpid, sizeof(gpid));
	}
	if (ret < 0)
		goto error;
	/* then the sender */
	if (from_host) {
		const char *argv[] = { xfer, "send", "--hybrid", path, "--bytes", bytes, "--timeout", "60", NULL };
		pid_t spid;

		snprintf(path, sizeof(path), "%s:%u", lab_vm_vsock_host(lab, c->to.name), c->port);
		ret = lab_spawn(argv, sendout, &spid);
		if (!ret)
			send_status = lab_reap(spid, 90000);
		util_read_file(sendout, 1 << 16, &stext, NULL);
	} else {
		const struct plan_vm *to = to_host ? NULL : plan_find_vm(plan, c->to.name);
		const char *argv[] = { "uvmlab-xfer", "send", "--vsock", dst, "--bytes", bytes,
				       "--timeout", "60", NULL };
		struct agent_exec_result r = { 0 };

		snprintf(dst, sizeof(dst), "%u:%u", to ? to->cid : 2u, c->port);
		ret = lab_exec(lab, c->from.name, argv, 90000, &r);
		if (ret < 0)
			goto error;
		send_status = (int)r.status;
		if (asprintf(&stext, "%s%s", r.out ? (char *)r.out : "", r.err ? (char *)r.err : "") < 0)
			stext = NULL;
		agent_exec_result_release(&r);
	}
	/* collect the receiver's view */
	if (to_host) {
		lab_reap(hpid, send_status == 0 ? 30000 : 1000);
		hpid = -1;
		util_read_file(recvout, 1 << 16, &rtext, NULL);
	} else {
		int i;

		for (i = 0; i < (send_status == 0 ? 300 : 10); i++) {
			size_t len = 0;

			free(rtext);
			rtext = NULL;
			if (lab_read_file(lab, c->to.name, guest_out, (uint8_t **)&rtext, &len) == 0 &&
			    strstr(rtext, "xfer recv"))
				break;
			usleep(100 * 1000);
		}
	}
	ok = send_status == 0 && checks_xfer_parse(stext, &sx) == 0 &&
	     checks_xfer_parse(rtext, &rx) == 0 && sx.bytes == c->bytes && rx.bytes == c->bytes &&
	     !strcmp(sx.fnv, rx.fnv);
	if (ok)
		snprintf(evidence, sizeof(evidence), "%s->%s port %u: %llu bytes, fnv1a %s on both ends, %.1f MB/s",
			 c->from.name, c->to.name, c->port, rx.bytes, rx.fnv, sx.mbps);
	else {
		char line[200];

		checks_last_line(stext, line, sizeof(line));
		snprintf(evidence, sizeof(evidence), "%s->%s port %u: sender exit %d%s%s; receiver %s",
			 c->from.name, c->to.name, c->port, send_status, line[0] ? ": " : "", line,
			 checks_xfer_parse(rtext, &rx) == 0 ? "got data" : "got nothing");
	}
	int pass = c->expect == SCN_EXPECT_ALLOWED ? ok :
		   (send_status != 0 && checks_xfer_parse(rtext, &rx) != 0);
	json_object_set_new(row, "verdict", json_string(pass ? "pass" : "fail"));
	json_object_set_new(row, "evidence", json_string(evidence));
	if (ok)
		json_object_set_new(row, "throughput_mbps", json_real(sx.mbps));
	if (pass)
		sum->passed++;
	else
		sum->failed++;
	goto cleanup;
error:
	json_object_set_new(row, "verdict", json_string("error"));
	json_object_set_new(row, "evidence", json_string(lab_error(lab)));
	sum->errors++;
cleanup:
	if (hpid > 0)
		lab_reap(hpid, 0);
	if (gpid[0] && !to_host) {
		const char *argv[] = { "kill", gpid, NULL };
		struct agent_exec_result r = { 0 };

		if (lab_exec(lab, c->to.name, argv, 5000, &r) == 0)
			agent_exec_result_release(&r);
	}
	free(stext);
	free(rtext);
	return ret;
}

int checks_run(struct lab *lab, const struct plan *plan, json_t **out, struct checks_summary *sum)
{
	const struct scenario *scn = plan->scn;
	json_t *rows = json_array();
	size_t i;
	int ret = 0;

	memset(sum, 0, sizeof(*sum));
	if (!rows)
		return -ENOMEM;
	for (i = 0; i < scn->n_checks; i++) {
		const struct scn_check *c = &scn->checks[i];
		int vs = c->kind == SCN_CHECK_VSOCK;
		json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name", c->name,
					"kind", vs ? "vsock" : "reach", "from", c->from.name, "to", c->to.name,
					"proto", vs ? "vsock" : c->proto == SCN_PROTO_TCP ? "tcp" : "icmp",
					"expect", c->expect == SCN_EXPECT_ALLOWED ? "allowed" : "blocked");

		if (c->proto == SCN_PROTO_TCP || vs)
			json_object_set_new(row, "port", json_integer(c->port));
		if (vs)
			json_object_set_new(row, "bytes", json_integer(c->bytes));
		util_progress("check %s", c->name);
		ret = vs ? checks_vsock(lab, plan, c, row, sum) : checks_reach(lab, plan, c, row, sum);
		json_array_append_new(rows, row);
		if (ret < 0)
			break;
	}
	*out = rows;
	return ret;
}

void checks_print(FILE *f, json_t *checks)
{
	size_t i;
	json_t *row;

	if (!json_array_size(checks))
		return;
	fprintf(f, "%-28s %-7s %s\n", "CHECK", "VERDICT", "EVIDENCE");
	json_array_foreach(checks, i, row)
		fprintf(f, "%-28s %-7s %s\n", json_string_value(json_object_get(row, "name")),
			json_string_value(json_object_get(row, "verdict")),
			json_string_value(json_object_get(row, "evidence")) ?: "");
}
