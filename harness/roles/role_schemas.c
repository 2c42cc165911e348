/* SPDX-License-Identifier: MIT */
/* role_schemas.c: the VM roles' keys and rules in the scenario format.
 *
 * Pure data and checks over a parsed scenario: nothing here runs a VM. The
 * runtime side of each role (what it does once ready) is roles/lab_role.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles/role_schemas.h"

#define ROLE_SCHEMAS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The most rules one router's filter may have. */
#define ROLE_SCHEMAS_MAX_FILTER_RULES 256u

/* ---- router: filter: { default?, rules? } --------------------------------- */

/* Positions in the rule table, read back from SEEN. */
enum { ROLE_SCHEMAS_RULE_FROM, ROLE_SCHEMAS_RULE_TO, ROLE_SCHEMAS_RULE_PROTO,
       ROLE_SCHEMAS_RULE_PORT, ROLE_SCHEMAS_RULE_ACTION };

static const struct scn_key role_schemas_rule_keys[] = {
	[ROLE_SCHEMAS_RULE_FROM] = { .name = "from", .parse = scn_key_ref, .at = SCN_AT(struct scn_filter_rule, from),
	  .what = "a vm or network name" },
	[ROLE_SCHEMAS_RULE_TO] = { .name = "to", .parse = scn_key_ref,
	  .at = SCN_AT(struct scn_filter_rule, to), .what = "a vm or network name" },
	[ROLE_SCHEMAS_RULE_PROTO] = { .name = "proto", .parse = scn_key_enum,
	  .at = SCN_AT(struct scn_filter_rule, proto), .names = &scn_names_proto },
	[ROLE_SCHEMAS_RULE_PORT] = { .name = "port", .parse = scn_key_u16,
	  .at = SCN_AT(struct scn_filter_rule, port),
	  .key_loc_at = SCN_AT(struct scn_filter_rule, port_loc), .min = 1, .max = 65535 },
	[ROLE_SCHEMAS_RULE_ACTION] = { .name = "action", .parse = scn_key_enum, .at = SCN_AT(struct scn_filter_rule, action),
	  .names = &scn_names_filter_action, .flags = SCN_KEY_REQUIRED },
};

/* One rule of a filter: { from?, to?, proto?, port?, action }. */
static int role_schemas_rule(struct scn_parse *p, struct scn_filter_rule *fr,
			     const char *filter_where, size_t idx, const struct scn_node *n)
{
	const struct scn_node *seen[ROLE_SCHEMAS_COUNT(role_schemas_rule_keys)];
	char where[112];
	int rc;

	snprintf(where, sizeof(where), "%s rule #%zu", filter_where, idx + 1);
	fr->loc = n->loc;
	fr->proto = SCN_PROTO_ANY;
	if (n->kind != SCN_NODE_MAP)
		return scn_schema_type_error(p, n, where, NULL, "a mapping");
	rc = scn_schema_walk(p, n, role_schemas_rule_keys, ROLE_SCHEMAS_COUNT(role_schemas_rule_keys),
			     where, fr, seen, n->loc);
	if (rc)
		return rc;
	/* A port narrows tcp or udp; with icmp or any it would mean nothing. */
	if (fr->port && fr->proto != SCN_PROTO_TCP && fr->proto != SCN_PROTO_UDP) {
		rc = scn_diag_set(p->diag, fr->port_loc, "%s: port is only meaningful with proto "
				  "tcp or udp%s", where, seen[ROLE_SCHEMAS_RULE_PROTO] ? "" : " (proto defaults to any)");
		snprintf(p->diag->hint, sizeof(p->diag->hint), "add proto: tcp");
	}
	return rc;
}

static int role_schemas_rules(struct scn_parse *p, const struct scn_key *k, const char *where,
			      const struct scn_node *key, const struct scn_node *val, void *obj)
{
	struct scn_filter *f = obj;
	size_t r;
	int rc = 0;

	if (scn_yaml_is_null(val))
		return 0;
	if (val->kind != SCN_NODE_SEQ)
		return scn_schema_type_error(p, val, where, "rules", "a sequence");
	if (val->n_kids > ROLE_SCHEMAS_MAX_FILTER_RULES)
		return scn_diag_set(p->diag, val->kids[ROLE_SCHEMAS_MAX_FILTER_RULES]->loc,
				    "%s: too many rules (max %u)", where,
				    ROLE_SCHEMAS_MAX_FILTER_RULES);
	if (val->n_kids == 0)
		return 0;
	f->rules = calloc(val->n_kids, sizeof(*f->rules));
	if (!f->rules)
		return scn_schema_oom(p);
	for (r = 0; rc == 0 && r < val->n_kids; r++)
		/* Count it first: a half-filled rule still owns strings to free. */
		rc = role_schemas_rule(p, &f->rules[f->n_rules++], where, r, val->kids[r]);
	return rc;
}

static const struct scn_key role_schemas_filter_keys[] = {
	{ .name = "default", .parse = scn_key_enum, .at = SCN_AT(struct scn_filter, dflt),
	  .names = &scn_names_filter_action },
	{ .name = "rules", .parse = role_schemas_rules },
};

/* filter: on a vm; that the vm is a router is checked once the whole
 * scenario is parsed (the role may be written after the filter). */
static int role_schemas_filter(struct scn_parse *p, const struct scn_key *k, const char *vm_where,
			       const struct scn_node *key, const struct scn_node *val, void *obj)
{
	struct scn_vm *vm = obj;
	struct scn_filter *f = &vm->filter;
	char where[80];
	int rc;

	snprintf(where, sizeof(where), "%s filter", vm_where);
	vm->has_filter = 1;
	f->loc = key->loc;
	f->dflt = SCN_FILTER_ACCEPT;
	rc = scn_schema_map(p, val, vm_where, "filter", 1);
	if (rc <= 0)
		return rc;
	return scn_schema_walk(p, val, role_schemas_filter_keys,
			       ROLE_SCHEMAS_COUNT(role_schemas_filter_keys), where, f, NULL, val->loc);
}

/* A filter endpoint names a VM with addresses or a network, never both and
 * never the router itself: its own traffic is not forwarded, so such a rule
 * could never match and would only look like protection. */
static int role_schemas_filter_ref(const struct scenario *scn, const struct scn_vm *router,
				   const struct scn_ref *ref, const char *where,
				   const char *key, struct scn_diag *diag)
{
	const char *cands[SCN_MAX_VMS + SCN_MAX_NETWORKS];
	const struct scn_vm *vm;
	const struct scn_network *net;
	size_t i, n = 0;
	char q[256];
	int rc;

	if (!ref->name)
		return 0;
	vm = scenario_find_vm(scn, ref->name);
	net = scenario_find_network(scn, ref->name);
	if (vm && net)
		return scn_diag_set(diag, ref->loc, "%s: %s: \"%s\" names both a vm and a network; "
				    "rename one of them", where, key, ref->name);
	if (vm == router)
		return scn_diag_set(diag, ref->loc, "%s: %s: the router itself: the filter sees only "
				    "traffic it forwards, never its own", where, key);
	if (vm && vm->n_nics == 0)
		return scn_diag_set(diag, ref->loc, "%s: %s: vm \"%s\" has no nics, so no address "
				    "to filter", where, key, vm->name);
	if (vm || net)
		return 0;
	for (i = 0; i < scn->n_vms && n < SCN_MAX_VMS; i++)
		cands[n++] = scn->vms[i].name;
	for (i = 0; i < scn->n_networks && n < SCN_MAX_VMS + SCN_MAX_NETWORKS; i++)
		cands[n++] = scn->networks[i].name;
	scn_diag_quote(ref->name, strlen(ref->name), q, sizeof(q));
	rc = scn_diag_set(diag, ref->loc, "%s: %s: unknown vm or network %s", where, key, q);
	scn_diag_suggest(diag, ref->name, cands, n);
	return rc;
}

static int role_schemas_router_vm(const struct scenario *scn, const struct scn_vm *vm,
				  const char *vm_where, struct scn_diag *diag)
{
	char where[112];
	size_t i;
	int rc;

	if (!vm->has_filter)
		return 0;
	if (vm->role != ROLE_ROUTER) {
		rc = scn_diag_set(diag, vm->filter.loc, "%s: filter: only for role router (it "
				  "filters what a router forwards), not role %s", vm_where,
				  scn_role_name(vm->role));
		snprintf(diag->hint, sizeof(diag->hint), "add role: router");
		return rc;
	}
	for (i = 0; i < vm->filter.n_rules; i++) {
		const struct scn_filter_rule *r = &vm->filter.rules[i];

		snprintf(where, sizeof(where), "%s filter rule #%zu", vm_where, i + 1);
		rc = role_schemas_filter_ref(scn, vm, &r->from, where, "from", diag);
		if (!rc)
			rc = role_schemas_filter_ref(scn, vm, &r->to, where, "to", diag);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- tor-gateway: gateway: strict|leaky|open-output ----------------------- */

static const char *const role_schemas_gateway_names[] = {
	[GATEWAY_STRICT] = "strict",
	[GATEWAY_LEAKY] = "leaky",
	[GATEWAY_OPEN_OUTPUT] = "open-output",
};

const struct scn_names role_schema_gateway_modes = {
	.what = "gateway mode",
	.names = role_schemas_gateway_names,
	.n = ROLE_SCHEMAS_COUNT(role_schemas_gateway_names),
};

/* Only a non-default mode is refused elsewhere: `gateway: strict` on another
 * role has always been accepted as a no-op. */
static int role_schemas_gateway_vm(const struct scenario *scn, const struct scn_vm *vm,
				   struct scn_diag *diag)
{
	if (vm->role_opt != GATEWAY_STRICT && vm->role != ROLE_TOR_GATEWAY)
		return scn_diag_set(diag, vm->loc, "vm \"%s\": gateway: only for role tor-gateway",
				    vm->name);
	return 0;
}

/* ---- the table ------------------------------------------------------------ */

static const struct scn_key role_schemas_router_keys[] = {
	{ .name = "filter", .parse = role_schemas_filter },
};

static const struct scn_key role_schemas_gateway_keys[] = {
	{ .name = "gateway", .parse = scn_key_enum, .at = SCN_AT(struct scn_vm, role_opt),
	  .names = &role_schema_gateway_modes },
};

static const struct scn_role_schema role_schema_app = {
	.name = "app",
};

static const struct scn_role_schema role_schema_router = {
	.name = "router",
	.vm_keys = role_schemas_router_keys,
	.n_vm_keys = ROLE_SCHEMAS_COUNT(role_schemas_router_keys),
	.validate_vm = role_schemas_router_vm,
};

static const struct scn_role_schema role_schema_tor_gateway = {
	.name = "tor-gateway",
	.vm_keys = role_schemas_gateway_keys,
	.n_vm_keys = ROLE_SCHEMAS_COUNT(role_schemas_gateway_keys),
	.validate_vm_early = role_schemas_gateway_vm,
};

/* Index = enum role_id. */
const struct scn_role_schema *const scn_role_schemas[] = {
	[ROLE_APP] = &role_schema_app,
	[ROLE_ROUTER] = &role_schema_router,
	[ROLE_TOR_GATEWAY] = &role_schema_tor_gateway,
};
const size_t scn_n_role_schemas = ROLE_SCHEMAS_COUNT(scn_role_schemas);
