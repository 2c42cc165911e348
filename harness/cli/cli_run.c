/* SPDX-License-Identifier: MIT */
/* cli_run.c: `uvmlab run` (up, checks, results, down) and `uvmlab up` (background supervisor). */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks/checks.h"
#include "probes/lab_containment.h"
#include "probes/lab_flows.h"
#include "lab/lab_plugin.h"
#include "record/result.h"
#include "lab/run_state.h"
#include "base/util.h"

void cli_lab_opts(const struct cli_opts *o, struct lab_opts *lo)
{
	memset(lo, 0, sizeof(*lo));
	lo->results_root = o->results_root;
	lo->run_root = o->run_root;
	lo->images_dir = o->images_dir;
	lo->qemu_bin = o->qemu_bin;
	lo->accel = o->accel;
	lo->boot_timeout_s = o->boot_timeout_s;
	lo->timing_virtual = o->timing_virtual;
}

static void cli_print_timelines(FILE *f, json_t *vms)
{
	static const char *const keys[] = { "qmp_greeting", "console_first_byte", "init_start",
					     "agent_ready", "services_ready" };
	size_t i, k;
	json_t *vm;

	fprintf(f, "%-16s %10s %10s %10s %10s %10s   (ms after QEMU exec)\n", "VM", "qmp", "console",
		"init", "ready", "services");
	json_array_foreach(vms, i, vm) {
		json_t *ph = json_object_get(json_object_get(vm, "boot"), "phases_ms");

		fprintf(f, "%-16s", json_string_value(json_object_get(vm, "name")));
		for (k = 0; k < UTIL_ARRAY_SIZE(keys); k++) {
			double v = json_real_value(json_object_get(ph, keys[k]));

			if (v < 0)
				fprintf(f, " %10s", "-");
			else
				fprintf(f, " %10.0f", v);
		}
		fputc('\n', f);
	}
}

/* Shared by run and up: parse, plan, clear orphans of earlier killed runs. */
static int cli_prepare(const char *cmd, int argc, char **argv, struct cli_opts *o,
		       struct scenario **scn, struct plan **plan)
{
	int ret, first, n;

	ret = cli_parse(cmd, argc, argv, o, &first);
	if (ret)
		return ret;
	if (first != argc - 1) {
		util_err("%s: expected one scenario FILE (see uvmlab --help)", cmd);
		return CLI_EXIT_USAGE;
	}
	ret = cli_load(argv[first], scn, plan);
	if (ret)
		return ret;
	n = run_state_reap_all(o->run_root, 1, 5000);
	if (n > 0)
		util_progress("removed %d orphaned run(s) left by killed uvmlab processes", n);
	return CLI_EXIT_PASS;
}

/* "the console log of vm "a" is incomplete: No space left on device", for
 * every VM whose console log could not be written, into BUF ("" if none). */
static void cli_console_errors(json_t *vms, char *buf, size_t len)
{
	size_t i, off = 0;
	json_t *vm;

	buf[0] = '\0';
	json_array_foreach(vms, i, vm) {
		const char *why = json_string_value(json_object_get(vm, "console_log_error"));

		if (why && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%sthe console log of vm \"%s\" is "
						"incomplete: %s", off ? "; " : "",
						json_string_value(json_object_get(vm, "name")), why);
	}
}

int cli_run(int argc, char **argv)
{
	struct cli_opts o;
	struct lab_opts lo;
	struct scenario *scn = NULL;
	struct plan *plan = NULL;
	struct lab *lab = NULL;
	struct checks_summary sum = { 0 };
	json_t *res = NULL, *checks = NULL, *vms = NULL, *flows = NULL, *matrix = NULL, *fcheck = NULL;
	json_t *contain = NULL;
	char errbuf[1100] = "", esc[4096], console_err[600] = "";
	int ret, code = CLI_EXIT_LAB, wret = 0, breaches = 0;

	code = cli_prepare("run", argc, argv, &o, &scn, &plan);
	if (code)
		goto cleanup;
	code = CLI_EXIT_LAB;
	cli_signals();
	cli_lab_opts(&o, &lo);
	ret = lab_create(plan, &lo, &lab);
	if (ret < 0) {
		util_err("run: %s", strerror(-ret));
		goto cleanup;
	}
	res = result_new(lab_run_id(lab), lab_started_at(lab), scn);
	util_progress("run %s: %zu VM(s), results in %s", lab_run_id(lab), plan->n_vms,
		      lab_results_dir(lab));
	ret = o.no_flows ? 0 : lab_flows_enable(lab);
	if (!ret && !o.no_flows)
		ret = lab_containment_enable(lab);
	if (!ret)
		ret = lab_up(lab);
	if (ret < 0) {
		snprintf(errbuf, sizeof(errbuf), "%s", lab_error(lab));
	} else {
		ret = checks_run(lab, plan, &checks, &sum);
		if (ret < 0)
			snprintf(errbuf, sizeof(errbuf), "%s", lab_error(lab));
		/* what crossed the ports during the whole run, judged by the policy */
		if (!ret && lab_flows_collect(lab, &flows, &matrix, &fcheck, &sum) < 0) {
			snprintf(errbuf, sizeof(errbuf), "%s", lab_error(lab));
			sum.errors++;
		}
		if (fcheck)
			json_array_append_new(checks, fcheck);
		/* a VM that died or hung after its own checks fails the run too */
		if (lab_test_fault_after_checks(lab) < 0 || lab_verify_alive(lab) < 0) {
			if (!errbuf[0])
				snprintf(errbuf, sizeof(errbuf), "%s", lab_error(lab));
			sum.errors++;
		}
		/* nothing of the run may have left it: proven from the lab's side */
		breaches = lab_containment_collect(lab, &contain);
		if (breaches < 0) {
			if (!errbuf[0])
				snprintf(errbuf, sizeof(errbuf), "%s", lab_error(lab));
			sum.errors++;
		} else if (breaches > 0 && !errbuf[0]) {
			snprintf(errbuf, sizeof(errbuf), "containment %s: see \"containment\" in result.json",
				 json_string_value(json_object_get(contain, "verdict")));
		}
		code = ret < 0 || sum.errors ? CLI_EXIT_LAB :
		       sum.failed || sum.inconclusive || breaches > 0 ? CLI_EXIT_FAIL : CLI_EXIT_PASS;
	}
	/* a failed run still releases the recorder before teardown */
	lab_flows_release(lab);
	/* Collect what the VMs know before they are torn down. */
	vms = lab_vms_json(lab);
	json_object_set_new(res, "host", lab_host_json(lab));
	json_object_set_new(res, "accelerator", lab_accel_json(lab));
	json_object_set_new(res, "cgroup", lab_cgroup_json(lab));
	json_object_set_new(res, "images", lab_images_json(lab));
	json_object_set_new(res, "boot_timeout_s", json_integer(lab_boot_timeout_s(lab)));
	json_object_set(res, "vms", vms);
	if (checks) {
		json_object_set(res, "checks", checks);
		json_object_set_new(res, "summary", checks_summary_json(&sum));
	}
	if (flows) {
		json_object_set(res, "flows", flows);
		json_object_set(res, "flow_matrix", matrix);
	}
	if (contain)
		json_object_set(res, "containment", contain);
	lab_down(lab);
	result_finish(res, code, errbuf[0] ? errbuf : NULL);
	wret = result_write(lab_results_dir(lab), res);
	cli_console_errors(vms, console_err, sizeof(console_err));
	if (wret < 0) {
		/* a run whose record is lost did not pass, whatever its checks said;
		 * one line, with what else the full disk cost */
		util_err("run: could not write %s/result.json: %s%s%s%s", lab_results_dir(lab),
			 strerror(-wret), console_err[0] ? " (and " : "", console_err,
			 console_err[0] ? ")" : "");
		code = CLI_EXIT_LAB;
	} else if (console_err[0]) {
		printf("warning: %s\n", console_err);
	}
	if (checks)
		checks_print(stdout, checks);
	if (matrix)
		lab_flows_print(stdout, matrix);
	if (contain)
		lab_containment_print(stdout, contain);
	cli_print_timelines(stdout, vms);
	if (errbuf[0])
		util_err("%s", errbuf);
	printf("run %s: %s (%d passed, %d failed, %d inconclusive) — %s/result.json%s\n",
	       lab_run_id(lab), code == CLI_EXIT_PASS ? "PASS" : code == CLI_EXIT_FAIL ? "FAIL" :
	       "LAB FAILURE", sum.passed, sum.failed, sum.inconclusive,
	       cli_esc(lab_results_dir(lab), esc, sizeof(esc)),
	       wret < 0 ? " (not written)" : "");
cleanup:
	json_decref(contain);
	json_decref(flows);
	json_decref(matrix);
	json_decref(checks);
	json_decref(vms);
	json_decref(res);
	lab_destroy(lab);
	plan_free(plan);
	scenario_free(scn);
	return code;
}

/* What the supervisor of `up` keeps between checks. */
struct cli_up_state {
	int serial;                    /* checks so far */
	struct lab_flows_mark *mark;   /* flow counters as check #mark_serial read them */
	int mark_serial;
};

/* `uvmlab check` against this supervisor's lab: the scenario's checks (probe
 * checks included) and the flow policy over everything recorded since `up`
 * ("check\n"), or since the previous check ("check since-last\n"). Results
 * go to RESULTS/check-N/result.json; the client gets the verdict table and a
 * last line "exit CODE". */
static void cli_up_check(struct lab *lab, int fd, void *arg)
{
	const struct plan *plan = lab_plugin_plan(lab);
	struct cli_up_state *st = arg;
	int *serial = &st->serial, since_last, since;
	struct checks_summary sum = { 0 };
	struct timeval tv = { .tv_sec = 10 };
	json_t *res = NULL, *checks = NULL, *flows = NULL, *matrix = NULL, *fcheck = NULL, *vms, *vm;
	char req[64] = "", dir[700], esc[4 * sizeof(dir)], *text = NULL;
	size_t text_len = 0, off = 0, i;
	FILE *out;
	ssize_t n;
	int ret, code, wret;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = read(fd, req, sizeof(req) - 1);
	since_last = n > 0 && !strcmp(req, "check since-last\n");
	if (n <= 0 || (strcmp(req, "check\n") && !since_last)) {
		static const char bad[] = "unknown control request\nexit 2\n";

		if (write(fd, bad, sizeof(bad) - 1) < 0)
			util_err("control: %s", strerror(errno));
		return;
	}
	out = open_memstream(&text, &text_len);
	if (!out)
		return;
	(*serial)++;
	util_progress("control: check #%d requested", *serial);
	ret = checks_run(lab, plan, &checks, &sum);
	/* every check marks the counters; --since-last judges what came after
	 * the previous one (the first: everything since up) */
	since = since_last && st->mark ? st->mark_serial : 0;
	if (ret >= 0) {
		if (lab_flows_snapshot_since(lab, since ? st->mark : NULL, &st->mark, &flows, &matrix,
					     &fcheck, &sum) < 0) {
			ret = -EIO;
			sum.errors++;
		} else {
			st->mark_serial = *serial;
		}
	}
	if (fcheck && since) {
		char ev[800];

		snprintf(ev, sizeof(ev), "flows since check #%d: %s", since,
			 json_string_value(json_object_get(fcheck, "evidence")));
		json_object_set_new(fcheck, "evidence", json_string(ev));
	}
	if (fcheck && checks)
		json_array_append_new(checks, fcheck);
	if (lab_verify_alive(lab) < 0) {
		if (ret >= 0)
			ret = -ECHILD;
		sum.errors++;
	}
	code = ret < 0 || sum.errors ? CLI_EXIT_LAB :
	       sum.failed || sum.inconclusive ? CLI_EXIT_FAIL : CLI_EXIT_PASS;
	res = result_new(lab_run_id(lab), lab_started_at(lab), plan->scn);
	/* as in a run's result.json: boot timelines, router filters read back */
	vms = lab_vms_json(lab);
	json_object_set_new(res, "vms", vms);
	/* the supervisor's own warning went to a log on the same full disk */
	json_array_foreach(vms, i, vm) {
		const char *why = json_string_value(json_object_get(vm, "console_log_error"));

		if (why)
			fprintf(out, "warning: vm \"%s\": its console log is incomplete: %s\n",
				json_string_value(json_object_get(vm, "name")), why);
	}
	if (checks) {
		json_object_set(res, "checks", checks);
		json_object_set_new(res, "summary", checks_summary_json(&sum));
	}
	if (flows) {
		char from[32] = "up";

		if (since)
			snprintf(from, sizeof(from), "check-%d", since);
		json_object_set(res, "flows", flows);
		json_object_set(res, "flow_matrix", matrix);
		json_object_set_new(res, "flows_since", json_string(from));
	}
	result_finish(res, code, code == CLI_EXIT_LAB ? lab_error(lab) : NULL);
	snprintf(dir, sizeof(dir), "%s/check-%d", lab_results_dir(lab), *serial);
	wret = util_mkdir_p(dir, 0755);
	if (!wret)
		wret = result_write(dir, res);
	if (wret < 0) {
		fprintf(out, "could not write %s/result.json: %s\n", cli_esc(dir, esc, sizeof(esc)),
			strerror(-wret));
		code = CLI_EXIT_LAB;
	}
	if (checks)
		checks_print(out, checks);
	if (matrix) {
		if (since)
			fprintf(out, "flows since check #%d:\n", since);
		lab_flows_print(out, matrix);
	}
	if (code == CLI_EXIT_LAB)
		fprintf(out, "error: %s\n", lab_error(lab));
	fprintf(out, "check %s #%d: %s (%d passed, %d failed, %d inconclusive) — %s/result.json\n"
		"exit %d\n", lab_run_id(lab), *serial, code == CLI_EXIT_PASS ? "PASS" :
		code == CLI_EXIT_FAIL ? "FAIL" : "LAB FAILURE", sum.passed, sum.failed,
		sum.inconclusive, cli_esc(dir, esc, sizeof(esc)), code);
	fclose(out);
	while (off < text_len) {
		n = write(fd, text + off, text_len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(text);
	json_decref(res);
	json_decref(checks);
	json_decref(flows);
	json_decref(matrix);
}

/* Before an `up` lab goes: the containment record, for `uvmlab down` to
 * print (containment.json in the results folder) and in supervisor.log. */
static void cli_up_containment(struct lab *lab)
{
	char path[1200], *text;
	json_t *rec = NULL;
	int ret = lab_containment_collect(lab, &rec);

	if (ret < 0) {
		util_err("%s", lab_error(lab));
		return;
	}
	lab_containment_print(stderr, rec);
	snprintf(path, sizeof(path), "%s/containment.json", lab_results_dir(lab));
	text = json_dumps(rec, JSON_INDENT(2));
	if (!text || (ret = util_write_file(path, text, strlen(text))) < 0)
		util_err("could not write %s: %s", path, strerror(text ? -ret : ENOMEM));
	free(text);
	json_decref(rec);
}

/* The supervisor side of `up`: bring the lab up, tell the parent, then keep
 * it until `uvmlab down` (SIGTERM). */
static int cli_up_child(struct lab *lab, int wfd, int no_flows)
{
	char msg[1200];
	struct cli_up_state st = { 0 };
	int ret, logfd;

	setsid();
	/* the flow recorder watches from the first frame, so `uvmlab check`
	 * can judge everything the lab did since it came up */
	ret = no_flows ? 0 : lab_flows_enable(lab);
	if (!ret && !no_flows)
		ret = lab_containment_enable(lab);
	if (!ret)
		ret = lab_up(lab);
	if (ret < 0) {
		snprintf(msg, sizeof(msg), "ERR %s\n", lab_error(lab));
		if (write(wfd, msg, strlen(msg)) < 0)
			ret = -EPIPE;
		lab_flows_release(lab);
		lab_down(lab);
		return CLI_EXIT_LAB;
	}
	/* Nobody to tell the run id to (the parent was killed): a lab nobody
	 * knows of must not stay up. */
	if (write(wfd, "OK\n", 3) != 3) {
		close(wfd);
		lab_flows_release(lab);
		lab_down(lab);
		return CLI_EXIT_LAB;
	}
	close(wfd);
	snprintf(msg, sizeof(msg), "%s/supervisor.log", lab_results_dir(lab));
	logfd = util_open_new(msg, 1);
	if (logfd >= 0) {
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		close(logfd);
	}
	ret = lab_supervise(lab, cli_up_check, &st);
	lab_flows_mark_free(st.mark);
	if (ret == -ECHILD)
		util_err("every VM exited; tearing the lab down");
	cli_up_containment(lab);
	/* release the recorder (tc filters, qdiscs) before the ports go */
	lab_flows_release(lab);
	lab_down(lab);
	return CLI_EXIT_PASS;
}

int cli_up(int argc, char **argv)
{
	struct cli_opts o;
	struct lab_opts lo;
	struct scenario *scn = NULL;
	struct plan *plan = NULL;
	struct lab *lab = NULL;
	char buf[1200];
	size_t got = 0;
	int code, ret, p[2] = { -1, -1 };
	pid_t pid;

	code = cli_prepare("up", argc, argv, &o, &scn, &plan);
	if (code)
		goto cleanup;
	code = CLI_EXIT_LAB;
	cli_signals();
	cli_lab_opts(&o, &lo);
	ret = lab_create(plan, &lo, &lab);
	if (ret < 0 || pipe2(p, O_CLOEXEC) < 0) {
		util_err("up: %s", strerror(ret < 0 ? -ret : errno));
		goto cleanup;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		util_err("up: fork: %s", strerror(errno));
		goto cleanup;
	}
	if (pid == 0) {
		close(p[0]);
		code = cli_up_child(lab, p[1], o.no_flows);
		lab_destroy(lab);
		plan_free(plan);
		scenario_free(scn);
		_exit(code);
	}
	close(p[1]);
	p[1] = -1;
	while (got < sizeof(buf) - 1) {
		ssize_t n = read(p[0], buf + got, sizeof(buf) - 1 - got);

		if (n < 0 && errno == EINTR) {
			/* Ctrl-C while starting: the supervisor tears its lab down
			 * and reports the signal that came, so pass that one on. */
			if (lab_stop_flag)
				kill(pid, (int)lab_stop_flag);
			continue;
		}
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!strcmp(buf, "OK")) {
		printf("%s\n", lab_run_id(lab));
		util_progress("run %s is up (supervisor pid %d); `uvmlab exec VM -- CMD`, "
			      "`uvmlab down %s`", lab_run_id(lab), (int)pid, lab_run_id(lab));
		code = CLI_EXIT_PASS;
	} else {
		util_err("up: %s", !strncmp(buf, "ERR ", 4) ? buf + 4 : "the supervisor died while starting the lab");
		/* exit 3 only once the failed lab is gone: nothing of it outlives us */
		for (int waited = 0; waited < 60000 && waitpid(pid, NULL, WNOHANG) == 0; waited += 20)
			usleep(20000);
		/* a supervisor that died (e.g. killed for the run's memory limit)
		 * could not tear down: reap what it left, as `down` would */
		snprintf(buf, sizeof(buf), "%s", lab_run_dir(lab));
		if (strrchr(buf, '/'))
			*strrchr(buf, '/') = '\0';
		run_state_reap(buf, lab_run_id(lab), 1000, NULL);
	}
cleanup:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	/* The lab belongs to the supervisor now: free our copy without tearing down. */
	if (lab) {
		lab_disown(lab);
		lab_destroy(lab);
	}
	plan_free(plan);
	scenario_free(scn);
	return code;
}
