/* SPDX-License-Identifier: MIT */
/* scenario_parse.c: scenario file bytes -> typed struct scenario, with positions.
 *
 * The format (scenarios/FORMAT.md is the user-facing copy):
 *
 *   name: pair                  required, [a-z0-9-]{1,32}
 *   description: text           optional, at most 4096 bytes
 *   lab:                        optional mapping, every key optional
 *     accel: auto|kvm|tcg       default auto
 *     machine: microvm|q35|pc   default microvm
 *     boot_timeout: 120         seconds, 5..3600
 *     limits:                   the run's cgroup, every key optional
 *       memory: 4G              16M..1T, digits + K|M|G|T (binary)
 *       pids: 2048              processes and threads, 1..4194304
 *       cpus: 1.5               0.01..1024, at most 3 decimals
 *     console_log_max: 4M       bytes kept of each VM's console, 4K..1G
 *   networks:                   optional mapping NAME -> { subnet, SERVICE-KEY? }
 *     lan: { subnet: 198.18.1.0/24 }   NAME [a-z][a-z0-9-]{0,11}; subnet required,
 *                               prefix 16..30, inside 198.18.0.0/15, host bits
 *                               zero, no two networks overlapping; a host
 *                               service may add a boolean key attaching it
 *   vms:                        required mapping NAME -> vm, at least one
 *     a:                        NAME [a-z][a-z0-9-]{0,14}; an empty value means
 *                               all defaults
 *       role: ROLE              default: the first role schema
 *       nics: [lan, wan]        network names, each at most once, at most 8
 *       depends_on: [b]         VM names, not itself, each at most once
 *       machine: microvm|q35|pc default: lab.machine
 *       memory: 256             MiB, 64..16384; 0 = default
 *       vcpus: 1                1..16
 *       kernel: lab|stock       default lab (built by `make`); stock: Debian's
 *       boot: bzimage|pvh       default bzimage for stock, pvh for lab; pvh needs lab
 *       console: on|off         default on (off: no serial console output)
 *       initramfs_pad: 0        MiB of incompressible padding appended to the initramfs
 *       ROLE-KEY: ...           the keys role schemas add (roles/role_schemas.h)
 *   checks:                     optional sequence, at most 256
 *     - name: a-to-b            optional, [a-z0-9-]{1,64}, unique; default
 *                               "KIND-FROM-TO" (or "KIND-FROM")
 *       KIND: { ... }           exactly one check kind (checks/check_schemas.h)
 *       expect: allowed|blocked required, unless the kind refuses it
 *       while_stopped: vm       optional
 *   vsock: { allow: [[a, b]] }  every VM gets a vsock device
 *   fixtures: [SERVICE, ...]    host services (services/service_schemas.h)
 *   policy: { allow: [ { from, to, proto? } ] }
 *   measure: { boot: { repeat: 5 } }   repeat 1..1000
 *
 * Every mapping is a table of keys walked by schema.c; roles, check kinds
 * and host services contribute theirs through the schema tables.
 *
 * Strictness, so that a typo never silently changes a lab: unknown keys are
 * errors (with a did-you-mean hint within Levenshtein distance 2), duplicate
 * mapping keys are errors (libyaml accepts them), integers must be plain
 * decimal scalars, a null value (`key:` with nothing after it) counts as an
 * empty mapping or sequence where one is expected. YAML aliases and tags are
 * refused: aliases would let a tiny file expand enormously and neither adds
 * anything a scenario needs. One document per file; an empty file is an error.
 *
 * A file whose top level is not a mapping holding "name" or "vms" is not a
 * scenario: its error names the position and what was found (a string, a
 * mapping without those keys), never the file's text, so that a link to a
 * secret file does not make uvmlab print it.
 *
 * Errors: the first one wins, at the most precise node (1-based line:col from
 * libyaml's 0-based marks), rendered by scn_diag_format() as
 * "FILE:LINE:COL: MESSAGE (hint: HINT)". Limits are in scenario_internal.h
 * and yaml.h.
 *
 * The node tree comes from yaml.c, diagnostics helpers from diag.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "scenario/scenario_internal.h"
#include "scenario/schema.h"

/* ---- lab, measure, description ------------------------------------------- */

/* A memory size: decimal digits and one binary unit letter (4G = 4 GiB).
 * A bare number is refused: "memory: 4" meaning four bytes is never what
 * anyone meant. Returns 0 with *OUT in bytes, or -EINVAL with WHY set to
 * the reason for a message: "negative", "no unit", "unit", "number",
 * "range". */
static int scenario_parse_size(const char *s, size_t len, uint64_t *out, const char **why)
{
	static const char units[] = "KMGT";
	const char *u;
	uint64_t v = 0;
	size_t i = 0;
	int shift;

	*why = "number";
	if (len != strlen(s) || len == 0)
		return -EINVAL;
	if (s[0] == '-') {
		*why = "negative";
		return -EINVAL;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > SCN_LIMIT_MEMORY_MAX) {
			*why = "range";
			return -EINVAL;
		}
	}
	if (i == 0)
		return -EINVAL;
	if (i == len) {
		*why = "no unit";
		return -EINVAL;
	}
	u = strchr(units, s[i]);
	if (!u || !s[i] || i + 1 != len) {
		*why = "unit";
		return -EINVAL;
	}
	shift = 10 * (int)(u - units + 1);
	if (v > (SCN_LIMIT_MEMORY_MAX >> shift) || (v << shift) < SCN_LIMIT_MEMORY_MIN) {
		*why = "range";
		return -EINVAL;
	}
	*out = v << shift;
	return 0;
}

/* A number of CPUs with at most 3 decimals ("1.5"), as thousandths.
 * Returns 0, or -EINVAL with WHY "negative", "number" or "range". */
static int scenario_parse_cpus(const char *s, size_t len, uint32_t *out, const char **why)
{
	uint64_t v = 0;
	size_t i = 0, frac = 0;
	int dot = 0, digits = 0;

	*why = "number";
	if (len != strlen(s) || len == 0)
		return -EINVAL;
	if (s[0] == '-') {
		*why = "negative";
		return -EINVAL;
	}
	for (; i < len; i++) {
		if (s[i] == '.' && !dot) {
			dot = 1;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || (dot && ++frac > 3))
			return -EINVAL;
		digits++;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > (uint64_t)SCN_LIMIT_CPUS_MILLI_MAX * 1000) {
			*why = "range";
			return -EINVAL;
		}
	}
	if (!digits)
		return -EINVAL;
	for (; frac < 3; frac++)
		v *= 10;
	if (v < SCN_LIMIT_CPUS_MILLI_MIN || v > SCN_LIMIT_CPUS_MILLI_MAX) {
		*why = "range";
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int scenario_parse_limit_memory(struct scn_parse *p, const struct scn_key *k,
				       const char *where, const struct scn_node *key,
				       const struct scn_node *val, void *obj)
{
	struct scn_limits *l = obj;
	const char *why;
	char q[256];
	int rc;

	if (val->kind != SCN_NODE_SCALAR || scn_yaml_is_null(val))
		return scn_schema_type_error(p, val, where, k->name, "a size such as 4G");
	if (!scenario_parse_size(val->str, val->len, &l->memory_bytes, &why)) {
		l->has_memory = 1;
		return 0;
	}
	scn_diag_quote(val->str, val->len, q, sizeof(q));
	if (!strcmp(why, "negative"))
		return scn_diag_set(p->diag, val->loc, "%s: %s: %s is negative", where, k->name, q);
	if (!strcmp(why, "range"))
		return scn_diag_set(p->diag, val->loc, "%s: %s: %s is out of range (16M..1T)",
				    where, k->name, q);
	rc = scn_diag_set(p->diag, val->loc, "%s: %s: %s is not a size%s", where, k->name, q,
			  !strcmp(why, "no unit") ? ": the unit is missing" :
			  !strcmp(why, "unit") ? ": unknown unit" : "");
	snprintf(p->diag->hint, sizeof(p->diag->hint),
		 "digits and one of K, M, G, T, binary: 512M, 4G");
	return rc;
}

static int scenario_parse_limit_cpus(struct scn_parse *p, const struct scn_key *k,
				     const char *where, const struct scn_node *key,
				     const struct scn_node *val, void *obj)
{
	struct scn_limits *l = obj;
	const char *why;
	char q[256];
	int rc;

	if (val->kind != SCN_NODE_SCALAR || scn_yaml_is_null(val))
		return scn_schema_type_error(p, val, where, k->name, "a number of CPUs such as 1.5");
	if (!scenario_parse_cpus(val->str, val->len, &l->cpus_milli, &why)) {
		l->has_cpus = 1;
		return 0;
	}
	scn_diag_quote(val->str, val->len, q, sizeof(q));
	if (!strcmp(why, "negative"))
		return scn_diag_set(p->diag, val->loc, "%s: %s: %s is negative", where, k->name, q);
	if (!strcmp(why, "range"))
		return scn_diag_set(p->diag, val->loc, "%s: %s: %s is out of range (0.01..1024)",
				    where, k->name, q);
	rc = scn_diag_set(p->diag, val->loc, "%s: %s: %s is not a number of CPUs", where,
			  k->name, q);
	snprintf(p->diag->hint, sizeof(p->diag->hint), "a decimal with at most 3 decimals: 1, 0.5, 1.5");
	return rc;
}

static const struct scn_key scenario_parse_limits_keys[] = {
	{ .name = "memory", .parse = scenario_parse_limit_memory },
	{ .name = "pids", .parse = scn_key_u32, .at = SCN_AT(struct scn_limits, pids),
	  .given_at = SCN_AT(struct scn_limits, has_pids), .min = 1, .max = SCN_LIMIT_PIDS_MAX,
	  .what = "processes and threads" },
	{ .name = "cpus", .parse = scenario_parse_limit_cpus },
};

static int scenario_parse_limits(struct scn_parse *p, const struct scn_key *k, const char *where,
				 const struct scn_node *key, const struct scn_node *val, void *obj)
{
	int rc = scn_schema_map(p, val, where, k->name, 1);

	if (rc <= 0)
		return rc;
	return scn_schema_walk(p, val, scenario_parse_limits_keys,
			       SCN_COUNT(scenario_parse_limits_keys), "lab.limits",
			       &p->scn->limits, NULL, val->loc);
}

static const struct scn_key scenario_parse_lab_keys[] = {
	{ .name = "accel", .parse = scn_key_enum, .at = SCN_AT(struct scenario, accel),
	  .names = &scn_names_accel },
	{ .name = "machine", .parse = scn_key_enum, .at = SCN_AT(struct scenario, machine),
	  .names = &scn_names_machine },
	{ .name = "boot_timeout", .parse = scn_key_u32, .at = SCN_AT(struct scenario, boot_timeout_s),
	  .min = 5, .max = 3600, .what = "seconds" },
	{ .name = "limits", .parse = scenario_parse_limits },
	{ .name = "console_log_max", .parse = scn_key_size,
	  .at = SCN_AT(struct scenario, console_log_max), .min = 4096, .max = 1u << 30 },
};

static int scenario_parse_lab(struct scn_parse *p, const struct scn_key *k, const char *where,
			      const struct scn_node *key, const struct scn_node *val, void *obj)
{
	int rc = scn_schema_map(p, val, where, k->name, 1);

	if (rc <= 0)
		return rc;
	return scn_schema_walk(p, val, scenario_parse_lab_keys, SCN_COUNT(scenario_parse_lab_keys),
			       "lab", obj, NULL, val->loc);
}

static const struct scn_key scenario_parse_boot_keys[] = {
	{ .name = "repeat", .parse = scn_key_u32, .at = SCN_AT(struct scenario, boot_repeat),
	  .min = 1, .max = 1000 },
};

static int scenario_parse_measure_boot(struct scn_parse *p, const struct scn_key *k,
				       const char *where, const struct scn_node *key,
				       const struct scn_node *val, void *obj)
{
	int rc = scn_schema_map(p, val, where, k->name, 1);

	if (rc <= 0)
		return rc;
	return scn_schema_walk(p, val, scenario_parse_boot_keys, SCN_COUNT(scenario_parse_boot_keys),
			       "measure.boot", obj, NULL, val->loc);
}

static const struct scn_key scenario_parse_measure_keys[] = {
	{ .name = "boot", .parse = scenario_parse_measure_boot },
};

static int scenario_parse_measure(struct scn_parse *p, const struct scn_key *k, const char *where,
				  const struct scn_node *key, const struct scn_node *val, void *obj)
{
	int rc = scn_schema_map(p, val, where, k->name, 1);

	if (rc <= 0)
		return rc;
	return scn_schema_walk(p, val, scenario_parse_measure_keys,
			       SCN_COUNT(scenario_parse_measure_keys), "measure", obj, NULL, val->loc);
}

static int scenario_parse_description(struct scn_parse *p, const struct scn_key *k,
				      const char *where, const struct scn_node *key,
				      const struct scn_node *val, void *obj)
{
	int rc = scn_key_str(p, k, where, key, val, obj);

	if (rc == 0 && val->len > SCN_MAX_DESCRIPTION)
		rc = scn_diag_set(p->diag, val->loc, "scenario: description: longer than %u bytes",
				  SCN_MAX_DESCRIPTION);
	return rc;
}

/* ---- vsock, fixtures, policy ---------------------------------------------- */

/* vsock: { allow: [[a, b], ...] } */
static int scenario_parse_vsock_allow(struct scn_parse *p, const struct scn_key *k,
				      const char *where, const struct scn_node *key,
				      const struct scn_node *val, void *obj)
{
	static const struct scn_key a = { .name = "vm", .parse = scn_key_ref,
					  .at = SCN_AT(struct scn_vsock_pair, a), .what = "a vm name" };
	static const struct scn_key b = { .name = "vm", .parse = scn_key_ref,
					  .at = SCN_AT(struct scn_vsock_pair, b), .what = "a vm name" };
	struct scenario *scn = p->scn;
	size_t i;
	int rc;

	if (scn_yaml_is_null(val))
		return 0;
	if (val->kind != SCN_NODE_SEQ)
		return scn_schema_type_error(p, val, "vsock", "allow", "a sequence");
	if (val->n_kids > SCN_MAX_CHECKS)
		return scn_diag_set(p->diag, val->loc, "vsock: allow: too many pairs (max %u)",
				    SCN_MAX_CHECKS);
	scn->vsock_allow = calloc(val->n_kids + 1, sizeof(*scn->vsock_allow));
	if (!scn->vsock_allow)
		return scn_schema_oom(p);
	for (i = 0; i < val->n_kids; i++) {
		const struct scn_node *pair = val->kids[i];
		struct scn_vsock_pair *vp = &scn->vsock_allow[scn->n_vsock_allow++];

		if (pair->kind != SCN_NODE_SEQ || pair->n_kids != 2)
			return scn_diag_set(p->diag, pair->loc,
					    "vsock: allow: each entry is a pair [vm, vm]");
		rc = scn_key_ref(p, &a, "vsock allow", NULL, pair->kids[0], vp);
		if (!rc)
			rc = scn_key_ref(p, &b, "vsock allow", NULL, pair->kids[1], vp);
		vp->b.loc = pair->kids[1]->loc;
		if (rc)
			return rc;
	}
	return 0;
}

static const struct scn_key scenario_parse_vsock_keys[] = {
	{ .name = "allow", .parse = scenario_parse_vsock_allow },
};

static int scenario_parse_vsock(struct scn_parse *p, const struct scn_key *k, const char *where,
				const struct scn_node *key, const struct scn_node *val, void *obj)
{
	int rc;

	p->scn->has_vsock = 1;
	rc = scn_schema_map(p, val, where, k->name, 1);
	if (rc <= 0)
		return rc;
	return scn_schema_walk(p, val, scenario_parse_vsock_keys,
			       SCN_COUNT(scenario_parse_vsock_keys), "vsock", obj, NULL, val->loc);
}

static int scenario_parse_fixtures(struct scn_parse *p, const struct scn_key *k, const char *where,
				   const struct scn_node *key, const struct scn_node *n, void *obj)
{
	struct scn_key e = { .name = "fixtures", .at = SCN_AT_OBJ,
			     .names = &scenario_parse_ctx_of(p)->services };
	struct scenario *scn = p->scn;
	size_t i;
	int rc;

	scn->services_loc = n->loc;
	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_SEQ)
		return scn_schema_type_error(p, n, "scenario", "fixtures", "a sequence");
	for (i = 0; i < n->n_kids; i++) {
		unsigned int id = 0;

		rc = scn_key_enum(p, &e, "scenario", key, n->kids[i], &id);
		if (rc)
			return rc;
		scn->services |= 1u << id;
	}
	return 0;
}

static const struct scn_key scenario_parse_policy_rule_keys[] = {
	{ .name = "from", .parse = scn_key_ref, .at = SCN_AT(struct scn_policy_rule, from),
	  .what = "a vm name" },
	{ .name = "to", .parse = scn_key_ref, .at = SCN_AT(struct scn_policy_rule, to),
	  .what = "a vm name" },
	{ .name = "proto", .parse = scn_key_enum, .at = SCN_AT(struct scn_policy_rule, proto),
	  .names = &scn_names_proto },
};

static int scenario_parse_policy_allow(struct scn_parse *p, const struct scn_key *k,
				       const char *where, const struct scn_node *key,
				       const struct scn_node *val, void *obj)
{
	struct scenario *scn = p->scn;
	size_t r;
	int rc;

	if (scn_yaml_is_null(val))
		return 0;
	if (val->kind != SCN_NODE_SEQ)
		return scn_schema_type_error(p, val, "policy", "allow", "a sequence");
	if (val->n_kids > SCN_MAX_CHECKS)
		return scn_diag_set(p->diag, val->loc, "policy: allow: too many rules (max %u)",
				    SCN_MAX_CHECKS);
	scn->policy = calloc(val->n_kids + 1, sizeof(*scn->policy));
	if (!scn->policy)
		return scn_schema_oom(p);
	for (r = 0; r < val->n_kids; r++) {
		const struct scn_node *rule = val->kids[r];
		struct scn_policy_rule *pr = &scn->policy[scn->n_policy++];

		pr->loc = rule->loc;
		pr->proto = SCN_PROTO_ANY;
		if (rule->kind != SCN_NODE_MAP)
			return scn_schema_type_error(p, rule, "policy", "allow", "a mapping");
		rc = scn_schema_walk(p, rule, scenario_parse_policy_rule_keys,
				     SCN_COUNT(scenario_parse_policy_rule_keys), "policy rule", pr,
				     NULL, rule->loc);
		if (rc)
			return rc;
		if (!pr->from.name || !pr->to.name)
			return scn_diag_set(p->diag, rule->loc,
					    "policy rule: needs both \"from\" and \"to\"");
	}
	return 0;
}

static const struct scn_key scenario_parse_policy_keys[] = {
	{ .name = "allow", .parse = scenario_parse_policy_allow },
};

static int scenario_parse_policy(struct scn_parse *p, const struct scn_key *k, const char *where,
				 const struct scn_node *key, const struct scn_node *val, void *obj)
{
	int rc;

	p->scn->has_policy = 1;
	rc = scn_schema_map(p, val, where, k->name, 1);
	if (rc <= 0)
		return rc;
	return scn_schema_walk(p, val, scenario_parse_policy_keys,
			       SCN_COUNT(scenario_parse_policy_keys), "policy", obj, NULL, val->loc);
}

/* ---- the top level -------------------------------------------------------- */

static const struct scn_key scenario_parse_top_keys[] = {
	{ .name = "name", .parse = scn_key_label, .at = SCN_AT(struct scenario, name), .max = 32,
	  .flags = SCN_KEY_REQUIRED },
	{ .name = "description", .parse = scenario_parse_description,
	  .at = SCN_AT(struct scenario, description), .what = "a string" },
	{ .name = "lab", .parse = scenario_parse_lab },
	{ .name = "networks", .parse = scenario_elements_networks },
	{ .name = "vms", .parse = scenario_elements_vms, .flags = SCN_KEY_REQUIRED },
	{ .name = "checks", .parse = scenario_elements_checks },
	{ .name = "measure", .parse = scenario_parse_measure },
	{ .name = "vsock", .parse = scenario_parse_vsock },
	{ .name = "fixtures", .parse = scenario_parse_fixtures },
	{ .name = "policy", .parse = scenario_parse_policy },
};

/* Does the top-level mapping ROOT hold "name" or "vms"? A file that has
 * neither is not a scenario (a link to /etc/shadow parses as YAML too), and
 * its text is never quoted back: the error names the position only. */
static int scenario_parse_looks_like_scenario(const struct scn_node *root)
{
	size_t i;

	for (i = 0; i + 1 < root->n_kids; i += 2) {
		const struct scn_node *k = root->kids[i];

		if (k->kind == SCN_NODE_SCALAR && strlen(k->str) == k->len &&
		    (!strcmp(k->str, "name") || !strcmp(k->str, "vms")))
			return 1;
	}
	return 0;
}

static int scenario_parse_top(struct scn_parse *p, const struct scn_node *root)
{
	if (root->kind != SCN_NODE_MAP) {
		/* the kind only: a scalar here is some other file's text */
		const char *found = root->kind == SCN_NODE_SEQ ? "a sequence" :
				    scn_yaml_is_null(root) ? "null" :
				    scn_yaml_is_int(root) ? "an integer" : "a string";

		return scn_diag_set(p->diag, root->loc,
				    "a scenario must be a mapping at the top level, found %s", found);
	}
	if (!scenario_parse_looks_like_scenario(root))
		return scn_diag_set(p->diag, root->loc, "not a scenario: the top-level mapping has "
				    "neither \"name\" nor \"vms\" (its text is not quoted)");
	return scn_schema_walk(p, root, scenario_parse_top_keys, SCN_COUNT(scenario_parse_top_keys),
			       "scenario", p->scn, NULL, root->loc);
}

/* The names role: and fixtures: accept, from the schema tables. */
static void scenario_parse_ctx_init(struct scenario_parse_ctx *ctx)
{
	size_t i;

	for (i = 0; i < scn_n_role_schemas && i < SCN_MAX_KEYS; i++)
		ctx->role_names[i] = scn_role_schemas[i]->name;
	ctx->roles = (struct scn_names){ .what = "role", .names = ctx->role_names, .n = i };
	for (i = 0; i < scn_n_service_schemas && i < SCN_MAX_KEYS; i++)
		ctx->service_names[i] = scn_service_schemas[i]->name;
	ctx->services = (struct scn_names){ .what = "fixture", .names = ctx->service_names, .n = i };
}

/* ---- public entry points -------------------------------------------------- */

int scenario_parse(const char *name, const char *buf, size_t len,
		   struct scenario **out, struct scn_diag *diag)
{
	struct scn_diag local;
	struct scenario_parse_ctx ctx;
	struct scn_node *root = NULL;
	struct scenario *scn = NULL;
	unsigned int md_len = 0;
	int rc;

	if (!diag)
		diag = &local;
	memset(diag, 0, sizeof(*diag));
	memset(&ctx, 0, sizeof(ctx));
	if (!name)
		name = "<scenario>";
	snprintf(diag->file, sizeof(diag->file), "%s", name);
	ctx.p.diag = diag;
	scenario_parse_ctx_init(&ctx);
	if (!out || (!buf && len)) {
		rc = scn_diag_set(diag, (struct scn_loc){ 0, 0 }, "invalid arguments");
		goto cleanup;
	}
	*out = NULL;
	if (len > SCN_MAX_FILE_BYTES) {
		rc = scn_diag_set(diag, (struct scn_loc){ 0, 0 },
				  "file is larger than %u bytes", SCN_MAX_FILE_BYTES);
		goto cleanup;
	}
	scn = calloc(1, sizeof(*scn));
	if (!scn || !(scn->path = strdup(name))) {
		rc = scn_schema_oom(&ctx.p);
		goto cleanup;
	}
	ctx.p.scn = scn;
	if (!buf)
		buf = "";

	rc = scn_yaml_load(buf, len, diag, &root);
	if (rc)
		goto cleanup;
	rc = scenario_parse_top(&ctx.p, root);
	if (rc)
		goto cleanup;
	rc = scenario_validate(scn, diag);
	if (rc)
		goto cleanup;
	if (!EVP_Digest(buf, len, scn->sha256, &md_len, EVP_sha256(), NULL) ||
	    md_len != sizeof(scn->sha256)) {
		rc = scn_schema_oom(&ctx.p);
		goto cleanup;
	}
	*out = scn;
	scn = NULL;
cleanup:
	scn_yaml_free(root);
	scenario_free(scn);
	return rc;
}

int scenario_load(const char *path, struct scenario **out, struct scn_diag *diag)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	int fd = -1;
	int rc = 0;

	if (out)
		*out = NULL;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer, nor reading a
	 * device or a /proc file like kmsg for data (EAGAIN says so instead).
	 * Regular files ignore it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		goto io_error;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto io_error;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto not_regular;
	}
	/* Read one byte past the limit so scenario_parse() can refuse the file. */
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap > SCN_MAX_FILE_BYTES)
				break;
			cap = cap ? cap * 2 : 16384;
			if (cap > SCN_MAX_FILE_BYTES + 1)
				cap = SCN_MAX_FILE_BYTES + 1;
			nb = realloc(buf, cap);
			if (!nb) {
				rc = -ENOMEM;
				goto io_error;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			rc = -EINVAL;
			goto not_regular;
		}
		if (n < 0) {
			rc = -errno;
			goto io_error;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = scenario_parse(path, buf, len, out, diag);
	goto cleanup;
not_regular:
	if (diag) {
		memset(diag, 0, sizeof(*diag));
		snprintf(diag->file, sizeof(diag->file), "%s", path);
		scn_diag_set(diag, (struct scn_loc){ 0, 0 },
			     "cannot read scenario: not a regular file (a pipe, device or /proc file?)");
	}
	goto cleanup;
io_error:
	if (diag) {
		memset(diag, 0, sizeof(*diag));
		snprintf(diag->file, sizeof(diag->file), "%s", path);
		scn_diag_set(diag, (struct scn_loc){ 0, 0 }, "cannot read scenario: %s",
			     strerror(-rc));
	}
cleanup:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

void scenario_free(struct scenario *scn)
{
	size_t i, j;

	if (!scn)
		return;
	for (i = 0; i < scn->n_networks; i++)
		free(scn->networks[i].name);
	free(scn->networks);
	for (i = 0; i < scn->n_vms; i++) {
		struct scn_vm *vm = &scn->vms[i];

		for (j = 0; j < vm->n_nics; j++)
			free(vm->nics[j].name);
		for (j = 0; j < vm->n_depends_on; j++)
			free(vm->depends_on[j].name);
		free(vm->nics);
		free(vm->depends_on);
		for (j = 0; j < vm->filter.n_rules; j++) {
			free(vm->filter.rules[j].from.name);
			free(vm->filter.rules[j].to.name);
		}
		free(vm->filter.rules);
		free(vm->name);
	}
	free(scn->vms);
	for (i = 0; i < scn->n_vsock_allow; i++) {
		free(scn->vsock_allow[i].a.name);
		free(scn->vsock_allow[i].b.name);
	}
	free(scn->vsock_allow);
	for (i = 0; i < scn->n_policy; i++) {
		free(scn->policy[i].from.name);
		free(scn->policy[i].to.name);
	}
	free(scn->policy);
	for (i = 0; i < scn->n_checks; i++) {
		free(scn->checks[i].target);
		free(scn->checks[i].while_stopped.name);
		free(scn->checks[i].name);
		free(scn->checks[i].from.name);
		free(scn->checks[i].to.name);
		free(scn->checks[i].network.name);
		for (size_t u = 0; u < scn->checks[i].n_users; u++)
			free(scn->checks[i].users[u]);
		free(scn->checks[i].users);
		for (size_t u = 0; u < scn->checks[i].n_procs; u++)
			free(scn->checks[i].procs[u]);
		free(scn->checks[i].procs);
	}
	free(scn->checks);
	free(scn->description);
	free(scn->name);
	free(scn->path);
	free(scn);
}

const struct scn_vm *scenario_find_vm(const struct scenario *scn, const char *name)
{
	size_t i;

	for (i = 0; scn && name && i < scn->n_vms; i++)
		if (!strcmp(scn->vms[i].name, name))
			return &scn->vms[i];
	return NULL;
}

const struct scn_network *scenario_find_network(const struct scenario *scn, const char *name)
{
	size_t i;

	for (i = 0; scn && name && i < scn->n_networks; i++)
		if (!strcmp(scn->networks[i].name, name))
			return &scn->networks[i];
	return NULL;
}

const char *scn_role_name(unsigned int id)
{
	const struct scn_role_schema *r = scn_schema_role(id);

	return r ? r->name : "?";
}
