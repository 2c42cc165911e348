/* SPDX-License-Identifier: MIT */
/* names.c: the name <-> value tables of the scenario enums. */
#include <stdio.h>
#include <string.h>

#include "scenario/names.h"
#include "scenario/scenario.h"

#define SCN_NAMES(noun, arr) { .what = (noun), .names = (arr), .n = sizeof(arr) / sizeof((arr)[0]) }

static const char *const scn_names_machines[] = {
	[SCN_MACHINE_MICROVM] = "microvm",
	[SCN_MACHINE_Q35] = "q35",
	[SCN_MACHINE_PC] = "pc",
};
static const char *const scn_names_accels[] = {
	[SCN_ACCEL_AUTO] = "auto",
	[SCN_ACCEL_KVM] = "kvm",
	[SCN_ACCEL_TCG] = "tcg",
};
static const char *const scn_names_kernels[] = {
	[SCN_KERNEL_STOCK] = "stock",
	[SCN_KERNEL_LAB] = "lab",
};
static const char *const scn_names_boots[] = {
	[SCN_BOOT_BZIMAGE] = "bzimage",
	[SCN_BOOT_PVH] = "pvh",
};
static const char *const scn_names_consoles[] = {
	[SCN_CONSOLE_ON] = "on",
	[SCN_CONSOLE_OFF] = "off",
};
static const char *const scn_names_expects[] = {
	[SCN_EXPECT_ALLOWED] = "allowed",
	[SCN_EXPECT_BLOCKED] = "blocked",
};
static const char *const scn_names_protos[] = {
	[SCN_PROTO_ICMP] = "icmp",
	[SCN_PROTO_TCP] = "tcp",
	[SCN_PROTO_UDP] = "udp",
	[SCN_PROTO_ANY] = "any",
};
static const char *const scn_names_filter_actions[] = {
	[SCN_FILTER_ACCEPT] = "accept",
	[SCN_FILTER_DROP] = "drop",
};
static const char *const scn_names_bools[] = { "false", "true" };

const struct scn_names scn_names_machine = SCN_NAMES("machine type", scn_names_machines);
const struct scn_names scn_names_accel = SCN_NAMES("accelerator", scn_names_accels);
const struct scn_names scn_names_kernel = SCN_NAMES("kernel", scn_names_kernels);
const struct scn_names scn_names_boot = SCN_NAMES("boot protocol", scn_names_boots);
const struct scn_names scn_names_console = SCN_NAMES("console setting", scn_names_consoles);
const struct scn_names scn_names_expect = SCN_NAMES("expect value", scn_names_expects);
const struct scn_names scn_names_proto = SCN_NAMES("protocol", scn_names_protos);
const struct scn_names scn_names_filter_action = SCN_NAMES("action", scn_names_filter_actions);
const struct scn_names scn_names_bool = SCN_NAMES("boolean", scn_names_bools);

const char *scn_names_name(const struct scn_names *t, unsigned int value)
{
	return value < t->n && t->names[value] ? t->names[value] : "?";
}

int scn_names_value(const struct scn_names *t, const char *s)
{
	size_t i;

	for (i = 0; s && i < t->n; i++)
		if (t->names[i] && !strcmp(s, t->names[i]))
			return (int)i;
	return -1;
}

void scn_names_list_of(const char *const *names, size_t n, char *out, size_t len)
{
	size_t i;

	if (!out || len == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		size_t l = strlen(out);

		snprintf(out + l, len - l, "%s%s", names[i],
			 i + 2 < n ? ", " : i + 2 == n ? " or " : "");
	}
}

void scn_names_list(const struct scn_names *t, char *out, size_t len)
{
	scn_names_list_of(t->names, t->n, out, len);
}

const char *scn_machine_name(enum scn_machine m)
{
	return scn_names_name(&scn_names_machine, (unsigned int)m);
}

const char *scn_accel_name(enum scn_accel a)
{
	return scn_names_name(&scn_names_accel, (unsigned int)a);
}

const char *scn_kernel_name(enum scn_kernel k)
{
	return scn_names_name(&scn_names_kernel, (unsigned int)k);
}

const char *scn_boot_name(enum scn_boot b)
{
	return scn_names_name(&scn_names_boot, (unsigned int)b);
}

const char *scn_proto_name(enum scn_proto p)
{
	return scn_names_name(&scn_names_proto, (unsigned int)p);
}

const char *scn_filter_action_name(enum scn_filter_action a)
{
	return scn_names_name(&scn_names_filter_action, (unsigned int)a);
}
