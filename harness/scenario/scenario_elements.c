/* SPDX-License-Identifier: MIT */
/* scenario_elements.c: the named and listed elements of a scenario: networks, vms, checks.
 *
 * Each element is a mapping walked against its key table (schema.c); vms
 * take the keys every role schema adds, checks select their kind by a key
 * taken from the check schemas. scenario_parse.c hands these sections here.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario_internal.h"

/* ---- networks ------------------------------------------------------------- */

/* Strict dotted quad: four 1..3 digit octets without leading zeros (which
 * some parsers read as octal), then "/" and a decimal prefix. Range checks
 * on the prefix are semantic and live in scenario_validate.c. */
static int scenario_elements_subnet(struct scn_parse *p, struct scn_network *net, const char *where,
				 const struct scn_node *sub)
{
	uint32_t addr = 0, octet = 0, digits = 0, dots = 0, prefix = 0;
	char q[256];
	size_t i;
	int rc = 0;

	if (sub->kind != SCN_NODE_SCALAR || scn_yaml_is_null(sub))
		return scn_schema_type_error(p, sub, where, "subnet", "an IPv4 prefix");
	net->subnet_loc = sub->loc;
	for (i = 0; i < sub->len && rc == 0; i++) {
		char c = sub->str[i];

		if (c >= '0' && c <= '9' && dots <= 3) {
			if (digits == 1 && octet == 0)
				rc = -EINVAL;
			octet = octet * 10 + (uint32_t)(c - '0');
			if (++digits > 3 || octet > 255)
				rc = -EINVAL;
		} else if (c == '.' && dots < 3 && digits) {
			addr = addr << 8 | octet;
			octet = digits = 0;
			dots++;
		} else if (c == '/' && dots == 3 && digits) {
			addr = addr << 8 | octet;
			octet = digits = 0;
			dots++;
		} else if (c >= '0' && c <= '9') {
			break;
		} else {
			rc = -EINVAL;
		}
	}
	/* After the slash: up to 3 digits, no leading zeros either. */
	for (; rc == 0 && i < sub->len; i++) {
		char c = sub->str[i];

		if (c < '0' || c > '9' || digits == 3 || (digits == 1 && prefix == 0))
			rc = -EINVAL;
		prefix = prefix * 10 + (uint32_t)(c - '0');
		digits++;
	}
	if (rc || dots != 4 || digits == 0 || prefix > 255) {
		scn_diag_quote(sub->str, sub->len, q, sizeof(q));
		return scn_diag_set(p->diag, sub->loc, "%s: subnet %s is not an IPv4 prefix "
				    "(expected A.B.C.D/P, e.g. 198.18.1.0/24)", where, q);
	}
	net->subnet = addr;
	net->prefix = (uint8_t)prefix;
	return 0;
}

/* A service's network key (its data is the service id): sets the bit. */
static int scenario_elements_net_service(struct scn_parse *p, const struct scn_key *k,
				      const char *where, const struct scn_node *key,
				      const struct scn_node *val, void *obj)
{
	struct scn_network *net = obj;
	struct scn_key b = { .name = k->name, .at = SCN_AT_OBJ };
	int on = 0;
	int rc = scn_key_bool(p, &b, where, key, val, &on);

	if (rc == 0 && on)
		net->services |= 1u << (unsigned int)(uintptr_t)k->data;
	return rc;
}

/* The value node of key node KEY in mapping MAP. */
static const struct scn_node *scenario_elements_value_of(const struct scn_node *map,
						      const struct scn_node *key)
{
	size_t i;

	for (i = 0; i + 1 < map->n_kids; i += 2)
		if (map->kids[i] == key)
			return map->kids[i + 1];
	return NULL;
}

static int scenario_elements_network(struct scn_parse *p, struct scn_network *net,
				  const struct scn_node *n)
{
	struct scn_key keys[SCN_MAX_KEYS] = {
		{ .name = "subnet", .parse = scn_key_later, .flags = SCN_KEY_REQUIRED },
	};
	const struct scn_node *seen[SCN_MAX_KEYS];
	size_t n_keys = 1, i;
	char where[64];
	int rc;

	for (i = 0; i < scn_n_service_schemas && n_keys < SCN_MAX_KEYS; i++)
		if (scn_service_schemas[i]->net_key)
			keys[n_keys++] = (struct scn_key){ .name = scn_service_schemas[i]->net_key,
							   .parse = scenario_elements_net_service,
							   .data = (const void *)(uintptr_t)i };
	snprintf(where, sizeof(where), "network \"%s\"", net->name);
	rc = scn_schema_map(p, n, where, NULL, 1);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return scn_diag_set(p->diag, net->loc, "missing required key \"subnet\" in %s", where);
	rc = scn_schema_walk(p, n, keys, n_keys, where, net, seen, net->loc);
	if (rc)
		return rc;
	return scenario_elements_subnet(p, net, where, scenario_elements_value_of(n, seen[0]));
}

int scenario_elements_networks(struct scn_parse *p, const struct scn_key *k, const char *where,
			       const struct scn_node *key, const struct scn_node *n, void *obj)
{
	struct scenario *scn = p->scn;
	size_t i, count;
	int rc;

	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_MAP)
		return scn_schema_type_error(p, n, "scenario", "networks", "a mapping");
	count = n->n_kids / 2;
	if (count > SCN_MAX_NETWORKS)
		return scn_diag_set(p->diag, n->kids[2 * SCN_MAX_NETWORKS]->loc,
				    "too many networks (max %u)", SCN_MAX_NETWORKS);
	if (count == 0)
		return 0;
	scn->networks = calloc(count, sizeof(*scn->networks));
	if (!scn->networks)
		return scn_schema_oom(p);
	for (i = 0; i < n->n_kids; i += 2) {
		struct scn_network *net = &scn->networks[scn->n_networks];

		rc = scn_schema_name_key(p, n, i, "network", 12, &net->name);
		if (rc)
			return rc;
		scn->n_networks++;
		net->loc = n->kids[i]->loc;
		rc = scenario_elements_network(p, net, n->kids[i + 1]);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- vms ------------------------------------------------------------------ */

static int scenario_elements_role(struct scn_parse *p, const struct scn_key *k, const char *where,
			       const struct scn_node *key, const struct scn_node *val, void *obj)
{
	struct scn_key e = *k;

	e.names = &scenario_parse_ctx_of(p)->roles;
	return scn_key_enum(p, &e, where, key, val, obj);
}

static const struct scn_key scenario_elements_vm_keys[] = {
	{ .name = "role", .parse = scenario_elements_role, .at = SCN_AT(struct scn_vm, role) },
	{ .name = "nics", .parse = scn_key_refs, .at = SCN_AT(struct scn_vm, nics),
	  .count_at = SCN_AT(struct scn_vm, n_nics), .max = SCN_MAX_NICS, .what = "a network name" },
	{ .name = "depends_on", .parse = scn_key_refs, .at = SCN_AT(struct scn_vm, depends_on),
	  .count_at = SCN_AT(struct scn_vm, n_depends_on), .max = SCN_MAX_VMS, .what = "a vm name" },
	{ .name = "machine", .parse = scn_key_enum, .at = SCN_AT(struct scn_vm, machine),
	  .given_at = SCN_AT(struct scn_vm, has_machine), .names = &scn_names_machine },
	{ .name = "memory", .parse = scn_key_u32, .at = SCN_AT(struct scn_vm, memory_mib),
	  .flags = SCN_KEY_ZERO_OK, .min = 64, .max = 16384, .what = "MiB" },
	{ .name = "vcpus", .parse = scn_key_u32, .at = SCN_AT(struct scn_vm, vcpus),
	  .min = 1, .max = 16 },
	{ .name = "kernel", .parse = scn_key_enum, .at = SCN_AT(struct scn_vm, kernel),
	  .names = &scn_names_kernel },
	{ .name = "boot", .parse = scn_key_enum, .at = SCN_AT(struct scn_vm, boot),
	  .given_at = SCN_AT(struct scn_vm, has_boot), .loc_at = SCN_AT(struct scn_vm, boot_loc),
	  .names = &scn_names_boot },
	{ .name = "console", .parse = scn_key_enum, .at = SCN_AT(struct scn_vm, console),
	  .names = &scn_names_console },
	{ .name = "initramfs_pad", .parse = scn_key_u32,
	  .at = SCN_AT(struct scn_vm, initramfs_pad_mib), .min = 0, .max = 1024, .what = "MiB" },
};

static int scenario_elements_vm(struct scn_parse *p, struct scn_vm *vm, const struct scn_node *n)
{
	struct scn_key keys[SCN_MAX_KEYS];
	size_t n_keys = SCN_COUNT(scenario_elements_vm_keys), i, j;
	char where[64];
	int rc;

	/* the generic keys, then every role's own keys in role order */
	memcpy(keys, scenario_elements_vm_keys, sizeof(scenario_elements_vm_keys));
	for (i = 0; i < scn_n_role_schemas; i++)
		for (j = 0; j < scn_role_schemas[i]->n_vm_keys && n_keys < SCN_MAX_KEYS; j++)
			keys[n_keys++] = scn_role_schemas[i]->vm_keys[j];
	snprintf(where, sizeof(where), "vm \"%s\"", vm->name);
	rc = scn_schema_map(p, n, where, NULL, 1);
	if (rc <= 0)
		return rc;
	return scn_schema_walk(p, n, keys, n_keys, where, vm, NULL, n->loc);
}

int scenario_elements_vms(struct scn_parse *p, const struct scn_key *k, const char *where,
			  const struct scn_node *key, const struct scn_node *n, void *obj)
{
	struct scenario *scn = p->scn;
	size_t i, count;
	int rc;

	if (!scn_yaml_is_null(n) && n->kind != SCN_NODE_MAP)
		return scn_schema_type_error(p, n, "scenario", "vms", "a mapping");
	count = scn_yaml_is_null(n) ? 0 : n->n_kids / 2;
	if (count == 0)
		return scn_diag_set(p->diag, key->loc, "scenario: vms: at least one vm is required");
	if (count > SCN_MAX_VMS)
		return scn_diag_set(p->diag, n->kids[2 * SCN_MAX_VMS]->loc,
				    "too many vms (max %u)", SCN_MAX_VMS);
	scn->vms = calloc(count, sizeof(*scn->vms));
	if (!scn->vms)
		return scn_schema_oom(p);
	for (i = 0; i < n->n_kids; i += 2) {
		struct scn_vm *vm = &scn->vms[scn->n_vms];

		rc = scn_schema_name_key(p, n, i, "vm", 15, &vm->name);
		if (rc)
			return rc;
		scn->n_vms++;
		vm->loc = n->kids[i]->loc;
		rc = scenario_elements_vm(p, vm, n->kids[i + 1]);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- checks --------------------------------------------------------------- */

/* The key selecting a check's kind; its data is the struct scn_check_schema. */
static int scenario_elements_kind(struct scn_parse *p, const struct scn_key *k, const char *where,
			       const struct scn_node *key, const struct scn_node *val, void *obj)
{
	const struct scn_check_schema *cs = k->data;
	const struct scn_node *seen[SCN_MAX_KEYS];
	struct scn_check *chk = obj;
	char kw[96];
	int rc;

	if (p->kind_key) {
		const char *names[SCN_MAX_KEYS];
		char list[256];
		size_t i;

		for (i = 0; i < scn_n_check_schemas && i < SCN_MAX_KEYS; i++)
			names[i] = scn_check_schemas[i]->key;
		scn_names_list_of(names, i, list, sizeof(list));
		return scn_diag_set(p->diag, key->loc, "%s: give one of %s, not several", where, list);
	}
	p->kind_key = key;
	for (chk->kind = 0; chk->kind < scn_n_check_schemas; chk->kind++)
		if (scn_check_schemas[chk->kind] == cs)
			break;
	if (cs->init)
		cs->init(chk);
	snprintf(kw, sizeof(kw), "%s %s", where, cs->key);
	rc = scn_schema_map(p, val, where, cs->key, cs->null_ok);
	if (rc < 0)
		return rc;
	memset(seen, 0, sizeof(seen));
	if (rc > 0)
		rc = scn_schema_walk(p, val, cs->keys, cs->n_keys, kw, chk, seen, key->loc);
	else    /* null: only the missing keys to report */
		rc = scn_schema_walk(p, &(struct scn_node){ .kind = SCN_NODE_MAP, .loc = val->loc },
				     cs->keys, cs->n_keys, kw, chk, seen, key->loc);
	if (rc == 0 && cs->finish)
		rc = cs->finish(p, chk, kw, key, seen);
	return rc;
}

static int scenario_elements_check(struct scn_parse *p, struct scn_check *chk, size_t idx,
				const struct scn_node *n)
{
	/* the generic keys first; SEEN is read back by these positions */
	enum { NAME, EXPECT, WHILE_STOPPED, N_GENERIC };
	struct scn_key keys[SCN_MAX_KEYS] = {
		[NAME] = { .name = "name", .parse = scn_key_label,
		  .at = SCN_AT(struct scn_check, name), .max = 64 },
		[EXPECT] = { .name = "expect", .parse = scn_key_enum,
		  .at = SCN_AT(struct scn_check, expect), .names = &scn_names_expect },
		[WHILE_STOPPED] = { .name = "while_stopped", .parse = scn_key_ref,
		  .at = SCN_AT(struct scn_check, while_stopped), .what = "a vm name" },
	};
	const struct scn_node *seen[SCN_MAX_KEYS] = { 0 };
	const struct scn_check_schema *cs;
	size_t n_keys = N_GENERIC, i;
	char where[64];
	int rc = 0;

	for (i = 0; i < scn_n_check_schemas && n_keys < SCN_MAX_KEYS; i++)
		keys[n_keys++] = (struct scn_key){ .name = scn_check_schemas[i]->key,
						   .parse = scenario_elements_kind,
						   .data = scn_check_schemas[i] };
	snprintf(where, sizeof(where), "check #%zu", idx + 1);
	chk->loc = n->loc;
	p->kind_key = NULL;
	rc = scn_schema_map(p, n, where, NULL, 1);
	if (rc > 0)
		rc = scn_schema_walk(p, n, keys, n_keys, where, chk, seen, n->loc);
	if (rc < 0)
		return rc;
	if (!p->kind_key)
		return scn_diag_set(p->diag, n->loc, "missing required key \"%s\" (or \"%s\") in %s",
				    scn_check_schemas[0]->key, scn_n_check_schemas > 1 ?
				    scn_check_schemas[1]->key : "", where);
	cs = scn_check_schemas[chk->kind];
	if (cs->no_expect) {
		/* the verdict is fixed by the kind: nothing to expect */
		if (seen[EXPECT])
			return scn_diag_set(p->diag, seen[EXPECT]->loc, "%s: %s %s check takes no expect",
					    where, strchr("aeiou", cs->key[0]) ? "an" : "a", cs->key);
		chk->expect = SCN_EXPECT_ALLOWED;
	} else if (!seen[EXPECT]) {
		return scn_diag_set(p->diag, n->loc, "missing required key \"expect\" in %s", where);
	}
	if (!chk->name && cs->name_from_only &&
	    asprintf(&chk->name, "%s-%s", cs->key, chk->from.name) < 0) {
		chk->name = NULL;
		return scn_schema_oom(p);
	}
	if (!chk->name && asprintf(&chk->name, "%s-%s-%s", cs->key, chk->from.name,
				   chk->to.name) < 0) {
		chk->name = NULL;
		return scn_schema_oom(p);
	}
	return 0;
}

int scenario_elements_checks(struct scn_parse *p, const struct scn_key *k, const char *where,
			     const struct scn_node *key, const struct scn_node *n, void *obj)
{
	struct scenario *scn = p->scn;
	size_t i;
	int rc;

	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_SEQ)
		return scn_schema_type_error(p, n, "scenario", "checks", "a sequence");
	if (n->n_kids > SCN_MAX_CHECKS)
		return scn_diag_set(p->diag, n->kids[SCN_MAX_CHECKS]->loc,
				    "too many checks (max %u)", SCN_MAX_CHECKS);
	if (n->n_kids == 0)
		return 0;
	scn->checks = calloc(n->n_kids, sizeof(*scn->checks));
	if (!scn->checks)
		return scn_schema_oom(p);
	for (i = 0; i < n->n_kids; i++) {
		/* Count it first: a half-filled check still owns strings to free. */
		rc = scenario_elements_check(p, &scn->checks[scn->n_checks++], i, n->kids[i]);
		if (rc)
			return rc;
	}
	return 0;
}
