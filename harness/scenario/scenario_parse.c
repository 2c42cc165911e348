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
 *   networks:                   optional mapping NAME -> { subnet }
 *     lan: { subnet: 198.18.1.0/24 }   NAME [a-z][a-z0-9-]{0,11}; subnet required,
 *                               prefix 16..30, inside 198.18.0.0/15, host bits
 *                               zero, no two networks overlapping
 *   vms:                        required mapping NAME -> vm, at least one
 *     a:                        NAME [a-z][a-z0-9-]{0,14}; an empty value means
 *                               all defaults
 *       role: app|router|tor-gateway  default app
 *       nics: [lan, wan]        network names, each at most once, at most 8
 *       depends_on: [b]         VM names, not itself, each at most once
 *       machine: microvm|q35|pc default: lab.machine
 *       memory: 256             MiB, 64..16384; 0 = default
 *       vcpus: 1                1..16
 *       kernel: stock|lab       default stock (lab: built by `make lab-kernel`)
 *       boot: bzimage|pvh       default bzimage for stock, pvh for lab; pvh needs lab
 *       console: on|off         default on (off: no serial console output)
 *       initramfs_pad: 0        MiB of incompressible padding appended to the initramfs
 *       filter:                 role router only: what it forwards (scenario.h)
 *         default: accept|drop  default accept
 *         rules: [ { from: vm|network, to: vm|network, proto: any|icmp|tcp|udp,
 *                    port: 1..65535 (tcp/udp only), action: accept|drop } ]
 *   checks:                     optional sequence, at most 256
 *     - name: a-to-b            optional, [a-z0-9-]{1,64}, unique; default
 *                               "reach-FROM-TO"
 *       reach: { from: a, to: b, proto: icmp|tcp, port: 80, network: lan }
 *                               from, to: VMs (distinct); proto default icmp;
 *                               port 1..65535, required with tcp, refused with
 *                               icmp; network: one of to's NICs
 *       expect: allowed|blocked required (not with attribution)
 *     - forwarding: { vm: gw }  guest probe: expect blocked = the VM never sent
 *                               a packet it had received; allowed = it did
 *     - attribution: { vm: gw, network: wan, users: [debian-tor], processes: [tor] }
 *                               guest probe: every packet gw sent on network
 *                               (default its first NIC) came from a socket of
 *                               a listed user or process; one list at least,
 *                               names [A-Za-z0-9_.-], users <= 32, processes <= 15
 *   measure: { boot: { repeat: 5 } }   repeat 1..1000
 *
 * Strictness, so that a typo never silently changes a lab: unknown keys are
 * errors (with a did-you-mean hint within Levenshtein distance 2), duplicate
 * mapping keys are errors (libyaml accepts them), integers must be plain
 * decimal scalars, a null value (`key:` with nothing after it) counts as an
 * empty mapping or sequence where one is expected. YAML aliases and tags are
 * refused: aliases would let a tiny file expand enormously and neither adds
 * anything a scenario needs. One document per file; an empty file is an error.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "scenario/diag.h"
#include "scenario/names.h"
#include "scenario/scenario_internal.h"
#include "scenario/yaml.h"

struct scenario_parse_ctx {
	struct scn_diag *diag;
	struct scenario *scn;
	const char *buf;
	size_t len;
};

static const char *const scenario_parse_roles[] = {
	[SCN_ROLE_APP] = "app",
	[SCN_ROLE_ROUTER] = "router",
	[SCN_ROLE_TOR_GATEWAY] = "tor-gateway",
};
static const char *const scenario_parse_gateway_modes[] = {
	[SCN_GATEWAY_STRICT] = "strict",
	[SCN_GATEWAY_LEAKY] = "leaky",
	[SCN_GATEWAY_OPEN_OUTPUT] = "open-output",
};
static const char *const scenario_parse_fixtures[] = { "fake-internet", "tor-private-network" };

#define SCN_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int scenario_parse_oom(struct scenario_parse_ctx *ctx)
{
	scn_diag_set(ctx->diag, (struct scn_loc){ 0, 0 }, "out of memory");
	return -ENOMEM;
}

static int scenario_parse_type_error(struct scenario_parse_ctx *ctx, const struct scn_node *n,
				     const char *where, const char *key, const char *expected)
{
	char found[300];

	scn_yaml_found(n, found, sizeof(found));
	if (!key)
		return scn_diag_set(ctx->diag, n->loc, "%s: expected %s, found %s", where,
				    expected, found);
	return scn_diag_set(ctx->diag, n->loc, "%s: %s: expected %s, found %s", where, key,
			    expected, found);
}

/* Mapping keys must be non-null scalars; everything keyed by name relies on it. */
static int scenario_parse_key_node(struct scenario_parse_ctx *ctx, const struct scn_node *k,
				   const char *where)
{
	char found[300];

	if (k->kind == SCN_NODE_SCALAR && !scn_yaml_is_null(k))
		return 0;
	scn_yaml_found(k, found, sizeof(found));
	return scn_diag_set(ctx->diag, k->loc, "%s: expected a key name, found %s", where, found);
}

/* The earlier key equal to MAP's key at pair index I, or NULL. */
static const struct scn_node *scenario_parse_earlier(const struct scn_node *map, size_t i)
{
	size_t j;

	for (j = 0; j < i; j += 2)
		if (scn_yaml_same(map->kids[j], map->kids[i]))
			return map->kids[j];
	return NULL;
}

/* Resolve the key of the pair at MAP->kids[I] against KEYS. Unknown keys and
 * keys given twice are errors; the first duplicate stops us, so the quadratic
 * duplicate scan never sees more pairs than KEYS has entries. */
static int scenario_parse_key(struct scenario_parse_ctx *ctx, const struct scn_node *map, size_t i,
			      const char *const *keys, size_t n_keys, const char *where,
			      size_t *idx)
{
	const struct scn_node *k = map->kids[i];
	const struct scn_node *first;
	char q[256];
	size_t j;
	int rc;

	rc = scenario_parse_key_node(ctx, k, where);
	if (rc)
		return rc;
	scn_diag_quote(k->str, k->len, q, sizeof(q));
	first = scenario_parse_earlier(map, i);
	if (first)
		return scn_diag_set(ctx->diag, k->loc, "duplicate key %s in %s (first at %" PRIu32
				    ":%" PRIu32 ")", q, where, first->loc.line, first->loc.col);
	for (j = 0; j < n_keys; j++) {
		if (strlen(keys[j]) == k->len && !memcmp(keys[j], k->str, k->len)) {
			*idx = j;
			return 0;
		}
	}
	rc = scn_diag_set(ctx->diag, k->loc, "unknown key %s in %s", q, where);
	if (strlen(k->str) == k->len)
		scn_diag_suggest(ctx->diag, k->str, keys, n_keys);
	return rc;
}

/* A name keying a mapping (VM or network): [a-z][a-z0-9-]{0,MAX-1}, unique. */
static int scenario_parse_name_key(struct scenario_parse_ctx *ctx, const struct scn_node *map,
				   size_t i, const char *what, size_t max, char **out)
{
	const struct scn_node *k = map->kids[i];
	const struct scn_node *first;
	char q[256];
	size_t j;
	int ok;
	int rc;

	rc = scenario_parse_key_node(ctx, k, what);
	if (rc)
		return rc;
	scn_diag_quote(k->str, k->len, q, sizeof(q));
	ok = k->len >= 1 && k->len <= max && k->str[0] >= 'a' && k->str[0] <= 'z';
	for (j = 0; ok && j < k->len; j++) {
		char c = k->str[j];

		ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
	}
	if (!ok)
		return scn_diag_set(ctx->diag, k->loc, "invalid %s name %s: use 1..%zu characters "
				    "a-z, 0-9 or '-', starting with a letter", what, q, max);
	/* "host" and "internet" stand for the host and the fake internet in checks
	 * (SCN_HOST, SCN_INTERNET): a VM or network so named would be ambiguous. */
	if (!strcmp(k->str, SCN_HOST) || !strcmp(k->str, SCN_INTERNET))
		return scn_diag_set(ctx->diag, k->loc, "%s name %s is reserved (\"%s\" and \"%s\" "
				    "name the host and the fake internet in checks)", what, q,
				    SCN_HOST, SCN_INTERNET);
	first = scenario_parse_earlier(map, i);
	if (first)
		return scn_diag_set(ctx->diag, k->loc, "duplicate %s %s (first defined at %" PRIu32
				    ":%" PRIu32 ")", what, q, first->loc.line, first->loc.col);
	*out = strdup(k->str);
	return *out ? 0 : scenario_parse_oom(ctx);
}

static int scenario_parse_str(struct scenario_parse_ctx *ctx, const struct scn_node *n,
			      const char *where, const char *key, const char *expected,
			      char **out)
{
	if (n->kind != SCN_NODE_SCALAR || scn_yaml_is_null(n))
		return scenario_parse_type_error(ctx, n, where, key, expected);
	if (strlen(n->str) != n->len)
		return scn_diag_set(ctx->diag, n->loc, "%s: %s: text contains a NUL character",
				    where, key);
	*out = strdup(n->str);
	return *out ? 0 : scenario_parse_oom(ctx);
}

/* An element name that is not a mapping key: scenario and check names. */
static int scenario_parse_label(struct scenario_parse_ctx *ctx, const struct scn_node *n,
				const char *where, const char *key, size_t max, char **out)
{
	char q[256];
	size_t j;
	int rc;

	rc = scenario_parse_str(ctx, n, where, key, "a name", out);
	if (rc)
		return rc;
	for (j = 0; j < n->len; j++) {
		char c = n->str[j];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			break;
	}
	if (n->len == 0 || n->len > max || j < n->len) {
		scn_diag_quote(n->str, n->len, q, sizeof(q));
		return scn_diag_set(ctx->diag, n->loc, "%s: %s: invalid name %s: use 1..%zu "
				    "characters a-z, 0-9 or '-'", where, key, q, max);
	}
	return 0;
}

/* An unsigned decimal integer in MIN..MAX; ZERO_OK also admits 0 ("default"). */
static int scenario_parse_u32(struct scenario_parse_ctx *ctx, const struct scn_node *n,
			      const char *where, const char *key, uint32_t min, uint32_t max,
			      int zero_ok, const char *unit, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;
	int neg;

	if (!scn_yaml_is_int(n))
		return scenario_parse_type_error(ctx, n, where, key, "an integer");
	neg = n->str[0] == '-';
	for (i = neg ? 1 : 0; i < n->len && v <= UINT32_MAX; i++)
		v = v * 10 + (uint64_t)(n->str[i] - '0');
	if (neg || v > max || (v < min && !(zero_ok && v == 0))) {
		char q[256];

		scn_diag_quote(n->str, n->len, q, sizeof(q));
		return scn_diag_set(ctx->diag, n->loc, "%s: %s: %.*s is out of range (%" PRIu32
				    "..%" PRIu32 "%s%s%s)", where, key, (int)(strlen(q) - 2), q + 1,
				    min, max, unit[0] ? " " : "", unit,
				    zero_ok ? ", or 0 for the default" : "");
	}
	*out = (uint32_t)v;
	return 0;
}

static int scenario_parse_enum(struct scenario_parse_ctx *ctx, const struct scn_node *n,
			       const char *where, const char *key, const char *what,
			       const char *const *names, size_t n_names, int *out)
{
	char q[256];
	char choices[128] = "";
	size_t i;
	int rc;

	if (n->kind != SCN_NODE_SCALAR || scn_yaml_is_null(n))
		return scenario_parse_type_error(ctx, n, where, key, what);
	for (i = 0; i < n_names; i++) {
		if (!strcmp(n->str, names[i]) && strlen(n->str) == n->len) {
			*out = (int)i;
			return 0;
		}
	}
	for (i = 0; i < n_names; i++) {
		size_t l = strlen(choices);

		snprintf(choices + l, sizeof(choices) - l, "%s%s", names[i],
			 i + 2 < n_names ? ", " : i + 2 == n_names ? " or " : "");
	}
	scn_diag_quote(n->str, n->len, q, sizeof(q));
	rc = scn_diag_set(ctx->diag, n->loc, "%s: %s: unknown %s %s (expected %s)", where, key,
			  what, q, choices);
	if (strlen(n->str) == n->len)
		scn_diag_suggest(ctx->diag, n->str, names, n_names);
	return rc;
}

/* A sequence of names (nics, depends_on); null reads as empty. */
static int scenario_parse_refs(struct scenario_parse_ctx *ctx, const struct scn_node *n,
			       const char *where, const char *key, const char *what, size_t max,
			       struct scn_ref **out, size_t *n_out)
{
	char item[64];
	size_t i;
	int rc;

	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_SEQ)
		return scenario_parse_type_error(ctx, n, where, key, "a sequence");
	if (n->n_kids > max)
		return scn_diag_set(ctx->diag, n->kids[max]->loc, "%s: %s: more than %zu entries",
				    where, key, max);
	if (n->n_kids == 0)
		return 0;
	*out = calloc(n->n_kids, sizeof(**out));
	if (!*out)
		return scenario_parse_oom(ctx);
	for (i = 0; i < n->n_kids; i++) {
		snprintf(item, sizeof(item), "%s entry %zu", key, i + 1);
		rc = scenario_parse_str(ctx, n->kids[i], where, item, what, &(*out)[i].name);
		if (rc)
			return rc;
		(*out)[i].loc = n->kids[i]->loc;
		(*n_out)++;
	}
	return 0;
}

/* ---- the schema ----------------------------------------------------------- */

static int scenario_parse_lab(struct scenario_parse_ctx *ctx, const struct scn_node *n)
{
	static const char *const keys[] = { "accel", "machine", "boot_timeout" };
	struct scenario *scn = ctx->scn;
	size_t i, k;
	int v;
	int rc = 0;

	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, "scenario", "lab", "a mapping");
	for (i = 0; rc == 0 && i < n->n_kids; i += 2) {
		const struct scn_node *val = n->kids[i + 1];

		rc = scenario_parse_key(ctx, n, i, keys, SCN_COUNT(keys), "lab", &k);
		if (rc)
			break;
		switch (k) {
		case 0:
			rc = scenario_parse_enum(ctx, val, "lab", "accel", "accelerator",
						 scn_names_accel.names, scn_names_accel.n, &v);
			scn->accel = (enum scn_accel)v;
			break;
		case 1:
			rc = scenario_parse_enum(ctx, val, "lab", "machine", "machine type",
						 scn_names_machine.names, scn_names_machine.n, &v);
			scn->machine = (enum scn_machine)v;
			break;
		default:
			rc = scenario_parse_u32(ctx, val, "lab", "boot_timeout", 5, 3600, 0,
						"seconds", &scn->boot_timeout_s);
			break;
		}
	}
	return rc;
}

static int scenario_parse_measure(struct scenario_parse_ctx *ctx, const struct scn_node *n)
{
	static const char *const keys[] = { "boot" };
	static const char *const boot_keys[] = { "repeat" };
	size_t i, k;
	int rc = 0;

	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, "scenario", "measure", "a mapping");
	for (i = 0; rc == 0 && i < n->n_kids; i += 2) {
		const struct scn_node *boot = n->kids[i + 1];
		size_t j;

		rc = scenario_parse_key(ctx, n, i, keys, SCN_COUNT(keys), "measure", &k);
		if (rc)
			break;
		if (scn_yaml_is_null(boot))
			continue;
		if (boot->kind != SCN_NODE_MAP)
			return scenario_parse_type_error(ctx, boot, "measure", "boot", "a mapping");
		for (j = 0; rc == 0 && j < boot->n_kids; j += 2) {
			rc = scenario_parse_key(ctx, boot, j, boot_keys, SCN_COUNT(boot_keys),
						"measure.boot", &k);
			if (rc == 0)
				rc = scenario_parse_u32(ctx, boot->kids[j + 1], "measure.boot",
							"repeat", 1, 1000, 0, "",
							&ctx->scn->boot_repeat);
		}
	}
	return rc;
}

static int scenario_parse_network(struct scenario_parse_ctx *ctx, struct scn_network *net,
				  const struct scn_node *n)
{
	static const char *const keys[] = { "subnet", "internet" };
	char where[64];
	char q[256];
	const struct scn_node *sub = NULL;
	int v;
	uint32_t addr = 0;
	uint32_t octet = 0, digits = 0, dots = 0, prefix = 0;
	size_t i, k;
	int rc = 0;

	snprintf(where, sizeof(where), "network \"%s\"", net->name);
	if (!scn_yaml_is_null(n) && n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, where, NULL, "a mapping");
	for (i = 0; !scn_yaml_is_null(n) && i < n->n_kids; i += 2) {
		rc = scenario_parse_key(ctx, n, i, keys, SCN_COUNT(keys), where, &k);
		if (rc)
			return rc;
		if (k == 1) {
			rc = scenario_parse_enum(ctx, n->kids[i + 1], where, "internet", "boolean",
						 scn_names_bool.names, scn_names_bool.n, &v);
			if (rc)
				return rc;
			net->internet = v;
			continue;
		}
		sub = n->kids[i + 1];
	}
	if (!sub)
		return scn_diag_set(ctx->diag, net->loc, "missing required key \"subnet\" in %s",
				    where);
	if (sub->kind != SCN_NODE_SCALAR || scn_yaml_is_null(sub))
		return scenario_parse_type_error(ctx, sub, where, "subnet", "an IPv4 prefix");
	net->subnet_loc = sub->loc;

	/* Strict dotted quad: four 1..3 digit octets without leading zeros (which
	 * some parsers read as octal), then "/" and a decimal prefix. Range checks
	 * on the prefix are semantic and live in scenario_validate.c. */
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
		return scn_diag_set(ctx->diag, sub->loc, "%s: subnet %s is not an IPv4 prefix "
				    "(expected A.B.C.D/P, e.g. 198.18.1.0/24)", where, q);
	}
	net->subnet = addr;
	net->prefix = (uint8_t)prefix;
	return 0;
}

static int scenario_parse_networks(struct scenario_parse_ctx *ctx, const struct scn_node *n)
{
	struct scenario *scn = ctx->scn;
	size_t i, count;
	int rc;

	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, "scenario", "networks", "a mapping");
	count = n->n_kids / 2;
	if (count > SCN_MAX_NETWORKS)
		return scn_diag_set(ctx->diag, n->kids[2 * SCN_MAX_NETWORKS]->loc,
				    "too many networks (max %u)", SCN_MAX_NETWORKS);
	if (count == 0)
		return 0;
	scn->networks = calloc(count, sizeof(*scn->networks));
	if (!scn->networks)
		return scenario_parse_oom(ctx);
	for (i = 0; i < n->n_kids; i += 2) {
		struct scn_network *net = &scn->networks[scn->n_networks];

		rc = scenario_parse_name_key(ctx, n, i, "network", 12, &net->name);
		if (rc)
			return rc;
		scn->n_networks++;
		net->loc = n->kids[i]->loc;
		rc = scenario_parse_network(ctx, net, n->kids[i + 1]);
		if (rc)
			return rc;
	}
	return 0;
}

/* One rule of a filter: { from?, to?, proto?, port?, action }. */
static int scenario_parse_filter_rule(struct scenario_parse_ctx *ctx, struct scn_filter_rule *fr,
				      const char *vm_where, size_t idx, const struct scn_node *n)
{
	static const char *const keys[] = { "from", "to", "proto", "port", "action" };
	const struct scn_node *proto = NULL;
	char where[112];
	uint32_t v32 = 0;
	int have_action = 0, v;
	size_t i, k;
	int rc = 0;

	snprintf(where, sizeof(where), "%s filter rule #%zu", vm_where, idx + 1);
	fr->loc = n->loc;
	fr->proto = SCN_PROTO_ANY;
	if (n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, where, NULL, "a mapping");
	for (i = 0; rc == 0 && i < n->n_kids; i += 2) {
		const struct scn_node *val = n->kids[i + 1];

		rc = scenario_parse_key(ctx, n, i, keys, SCN_COUNT(keys), where, &k);
		if (rc)
			break;
		switch (k) {
		case 0:
			rc = scenario_parse_str(ctx, val, where, "from", "a vm or network name",
						&fr->from.name);
			fr->from.loc = val->loc;
			break;
		case 1:
			rc = scenario_parse_str(ctx, val, where, "to", "a vm or network name",
						&fr->to.name);
			fr->to.loc = val->loc;
			break;
		case 2:
			rc = scenario_parse_enum(ctx, val, where, "proto", "protocol",
						 scn_names_proto.names, scn_names_proto.n, &v);
			fr->proto = (enum scn_proto)v;
			proto = val;
			break;
		case 3:
			rc = scenario_parse_u32(ctx, val, where, "port", 1, 65535, 0, "", &v32);
			fr->port = (uint16_t)v32;
			fr->port_loc = n->kids[i]->loc;
			break;
		default:
			rc = scenario_parse_enum(ctx, val, where, "action", "action",
						 scn_names_filter_action.names, scn_names_filter_action.n, &v);
			fr->action = (enum scn_filter_action)v;
			have_action = 1;
			break;
		}
	}
	if (rc)
		return rc;
	if (!have_action)
		return scn_diag_set(ctx->diag, n->loc, "missing required key \"action\" in %s", where);
	/* A port narrows tcp or udp; with icmp or any it would mean nothing. */
	if (fr->port && fr->proto != SCN_PROTO_TCP && fr->proto != SCN_PROTO_UDP) {
		rc = scn_diag_set(ctx->diag, fr->port_loc, "%s: port is only meaningful with proto "
				  "tcp or udp%s", where, proto ? "" : " (proto defaults to any)");
		snprintf(ctx->diag->hint, sizeof(ctx->diag->hint), "add proto: tcp");
	}
	return rc;
}

/* filter: { default?, rules? } on a VM; role router is checked by the validator
 * (the role may be written after the filter). */
static int scenario_parse_filter(struct scenario_parse_ctx *ctx, struct scn_vm *vm,
				 const char *vm_where, const struct scn_node *key,
				 const struct scn_node *n)
{
	static const char *const keys[] = { "default", "rules" };
	struct scn_filter *f = &vm->filter;
	char where[80];
	size_t i, k, r;
	int v, rc = 0;

	snprintf(where, sizeof(where), "%s filter", vm_where);
	vm->has_filter = 1;
	f->loc = key->loc;
	f->dflt = SCN_FILTER_ACCEPT;
	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, vm_where, "filter", "a mapping");
	for (i = 0; rc == 0 && i < n->n_kids; i += 2) {
		const struct scn_node *val = n->kids[i + 1];

		rc = scenario_parse_key(ctx, n, i, keys, SCN_COUNT(keys), where, &k);
		if (rc)
			break;
		if (k == 0) {
			rc = scenario_parse_enum(ctx, val, where, "default", "action",
						 scn_names_filter_action.names, scn_names_filter_action.n, &v);
			f->dflt = (enum scn_filter_action)v;
			continue;
		}
		if (scn_yaml_is_null(val))
			continue;
		if (val->kind != SCN_NODE_SEQ)
			return scenario_parse_type_error(ctx, val, where, "rules", "a sequence");
		if (val->n_kids > SCN_MAX_FILTER_RULES)
			return scn_diag_set(ctx->diag, val->kids[SCN_MAX_FILTER_RULES]->loc,
					    "%s: too many rules (max %u)", where, SCN_MAX_FILTER_RULES);
		if (val->n_kids == 0)
			continue;
		f->rules = calloc(val->n_kids, sizeof(*f->rules));
		if (!f->rules)
			return scenario_parse_oom(ctx);
		for (r = 0; rc == 0 && r < val->n_kids; r++)
			/* Count it first: a half-filled rule still owns strings to free. */
			rc = scenario_parse_filter_rule(ctx, &f->rules[f->n_rules++], vm_where, r,
							val->kids[r]);
	}
	return rc;
}

static int scenario_parse_vm(struct scenario_parse_ctx *ctx, struct scn_vm *vm,
			     const struct scn_node *n)
{
	static const char *const keys[] = {
		"role", "nics", "depends_on", "machine", "memory", "vcpus",
		"kernel", "boot", "console", "initramfs_pad", "gateway", "filter",
	};
	char where[64];
	size_t i, k;
	int v;
	int rc = 0;

	snprintf(where, sizeof(where), "vm \"%s\"", vm->name);
	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, where, NULL, "a mapping");
	for (i = 0; rc == 0 && i < n->n_kids; i += 2) {
		const struct scn_node *val = n->kids[i + 1];

		rc = scenario_parse_key(ctx, n, i, keys, SCN_COUNT(keys), where, &k);
		if (rc)
			break;
		switch (k) {
		case 0:
			rc = scenario_parse_enum(ctx, val, where, "role", "role",
						 scenario_parse_roles,
						 SCN_COUNT(scenario_parse_roles), &v);
			vm->role = (enum scn_role)v;
			break;
		case 1:
			rc = scenario_parse_refs(ctx, val, where, "nics", "a network name",
						 SCN_MAX_NICS, &vm->nics, &vm->n_nics);
			break;
		case 2:
			rc = scenario_parse_refs(ctx, val, where, "depends_on", "a vm name",
						 SCN_MAX_VMS, &vm->depends_on, &vm->n_depends_on);
			break;
		case 3:
			rc = scenario_parse_enum(ctx, val, where, "machine", "machine type",
						 scn_names_machine.names, scn_names_machine.n, &v);
			vm->machine = (enum scn_machine)v;
			vm->has_machine = 1;
			break;
		case 4:
			rc = scenario_parse_u32(ctx, val, where, "memory", 64, 16384, 1, "MiB",
						&vm->memory_mib);
			break;
		case 5:
			rc = scenario_parse_u32(ctx, val, where, "vcpus", 1, 16, 0, "",
						&vm->vcpus);
			break;
		case 6:
			rc = scenario_parse_enum(ctx, val, where, "kernel", "kernel",
						 scn_names_kernel.names, scn_names_kernel.n, &v);
			vm->kernel = (enum scn_kernel)v;
			break;
		case 7:
			rc = scenario_parse_enum(ctx, val, where, "boot", "boot protocol",
						 scn_names_boot.names, scn_names_boot.n, &v);
			vm->boot = (enum scn_boot)v;
			vm->has_boot = 1;
			vm->boot_loc = val->loc;
			break;
		case 8:
			rc = scenario_parse_enum(ctx, val, where, "console", "console setting",
						 scn_names_console.names, scn_names_console.n, &v);
			vm->console = (enum scn_console)v;
			break;
		case 9:
			rc = scenario_parse_u32(ctx, val, where, "initramfs_pad", 0, 1024, 0, "MiB",
						&vm->initramfs_pad_mib);
			break;
		case 10:
			rc = scenario_parse_enum(ctx, val, where, "gateway", "gateway mode",
						 scenario_parse_gateway_modes,
						 SCN_COUNT(scenario_parse_gateway_modes), &v);
			vm->gateway_mode = (enum scn_gateway_mode)v;
			break;
		default:
			rc = scenario_parse_filter(ctx, vm, where, n->kids[i], val);
			break;
		}
	}
	return rc;
}

static int scenario_parse_vms(struct scenario_parse_ctx *ctx, const struct scn_node *key,
			      const struct scn_node *n)
{
	struct scenario *scn = ctx->scn;
	size_t i, count;
	int rc;

	if (!scn_yaml_is_null(n) && n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, "scenario", "vms", "a mapping");
	count = scn_yaml_is_null(n) ? 0 : n->n_kids / 2;
	if (count == 0)
		return scn_diag_set(ctx->diag, key->loc, "scenario: vms: at least one vm is required");
	if (count > SCN_MAX_VMS)
		return scn_diag_set(ctx->diag, n->kids[2 * SCN_MAX_VMS]->loc,
				    "too many vms (max %u)", SCN_MAX_VMS);
	scn->vms = calloc(count, sizeof(*scn->vms));
	if (!scn->vms)
		return scenario_parse_oom(ctx);
	for (i = 0; i < n->n_kids; i += 2) {
		struct scn_vm *vm = &scn->vms[scn->n_vms];

		rc = scenario_parse_name_key(ctx, n, i, "vm", 15, &vm->name);
		if (rc)
			return rc;
		scn->n_vms++;
		vm->loc = n->kids[i]->loc;
		rc = scenario_parse_vm(ctx, vm, n->kids[i + 1]);
		if (rc)
			return rc;
	}
	return 0;
}

static int scenario_parse_reach(struct scenario_parse_ctx *ctx, struct scn_check *chk,
				const char *check_where, const struct scn_node *key,
				const struct scn_node *n)
{
	static const char *const keys[] = { "from", "to", "proto", "port", "network" };
	const struct scn_node *proto = NULL, *port = NULL;
	char where[96];
	uint32_t v32 = 0;
	size_t i, k;
	int v;
	int rc = 0;

	snprintf(where, sizeof(where), "%s reach", check_where);
	if (!scn_yaml_is_null(n) && n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, check_where, "reach", "a mapping");
	for (i = 0; rc == 0 && !scn_yaml_is_null(n) && i < n->n_kids; i += 2) {
		const struct scn_node *val = n->kids[i + 1];

		rc = scenario_parse_key(ctx, n, i, keys, SCN_COUNT(keys), where, &k);
		if (rc)
			break;
		switch (k) {
		case 0:
			rc = scenario_parse_str(ctx, val, where, "from", "a vm name", &chk->from.name);
			chk->from.loc = val->loc;
			break;
		case 1:
			rc = scenario_parse_str(ctx, val, where, "to", "a vm name", &chk->to.name);
			chk->to.loc = val->loc;
			break;
		case 2:
			rc = scenario_parse_enum(ctx, val, where, "proto", "protocol",
						 scn_names_proto.names, scn_names_proto.n, &v);
			chk->proto = (enum scn_proto)v;
			proto = val;
			break;
		case 3:
			rc = scenario_parse_u32(ctx, val, where, "port", 1, 65535, 0, "", &v32);
			chk->port = (uint16_t)v32;
			port = n->kids[i];
			break;
		default:
			rc = scenario_parse_str(ctx, val, where, "network", "a network name",
						&chk->network.name);
			chk->network.loc = val->loc;
			break;
		}
	}
	if (rc)
		return rc;
	if (!chk->from.name)
		return scn_diag_set(ctx->diag, key->loc, "missing required key \"from\" in %s", where);
	if (!chk->to.name)
		return scn_diag_set(ctx->diag, key->loc, "missing required key \"to\" in %s", where);
	if (chk->proto == SCN_PROTO_ANY)
		return scn_diag_set(ctx->diag, proto->loc, "%s: proto: give icmp, tcp or udp", where);
	if ((chk->proto == SCN_PROTO_TCP || chk->proto == SCN_PROTO_UDP) && !port)
		return scn_diag_set(ctx->diag, proto->loc, "%s: proto %s needs a port", where,
				    scn_proto_name(chk->proto));
	if (chk->proto == SCN_PROTO_ICMP && port) {
		rc = scn_diag_set(ctx->diag, port->loc, "%s: port is only meaningful with proto tcp or udp",
				  where);
		snprintf(ctx->diag->hint, sizeof(ctx->diag->hint), "add proto: tcp");
	}
	return rc;
}

static int scenario_parse_vsock_check(struct scenario_parse_ctx *ctx, struct scn_check *chk,
				      const char *check_where, const struct scn_node *key,
				      const struct scn_node *n)
{
	static const char *const keys[] = { "from", "to", "port", "bytes" };
	char where[96];
	uint32_t v32 = 0;
	size_t i, k;
	int rc = 0;

	snprintf(where, sizeof(where), "%s vsock", check_where);
	chk->kind = SCN_CHECK_VSOCK;
	chk->bytes = 1u << 20;
	if (scn_yaml_is_null(n) || n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, check_where, "vsock", "a mapping");
	for (i = 0; rc == 0 && i < n->n_kids; i += 2) {
		const struct scn_node *val = n->kids[i + 1];

		rc = scenario_parse_key(ctx, n, i, keys, SCN_COUNT(keys), where, &k);
		if (rc)
			break;
		switch (k) {
		case 0:
			rc = scenario_parse_str(ctx, val, where, "from", "a vm name or host", &chk->from.name);
			chk->from.loc = val->loc;
			break;
		case 1:
			rc = scenario_parse_str(ctx, val, where, "to", "a vm name or host", &chk->to.name);
			chk->to.loc = val->loc;
			break;
		case 2:
			rc = scenario_parse_u32(ctx, val, where, "port", 1, 65535, 0, "", &v32);
			chk->port = (uint16_t)v32;
			break;
		default:
			rc = scenario_parse_u32(ctx, val, where, "bytes", 1, 1u << 30, 0, "", &chk->bytes);
			break;
		}
	}
	if (rc)
		return rc;
	if (!chk->from.name)
		return scn_diag_set(ctx->diag, key->loc, "missing required key \"from\" in %s", where);
	if (!chk->to.name)
		return scn_diag_set(ctx->diag, key->loc, "missing required key \"to\" in %s", where);
	if (!chk->port)
		return scn_diag_set(ctx->diag, key->loc, "missing required key \"port\" in %s", where);
	return 0;
}

/* fetch: { from, url } and resolve: { from, host } */
static int scenario_parse_from_target(struct scenario_parse_ctx *ctx, struct scn_check *chk,
				      const char *check_where, const struct scn_node *key,
				      const struct scn_node *n, enum scn_check_kind kind)
{
	const char *kname = kind == SCN_CHECK_FETCH ? "fetch" : "resolve";
	const char *tname = kind == SCN_CHECK_FETCH ? "url" : "host";
	const char *keys[] = { "from", tname };
	char where[96];
	size_t i, k;
	int rc = 0;

	snprintf(where, sizeof(where), "%s %s", check_where, kname);
	chk->kind = kind;
	if (scn_yaml_is_null(n) || n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, check_where, kname, "a mapping");
	for (i = 0; rc == 0 && i < n->n_kids; i += 2) {
		const struct scn_node *val = n->kids[i + 1];

		rc = scenario_parse_key(ctx, n, i, keys, 2, where, &k);
		if (rc)
			break;
		if (k == 0) {
			rc = scenario_parse_str(ctx, val, where, "from", "a vm name", &chk->from.name);
			chk->from.loc = val->loc;
		} else {
			rc = scenario_parse_str(ctx, val, where, tname, kind == SCN_CHECK_FETCH ?
						"an http:// URL" : "a host name", &chk->target);
			if (!rc && kind == SCN_CHECK_FETCH && strncmp(chk->target, "http://", 7))
				rc = scn_diag_set(ctx->diag, val->loc, "%s: url: only http:// URLs", where);
			if (!rc && strlen(chk->target) > 200)
				rc = scn_diag_set(ctx->diag, val->loc, "%s: %s: longer than 200 bytes",
						  where, tname);
			/* the target ends up on a guest command line: keep it plain */
			for (size_t c = 0; !rc && chk->target[c]; c++)
				if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789-._~:/?#[]@!$&()*+,;=%", chk->target[c]) ||
				    chk->target[c] == '\'' )
					rc = scn_diag_set(ctx->diag, val->loc, "%s: %s: unexpected "
							  "character", where, tname);
		}
	}
	if (rc)
		return rc;
	if (!chk->from.name)
		return scn_diag_set(ctx->diag, key->loc, "missing required key \"from\" in %s", where);
	if (!chk->target)
		return scn_diag_set(ctx->diag, key->loc, "missing required key \"%s\" in %s", tname, where);
	chk->to.name = strdup(kname);
	return chk->to.name ? 0 : scenario_parse_oom(ctx);
}

/* users: / processes: of an attribution check, a sequence of owner names.
 * Process names are compared with the kernel's comm (15 bytes). */
static int scenario_parse_owner_names(struct scenario_parse_ctx *ctx, const struct scn_node *n,
				      const char *where, const char *key, size_t max_len,
				      char ***out, size_t *n_out)
{
	char q[256];
	size_t i, j;
	int rc;

	if (scn_yaml_is_null(n) || n->kind != SCN_NODE_SEQ)
		return scenario_parse_type_error(ctx, n, where, key, "a sequence of names");
	if (n->n_kids > SCN_MAX_OWNERS)
		return scn_diag_set(ctx->diag, n->kids[SCN_MAX_OWNERS]->loc, "%s: %s: more than %u "
				    "entries", where, key, SCN_MAX_OWNERS);
	if (n->n_kids == 0)
		return scn_diag_set(ctx->diag, n->loc, "%s: %s: empty list", where, key);
	*out = calloc(n->n_kids, sizeof(**out));
	if (!*out)
		return scenario_parse_oom(ctx);
	for (i = 0; i < n->n_kids; i++) {
		const struct scn_node *e = n->kids[i];

		rc = scenario_parse_str(ctx, e, where, key, "a name", &(*out)[i]);
		if (rc)
			return rc;
		(*n_out)++;
		for (j = 0; j < e->len && (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						  "0123456789_.-", e->str[j]) && e->str[j]); j++)
			;
		if (e->len == 0 || e->len > max_len || j < e->len) {
			scn_diag_quote(e->str, e->len, q, sizeof(q));
			return scn_diag_set(ctx->diag, e->loc, "%s: %s: invalid name %s: use 1..%zu "
					    "characters A-Z, a-z, 0-9, '_', '.' or '-'", where, key, q,
					    max_len);
		}
	}
	return 0;
}

/* forwarding: { vm, allow_empty? } and
 * attribution: { vm, network?, users?, processes?, allow_empty? }.
 * Keys are dispatched by their index in the attribution list; forwarding's
 * own list maps onto it through fwd_index. */
static int scenario_parse_probe_check(struct scenario_parse_ctx *ctx, struct scn_check *chk,
				      const char *check_where, const struct scn_node *key,
				      const struct scn_node *n, enum scn_check_kind kind)
{
	static const char *const keys[] = { "vm", "network", "users", "processes", "allow_empty" };
	static const char *const fwd_keys[] = { "vm", "allow_empty" };
	static const size_t fwd_index[] = { 0, 4 };
	const char *kname = kind == SCN_CHECK_FORWARDING ? "forwarding" : "attribution";
	int fwd = kind == SCN_CHECK_FORWARDING;
	char where[96];
	size_t i, k;
	int rc = 0, v;

	snprintf(where, sizeof(where), "%s %s", check_where, kname);
	chk->kind = kind;
	if (scn_yaml_is_null(n) || n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, check_where, kname, "a mapping");
	for (i = 0; rc == 0 && i < n->n_kids; i += 2) {
		const struct scn_node *val = n->kids[i + 1];

		rc = scenario_parse_key(ctx, n, i, fwd ? fwd_keys : keys,
					fwd ? SCN_COUNT(fwd_keys) : SCN_COUNT(keys), where, &k);
		if (rc)
			break;
		if (fwd)
			k = fwd_index[k];
		switch (k) {
		case 0:
			rc = scenario_parse_str(ctx, val, where, "vm", "a vm name", &chk->from.name);
			chk->from.loc = val->loc;
			break;
		case 1:
			rc = scenario_parse_str(ctx, val, where, "network", "a network name",
						&chk->network.name);
			chk->network.loc = val->loc;
			break;
		case 2:
			rc = scenario_parse_owner_names(ctx, val, where, "users", 32, &chk->users,
							&chk->n_users);
			break;
		case 3:
			rc = scenario_parse_owner_names(ctx, val, where, "processes", 15, &chk->procs,
							&chk->n_procs);
			break;
		default:
			rc = scenario_parse_enum(ctx, val, where, "allow_empty", "boolean",
						 scn_names_bool.names, scn_names_bool.n, &v);
			chk->allow_empty = v;
			break;
		}
	}
	if (rc)
		return rc;
	if (!chk->from.name)
		return scn_diag_set(ctx->diag, key->loc, "missing required key \"vm\" in %s", where);
	if (kind == SCN_CHECK_ATTRIBUTION && !chk->n_users && !chk->n_procs) {
		rc = scn_diag_set(ctx->diag, key->loc, "%s: name the allowed owners (users or "
				  "processes)", where);
		snprintf(ctx->diag->hint, sizeof(ctx->diag->hint), "add users: [debian-tor]");
	}
	return rc;
}

static int scenario_parse_check(struct scenario_parse_ctx *ctx, struct scn_check *chk,
				size_t idx, const struct scn_node *n)
{
	static const char *const keys[] = { "name", "reach", "expect", "vsock", "fetch", "resolve",
					    "while_stopped", "forwarding", "attribution" };
	const struct scn_node *expect_key = NULL;
	char where[64];
	int have_reach = 0, have_expect = 0;
	size_t i, k;
	int v;
	int rc = 0;

	snprintf(where, sizeof(where), "check #%zu", idx + 1);
	chk->loc = n->loc;
	if (!scn_yaml_is_null(n) && n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, where, NULL, "a mapping");
	for (i = 0; rc == 0 && !scn_yaml_is_null(n) && i < n->n_kids; i += 2) {
		const struct scn_node *val = n->kids[i + 1];

		rc = scenario_parse_key(ctx, n, i, keys, SCN_COUNT(keys), where, &k);
		if (rc)
			break;
		switch (k) {
		case 0:
			rc = scenario_parse_label(ctx, val, where, "name", 64, &chk->name);
			break;
		case 1:
		case 3:
		case 4:
		case 5:
		case 7:
		case 8:
			if (have_reach) {
				rc = scn_diag_set(ctx->diag, n->kids[i]->loc, "%s: give one of reach, "
						  "vsock, fetch, resolve, forwarding or attribution, "
						  "not several", where);
				break;
			}
			rc = k == 1 ? scenario_parse_reach(ctx, chk, where, n->kids[i], val) :
			     k == 3 ? scenario_parse_vsock_check(ctx, chk, where, n->kids[i], val) :
			     k >= 7 ? scenario_parse_probe_check(ctx, chk, where, n->kids[i], val,
								 k == 7 ? SCN_CHECK_FORWARDING :
								 SCN_CHECK_ATTRIBUTION) :
			     scenario_parse_from_target(ctx, chk, where, n->kids[i], val,
							k == 4 ? SCN_CHECK_FETCH : SCN_CHECK_RESOLVE);
			have_reach = 1;
			break;
		case 6:
			rc = scenario_parse_str(ctx, val, where, "while_stopped", "a vm name",
						&chk->while_stopped.name);
			chk->while_stopped.loc = val->loc;
			break;
		case 2:
			rc = scenario_parse_enum(ctx, val, where, "expect", "expect value",
						 scn_names_expect.names, scn_names_expect.n, &v);
			chk->expect = (enum scn_expect)v;
			have_expect = 1;
			expect_key = n->kids[i];
			break;
		}
	}
	if (rc)
		return rc;
	if (!have_reach)
		return scn_diag_set(ctx->diag, n->loc, "missing required key \"reach\" (or \"vsock\") in %s",
				    where);
	if (chk->kind == SCN_CHECK_ATTRIBUTION) {
		/* the verdict is "every packet had an allowed owner": nothing to expect */
		if (have_expect)
			return scn_diag_set(ctx->diag, expect_key->loc, "%s: an attribution check "
					    "takes no expect", where);
		chk->expect = SCN_EXPECT_ALLOWED;
	} else if (!have_expect) {
		return scn_diag_set(ctx->diag, n->loc, "missing required key \"expect\" in %s", where);
	}
	if (!chk->name && scn_check_is_probe(chk) &&
	    asprintf(&chk->name, "%s-%s", chk->kind == SCN_CHECK_FORWARDING ? "forwarding" :
		     "attribution", chk->from.name) < 0) {
		chk->name = NULL;
		return scenario_parse_oom(ctx);
	}
	if (!chk->name && asprintf(&chk->name, "%s-%s-%s", chk->kind == SCN_CHECK_VSOCK ? "vsock" :
				   chk->kind == SCN_CHECK_FETCH ? "fetch" : chk->kind == SCN_CHECK_RESOLVE ?
				   "resolve" : "reach", chk->from.name, chk->to.name) < 0) {
		chk->name = NULL;
		return scenario_parse_oom(ctx);
	}
	return 0;
}

static int scenario_parse_checks(struct scenario_parse_ctx *ctx, const struct scn_node *n)
{
	struct scenario *scn = ctx->scn;
	size_t i;
	int rc;

	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_SEQ)
		return scenario_parse_type_error(ctx, n, "scenario", "checks", "a sequence");
	if (n->n_kids > SCN_MAX_CHECKS)
		return scn_diag_set(ctx->diag, n->kids[SCN_MAX_CHECKS]->loc,
				    "too many checks (max %u)", SCN_MAX_CHECKS);
	if (n->n_kids == 0)
		return 0;
	scn->checks = calloc(n->n_kids, sizeof(*scn->checks));
	if (!scn->checks)
		return scenario_parse_oom(ctx);
	for (i = 0; i < n->n_kids; i++) {
		/* Count it first: a half-filled check still owns strings to free. */
		rc = scenario_parse_check(ctx, &scn->checks[scn->n_checks++], i, n->kids[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* vsock: { allow: [[a, b], ...] } */
static int scenario_parse_vsock(struct scenario_parse_ctx *ctx, const struct scn_node *n)
{
	static const char *const keys[] = { "allow" };
	struct scenario *scn = ctx->scn;
	size_t i, k, p;
	int rc = 0;

	scn->has_vsock = 1;
	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, "scenario", "vsock", "a mapping");
	for (i = 0; rc == 0 && i < n->n_kids; i += 2) {
		const struct scn_node *val = n->kids[i + 1];

		rc = scenario_parse_key(ctx, n, i, keys, SCN_COUNT(keys), "vsock", &k);
		if (rc)
			break;
		if (scn_yaml_is_null(val))
			continue;
		if (val->kind != SCN_NODE_SEQ)
			return scenario_parse_type_error(ctx, val, "vsock", "allow", "a sequence");
		if (val->n_kids > SCN_MAX_CHECKS)
			return scn_diag_set(ctx->diag, val->loc, "vsock: allow: too many pairs (max %u)",
					    SCN_MAX_CHECKS);
		free(scn->vsock_allow);
		scn->n_vsock_allow = 0;
		scn->vsock_allow = calloc(val->n_kids + 1, sizeof(*scn->vsock_allow));
		if (!scn->vsock_allow)
			return scenario_parse_oom(ctx);
		for (p = 0; p < val->n_kids; p++) {
			const struct scn_node *pair = val->kids[p];
			struct scn_vsock_pair *vp = &scn->vsock_allow[scn->n_vsock_allow++];

			if (pair->kind != SCN_NODE_SEQ || pair->n_kids != 2)
				return scn_diag_set(ctx->diag, pair->loc,
						    "vsock: allow: each entry is a pair [vm, vm]");
			rc = scenario_parse_str(ctx, pair->kids[0], "vsock allow", "vm", "a vm name",
						&vp->a.name);
			vp->a.loc = pair->kids[0]->loc;
			if (!rc)
				rc = scenario_parse_str(ctx, pair->kids[1], "vsock allow", "vm",
							"a vm name", &vp->b.name);
			vp->b.loc = pair->kids[1]->loc;
			if (rc)
				return rc;
		}
	}
	return rc;
}

static int scenario_parse_fixture_list(struct scenario_parse_ctx *ctx, const struct scn_node *n)
{
	struct scenario *scn = ctx->scn;
	size_t i;
	int v, rc;

	scn->fixtures_loc = n->loc;
	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_SEQ)
		return scenario_parse_type_error(ctx, n, "scenario", "fixtures", "a sequence");
	for (i = 0; i < n->n_kids; i++) {
		rc = scenario_parse_enum(ctx, n->kids[i], "scenario", "fixtures", "fixture",
					 scenario_parse_fixtures, SCN_COUNT(scenario_parse_fixtures), &v);
		if (rc)
			return rc;
		if (v == 0)
			scn->fixture_internet = 1;
		else
			scn->fixture_tor = 1;
	}
	return 0;
}

static int scenario_parse_policy(struct scenario_parse_ctx *ctx, const struct scn_node *n)
{
	static const char *const keys[] = { "allow" };
	static const char *const rule_keys[] = { "from", "to", "proto" };
	struct scenario *scn = ctx->scn;
	size_t i, k, r, j;
	int v, rc = 0;

	scn->has_policy = 1;
	if (scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_MAP)
		return scenario_parse_type_error(ctx, n, "scenario", "policy", "a mapping");
	for (i = 0; rc == 0 && i < n->n_kids; i += 2) {
		const struct scn_node *val = n->kids[i + 1];

		rc = scenario_parse_key(ctx, n, i, keys, SCN_COUNT(keys), "policy", &k);
		if (rc || scn_yaml_is_null(val))
			break;
		if (val->kind != SCN_NODE_SEQ)
			return scenario_parse_type_error(ctx, val, "policy", "allow", "a sequence");
		if (val->n_kids > SCN_MAX_CHECKS)
			return scn_diag_set(ctx->diag, val->loc, "policy: allow: too many rules (max %u)",
					    SCN_MAX_CHECKS);
		scn->policy = calloc(val->n_kids + 1, sizeof(*scn->policy));
		if (!scn->policy)
			return scenario_parse_oom(ctx);
		for (r = 0; r < val->n_kids; r++) {
			const struct scn_node *rule = val->kids[r];
			struct scn_policy_rule *pr = &scn->policy[scn->n_policy++];

			pr->loc = rule->loc;
			pr->proto = SCN_PROTO_ANY;
			if (rule->kind != SCN_NODE_MAP)
				return scenario_parse_type_error(ctx, rule, "policy", "allow", "a mapping");
			for (j = 0; j < rule->n_kids; j += 2) {
				const struct scn_node *rv = rule->kids[j + 1];

				rc = scenario_parse_key(ctx, rule, j, rule_keys, SCN_COUNT(rule_keys),
							"policy rule", &k);
				if (rc)
					return rc;
				if (k == 0) {
					rc = scenario_parse_str(ctx, rv, "policy rule", "from", "a vm name",
								&pr->from.name);
					pr->from.loc = rv->loc;
				} else if (k == 1) {
					rc = scenario_parse_str(ctx, rv, "policy rule", "to", "a vm name",
								&pr->to.name);
					pr->to.loc = rv->loc;
				} else {
					rc = scenario_parse_enum(ctx, rv, "policy rule", "proto", "protocol",
								 scn_names_proto.names, scn_names_proto.n, &v);
					pr->proto = (enum scn_proto)v;
				}
				if (rc)
					return rc;
			}
			if (!pr->from.name || !pr->to.name)
				return scn_diag_set(ctx->diag, rule->loc,
						    "policy rule: needs both \"from\" and \"to\"");
		}
	}
	return rc;
}

static int scenario_parse_top(struct scenario_parse_ctx *ctx, const struct scn_node *root)
{
	static const char *const keys[] = {
		"name", "description", "lab", "networks", "vms", "checks", "measure", "vsock",
		"fixtures", "policy",
	};
	struct scenario *scn = ctx->scn;
	int have_vms = 0;
	size_t i, k;
	int rc = 0;

	if (root->kind != SCN_NODE_MAP) {
		char found[300];

		scn_yaml_found(root, found, sizeof(found));
		return scn_diag_set(ctx->diag, root->loc,
				    "a scenario must be a mapping at the top level, found %s", found);
	}
	for (i = 0; rc == 0 && i < root->n_kids; i += 2) {
		const struct scn_node *val = root->kids[i + 1];

		rc = scenario_parse_key(ctx, root, i, keys, SCN_COUNT(keys), "scenario", &k);
		if (rc)
			break;
		switch (k) {
		case 0:
			rc = scenario_parse_label(ctx, val, "scenario", "name", 32, &scn->name);
			break;
		case 1:
			rc = scenario_parse_str(ctx, val, "scenario", "description", "a string",
						&scn->description);
			if (rc == 0 && val->len > SCN_MAX_DESCRIPTION)
				rc = scn_diag_set(ctx->diag, val->loc, "scenario: description: "
						  "longer than %u bytes", SCN_MAX_DESCRIPTION);
			break;
		case 2:
			rc = scenario_parse_lab(ctx, val);
			break;
		case 3:
			rc = scenario_parse_networks(ctx, val);
			break;
		case 4:
			rc = scenario_parse_vms(ctx, root->kids[i], val);
			have_vms = 1;
			break;
		case 5:
			rc = scenario_parse_checks(ctx, val);
			break;
		case 6:
			rc = scenario_parse_measure(ctx, val);
			break;
		case 7:
			rc = scenario_parse_vsock(ctx, val);
			break;
		case 8:
			rc = scenario_parse_fixture_list(ctx, val);
			break;
		default:
			rc = scenario_parse_policy(ctx, val);
			break;
		}
	}
	if (rc)
		return rc;
	if (!scn->name)
		return scn_diag_set(ctx->diag, root->loc, "missing required key \"name\" in scenario");
	if (!have_vms)
		return scn_diag_set(ctx->diag, root->loc, "missing required key \"vms\" in scenario");
	return 0;
}

/* ---- public entry points -------------------------------------------------- */

int scenario_parse(const char *name, const char *buf, size_t len,
		   struct scenario **out, struct scn_diag *diag)
{
	struct scn_diag local;
	struct scenario_parse_ctx ctx = { 0 };
	struct scn_node *root = NULL;
	struct scenario *scn = NULL;
	unsigned int md_len = 0;
	int rc;

	if (!diag)
		diag = &local;
	memset(diag, 0, sizeof(*diag));
	if (!name)
		name = "<scenario>";
	snprintf(diag->file, sizeof(diag->file), "%s", name);
	ctx.diag = diag;
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
		rc = scenario_parse_oom(&ctx);
		goto cleanup;
	}
	ctx.scn = scn;
	ctx.buf = buf ? buf : "";
	ctx.len = len;

	rc = scn_yaml_load(ctx.buf, ctx.len, diag, &root);
	if (rc)
		goto cleanup;
	rc = scenario_parse_top(&ctx, root);
	if (rc)
		goto cleanup;
	rc = scenario_validate(scn, diag);
	if (rc)
		goto cleanup;
	if (!EVP_Digest(ctx.buf, len, scn->sha256, &md_len, EVP_sha256(), NULL) ||
	    md_len != sizeof(scn->sha256)) {
		rc = scenario_parse_oom(&ctx);
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

const char *scn_role_name(enum scn_role r)
{
	return (size_t)r < SCN_COUNT(scenario_parse_roles) ? scenario_parse_roles[r] : "?";
}
