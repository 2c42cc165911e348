/* SPDX-License-Identifier: MIT */
/* cli.h: the uvmlab command line: subcommands, shared options, exit codes.
 * Only code behind this header exits the process. */
#ifndef UVMLAB_CLI_H
#define UVMLAB_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "plan/plan.h"
#include "scenario/scenario.h"

enum cli_exit {
	CLI_EXIT_PASS = 0,   /* everything passed */
	CLI_EXIT_FAIL = 1,   /* a check or threshold failed */
	CLI_EXIT_USAGE = 2,  /* bad usage or bad scenario */
	CLI_EXIT_LAB = 3,    /* the lab itself failed */
};

struct cli_opts {
	const char *results_root;
	const char *run_root;
	const char *images_dir;
	const char *qemu_bin;
	const char *run_id;       /* --run */
	int accel;                /* -1 or enum scn_accel */
	uint32_t boot_timeout_s;
	uint32_t timeout_s;       /* exec --timeout */
	int follow;               /* console -f */
	int all;                  /* down --all */
	int no_flows;             /* run --no-flows: no eBPF flow recorder */
	int json;                 /* plan --json */
	int since_last;           /* check --since-last */
	int timing_virtual;       /* --timing virtual: TCG with -icount */
	char images_buf[4096];    /* storage behind the default images_dir */
};

void cli_usage(FILE *f);

/* Parse shared options from ARGV (getopt_long, stops at "--"); on return
 * *OPTIND_OUT is the first operand. CLI_EXIT_PASS or CLI_EXIT_USAGE (message
 * printed). */
int cli_parse(const char *cmd, int argc, char **argv, struct cli_opts *o, int *optind_out);

/* Load and plan a scenario; on error print the one-line diagnostic and return
 * CLI_EXIT_USAGE (or CLI_EXIT_LAB for an unreadable file that exists). */
int cli_load(const char *path, struct scenario **scn, struct plan **plan);

/* S escaped for a message line (util_escape()) into BUF of LEN bytes; returns
 * BUF. For file names and other user text on stdout (util_err() escapes by
 * itself). */
const char *cli_esc(const char *s, char *buf, size_t len);

struct lab_opts;
/* Fill LO (lab.h) from the command-line options O. */
void cli_lab_opts(const struct cli_opts *o, struct lab_opts *lo);

/* Install SIGINT/SIGTERM/SIGHUP handlers that set the stop flag. */
void cli_signals(void);

int cli_run(int argc, char **argv);
int cli_up(int argc, char **argv);
int cli_down(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_exec(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_console(int argc, char **argv);
int cli_validate(int argc, char **argv);
int cli_plan(int argc, char **argv);
int cli_accel(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_report(int argc, char **argv);

#endif
