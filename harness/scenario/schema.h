/* SPDX-License-Identifier: MIT */
/* schema.h: the scenario format as tables of keys, and the plug-in schema tables.
 *
 * Every mapping of a scenario file is described by an array of struct
 * scn_key: the key's name, a type parser, where the value goes in the object
 * being filled (SCN_AT(type, field)) and the limits and words its messages
 * use. scn_schema_walk() checks a mapping against such a table: unknown keys
 * (with a did-you-mean hint), keys given twice and missing required keys are
 * reported the same way everywhere. Keys needing more than a type get a
 * custom parser of the same shape.
 *
 * The parts of the format that belong to one role, one check kind or one
 * host service are not written in scenario/: roles/, checks/ and services/
 * contribute them as struct scn_role_schema, scn_check_schema and
 * scn_service_schema, each in an explicit array whose order is the id kept
 * in the model (scn_vm.role, scn_check.kind, bit N of scenario.services).
 * The parser and scenario_validate.c reach those arrays only through this header.
 */
#ifndef UVMLAB_SCENARIO_SCHEMA_H
#define UVMLAB_SCENARIO_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "scenario/diag.h"
#include "scenario/names.h"
#include "scenario/scenario.h"
#include "scenario/yaml.h"

/* The most keys one mapping may have, plug-in keys included. */
#define SCN_MAX_KEYS 48u

/* State of one parse, handed to every key parser. */
struct scn_parse {
	struct scn_diag *diag;      /* the first error goes here */
	struct scenario *scn;       /* the model being filled */
	/* The kind-selecting key met in the check being parsed (NULL: none yet). */
	const struct scn_node *kind_key;
};

struct scn_key;

/* Parse VAL, the value of key node KEY, into OBJ as K describes. WHERE names
 * the mapping for messages (`vm "a"`). Returns 0, or a negative errno with
 * P->diag set (-EINVAL for the user's mistakes, -ENOMEM). */
typedef int (*scn_key_fn)(struct scn_parse *p, const struct scn_key *k, const char *where,
			  const struct scn_node *key, const struct scn_node *val, void *obj);

/* An offset into the object a table fills; 0 means "none". */
#define SCN_AT(type, field) (offsetof(type, field) + 1)
#define SCN_AT_OBJ 1u           /* OBJ itself is the destination */

#define SCN_KEY_REQUIRED 0x1u   /* missing: "missing required key" */
#define SCN_KEY_ZERO_OK  0x2u   /* integers: 0 also accepted, meaning "default" */

struct scn_key {
	const char *name;
	scn_key_fn parse;
	size_t at;                  /* destination, SCN_AT(); its type is the parser's */
	size_t count_at;            /* lists: size_t count of entries, SCN_AT() */
	size_t given_at;            /* int set to 1 when the key is present */
	size_t loc_at;              /* struct scn_loc of the value */
	size_t key_loc_at;          /* struct scn_loc of the key */
	unsigned int flags;         /* SCN_KEY_* */
	uint32_t min, max;          /* integers: range; lists: entries; names: length */
	const char *what;           /* expected value ("a vm name"); integers: unit */
	const struct scn_names *names; /* enums */
	const void *data;           /* for custom parsers */
};

/* Type parsers for struct scn_key.parse. Destinations:
 * str: char * (what = expected text); label: char *, [a-z0-9-]{1,max};
 * ref: struct scn_ref (name and value position); refs: struct scn_ref *
 * with count_at, at most max entries, null = none; u32: uint32_t in
 * min..max (what = unit, may be ""); u16: uint16_t in min..max; enum:
 * unsigned int (or an enum) from names; bool: int 0/1. */
int scn_key_str(struct scn_parse *p, const struct scn_key *k, const char *where,
		const struct scn_node *key, const struct scn_node *val, void *obj);
int scn_key_label(struct scn_parse *p, const struct scn_key *k, const char *where,
		  const struct scn_node *key, const struct scn_node *val, void *obj);
int scn_key_ref(struct scn_parse *p, const struct scn_key *k, const char *where,
		const struct scn_node *key, const struct scn_node *val, void *obj);
int scn_key_refs(struct scn_parse *p, const struct scn_key *k, const char *where,
		 const struct scn_node *key, const struct scn_node *val, void *obj);
int scn_key_u32(struct scn_parse *p, const struct scn_key *k, const char *where,
		const struct scn_node *key, const struct scn_node *val, void *obj);
int scn_key_u16(struct scn_parse *p, const struct scn_key *k, const char *where,
		const struct scn_node *key, const struct scn_node *val, void *obj);
int scn_key_enum(struct scn_parse *p, const struct scn_key *k, const char *where,
		 const struct scn_node *key, const struct scn_node *val, void *obj);
int scn_key_bool(struct scn_parse *p, const struct scn_key *k, const char *where,
		 const struct scn_node *key, const struct scn_node *val, void *obj);
/* size: uint32_t bytes from "65536", "64K", "8M" or "1G" (binary units), in
 * min..max bytes. */
int scn_key_size(struct scn_parse *p, const struct scn_key *k, const char *where,
		 const struct scn_node *key, const struct scn_node *val, void *obj);
/* Accepts the key and parses nothing: the caller reads the value from SEEN. */
int scn_key_later(struct scn_parse *p, const struct scn_key *k, const char *where,
		  const struct scn_node *key, const struct scn_node *val, void *obj);

/* Check mapping MAP against KEYS (N entries, at most SCN_MAX_KEYS) and parse
 * each value into OBJ. SEEN, when not NULL, has N entries and receives the
 * key node of every key present (NULL for the others). After the last key,
 * a missing SCN_KEY_REQUIRED key is reported at MISSING_AT. MAP must be a
 * mapping (see scn_schema_map()). The first error stops the walk. */
int scn_schema_walk(struct scn_parse *p, const struct scn_node *map, const struct scn_key *keys,
		    size_t n, const char *where, void *obj, const struct scn_node **seen,
		    struct scn_loc missing_at);

/* Is N (the value of KEY in OUTER) a mapping? Returns 1 for a mapping, 0 for
 * null when NULL_OK (an empty mapping), else -EINVAL with "OUTER: KEY:
 * expected a mapping, found ..." (KEY may be NULL: "OUTER: expected ..."). */
int scn_schema_map(struct scn_parse *p, const struct scn_node *n, const char *outer,
		   const char *key, int null_ok);

/* "WHERE: KEY: expected EXPECTED, found ..." at N (KEY NULL: no KEY part). */
int scn_schema_type_error(struct scn_parse *p, const struct scn_node *n, const char *where,
			  const char *key, const char *expected);

/* Set P's diagnostic to "out of memory" and return -ENOMEM. */
int scn_schema_oom(struct scn_parse *p);

/* An element name keying MAP's pair I (a vm or network): WHAT for messages,
 * [a-z][a-z0-9-]{0,MAX-1}, not reserved (scn_schema_reserved()), unique in
 * MAP. Returns 0 with *OUT malloc'd, or a negative errno. */
int scn_schema_name_key(struct scn_parse *p, const struct scn_node *map, size_t i,
			const char *what, size_t max, char **out);

/* ---- plug-in schema tables --------------------------------------------- */

/* A VM role: the value of a vm's role: key. */
struct scn_role_schema {
	const char *name;               /* the value of role: */
	/* Extra keys of a vm mapping this role gives meaning to. They are
	 * accepted on any vm (the role may be written after them); validate_vm
	 * refuses them on the wrong role. OBJ is the struct scn_vm. */
	const struct scn_key *vm_keys;
	size_t n_vm_keys;
	/* Called for every vm, whatever its role, before references are
	 * resolved; and for every vm after its nics and dependencies are
	 * known good. Either may be NULL. 0 or -EINVAL with DIAG set. */
	int (*validate_vm_early)(const struct scenario *scn, const struct scn_vm *vm,
				 struct scn_diag *diag);
	int (*validate_vm)(const struct scenario *scn, const struct scn_vm *vm,
			   const char *where, struct scn_diag *diag);
};

/* A check kind: the key that selects it in a check, and that key's mapping. */
struct scn_check_schema {
	const char *key;                /* the key that selects the kind */
	const struct scn_key *keys;     /* keys of its mapping; OBJ is the scn_check */
	size_t n_keys;
	int null_ok;                    /* `KEY:` with no value is an empty mapping */
	int no_expect;                  /* expect: is refused; the verdict is "allowed" */
	int name_from_only;             /* default name KEY-FROM, else KEY-FROM-TO */
	int own_while_stopped;          /* validate judges while_stopped itself */
	/* Defaults before the keys are parsed; may be NULL. */
	void (*init)(struct scn_check *chk);
	/* Rules across keys once they are parsed: KEY is the selecting key
	 * node, SEEN the key nodes found (scn_schema_walk()). May be NULL. */
	int (*finish)(struct scn_parse *p, struct scn_check *chk, const char *where,
		      const struct scn_node *key, const struct scn_node *const *seen);
	/* Semantic checks over the whole scenario; WHERE is "check #N". */
	int (*validate)(const struct scenario *scn, const struct scn_check *chk,
			const char *where, struct scn_diag *diag);
};

/* A host service a scenario asks for with fixtures: [NAME]. */
struct scn_service_schema {
	const char *name;               /* the fixtures entry */
	/* A boolean network key (NULL: none) that attaches the service to that
	 * network: sets bit ID of scn_network.services. */
	const char *net_key;
	/* A name it provides as a check or policy target (NULL: none), and what
	 * that name stands for in messages ("the ..."). Reserved as vm and
	 * network name. */
	const char *ref_name;
	const char *ref_what;
	/* Another service it cannot run without (its id + 1; 0: none), and why. */
	unsigned int needs;
	const char *needs_why;
	/* Called in this order for every service, asked for or not: networks
	 * first, then every `needs` rule, then validate. May be NULL. */
	int (*validate_networks)(const struct scenario *scn, struct scn_diag *diag);
	int (*validate)(const struct scenario *scn, struct scn_diag *diag);
};

/* The tables the program is built with, defined by roles/role_schemas.c,
 * checks/check_schemas.c and services/service_schemas.c (a test may link
 * its own). Index = id. */
extern const struct scn_role_schema *const scn_role_schemas[];
extern const size_t scn_n_role_schemas;
extern const struct scn_check_schema *const scn_check_schemas[];
extern const size_t scn_n_check_schemas;
extern const struct scn_service_schema *const scn_service_schemas[];
extern const size_t scn_n_service_schemas;

/* The schema of role / check kind ID, or NULL when out of range. */
const struct scn_role_schema *scn_schema_role(unsigned int id);
const struct scn_check_schema *scn_schema_check(unsigned int id);

/* Is NAME "host" or a service's ref_name? */
int scn_schema_reserved(const char *name);

/* Is NAME a service's ref_name (a non-vm policy or check target)? */
int scn_schema_service_ref(const char *name);

/* Report REF (written at WHERE: KEY:) as an unknown vm (NETWORKS 0) or
 * network, with a did-you-mean over the names that exist. Returns -EINVAL. */
int scenario_validate_unknown(const struct scenario *scn, struct scn_diag *diag,
			      const struct scn_ref *ref, const char *where, const char *key,
			      int networks);

#endif
