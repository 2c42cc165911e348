/* SPDX-License-Identifier: MIT */
/* main.c: uvmlab entry point: dispatch to a subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "record/result.h"
#include "base/util.h"

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct cli_cmd cli_cmds[] = {
	{ "run", cli_run },
	{ "up", cli_up },
	{ "down", cli_down },
	{ "status", cli_status },
	{ "exec", cli_exec },
	{ "check", cli_check },
	{ "console", cli_console },
	{ "validate", cli_validate },
	{ "plan", cli_plan },
	{ "accel", cli_accel },
	{ "bench", cli_bench },
	{ "report", cli_report },
};

/* Variables that choose a program (or scripts) uvmlab then runs, as root. */
static const char *const main_env_overrides[] = {
	"UVMLAB_QEMU", "UVMLAB_VSOCKD", "UVMLAB_REPORT_PY", "UVMLAB_FIXTURES",
};

/* Run as root, uvmlab would run whatever these variables name: a sudo
 * configured to keep the environment, or a root shell that inherited it, would
 * turn them into a way to run any program as root. So as root they apply only
 * behind --allow-env-overrides (taken from anywhere before "--"); otherwise
 * each one set is named once on stderr and dropped, and the built-in choice
 * (beside the uvmlab binary, from its build tree, or on PATH) applies. */
static int main_env_policy(int *argc, char **argv)
{
	int allow = 0, i, j;
	size_t k;

	for (i = 1; i < *argc && strcmp(argv[i], "--"); i++) {
		if (strcmp(argv[i], "--allow-env-overrides"))
			continue;
		allow = 1;
		for (j = i; j < *argc; j++)
			argv[j] = argv[j + 1];
		(*argc)--;
		i--;
	}
	if (allow || geteuid() != 0)
		return 0;
	for (k = 0; k < sizeof(main_env_overrides) / sizeof(main_env_overrides[0]); k++) {
		if (!getenv(main_env_overrides[k]))
			continue;
		util_err("ignoring %s: running as root, environment overrides of programs "
			 "need --allow-env-overrides", main_env_overrides[k]);
		if (unsetenv(main_env_overrides[k]) < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (main_env_policy(&argc, argv) < 0)
		return CLI_EXIT_LAB;

	if (argc < 2) {
		cli_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		cli_usage(stdout);
		return CLI_EXIT_PASS;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("uvmlab %s (%s)\n", result_version(), result_git_commit());
		return CLI_EXIT_PASS;
	}
	for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		if (!strcmp(argv[1], cli_cmds[i].name))
			return cli_cmds[i].fn(argc - 1, argv + 1);
	util_err("unknown command \"%s\" (see uvmlab --help)", argv[1]);
	return CLI_EXIT_USAGE;
}
