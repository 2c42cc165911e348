/* SPDX-License-Identifier: MIT */
/* check_schemas.c: the check kinds' keys and rules in the scenario format.
 *
 * Pure data and checks over a parsed scenario: running a check and judging
 * it is checks.c and its kinds. The messages are compared by the tests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check_schemas.h"
#include "roles/role_schemas.h"
#include "services/service_schemas.h"

#define CHECK_SCHEMAS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define CHECK_SCHEMAS_MAX_OWNERS 16u   /* users or processes of one attribution check */

/* ---- parsing -------------------------------------------------------------- */

/* Positions in the reach table, which finish reads back from SEEN. */
enum { CHECK_SCHEMAS_REACH_FROM, CHECK_SCHEMAS_REACH_TO, CHECK_SCHEMAS_REACH_PROTO,
       CHECK_SCHEMAS_REACH_PORT, CHECK_SCHEMAS_REACH_NETWORK };

static const struct scn_key check_schemas_reach_keys[] = {
	[CHECK_SCHEMAS_REACH_FROM] = { .name = "from", .parse = scn_key_ref, .at = SCN_AT(struct scn_check, from),
	  .what = "a vm name", .flags = SCN_KEY_REQUIRED },
	[CHECK_SCHEMAS_REACH_TO] = { .name = "to", .parse = scn_key_ref,
	  .at = SCN_AT(struct scn_check, to), .what = "a vm name", .flags = SCN_KEY_REQUIRED },
	[CHECK_SCHEMAS_REACH_PROTO] = { .name = "proto", .parse = scn_key_enum, .at = SCN_AT(struct scn_check, proto),
	  .loc_at = SCN_AT(struct scn_check, proto_loc), .names = &scn_names_proto },
	[CHECK_SCHEMAS_REACH_PORT] = { .name = "port", .parse = scn_key_u16,
	  .at = SCN_AT(struct scn_check, port), .min = 1, .max = 65535 },
	[CHECK_SCHEMAS_REACH_NETWORK] = { .name = "network", .parse = scn_key_ref,
	  .at = SCN_AT(struct scn_check, network), .what = "a network name" },
};

static int check_schemas_reach_finish(struct scn_parse *p, struct scn_check *chk,
				      const char *where, const struct scn_node *key,
				      const struct scn_node *const *seen)
{
	const struct scn_node *port = seen[CHECK_SCHEMAS_REACH_PORT];
	int rc;

	if (chk->proto == SCN_PROTO_ANY)
		return scn_diag_set(p->diag, chk->proto_loc, "%s: proto: give icmp, tcp or udp",
				    where);
	if ((chk->proto == SCN_PROTO_TCP || chk->proto == SCN_PROTO_UDP) && !port)
		return scn_diag_set(p->diag, chk->proto_loc, "%s: proto %s needs a port", where,
				    scn_proto_name(chk->proto));
	if (chk->proto == SCN_PROTO_ICMP && port) {
		rc = scn_diag_set(p->diag, port->loc, "%s: port is only meaningful with proto tcp "
				  "or udp", where);
		snprintf(p->diag->hint, sizeof(p->diag->hint), "add proto: tcp");
		return rc;
	}
	return 0;
}

static const struct scn_key check_schemas_vsock_keys[] = {
	{ .name = "from", .parse = scn_key_ref, .at = SCN_AT(struct scn_check, from),
	  .what = "a vm name or host", .flags = SCN_KEY_REQUIRED },
	{ .name = "to", .parse = scn_key_ref, .at = SCN_AT(struct scn_check, to),
	  .what = "a vm name or host", .flags = SCN_KEY_REQUIRED },
	{ .name = "port", .parse = scn_key_u16, .at = SCN_AT(struct scn_check, port),
	  .min = 1, .max = 65535, .flags = SCN_KEY_REQUIRED },
	{ .name = "bytes", .parse = scn_key_u32, .at = SCN_AT(struct scn_check, bytes),
	  .min = 1, .max = 1u << 30 },
};

static void check_schemas_vsock_init(struct scn_check *chk)
{
	chk->bytes = 1u << 20;
}

/* url: of fetch, host: of resolve. The target ends up on a guest command
 * line: keep it plain. */
static int check_schemas_target(struct scn_parse *p, const struct scn_key *k, const char *where,
				const struct scn_node *key, const struct scn_node *val, void *obj)
{
	struct scn_check *chk = obj;
	int rc = scn_key_str(p, k, where, key, val, obj);
	size_t c;

	if (!rc && k->data && strncmp(chk->target, "http://", 7))
		rc = scn_diag_set(p->diag, val->loc, "%s: url: only http:// URLs", where);
	if (!rc && strlen(chk->target) > 200)
		rc = scn_diag_set(p->diag, val->loc, "%s: %s: longer than 200 bytes", where, k->name);
	for (c = 0; !rc && chk->target[c]; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-._~:/?#[]@!$&()*+,;=%", chk->target[c]) ||
		    chk->target[c] == '\'')
			rc = scn_diag_set(p->diag, val->loc, "%s: %s: unexpected character", where,
					  k->name);
	return rc;
}

static const struct scn_key check_schemas_fetch_keys[] = {
	{ .name = "from", .parse = scn_key_ref, .at = SCN_AT(struct scn_check, from),
	  .what = "a vm name", .flags = SCN_KEY_REQUIRED },
	{ .name = "url", .parse = check_schemas_target, .at = SCN_AT(struct scn_check, target),
	  .what = "an http:// URL", .flags = SCN_KEY_REQUIRED, .data = "http" },
};

static const struct scn_key check_schemas_resolve_keys[] = {
	{ .name = "from", .parse = scn_key_ref, .at = SCN_AT(struct scn_check, from),
	  .what = "a vm name", .flags = SCN_KEY_REQUIRED },
	{ .name = "host", .parse = check_schemas_target, .at = SCN_AT(struct scn_check, target),
	  .what = "a host name", .flags = SCN_KEY_REQUIRED },
};

/* fetch and resolve target the fake internet: `to` names the kind. */
static int check_schemas_target_finish(struct scn_parse *p, struct scn_check *chk,
				       const char *where, const struct scn_node *key,
				       const struct scn_node *const *seen)
{
	chk->to.name = strndup(key->str, key->len);
	return chk->to.name ? 0 : scn_schema_oom(p);
}

/* users: / processes: of an attribution check, a sequence of owner names.
 * Process names are compared with the kernel's comm (15 bytes); MAX is the
 * longest name. */
static int check_schemas_owners(struct scn_parse *p, const struct scn_key *k, const char *where,
				const struct scn_node *key, const struct scn_node *n, void *obj)
{
	char ***out = (char ***)((char *)obj + k->at - 1);
	size_t *n_out = (size_t *)((char *)obj + k->count_at - 1);
	char q[256];
	size_t i, j;

	if (scn_yaml_is_null(n) || n->kind != SCN_NODE_SEQ)
		return scn_schema_type_error(p, n, where, k->name, "a sequence of names");
	if (n->n_kids > CHECK_SCHEMAS_MAX_OWNERS)
		return scn_diag_set(p->diag, n->kids[CHECK_SCHEMAS_MAX_OWNERS]->loc, "%s: %s: more "
				    "than %u entries", where, k->name, CHECK_SCHEMAS_MAX_OWNERS);
	if (n->n_kids == 0)
		return scn_diag_set(p->diag, n->loc, "%s: %s: empty list", where, k->name);
	*out = calloc(n->n_kids, sizeof(**out));
	if (!*out)
		return scn_schema_oom(p);
	for (i = 0; i < n->n_kids; i++) {
		const struct scn_node *e = n->kids[i];
		struct scn_key one = { .name = k->name, .parse = scn_key_str, .at = SCN_AT_OBJ,
				       .what = "a name" };
		int rc = scn_key_str(p, &one, where, key, e, &(*out)[i]);

		if (rc)
			return rc;
		(*n_out)++;
		for (j = 0; j < e->len && (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						  "0123456789_.-", e->str[j]) && e->str[j]); j++)
			;
		if (e->len == 0 || e->len > k->max || j < e->len) {
			scn_diag_quote(e->str, e->len, q, sizeof(q));
			return scn_diag_set(p->diag, e->loc, "%s: %s: invalid name %s: use 1..%u "
					    "characters A-Z, a-z, 0-9, '_', '.' or '-'", where, k->name,
					    q, (unsigned int)k->max);
		}
	}
	return 0;
}

static const struct scn_key check_schemas_forwarding_keys[] = {
	{ .name = "vm", .parse = scn_key_ref, .at = SCN_AT(struct scn_check, from),
	  .what = "a vm name", .flags = SCN_KEY_REQUIRED },
	{ .name = "allow_empty", .parse = scn_key_bool, .at = SCN_AT(struct scn_check, allow_empty) },
};

static const struct scn_key check_schemas_attribution_keys[] = {
	{ .name = "vm", .parse = scn_key_ref, .at = SCN_AT(struct scn_check, from),
	  .what = "a vm name", .flags = SCN_KEY_REQUIRED },
	{ .name = "network", .parse = scn_key_ref, .at = SCN_AT(struct scn_check, network),
	  .what = "a network name" },
	{ .name = "users", .parse = check_schemas_owners, .at = SCN_AT(struct scn_check, users),
	  .count_at = SCN_AT(struct scn_check, n_users), .max = 32 },
	{ .name = "processes", .parse = check_schemas_owners, .at = SCN_AT(struct scn_check, procs),
	  .count_at = SCN_AT(struct scn_check, n_procs), .max = 15 },
	{ .name = "allow_empty", .parse = scn_key_bool, .at = SCN_AT(struct scn_check, allow_empty) },
};

static int check_schemas_attribution_finish(struct scn_parse *p, struct scn_check *chk,
					    const char *where, const struct scn_node *key,
					    const struct scn_node *const *seen)
{
	int rc;

	if (chk->n_users || chk->n_procs)
		return 0;
	rc = scn_diag_set(p->diag, key->loc, "%s: name the allowed owners (users or processes)",
			  where);
	snprintf(p->diag->hint, sizeof(p->diag->hint), "add users: [debian-tor]");
	return rc;
}

/* ---- validation ----------------------------------------------------------- */

/* fetch, resolve and reach to "internet": the fake internet must be there. */
static int check_schemas_internet(const struct scenario *scn, const struct scn_check *chk,
				  const char *where, struct scn_diag *diag)
{
	const struct scn_vm *from = scenario_find_vm(scn, chk->from.name);

	if (!from)
		return scenario_validate_unknown(scn, diag, &chk->from, where, "from", 0);
	if (!(scn->services & SERVICE_INTERNET))
		return scn_diag_set(diag, chk->loc, "%s: checks toward the internet need "
				    "fixtures: [fake-internet]", where);
	if (from->n_nics == 0)
		return scn_diag_set(diag, chk->from.loc, "%s: vm \"%s\" has no nics to probe from",
				    where, from->name);
	return 0;
}

static int check_schemas_reach(const struct scenario *scn, const struct scn_check *chk,
			       const char *where, struct scn_diag *diag)
{
	const struct scn_vm *from, *to;
	size_t i;

	if (!strcmp(chk->to.name, SERVICE_INTERNET_REF))
		return check_schemas_internet(scn, chk, where, diag);
	from = scenario_find_vm(scn, chk->from.name);
	if (!from)
		return scenario_validate_unknown(scn, diag, &chk->from, where, "from", 0);
	to = scenario_find_vm(scn, chk->to.name);
	if (!to)
		return scenario_validate_unknown(scn, diag, &chk->to, where, "to", 0);
	if (from == to)
		return scn_diag_set(diag, chk->to.loc, "%s: from and to are the same vm \"%s\"",
				    where, to->name);
	/* A probe needs an interface at each end; without one the check could
	 * only ever report "blocked", which would be a false pass. */
	if (from->n_nics == 0)
		return scn_diag_set(diag, chk->from.loc, "%s: vm \"%s\" has no nics to probe from",
				    where, from->name);
	if (to->n_nics == 0)
		return scn_diag_set(diag, chk->to.loc, "%s: vm \"%s\" has no nics to probe",
				    where, to->name);
	if (!chk->network.name)
		return 0;
	if (!scenario_find_network(scn, chk->network.name))
		return scenario_validate_unknown(scn, diag, &chk->network, where, "network", 1);
	for (i = 0; i < to->n_nics; i++)
		if (!strcmp(to->nics[i].name, chk->network.name))
			return 0;
	return scn_diag_set(diag, chk->network.loc, "%s: vm \"%s\" has no nic on network \"%s\"",
			    where, to->name, chk->network.name);
}

/* from/to are VMs or "host"; a vsock check needs the scenario's vsock section,
 * or the VMs would have no vsock device and the check could only fail. */
static int check_schemas_vsock(const struct scenario *scn, const struct scn_check *chk,
			       const char *where, struct scn_diag *diag)
{
	if (!scn->has_vsock)
		return scn_diag_set(diag, chk->loc, "%s: a vsock check needs a top-level vsock: section",
				    where);
	if (strcmp(chk->from.name, SCN_HOST) && !scenario_find_vm(scn, chk->from.name))
		return scenario_validate_unknown(scn, diag, &chk->from, where, "from", 0);
	if (strcmp(chk->to.name, SCN_HOST) && !scenario_find_vm(scn, chk->to.name))
		return scenario_validate_unknown(scn, diag, &chk->to, where, "to", 0);
	if (!strcmp(chk->from.name, chk->to.name))
		return scn_diag_set(diag, chk->to.loc, "%s: from and to are the same (\"%s\")",
				    where, chk->to.name);
	return 0;
}

/* Probe checks read what the guest probe saw: only router and tor-gateway
 * images carry uvmlab-gprobe, and pausing a VM would not change a finding. */
static int check_schemas_probe(const struct scenario *scn, const struct scn_check *chk,
			       const char *where, struct scn_diag *diag)
{
	const struct scn_vm *vm = scenario_find_vm(scn, chk->from.name);
	size_t i;

	if (!vm)
		return scenario_validate_unknown(scn, diag, &chk->from, where, "vm", 0);
	if (vm->role == ROLE_APP) {
		scn_diag_set(diag, chk->from.loc, "%s: vm \"%s\" has role app, whose image carries "
			     "no guest probe", where, vm->name);
		snprintf(diag->hint, sizeof(diag->hint), "probe checks need role router or tor-gateway");
		return -EINVAL;
	}
	if (vm->n_nics == 0)
		return scn_diag_set(diag, chk->from.loc, "%s: vm \"%s\" has no nics to watch", where,
				    vm->name);
	if (chk->while_stopped.name)
		return scn_diag_set(diag, chk->while_stopped.loc, "%s: while_stopped does not apply "
				    "to probe checks (they judge the whole run)", where);
	if (!chk->network.name)
		return 0;
	if (!scenario_find_network(scn, chk->network.name))
		return scenario_validate_unknown(scn, diag, &chk->network, where, "network", 1);
	for (i = 0; i < vm->n_nics; i++)
		if (!strcmp(vm->nics[i].name, chk->network.name))
			return 0;
	return scn_diag_set(diag, chk->network.loc, "%s: vm \"%s\" has no nic on network \"%s\"",
			    where, vm->name, chk->network.name);
}

/* ---- the table ------------------------------------------------------------ */

static const struct scn_check_schema check_schema_reach = {
	.key = "reach",
	.keys = check_schemas_reach_keys,
	.n_keys = CHECK_SCHEMAS_COUNT(check_schemas_reach_keys),
	.null_ok = 1,
	.finish = check_schemas_reach_finish,
	.validate = check_schemas_reach,
};

static const struct scn_check_schema check_schema_vsock = {
	.key = "vsock",
	.keys = check_schemas_vsock_keys,
	.n_keys = CHECK_SCHEMAS_COUNT(check_schemas_vsock_keys),
	.init = check_schemas_vsock_init,
	.validate = check_schemas_vsock,
};

static const struct scn_check_schema check_schema_fetch = {
	.key = "fetch",
	.keys = check_schemas_fetch_keys,
	.n_keys = CHECK_SCHEMAS_COUNT(check_schemas_fetch_keys),
	.finish = check_schemas_target_finish,
	.validate = check_schemas_internet,
};

static const struct scn_check_schema check_schema_resolve = {
	.key = "resolve",
	.keys = check_schemas_resolve_keys,
	.n_keys = CHECK_SCHEMAS_COUNT(check_schemas_resolve_keys),
	.finish = check_schemas_target_finish,
	.validate = check_schemas_internet,
};

static const struct scn_check_schema check_schema_forwarding = {
	.key = "forwarding",
	.keys = check_schemas_forwarding_keys,
	.n_keys = CHECK_SCHEMAS_COUNT(check_schemas_forwarding_keys),
	.name_from_only = 1,
	.own_while_stopped = 1,
	.validate = check_schemas_probe,
};

static const struct scn_check_schema check_schema_attribution = {
	.key = "attribution",
	.keys = check_schemas_attribution_keys,
	.n_keys = CHECK_SCHEMAS_COUNT(check_schemas_attribution_keys),
	.no_expect = 1,
	.name_from_only = 1,
	.own_while_stopped = 1,
	.finish = check_schemas_attribution_finish,
	.validate = check_schemas_probe,
};

/* Index = enum check_kind. */
const struct scn_check_schema *const scn_check_schemas[] = {
	[CHECK_REACH] = &check_schema_reach,
	[CHECK_VSOCK] = &check_schema_vsock,
	[CHECK_FETCH] = &check_schema_fetch,
	[CHECK_RESOLVE] = &check_schema_resolve,
	[CHECK_FORWARDING] = &check_schema_forwarding,
	[CHECK_ATTRIBUTION] = &check_schema_attribution,
};
const size_t scn_n_check_schemas = CHECK_SCHEMAS_COUNT(scn_check_schemas);
