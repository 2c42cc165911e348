/* SPDX-License-Identifier: MIT */
/* schema.c: walking a YAML mapping against a table of keys, and the type parsers.
 *
 * The messages here are the ones every section of the format shares; their
 * wording is what harness/tests compare, so change them only with the tests.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/schema.h"

_Static_assert(sizeof(enum scn_proto) == sizeof(unsigned int), "enums are written as unsigned int");

static void *scn_schema_at(void *obj, size_t at)
{
	return (char *)obj + at - 1;
}

int scn_schema_oom(struct scn_parse *p)
{
	scn_diag_set(p->diag, (struct scn_loc){ 0, 0 }, "out of memory");
	return -ENOMEM;
}

int scn_schema_type_error(struct scn_parse *p, const struct scn_node *n, const char *where,
			  const char *key, const char *expected)
{
	char found[300];

	scn_yaml_found(n, found, sizeof(found));
	if (!key)
		return scn_diag_set(p->diag, n->loc, "%s: expected %s, found %s", where,
				    expected, found);
	return scn_diag_set(p->diag, n->loc, "%s: %s: expected %s, found %s", where, key,
			    expected, found);
}

int scn_schema_map(struct scn_parse *p, const struct scn_node *n, const char *outer,
		   const char *key, int null_ok)
{
	if (null_ok && scn_yaml_is_null(n))
		return 0;
	if (n->kind != SCN_NODE_MAP)
		return scn_schema_type_error(p, n, outer, key, "a mapping");
	return 1;
}

/* Mapping keys must be non-null scalars; everything keyed by name relies on it. */
static int scn_schema_key_node(struct scn_parse *p, const struct scn_node *k, const char *where)
{
	char found[300];

	if (k->kind == SCN_NODE_SCALAR && !scn_yaml_is_null(k))
		return 0;
	scn_yaml_found(k, found, sizeof(found));
	return scn_diag_set(p->diag, k->loc, "%s: expected a key name, found %s", where, found);
}

/* The earlier key equal to MAP's key at pair index I, or NULL. */
static const struct scn_node *scn_schema_earlier(const struct scn_node *map, size_t i)
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
static int scn_schema_key(struct scn_parse *p, const struct scn_node *map, size_t i,
			  const struct scn_key *keys, size_t n_keys, const char *where,
			  size_t *idx)
{
	const char *names[SCN_MAX_KEYS];
	const struct scn_node *k = map->kids[i];
	const struct scn_node *first;
	char q[256];
	size_t j;
	int rc;

	rc = scn_schema_key_node(p, k, where);
	if (rc)
		return rc;
	scn_diag_quote(k->str, k->len, q, sizeof(q));
	first = scn_schema_earlier(map, i);
	if (first)
		return scn_diag_set(p->diag, k->loc, "duplicate key %s in %s (first at %" PRIu32
				    ":%" PRIu32 ")", q, where, first->loc.line, first->loc.col);
	for (j = 0; j < n_keys; j++) {
		if (strlen(keys[j].name) == k->len && !memcmp(keys[j].name, k->str, k->len)) {
			*idx = j;
			return 0;
		}
	}
	rc = scn_diag_set(p->diag, k->loc, "unknown key %s in %s", q, where);
	for (j = 0; j < n_keys && j < SCN_MAX_KEYS; j++)
		names[j] = keys[j].name;
	if (strlen(k->str) == k->len)
		scn_diag_suggest(p->diag, k->str, names, j);
	return rc;
}

int scn_schema_walk(struct scn_parse *p, const struct scn_node *map, const struct scn_key *keys,
		    size_t n, const char *where, void *obj, const struct scn_node **seen,
		    struct scn_loc missing_at)
{
	const struct scn_node *found[SCN_MAX_KEYS] = { 0 };
	size_t i, k = 0;
	int rc = 0;

	if (n > SCN_MAX_KEYS)
		return scn_diag_set(p->diag, map->loc, "internal error: %s has too many keys", where);
	for (i = 0; rc == 0 && i < map->n_kids; i += 2) {
		const struct scn_node *key = map->kids[i];
		const struct scn_node *val = map->kids[i + 1];
		const struct scn_key *d;

		rc = scn_schema_key(p, map, i, keys, n, where, &k);
		if (rc)
			break;
		d = &keys[k];
		found[k] = key;
		if (d->given_at)
			*(int *)scn_schema_at(obj, d->given_at) = 1;
		if (d->loc_at)
			*(struct scn_loc *)scn_schema_at(obj, d->loc_at) = val->loc;
		if (d->key_loc_at)
			*(struct scn_loc *)scn_schema_at(obj, d->key_loc_at) = key->loc;
		rc = d->parse(p, d, where, key, val, obj);
	}
	if (seen)
		memcpy(seen, found, n * sizeof(*seen));
	for (k = 0; rc == 0 && k < n; k++)
		if ((keys[k].flags & SCN_KEY_REQUIRED) && !found[k])
			rc = scn_diag_set(p->diag, missing_at, "missing required key \"%s\" in %s",
					  keys[k].name, where);
	return rc;
}

/* ---- type parsers --------------------------------------------------------- */

static int scn_schema_str(struct scn_parse *p, const struct scn_node *n, const char *where,
			  const char *key, const char *expected, char **out)
{
	if (n->kind != SCN_NODE_SCALAR || scn_yaml_is_null(n))
		return scn_schema_type_error(p, n, where, key, expected);
	if (strlen(n->str) != n->len)
		return scn_diag_set(p->diag, n->loc, "%s: %s: text contains a NUL character",
				    where, key);
	free(*out);
	*out = strdup(n->str);
	return *out ? 0 : scn_schema_oom(p);
}

int scn_key_str(struct scn_parse *p, const struct scn_key *k, const char *where,
		const struct scn_node *key, const struct scn_node *val, void *obj)
{
	return scn_schema_str(p, val, where, k->name, k->what, scn_schema_at(obj, k->at));
}

int scn_key_ref(struct scn_parse *p, const struct scn_key *k, const char *where,
		const struct scn_node *key, const struct scn_node *val, void *obj)
{
	struct scn_ref *ref = scn_schema_at(obj, k->at);

	ref->loc = val->loc;
	return scn_schema_str(p, val, where, k->name, k->what, &ref->name);
}

/* An element name that is not a mapping key: scenario and check names. */
int scn_key_label(struct scn_parse *p, const struct scn_key *k, const char *where,
		  const struct scn_node *key, const struct scn_node *val, void *obj)
{
	char q[256];
	size_t j;
	int rc;

	rc = scn_schema_str(p, val, where, k->name, "a name", scn_schema_at(obj, k->at));
	if (rc)
		return rc;
	for (j = 0; j < val->len; j++) {
		char c = val->str[j];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			break;
	}
	if (val->len == 0 || val->len > k->max || j < val->len) {
		scn_diag_quote(val->str, val->len, q, sizeof(q));
		return scn_diag_set(p->diag, val->loc, "%s: %s: invalid name %s: use 1..%" PRIu32
				    " characters a-z, 0-9 or '-'", where, k->name, q, k->max);
	}
	return 0;
}

/* An unsigned decimal integer in MIN..MAX; ZERO_OK also admits 0 ("default"). */
static int scn_schema_u32(struct scn_parse *p, const struct scn_key *k, const char *where,
			  const struct scn_node *n, uint32_t *out)
{
	int zero_ok = !!(k->flags & SCN_KEY_ZERO_OK);
	const char *unit = k->what ? k->what : "";
	uint64_t v = 0;
	size_t i;
	int neg;

	if (!scn_yaml_is_int(n))
		return scn_schema_type_error(p, n, where, k->name, "an integer");
	neg = n->str[0] == '-';
	for (i = neg ? 1 : 0; i < n->len && v <= UINT32_MAX; i++)
		v = v * 10 + (uint64_t)(n->str[i] - '0');
	if (neg || v > k->max || (v < k->min && !(zero_ok && v == 0))) {
		char q[256];

		scn_diag_quote(n->str, n->len, q, sizeof(q));
		return scn_diag_set(p->diag, n->loc, "%s: %s: %.*s is out of range (%" PRIu32
				    "..%" PRIu32 "%s%s%s)", where, k->name, (int)(strlen(q) - 2),
				    q + 1, k->min, k->max, unit[0] ? " " : "", unit,
				    zero_ok ? ", or 0 for the default" : "");
	}
	*out = (uint32_t)v;
	return 0;
}

int scn_key_u32(struct scn_parse *p, const struct scn_key *k, const char *where,
		const struct scn_node *key, const struct scn_node *val, void *obj)
{
	return scn_schema_u32(p, k, where, val, scn_schema_at(obj, k->at));
}

int scn_key_u16(struct scn_parse *p, const struct scn_key *k, const char *where,
		const struct scn_node *key, const struct scn_node *val, void *obj)
{
	uint32_t v = 0;
	int rc = scn_schema_u32(p, k, where, val, &v);

	*(uint16_t *)scn_schema_at(obj, k->at) = (uint16_t)v;
	return rc;
}

/* A size in bytes: a decimal integer, or one with a K, M or G suffix
 * (KiB, MiB, GiB), in MIN..MAX bytes. Messages show limits the same way. */
static void scn_schema_fmt_size(uint32_t v, char *out, size_t len)
{
	static const char sfx[] = "GMK";
	int i;

	for (i = 0; i < 3 && v; i++) {
		uint32_t unit = 1u << (10 * (3 - i));

		if (v % unit == 0) {
			snprintf(out, len, "%" PRIu32 "%c", v / unit, sfx[i]);
			return;
		}
	}
	snprintf(out, len, "%" PRIu32, v);
}

int scn_key_size(struct scn_parse *p, const struct scn_key *k, const char *where,
		 const struct scn_node *key, const struct scn_node *val, void *obj)
{
	char q[256], lo[16], hi[16];
	uint64_t v = 0, mult = 1;
	size_t i, digits;

	(void)key;
	if (val->kind != SCN_NODE_SCALAR || scn_yaml_is_null(val))
		return scn_schema_type_error(p, val, where, k->name, "a size (bytes, or a number with K, M or G)");
	for (digits = 0; digits < val->len && val->str[digits] >= '0' && val->str[digits] <= '9'; digits++)
		;
	if (digits + 1 == val->len) {
		char c = val->str[digits];

		mult = c == 'K' ? 1ull << 10 : c == 'M' ? 1ull << 20 : c == 'G' ? 1ull << 30 : 0;
	} else if (digits != val->len) {
		mult = 0;
	}
	if (digits == 0 || mult == 0)
		return scn_schema_type_error(p, val, where, k->name, "a size (bytes, or a number with K, M or G)");
	for (i = 0; i < digits && v <= UINT32_MAX; i++)   /* saturates: out of range */
		v = v * 10 + (uint64_t)(val->str[i] - '0');
	v = v > UINT32_MAX / mult ? (uint64_t)UINT32_MAX + 1 : v * mult;
	if (v < k->min || v > k->max) {
		scn_diag_quote(val->str, val->len, q, sizeof(q));
		scn_schema_fmt_size(k->min, lo, sizeof(lo));
		scn_schema_fmt_size(k->max, hi, sizeof(hi));
		return scn_diag_set(p->diag, val->loc, "%s: %s: %.*s is out of range (%s..%s bytes)",
				    where, k->name, (int)(strlen(q) - 2), q + 1, lo, hi);
	}
	*(uint32_t *)scn_schema_at(obj, k->at) = (uint32_t)v;
	return 0;
}

static int scn_schema_enum(struct scn_parse *p, const struct scn_node *n, const char *where,
			   const char *key, const struct scn_names *t, unsigned int *out)
{
	char q[256];
	char choices[128];
	size_t i;
	int rc;

	if (n->kind != SCN_NODE_SCALAR || scn_yaml_is_null(n))
		return scn_schema_type_error(p, n, where, key, t->what);
	for (i = 0; i < t->n; i++) {
		if (!strcmp(n->str, t->names[i]) && strlen(n->str) == n->len) {
			*out = (unsigned int)i;
			return 0;
		}
	}
	scn_names_list(t, choices, sizeof(choices));
	scn_diag_quote(n->str, n->len, q, sizeof(q));
	rc = scn_diag_set(p->diag, n->loc, "%s: %s: unknown %s %s (expected %s)", where, key,
			  t->what, q, choices);
	if (strlen(n->str) == n->len)
		scn_diag_suggest(p->diag, n->str, t->names, t->n);
	return rc;
}

int scn_key_enum(struct scn_parse *p, const struct scn_key *k, const char *where,
		 const struct scn_node *key, const struct scn_node *val, void *obj)
{
	return scn_schema_enum(p, val, where, k->name, k->names, scn_schema_at(obj, k->at));
}

int scn_key_bool(struct scn_parse *p, const struct scn_key *k, const char *where,
		 const struct scn_node *key, const struct scn_node *val, void *obj)
{
	unsigned int v = 0;
	int rc = scn_schema_enum(p, val, where, k->name, &scn_names_bool, &v);

	*(int *)scn_schema_at(obj, k->at) = (int)v;
	return rc;
}

/* A sequence of names (nics, depends_on); null reads as empty. */
int scn_key_refs(struct scn_parse *p, const struct scn_key *k, const char *where,
		 const struct scn_node *key, const struct scn_node *val, void *obj)
{
	struct scn_ref **out = scn_schema_at(obj, k->at);
	size_t *n_out = scn_schema_at(obj, k->count_at);
	char item[64];
	size_t i;
	int rc;

	if (scn_yaml_is_null(val))
		return 0;
	if (val->kind != SCN_NODE_SEQ)
		return scn_schema_type_error(p, val, where, k->name, "a sequence");
	if (val->n_kids > k->max)
		return scn_diag_set(p->diag, val->kids[k->max]->loc, "%s: %s: more than %" PRIu32
				    " entries", where, k->name, k->max);
	if (val->n_kids == 0)
		return 0;
	*out = calloc(val->n_kids, sizeof(**out));
	if (!*out)
		return scn_schema_oom(p);
	for (i = 0; i < val->n_kids; i++) {
		snprintf(item, sizeof(item), "%s entry %zu", k->name, i + 1);
		rc = scn_schema_str(p, val->kids[i], where, item, k->what, &(*out)[i].name);
		if (rc)
			return rc;
		(*out)[i].loc = val->kids[i]->loc;
		(*n_out)++;
	}
	return 0;
}

int scn_key_later(struct scn_parse *p, const struct scn_key *k, const char *where,
		  const struct scn_node *key, const struct scn_node *val, void *obj)
{
	return 0;
}

/* ---- names ---------------------------------------------------------------- */

const struct scn_role_schema *scn_schema_role(unsigned int id)
{
	return id < scn_n_role_schemas ? scn_role_schemas[id] : NULL;
}

const struct scn_check_schema *scn_schema_check(unsigned int id)
{
	return id < scn_n_check_schemas ? scn_check_schemas[id] : NULL;
}

int scn_schema_service_ref(const char *name)
{
	size_t i;

	for (i = 0; name && i < scn_n_service_schemas; i++)
		if (scn_service_schemas[i]->ref_name && !strcmp(name, scn_service_schemas[i]->ref_name))
			return 1;
	return 0;
}

int scn_schema_reserved(const char *name)
{
	return !strcmp(name, SCN_HOST) || scn_schema_service_ref(name);
}

/* `"host" and "X"` and `the host and the Y`: the reserved names and what
 * they stand for, for the message that refuses them. */
static void scn_schema_reserved_text(char *names, size_t n_len, char *whats, size_t w_len)
{
	const char *n[8] = { SCN_HOST }, *w[8] = { "the host" };
	size_t count = 1, i, ln, lw;

	for (i = 0; i < scn_n_service_schemas && count < 8; i++) {
		if (!scn_service_schemas[i]->ref_name)
			continue;
		n[count] = scn_service_schemas[i]->ref_name;
		w[count++] = scn_service_schemas[i]->ref_what;
	}
	names[0] = whats[0] = '\0';
	for (i = 0; i < count; i++) {
		const char *sep = i + 2 < count ? ", " : i + 2 == count ? " and " : "";

		ln = strlen(names);
		lw = strlen(whats);
		snprintf(names + ln, n_len - ln, "\"%s\"%s", n[i], sep);
		snprintf(whats + lw, w_len - lw, "%s%s", w[i], sep);
	}
}

int scn_schema_name_key(struct scn_parse *p, const struct scn_node *map, size_t i,
			const char *what, size_t max, char **out)
{
	const struct scn_node *k = map->kids[i];
	const struct scn_node *first;
	char q[256];
	size_t j;
	int ok;
	int rc;

	rc = scn_schema_key_node(p, k, what);
	if (rc)
		return rc;
	scn_diag_quote(k->str, k->len, q, sizeof(q));
	ok = k->len >= 1 && k->len <= max && k->str[0] >= 'a' && k->str[0] <= 'z';
	for (j = 0; ok && j < k->len; j++) {
		char c = k->str[j];

		ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
	}
	if (!ok)
		return scn_diag_set(p->diag, k->loc, "invalid %s name %s: use 1..%zu characters "
				    "a-z, 0-9 or '-', starting with a letter", what, q, max);
	/* "host" and the services' names stand for those in checks: a vm or
	 * network so named would be ambiguous. */
	if (scn_schema_reserved(k->str)) {
		char names[128], whats[160];

		scn_schema_reserved_text(names, sizeof(names), whats, sizeof(whats));
		return scn_diag_set(p->diag, k->loc, "%s name %s is reserved (%s name %s in "
				    "checks)", what, q, names, whats);
	}
	first = scn_schema_earlier(map, i);
	if (first)
		return scn_diag_set(p->diag, k->loc, "duplicate %s %s (first defined at %" PRIu32
				    ":%" PRIu32 ")", what, q, first->loc.line, first->loc.col);
	*out = strdup(k->str);
	return *out ? 0 : scn_schema_oom(p);
}
