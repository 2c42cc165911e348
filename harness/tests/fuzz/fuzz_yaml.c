/* SPDX-License-Identifier: MIT */
/* fuzz_yaml.c: scn_yaml_load() on arbitrary bytes must never crash or leak.
 *
 * Beyond the sanitizers: a tree that loads honours the limits and positions
 * the schema walker relies on, and an error always comes with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/yaml.h"

static size_t fuzz_yaml_walk(const struct scn_node *n, uint32_t depth)
{
	size_t count = 1;
	size_t i;

	/* DEPTH counts this node: collections nest at most SCN_MAX_DEPTH deep,
	 * so a scalar may sit one level below the deepest one. */
	if (n->loc.line == 0 || n->loc.col == 0 || depth > SCN_MAX_DEPTH + 1 ||
	    (n->kind != SCN_NODE_SCALAR && depth > SCN_MAX_DEPTH))
		abort();
	if (n->kind == SCN_NODE_SCALAR) {
		if (!n->str || n->str[n->len] != '\0' || n->n_kids)
			abort();
		return 1;
	}
	if (n->kind == SCN_NODE_MAP && n->n_kids % 2)
		abort();
	for (i = 0; i < n->n_kids; i++)
		count += fuzz_yaml_walk(n->kids[i], depth + 1);
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scn_node *root = (struct scn_node *)1;
	struct scn_diag diag;
	int rc;

	memset(&diag, 0, sizeof(diag));
	rc = scn_yaml_load((const char *)data, size, &diag, &root);
	if (rc == 0) {
		if (!root || fuzz_yaml_walk(root, 1) > SCN_MAX_NODES)
			abort();
	} else if (root || diag.msg[0] == '\0') {
		abort();
	}
	scn_yaml_free(root);
	return 0;
}
