/* SPDX-License-Identifier: MIT */
/* names.h: one name table per scenario enum, shared by parser, CLI and QEMU code.
 *
 * Each table maps an enum value (its index) to the word a scenario file or a
 * command line uses for it, and carries the noun diagnostics use ("unknown
 * machine type ..."). The tables are constant data: nothing registers into
 * them at run time. Role, check kind and service names are not here: they
 * come from the schema tables of roles/, checks/ and services/ (schema.h).
 */
#ifndef UVMLAB_SCENARIO_NAMES_H
#define UVMLAB_SCENARIO_NAMES_H

#include <stddef.h>

struct scn_names {
	const char *what;           /* noun for messages: "machine type" */
	const char *const *names;   /* names[value] */
	size_t n;
};

extern const struct scn_names scn_names_machine;       /* enum scn_machine */
extern const struct scn_names scn_names_accel;         /* enum scn_accel */
extern const struct scn_names scn_names_kernel;        /* enum scn_kernel */
extern const struct scn_names scn_names_boot;          /* enum scn_boot */
extern const struct scn_names scn_names_console;       /* enum scn_console */
extern const struct scn_names scn_names_expect;        /* enum scn_expect */
extern const struct scn_names scn_names_proto;         /* enum scn_proto */
extern const struct scn_names scn_names_filter_action; /* enum scn_filter_action */
extern const struct scn_names scn_names_bool;          /* 0 false, 1 true */

/* The name of VALUE in T, or "?" when VALUE is out of range. */
const char *scn_names_name(const struct scn_names *t, unsigned int value);

/* The value whose name is S in T, or -1. S is compared whole, so a string
 * holding a NUL byte before its end should be refused by the caller. */
int scn_names_value(const struct scn_names *t, const char *s);

/* Write T's names as "a, b or c" into OUT (LEN bytes, truncated safely). */
void scn_names_list(const struct scn_names *t, char *out, size_t len);

/* Same over a plain array of N names (tables assembled at run time). */
void scn_names_list_of(const char *const *names, size_t n, char *out, size_t len);

#endif
