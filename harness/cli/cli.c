/* SPDX-License-Identifier: MIT */
/* cli.c: shared command-line parsing, usage text, scenario loading and signals. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab/lab.h"
#include "lab/run_state.h"
#include "base/util.h"
#include "scenario/names.h"

void cli_usage(FILE *f)
{
	fputs(
"usage: uvmlab COMMAND [OPTIONS] [ARGS]\n"
"\n"
"Stand microVM topologies up from YAML scenario files, check what is isolated\n"
"from what, measure boots; tear everything down afterwards.\n"
"\n"
"Commands:\n"
"  run FILE           bring the lab up, run its checks, write results/<run-id>/,\n"
"                     print the verdict table and boot timelines, tear down\n"
"  up FILE            bring the lab up and leave it running in the background;\n"
"                     prints the run id\n"
"  down RUN-ID        stop a run and remove everything it left behind: every\n"
"                     process in the run's cgroup (uvmlab/RUN-ID) is killed;\n"
"                     prints the run's containment record (exit 1 if breached)\n"
"  down --all         stop every run on this host, orphans of killed runs included\n"
"  status             list runs on this host and their VMs: running, stopped,\n"
"                     or died (how its QEMU ended: killed by signal N, exited\n"
"                     with status N)\n"
"  check              run the scenario's checks in a lab kept up by `up` and judge\n"
"                     its flows since it came up (--run ID when several run);\n"
"                     results in RESULTS/<run-id>/check-N/; exit codes as run;\n"
"                     --since-last: only the flows since the previous check\n"
"  exec VM [OPTIONS] -- CMD...\n"
"                     run CMD in VM of a running lab (--run ID when several run);\n"
"                     options may come before or after VM; without --, CMD\n"
"                     starts at the first word after VM that is not an option\n"
"  console VM         print VM's serial console log (-f follows it); a log keeps\n"
"                     at most lab.console_log_max bytes (default 4M), then ends\n"
"                     with a line saying how much was dropped\n"
"  validate FILE      check a scenario file without running anything\n"
"  plan FILE          print the address plan without running anything: per VM\n"
"                     and NIC its network, MAC, address, tap, vsock CID and\n"
"                     default gateway; bridges, start order (--json for JSON)\n"
"  bench boot FILE    boot every VM of FILE as one configuration, a fresh VM per\n"
"                     sample (--repeat N, default 5; --warmup K, default 1),\n"
"                     each paired with the same QEMU started bare by /bin/sh\n"
"                     (--no-bare skips it); raw samples go to result.json\n"
"  bench vsock FILE   vsock throughput host<->guest and guest<->guest (and TCP\n"
"                     over the bridge), 64 B..1 MiB writes, backend CPU per GiB\n"
"                     against memcpy (--repeat N, default 3)\n"
"  report DIR...      Markdown + HTML report from result folders: boot plots\n"
"                     for `bench boot` ones; checks with evidence, probe\n"
"                     findings, flow matrix and flow graph for `run` ones\n"
"                     (--out DIR, default: the first DIR; --hyperfine FILE.json\n"
"                     adds whole-command timings); for an `up` run\n"
"                     folder, its newest check-N (--all-checks: every one)\n"
"  accel              say which accelerator `auto` picks on this host, and why\n"
"                     (boots a probe guest under KVM once per host boot)\n"
"\n"
"Options:\n"
"  --accel auto|kvm|tcg  override the scenario's accelerator (auto: KVM only if a\n"
"                        probe guest really boots under it, else TCG)\n"
"  --boot-timeout SEC    per-VM boot timeout (default: scenario, else 120 s on\n"
"                        TCG, 30 s on KVM)\n"
"  --images DIR          guest images (default: guests/ beside the uvmlab binary,\n"
"                        or $UVMLAB_IMAGES)\n"
"  --results DIR         where run folders go (default: ./results or $UVMLAB_RESULTS)\n"
"  --run-root DIR        live run state (default: /run/uvmlab or $UVMLAB_RUN_ROOT)\n"
"  --qemu PATH           QEMU binary (default: qemu-system-x86_64, or $UVMLAB_QEMU;\n"
"                        see --allow-env-overrides)\n"
"  --run ID              which run (check, exec, console; default: the only live one)\n"
"  --timeout SEC         exec: kill the command after SEC seconds (default 60);\n"
"                        a VM whose agent does not answer within SEC (at most\n"
"                        15) is reported, exit 3\n"
"  -f, --follow          console: keep printing as the log grows\n"
"  --json                plan: print the plan as JSON\n"
"  --since-last          check: judge only the flows recorded since the previous\n"
"                        check (their new packets); the first judges all since\n"
"                        up. Guest probe checks still cover the whole run\n"
"  --timing wall|virtual run, up, bench boot: virtual runs every guest under\n"
"                        TCG with -icount (1 ns per instruction, no sleeping):\n"
"                        guest clocks count what the guest executed, not how\n"
"                        busy the host is, so bench boot's guest-clock phases\n"
"                        repeat on a loaded machine (wall, the default: the\n"
"                        accelerator as chosen). Slower than plain TCG; not\n"
"                        with --accel kvm\n"
"  --no-flows            run, up: skip the eBPF flow recorder on the lab's ports\n"
"                        (no flow matrix; a scenario policy is then not judged)\n"
"                        and the containment egress recorder (the check that no\n"
"                        lab link leads to the host's namespace still runs)\n"
"  --allow-env-overrides as root, honour UVMLAB_QEMU, UVMLAB_VSOCKD,\n"
"                        UVMLAB_REPORT_PY and UVMLAB_FIXTURES (programs and\n"
"                        scripts uvmlab runs); without it root ignores them\n"
"                        (named on stderr) and uses the ones beside the binary\n"
"  -h, --help            this text\n"
"  --version             uvmlab's version and git commit\n"
"\n"
"Privileges: uvmlab itself runs as root; each VM's QEMU runs as its own\n"
"unprivileged uid and the run's helpers (vsock backend, fake internet, Tor\n"
"relays) as another, leased from 2000000000-2000065535 in /run/uvmlab-ids\n"
"(no passwd entries; recorded in the run's state.json). The run root and the\n"
"folders above it must let other users search them (o+x).\n"
"\n"
"Exit codes:\n"
"  0  everything passed\n"
"  1  a check failed, or containment was breached (a lab link with its peer\n"
"     in the host's namespace, a frame at the lab's egress toward an address\n"
"     outside 198.18.0.0/15 and the TEST-NETs)\n"
"  2  bad usage or bad scenario (one line: FILE:LINE:COLUMN: message)\n"
"  3  the lab itself failed (a VM did not boot, a dependency is missing,\n"
"     a lab.limits value the host cannot apply or that is too small,\n"
"     interrupted); nothing is left behind\n"
"`uvmlab exec` exits with the command's own status (2 for bad usage, 3 if it\n"
"could not run it). Each output stream keeps its first 1 MiB; a cut is named\n"
"on stderr with the number of bytes dropped.\n"
"Progress goes to stderr when it is a terminal (UVMLAB_PROGRESS=1 forces it).\n"
"UVMLAB_KERNEL_BTF / UVMLAB_GUEST_BTF point the host flow recorder / the guest\n"
"probe (forwarding and attribution checks) at another BTF file than the kernel's.\n", f);
}

enum { OPT_ACCEL = 256, OPT_BOOT_TIMEOUT, OPT_IMAGES, OPT_RESULTS, OPT_RUN_ROOT, OPT_QEMU,
       OPT_RUN, OPT_TIMEOUT, OPT_ALL, OPT_NO_FLOWS, OPT_JSON,
       OPT_SINCE_LAST, OPT_TIMING };

static int cli_uint(const char *cmd, const char *opt, const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v == 0 || v > 86400) {
		util_err("%s: %s wants a number of seconds (1-86400), not \"%s\"", cmd, opt, s);
		return CLI_EXIT_USAGE;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Where the guest images are when nobody says: beside the binary (build/uvmlab
 * → build/guests), which also holds for `make install`ed trees that copy both. */
static const char *cli_default_images(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 16);
	char *slash;

	if (getenv("UVMLAB_IMAGES"))
		return getenv("UVMLAB_IMAGES");
	if (n <= 0)
		return "build/guests";
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return "build/guests";
	strcpy(slash, "/guests");
	return buf;
}

int cli_parse(const char *cmd, int argc, char **argv, struct cli_opts *o, int *optind_out)
{
	static const struct option longopts[] = {
		{ "accel", required_argument, NULL, OPT_ACCEL },
		{ "boot-timeout", required_argument, NULL, OPT_BOOT_TIMEOUT },
		{ "images", required_argument, NULL, OPT_IMAGES },
		{ "results", required_argument, NULL, OPT_RESULTS },
		{ "run-root", required_argument, NULL, OPT_RUN_ROOT },
		{ "qemu", required_argument, NULL, OPT_QEMU },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "no-flows", no_argument, NULL, OPT_NO_FLOWS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "since-last", no_argument, NULL, OPT_SINCE_LAST },
		{ "timing", required_argument, NULL, OPT_TIMING },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->accel = -1;
	o->timeout_s = 60;
	o->results_root = getenv("UVMLAB_RESULTS") ? getenv("UVMLAB_RESULTS") : "results";
	o->run_root = getenv("UVMLAB_RUN_ROOT") ? getenv("UVMLAB_RUN_ROOT") : RUN_STATE_DEFAULT_ROOT;
	o->qemu_bin = getenv("UVMLAB_QEMU") ? getenv("UVMLAB_QEMU") : "qemu-system-x86_64";
	o->images_dir = cli_default_images(o->images_buf, sizeof(o->images_buf));
	optind = 1;
	opterr = 0;
	/* exec stops at its first operand ("+") so `exec VM -- CMD -x` keeps -x;
	 * the others accept options anywhere. */
	while ((c = getopt_long(argc, argv, strcmp(cmd, "exec") ? "fh" : "+fh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ACCEL:
			o->accel = scn_names_value(&scn_names_accel, optarg);
			if (o->accel < 0) {
				char names[64];

				scn_names_list(&scn_names_accel, names, sizeof(names));
				util_err("%s: --accel wants %s, not \"%s\"", cmd, names, optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_BOOT_TIMEOUT:
			if (cli_uint(cmd, "--boot-timeout", optarg, &o->boot_timeout_s))
				return CLI_EXIT_USAGE;
			break;
		case OPT_TIMEOUT:
			if (cli_uint(cmd, "--timeout", optarg, &o->timeout_s))
				return CLI_EXIT_USAGE;
			break;
		case OPT_IMAGES: o->images_dir = optarg; break;
		case OPT_RESULTS: o->results_root = optarg; break;
		case OPT_RUN_ROOT: o->run_root = optarg; break;
		case OPT_QEMU: o->qemu_bin = optarg; break;
		case OPT_RUN: o->run_id = optarg; break;
		case OPT_ALL: o->all = 1; break;
		case OPT_NO_FLOWS: o->no_flows = 1; break;
		case OPT_JSON: o->json = 1; break;
		case OPT_SINCE_LAST: o->since_last = 1; break;
		case OPT_TIMING:
			if (strcmp(optarg, "wall") && strcmp(optarg, "virtual")) {
				util_err("%s: --timing wants wall or virtual, not \"%s\"", cmd, optarg);
				return CLI_EXIT_USAGE;
			}
			o->timing_virtual = !strcmp(optarg, "virtual");
			break;
		case 'f': o->follow = 1; break;
		case 'h':
			cli_usage(stdout);
			exit(CLI_EXIT_PASS);
		default:
			util_err("%s: unknown option \"%s\" (see uvmlab --help)", cmd, argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (o->timing_virtual && o->accel == SCN_ACCEL_KVM) {
		util_err("%s: --timing virtual runs guests under TCG with -icount: not with --accel kvm", cmd);
		return CLI_EXIT_USAGE;
	}
	*optind_out = optind;
	return CLI_EXIT_PASS;
}

int cli_load(const char *path, struct scenario **scn, struct plan **plan)
{
	struct scn_diag diag;
	char line[1400], esc[4 * sizeof(line)];
	int ret;

	memset(&diag, 0, sizeof(diag));
	*scn = NULL;
	*plan = NULL;
	ret = scenario_load(path, scn, &diag);
	if (!ret) {
		ret = plan_build(*scn, plan, &diag);
		if (ret < 0) {
			util_strlcpy(diag.file, path, sizeof(diag.file));
			scenario_free(*scn);
			*scn = NULL;
		}
	}
	if (ret < 0) {
		/* the file name is the user's, any byte: one line still */
		scn_diag_format(&diag, line, sizeof(line));
		util_escape(line, strlen(line), esc, sizeof(esc));
		fprintf(stderr, "%s\n", esc);
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_PASS;
}

const char *cli_esc(const char *s, char *buf, size_t len)
{
	util_escape(s, strlen(s), buf, len);
	return buf;
}

static void cli_on_signal(int sig)
{
	lab_stop_flag = sig; /* which one, for the error message */
}

void cli_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_on_signal; /* no SA_RESTART: waits return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
