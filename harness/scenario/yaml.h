/* SPDX-License-Identifier: MIT */
/* yaml.h: a small YAML node tree built from libyaml's event stream.
 *
 * The scenario parser walks this tree instead of libyaml's document loader:
 * the loader resolves aliases silently (losing the alias's position) and
 * offers no nesting limit. Here every node keeps its 1-based position,
 * aliases and tags are refused, nesting and node counts are bounded, and a
 * file must hold exactly one document. Functions are prefixed scn_yaml_ so
 * that they can never collide with libyaml's own yaml_ namespace.
 */
#ifndef UVMLAB_SCENARIO_YAML_H
#define UVMLAB_SCENARIO_YAML_H

#include <stddef.h>

#include "scenario/scenario.h"

#define SCN_MAX_DEPTH        32u      /* YAML collection nesting */
#define SCN_MAX_NODES        100000u  /* YAML nodes in the whole document */

enum scn_node_kind { SCN_NODE_SCALAR, SCN_NODE_MAP, SCN_NODE_SEQ };

/* One YAML node. A mapping keeps its pairs flat: key, value, key, value. */
struct scn_node {
	enum scn_node_kind kind;
	struct scn_loc loc;
	int plain;                  /* plain scalar: may read as null or integer */
	char *str;                  /* scalar bytes + NUL (may hold NULs itself) */
	size_t len;
	struct scn_node **kids;
	size_t n_kids;
	size_t cap_kids;
};

/* Build the node tree of BUF (LEN bytes, need not be NUL-terminated).
 * Returns 0 with *OUT the root (free with scn_yaml_free()). On a syntax
 * error, an alias, a tag, a second document, an empty stream or a limit hit
 * returns -EINVAL with DIAG's message and position set (DIAG->file is left
 * alone); out of memory returns -ENOMEM with DIAG saying so. *OUT is NULL on
 * every error. */
int scn_yaml_load(const char *buf, size_t len, struct scn_diag *diag, struct scn_node **out);

/* Free a tree built by scn_yaml_load(); NULL is fine. */
void scn_yaml_free(struct scn_node *n);

/* A plain scalar that YAML reads as null: empty, ~, null, Null or NULL. */
int scn_yaml_is_null(const struct scn_node *n);

/* A plain scalar of decimal digits with an optional leading '-'. */
int scn_yaml_is_int(const struct scn_node *n);

/* Two scalars with the same bytes. */
int scn_yaml_same(const struct scn_node *a, const struct scn_node *b);

/* Describe what N is for a diagnostic: "a mapping", "a sequence", "null",
 * `an integer "5"` or `a string "lan"`, into OUT (LEN bytes). */
void scn_yaml_found(const struct scn_node *n, char *out, size_t len);

#endif
