/* SPDX-License-Identifier: MIT */
/* main.c: uvmlab entry point: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "result.h"
#include "util.h"

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

int main(int argc, char **argv)
{
	size_t i;

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
