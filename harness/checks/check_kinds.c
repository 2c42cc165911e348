/* SPDX-License-Identifier: MIT */
/* check_kinds.c: the check kinds: one check_ops per kind, in the registry indexed by kind id. */
#include "checks/check_schemas.h"
#include "checks/check.h"

#include "checks/checks_net.h"
#include "checks/checks_reach.h"
#include "checks/checks_vsock.h"
#include "checks/lab_gprobe.h"
#include "base/util.h"

static const char *check_kinds_reach_proto(const struct scn_check *c)
{
	return c->proto == SCN_PROTO_TCP ? "tcp" : c->proto == SCN_PROTO_UDP ? "udp" : "icmp";
}

static void check_kinds_reach_row(const struct scn_check *c, json_t *row)
{
	if (c->proto != SCN_PROTO_ICMP)
		json_object_set_new(row, "port", json_integer(c->port));
}

/* Toward "internet" the fake internet's log is the evidence (checks_net.c). */
static int check_kinds_reach_run(struct lab *lab, const struct plan *plan, const struct scn_check *c,
				 json_t *row, struct checks_summary *sum)
{
	if (checks_net_handles(c))
		return checks_net_run(lab, plan, c, row, sum);
	return checks_reach_run(lab, plan, c, row, sum);
}

static const struct check_ops check_reach = {
	.name = "reach",
	.proto = check_kinds_reach_proto,
	.row = check_kinds_reach_row,
	.run = check_kinds_reach_run,
};

static const char *check_kinds_vsock_proto(const struct scn_check *c)
{
	(void)c;
	return "vsock";
}

static void check_kinds_vsock_row(const struct scn_check *c, json_t *row)
{
	json_object_set_new(row, "port", json_integer(c->port));
	json_object_set_new(row, "bytes", json_integer(c->bytes));
}

static const struct check_ops check_vsock = {
	.name = "vsock",
	.proto = check_kinds_vsock_proto,
	.row = check_kinds_vsock_row,
	.run = checks_vsock_run,
};

static const char *check_kinds_fetch_proto(const struct scn_check *c)
{
	(void)c;
	return "http";
}

static void check_kinds_fetch_row(const struct scn_check *c, json_t *row)
{
	if (c->target)
		json_object_set_new(row, "url", json_string(c->target));
}

static const struct check_ops check_fetch = {
	.name = "fetch",
	.proto = check_kinds_fetch_proto,
	.row = check_kinds_fetch_row,
	.run = checks_net_run,
};

static const char *check_kinds_resolve_proto(const struct scn_check *c)
{
	(void)c;
	return "dns";
}

static void check_kinds_resolve_row(const struct scn_check *c, json_t *row)
{
	if (c->target)
		json_object_set_new(row, "host", json_string(c->target));
}

static const struct check_ops check_resolve = {
	.name = "resolve",
	.proto = check_kinds_resolve_proto,
	.row = check_kinds_resolve_row,
	.run = checks_net_run,
};

static const char *check_kinds_probe_proto(const struct scn_check *c)
{
	(void)c;
	return "any";
}

/* The guest probes' findings cover the whole run up to the judging. */
static int check_kinds_probe_verdict(struct lab *lab, const struct plan *plan, const struct scn_check *c,
				     json_t *row, json_t *cache, struct checks_summary *sum)
{
	util_progress("check %s (guest probe in vm %s)", c->name, c->from.name);
	return lab_gprobe_check(lab, plan, c, row, cache, sum);
}

static const struct check_ops check_forwarding = {
	.name = "forwarding",
	.proto = check_kinds_probe_proto,
	.verdict = check_kinds_probe_verdict,
	.needs_guest_probe = 1,
	.prepare = lab_gprobe_prepare,
};

static const struct check_ops check_attribution = {
	.name = "attribution",
	.proto = check_kinds_probe_proto,
	.verdict = check_kinds_probe_verdict,
	.needs_guest_probe = 1,
	.prepare = lab_gprobe_prepare,
};

/* Indexed by kind id: the value the scenario parser stores in scn_check.kind. */
const struct check_ops *const check_table[] = {
	[CHECK_REACH] = &check_reach,
	[CHECK_VSOCK] = &check_vsock,
	[CHECK_FETCH] = &check_fetch,
	[CHECK_RESOLVE] = &check_resolve,
	[CHECK_FORWARDING] = &check_forwarding,
	[CHECK_ATTRIBUTION] = &check_attribution,
};
const size_t check_table_len = sizeof(check_table) / sizeof(check_table[0]);
