/* SPDX-License-Identifier: MIT */
/* cli_ctl.c: `uvmlab down|status|exec|console|validate`: acting on runs that already exist. */
#include "cli/cli.h"
#include "roles/role.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qemu/accel_probe.h"
#include "lab/agent_client.h"
#include "lab/lab.h"
#include "lab/run_state.h"
#include "probes/lab_containment.h"
#include "base/util.h"

/* Longest `exec` waits for the agent to answer a fresh connection (less when
 * --timeout is shorter); the old 3 x (5 s connect + 2 x 5 s HELLO) let a hung
 * guest hold it for 45 s whatever --timeout said. */
#define CLI_EXEC_ATTACH_MS 15000

int cli_validate(int argc, char **argv)
{
	struct cli_opts o;
	struct scenario *scn = NULL;
	struct plan *plan = NULL;
	char name[4096];
	int first, code;

	code = cli_parse("validate", argc, argv, &o, &first);
	if (code)
		return code;
	if (first != argc - 1) {
		util_err("validate: expected one scenario FILE (see uvmlab --help)");
		return CLI_EXIT_USAGE;
	}
	code = cli_load(argv[first], &scn, &plan);
	if (!code) {
		util_escape(argv[first], strlen(argv[first]), name, sizeof(name));
		printf("%s: ok (%zu networks, %zu VMs, %zu checks)\n", name,
		       scn->n_networks, scn->n_vms, scn->n_checks);
	}
	plan_free(plan);
	scenario_free(scn);
	return code;
}

struct cli_down_run {
	const char *want;
	char results_dir[512];
};

static int cli_down_find(const struct run_state_info *info, void *arg)
{
	struct cli_down_run *f = arg;

	if (!strcmp(info->id, f->want))
		util_strlcpy(f->results_dir, info->results_dir, sizeof(f->results_dir));
	return 0;
}

/* What the supervisor found as it tore the lab down: a breach fails `down`. */
static int cli_down_containment(const char *results_dir)
{
	char path[600], *buf = NULL;
	size_t len = 0;
	json_t *rec;
	int code;

	snprintf(path, sizeof(path), "%s/containment.json", results_dir);
	if (util_read_file(path, 1 << 20, &buf, &len) < 0) {
		printf("containment: not checked at down (its supervisor was gone or the record "
		       "could not be written)\n");
		return CLI_EXIT_PASS;
	}
	rec = json_loadb(buf, len, 0, NULL);
	free(buf);
	if (!json_is_object(rec)) {
		util_err("down: %s: not a containment record", path);
		json_decref(rec);
		return CLI_EXIT_LAB;
	}
	lab_containment_print(stdout, rec);
	code = strcmp(json_string_value(json_object_get(rec, "verdict")) ?: "", "contained") ?
	       CLI_EXIT_FAIL : CLI_EXIT_PASS;
	json_decref(rec);
	return code;
}

int cli_down(int argc, char **argv)
{
	struct cli_opts o;
	struct cli_down_run find = { 0 };
	char esc[512];
	int first, code, ret, killed = 0;

	code = cli_parse("down", argc, argv, &o, &first);
	if (code)
		return code;
	if (o.all == (first < argc) || argc - first > 1) {
		util_err("down: give one RUN-ID or --all (see uvmlab --help)");
		return CLI_EXIT_USAGE;
	}
	if (o.all) {
		ret = run_state_reap_all(o.run_root, 0, 15000);
		if (ret < 0) {
			util_err("down: %s: %s", o.run_root, strerror(-ret));
			return CLI_EXIT_LAB;
		}
		printf("stopped %d run(s)\n", ret);
		return CLI_EXIT_PASS;
	}
	find.want = argv[first];
	run_state_list(o.run_root, cli_down_find, &find);
	ret = run_state_reap(o.run_root, argv[first], 15000, &killed);
	if (ret == -ENOENT || ret == -EINVAL) {
		util_err("down: no run \"%s\" (see uvmlab status)", argv[first]);
		return CLI_EXIT_USAGE;
	}
	if (ret < 0) {
		util_err("down: %s: %s", argv[first], strerror(-ret));
		return CLI_EXIT_LAB;
	}
	printf("stopped run %s\n", cli_esc(argv[first], esc, sizeof(esc)));
	return find.results_dir[0] ? cli_down_containment(find.results_dir) : CLI_EXIT_PASS;
}

static int cli_status_one(const struct run_state_info *info, void *arg)
{
	json_t *vms = info->state ? json_object_get(info->state, "vms") : NULL, *vm;
	size_t i;

	char scn[4 * sizeof(info->scenario)];

	(*(int *)arg)++;
	util_escape(info->scenario[0] ? info->scenario : "?", info->scenario[0] ? strlen(info->scenario) : 1,
		    scn, sizeof(scn));
	printf("%s  %s  supervisor %d %s\n", info->id, scn, (int)info->supervisor, info->alive ? "running" : "gone (orphan: `uvmlab down --all`)");
	json_array_foreach(vms, i, vm) {
		json_int_t pid = json_integer_value(json_object_get(vm, "pid"));
		json_int_t st = json_integer_value(json_object_get(vm, "starttime"));
		int alive = pid > 0 && util_proc_starttime((pid_t)pid) == (uint64_t)st;
		const char *died = json_string_value(json_object_get(vm, "died"));
		char how[160], pidbuf[16];

		/* the supervisor records a QEMU that ended on its own; without a
		 * record, a gone QEMU was stopped by uvmlab (or its supervisor died) */
		if (alive)
			snprintf(how, sizeof(how), "running");
		else if (died)
			snprintf(how, sizeof(how), "died: QEMU %.100s", died);
		else
			snprintf(how, sizeof(how), "%s", info->alive ? "stopped" : "gone with its supervisor");
		printf("  vm %-16s pid %-8s %s\n", json_string_value(json_object_get(vm, "name")),
		       pid > 0 ? (snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid), pidbuf) : "-", how);
	}
	return 0;
}

int cli_status(int argc, char **argv)
{
	struct cli_opts o;
	int first, code, n = 0, ret;

	code = cli_parse("status", argc, argv, &o, &first);
	if (code)
		return code;
	ret = run_state_list(o.run_root, cli_status_one, &n);
	if (ret < 0) {
		util_err("status: %s: %s", o.run_root, strerror(-ret));
		return CLI_EXIT_LAB;
	}
	if (!n)
		printf("no runs\n");
	return CLI_EXIT_PASS;
}

struct cli_find {
	const char *want;   /* run id or NULL: the only live one */
	int matches;
	char id[128];
	char dir[512];
	json_t *state;      /* new reference */
};

static int cli_find_one(const struct run_state_info *info, void *arg)
{
	struct cli_find *f = arg;

	if (f->want ? strcmp(f->want, info->id) : !info->alive)
		return 0;
	f->matches++;
	util_strlcpy(f->id, info->id, sizeof(f->id));
	util_strlcpy(f->dir, info->dir, sizeof(f->dir));
	json_decref(f->state);
	f->state = json_incref(info->state);
	return 0;
}

/* The run named by --run, or the only live one, into *F (f->state is a new
 * reference). 0, or CLI_EXIT_USAGE with the reason printed. */
static int cli_find_run(const char *cmd, const struct cli_opts *o, struct cli_find *f)
{
	memset(f, 0, sizeof(*f));
	f->want = o->run_id;
	run_state_list(o->run_root, cli_find_one, f);
	if (f->matches == 1 && f->state)
		return 0;
	util_err("%s: %s", cmd, f->matches > 1 ? "several labs are running; choose one with --run ID "
		 "(see uvmlab status)" : o->run_id ? "no such run (see uvmlab status)" :
		 "no running lab (start one with `uvmlab up FILE`)");
	json_decref(f->state);
	f->state = NULL;
	return CLI_EXIT_USAGE;
}

/* The VM entry of the run named by --run, or of the only live run. */
static int cli_find_vm(const char *cmd, const struct cli_opts *o, const char *vmname,
		       json_t **state, json_t **vm)
{
	struct cli_find f;
	json_t *v;
	size_t i;

	if (cli_find_run(cmd, o, &f))
		return CLI_EXIT_USAGE;
	json_array_foreach(json_object_get(f.state, "vms"), i, v)
		if (!strcmp(json_string_value(json_object_get(v, "name")) ?: "", vmname)) {
			*state = f.state;
			*vm = v;
			return 0;
		}
	util_err("%s: run %s has no vm \"%s\"", cmd, f.id, vmname);
	json_decref(f.state);
	return CLI_EXIT_USAGE;
}

/* `uvmlab check [--run ID] [--since-last]`: ask the run's supervisor to run
 * the scenario's checks against the live lab and judge its flows since it
 * came up (or since the previous check); print its table. */
int cli_check(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct cli_find f;
	struct cli_opts o;
	char buf[8192], *tail = NULL, *last;
	const char *req;
	size_t len = 0;
	int first, code, fd = -1;

	code = cli_parse("check", argc, argv, &o, &first);
	if (code)
		return code;
	if (first != argc) {
		util_err("check: no arguments expected (choose a run with --run ID)");
		return CLI_EXIT_USAGE;
	}
	if (cli_find_run("check", &o, &f))
		return CLI_EXIT_USAGE;
	json_decref(f.state);
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", f.dir, LAB_CONTROL_SOCK) >=
	    (int)sizeof(sa.sun_path)) {
		util_err("check: run directory path too long for a socket: %s", f.dir);
		return CLI_EXIT_LAB;
	}
	req = o.since_last ? "check since-last\n" : "check\n";
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		util_err("check: run %s: %s: %s (is its supervisor alive? see uvmlab status)", f.id,
			 sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CLI_EXIT_LAB;
	}
	util_progress("check: run %s: running the checks in the live lab", f.id);
	/* Print as it arrives, holding back the last line: "exit CODE". */
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n')) && strncmp(buf, "exit ", 5)) {
			fwrite(buf, 1, (size_t)(nl + 1 - buf), stdout);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1) { /* a line longer than the buffer: pass it on */
			fwrite(buf, 1, len, stdout);
			len = 0;
		}
	}
	close(fd);
	buf[len] = '\0';
	last = buf;
	if (strncmp(last, "exit ", 5)) {
		util_err("check: run %s: the supervisor stopped answering (see %s/supervisor.log)", f.id,
			 f.dir);
		return CLI_EXIT_LAB;
	}
	code = (int)strtol(last + 5, &tail, 10);
	if (tail == last + 5 || code < 0 || code > 3)
		code = CLI_EXIT_LAB;
	return code;
}

/* `exec [OPTIONS] VM [OPTIONS] [--] CMD [ARGS...]`: options may come before
 * and after VM, as for the other commands; parsing stops at "--" or at the
 * first word after VM that is not an option, which starts CMD (so
 * `exec alice ping -c1 ...` keeps its -c1). *VM and *CMD_AT (index of CMD in
 * ARGV) on success, else CLI_EXIT_USAGE with the reason printed. */
static int cli_exec_args(int argc, char **argv, struct cli_opts *o, const char **vm, int *cmd_at)
{
	char **args = NULL;
	int first, code, n = 0, i, at;

	code = cli_parse("exec", argc, argv, o, &first);
	if (code)
		return code;
	if (first >= argc || !strcmp(argv[first], "--")) {
		util_err("exec: usage: uvmlab exec [OPTIONS] VM [OPTIONS] -- CMD [ARGS...]");
		return CLI_EXIT_USAGE;
	}
	at = first;
	/* Parse again without VM, so the options after it count too. */
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return CLI_EXIT_LAB;
	for (i = 0; i < argc; i++)
		if (i != at)
			args[n++] = argv[i];
	code = cli_parse("exec", n, args, o, &first);
	free(args);
	if (code)
		return code;
	/* FIRST counts in ARGS, which lacks VM: in ARGV the command is one further */
	first++;
	if (first >= argc) {
		util_err("exec: no command given (uvmlab exec VM -- CMD [ARGS...])");
		return CLI_EXIT_USAGE;
	}
	*vm = argv[at];
	*cmd_at = first;
	return 0;
}

/* After exec failed on VM (its entry in the run's state when exec began): is
 * its QEMU gone? The agent socket closes a moment before the supervisor
 * reaps it and records how it ended, so wait a little for that record.
 * 1 with OUT "QEMU (pid N) exited (killed by signal 9)", else 0. */
static int cli_exec_vm_gone(const struct cli_opts *o, const char *vmname, json_t *vm,
			    char *out, size_t len)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(vm, "pid"));
	struct cli_find f;
	int i, st;

	if (pid <= 0)
		return 0;
	for (i = 0; i < 20; i++) {
		const char *died = NULL;
		json_t *v;
		size_t k;

		memset(&f, 0, sizeof(f));
		f.want = o->run_id;
		run_state_list(o->run_root, cli_find_one, &f);
		json_array_foreach(json_object_get(f.state, "vms"), k, v)
			if (!strcmp(json_string_value(json_object_get(v, "name")) ?: "", vmname))
				died = json_string_value(json_object_get(v, "died"));
		if (died)
			snprintf(out, len, "QEMU (pid %d) exited (%s)", (int)pid, died);
		json_decref(f.state);
		if (died)
			return 1;
		st = util_proc_state(pid);
		if (st != 'Z' && st != 0 && i >= 5)
			return 0;   /* alive after half a second: not what failed */
		usleep(100 * 1000);
	}
	snprintf(out, len, "QEMU (pid %d) exited", (int)pid);
	return 1;
}

int cli_exec(int argc, char **argv)
{
	struct cli_opts o;
	struct agent_conn *c = NULL;
	struct agent_hello hello;
	struct agent_exec_result r = { 0 };
	json_t *state = NULL, *vm = NULL;
	const char *vmname = NULL;
	char err[256] = "", gone[128];
	int first, code, ret, attach_ms;

	code = cli_exec_args(argc, argv, &o, &vmname, &first);
	if (code)
		return code;
	code = cli_find_vm("exec", &o, vmname, &state, &vm);
	if (code)
		return code;
	code = CLI_EXIT_LAB;
	/* Bounded by --timeout too: a stopped or wedged QEMU must not hold
	 * exec longer than the user allowed the command itself. */
	attach_ms = o.timeout_s < CLI_EXEC_ATTACH_MS / 1000 ? (int)o.timeout_s * 1000 : CLI_EXEC_ATTACH_MS;
	ret = agent_conn_attach(json_string_value(json_object_get(vm, "agent_sock")) ?: "", 3, 5000,
				attach_ms, &c, &hello);
	if (ret == -ETIMEDOUT) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(vm, "pid"));

		util_err("exec: vm \"%s\": the agent did not answer within %.1f s%s", vmname,
			 attach_ms / 1000.0,
			 util_proc_state(pid) == 'T' ? " (its QEMU is stopped)" : " (is the VM hung?)");
		goto cleanup;
	}
	if (ret < 0) {
		if (cli_exec_vm_gone(&o, vmname, vm, gone, sizeof(gone)))
			util_err("exec: vm \"%s\": %s", vmname, gone);
		else
			util_err("exec: vm \"%s\": agent: %s", vmname, strerror(-ret));
		goto cleanup;
	}
	ret = agent_conn_exec(c, (const char *const *)&argv[first], o.timeout_s * 1000, NULL, 0,
			      &r, err, sizeof(err));
	if (ret < 0) {
		if (cli_exec_vm_gone(&o, vmname, vm, gone, sizeof(gone)))
			util_err("exec: vm \"%s\": %s while the command ran", vmname, gone);
		else
			util_err("exec: vm \"%s\": %s%s%s", vmname, strerror(-ret), err[0] ? ": " : "", err);
		goto cleanup;
	}
	if (r.out_len && fwrite(r.out, 1, r.out_len, stdout) != r.out_len)
		util_err("exec: short write to stdout");
	if (r.err_len && fwrite(r.err, 1, r.err_len, stderr) != r.err_len)
		util_err("exec: short write to stderr");
	/* The agent keeps the first AGENT_MAX_OUTPUT bytes of each stream;
	 * the command's status is still passed on. */
	if (r.out_dropped)
		util_err("exec: vm \"%s\": stdout cut after %zu bytes, %llu more dropped", vmname,
			 r.out_len, (unsigned long long)r.out_dropped);
	if (r.err_dropped)
		util_err("exec: vm \"%s\": stderr cut after %zu bytes, %llu more dropped", vmname,
			 r.err_len, (unsigned long long)r.err_dropped);
	if (r.timed_out)
		util_err("exec: vm \"%s\": killed after %u s (--timeout)", vmname, o.timeout_s);
	code = (int)(r.status & 0xff);
cleanup:
	agent_exec_result_release(&r);
	agent_conn_close(c);
	json_decref(state);
	return code;
}

int cli_console(int argc, char **argv)
{
	struct cli_opts o;
	json_t *state = NULL, *vm = NULL;
	const char *path;
	char buf[65536];
	int first, code, fd;
	struct timespec ts = { 0, 200 * 1000 * 1000 };

	code = cli_parse("console", argc, argv, &o, &first);
	if (code)
		return code;
	if (argc - first != 1) {
		util_err("console: usage: uvmlab console [-f] [--run ID] VM");
		return CLI_EXIT_USAGE;
	}
	code = cli_find_vm("console", &o, argv[first], &state, &vm);
	if (code)
		return code;
	path = json_string_value(json_object_get(vm, "console_log")) ?: "";
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		util_err("console: %s: %s", path, strerror(errno));
		json_decref(state);
		return CLI_EXIT_LAB;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
				break;
			continue;
		}
		if (!o.follow || n < 0)
			break;
		fflush(stdout);
		json_int_t pid = json_integer_value(json_object_get(vm, "pid"));
		if (util_proc_starttime((pid_t)pid) !=
		    (uint64_t)json_integer_value(json_object_get(vm, "starttime")))
			break; /* the VM is gone: nothing more will come */
		nanosleep(&ts, NULL);
	}
	close(fd);
	json_decref(state);
	return CLI_EXIT_PASS;
}

int cli_accel(int argc, char **argv)
{
	struct cli_opts o;
	struct accel_choice ch;
	struct accel_probe_cfg cfg;
	char kernel[4200], initrd[4200];
	int first, code;

	code = cli_parse("accel", argc, argv, &o, &first);
	if (code)
		return code;
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", o.images_dir);
	snprintf(initrd, sizeof(initrd), "%s/%s.cpio", o.images_dir, role_get(0)->image);
	if (access(kernel, R_OK) < 0 || access(initrd, R_OK) < 0) {
		util_err("accel: guest images missing in %s: build them with `make guests`", o.images_dir);
		return CLI_EXIT_LAB;
	}
	cfg = (struct accel_probe_cfg){ .qemu_bin = o.qemu_bin, .kernel = kernel, .initrd = initrd,
					.cache_dir = o.run_root };
	if (accel_probe_choose(o.accel >= 0 ? (enum scn_accel)o.accel : SCN_ACCEL_AUTO, &cfg, &ch) < 0) {
		util_err("accel: %s", ch.reason);
		return CLI_EXIT_LAB;
	}
	printf("%s: %s\n", qemu_accel_get(ch.id)->name, ch.reason);
	return CLI_EXIT_PASS;
}

/* `uvmlab report`: the plotting lives in Python (matplotlib from Debian);
 * find the script beside the tree this binary was built in, or installed. */
int cli_report(int argc, char **argv)
{
	char exe[4096], script[4200];
	const char *env = getenv("UVMLAB_REPORT_PY");
	char **args;
	ssize_t n;
	int i, k = 0;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(argc < 2 ? stderr : stdout,
			"usage: uvmlab report [--out DIR] [--hyperfine FILE.json] [--all-checks] RESULT_DIR...\n");
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_PASS;
	}
	if (env) {
		util_strlcpy(script, env, sizeof(script));
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		if (strrchr(exe, '/'))
			*strrchr(exe, '/') = '\0';
		snprintf(script, sizeof(script), "%s/../harness/report/report.py", exe);
		if (access(script, R_OK) < 0)
			snprintf(script, sizeof(script), "%s/../share/uvmlab/report.py", exe);
	}
	if (access(script, R_OK) < 0) {
		util_err("report: report.py not found (set UVMLAB_REPORT_PY)");
		return CLI_EXIT_LAB;
	}
	args = calloc((size_t)argc + 6, sizeof(char *));
	if (!args)
		return CLI_EXIT_LAB;
	args[k++] = "/usr/bin/python3";
	args[k++] = script;
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--out"))
			break;
	if (i == argc) {
		/* default: next to the first result folder */
		args[k++] = "--out";
		for (i = 1; i < argc && argv[i][0] == '-'; i++)
			if (!strcmp(argv[i], "--hyperfine"))
				i++;
		if (i >= argc) {
			util_err("report: no RESULT_DIR given");
			free(args);
			return CLI_EXIT_USAGE;
		}
		args[k++] = argv[i];
	}
	for (i = 1; i < argc; i++)
		args[k++] = argv[i];
	execv(args[0], args);
	util_err("report: exec /usr/bin/python3: %s", strerror(errno));
	free(args);
	return CLI_EXIT_LAB;
}
