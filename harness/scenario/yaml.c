/* SPDX-License-Identifier: MIT */
/* yaml.c: libyaml events -> a node tree with positions, limits, no aliases or tags. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "scenario/diag.h"
#include "scenario/yaml.h"

struct scn_yaml_ctx {
	struct scn_diag *diag;
	const char *buf;
	size_t len;
	size_t n_nodes;
};

static int scn_yaml_oom(struct scn_yaml_ctx *ctx)
{
	scn_diag_set(ctx->diag, (struct scn_loc){ 0, 0 }, "out of memory");
	return -ENOMEM;
}

static struct scn_loc scn_yaml_mark(yaml_mark_t m)
{
	struct scn_loc loc = { .line = (uint32_t)m.line + 1, .col = (uint32_t)m.column + 1 };

	return loc;
}

/* libyaml reports reader errors (bad UTF-8, control characters) as a byte
 * offset only; count lines and characters the way its marks do. */
static struct scn_loc scn_yaml_offset_loc(const char *buf, size_t len, size_t off)
{
	struct scn_loc loc = { 1, 1 };
	size_t i;

	for (i = 0; i < off && i < len; i++) {
		uint8_t c = (uint8_t)buf[i];

		if (c == '\n' || (c == '\r' && !(i + 1 < len && buf[i + 1] == '\n'))) {
			loc.line++;
			loc.col = 1;
		} else if ((c & 0xc0) != 0x80 && c != '\r') {
			loc.col++;
		}
	}
	return loc;
}

void scn_yaml_free(struct scn_node *n)
{
	size_t i;

	/* Recursion is bounded by SCN_MAX_DEPTH, enforced while building. */
	if (!n)
		return;
	for (i = 0; i < n->n_kids; i++)
		scn_yaml_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

static int scn_yaml_error(struct scn_yaml_ctx *ctx, const yaml_parser_t *p)
{
	struct scn_loc loc;
	const char *problem = p->problem ? p->problem : "malformed input";

	if (p->error == YAML_MEMORY_ERROR)
		return scn_yaml_oom(ctx);
	if (p->error == YAML_READER_ERROR) {
		loc = scn_yaml_offset_loc(ctx->buf, ctx->len, p->problem_offset);
		if (p->problem_value >= 0)
			return scn_diag_set(ctx->diag, loc, "YAML syntax error: %s (0x%x)",
					    problem, (unsigned int)p->problem_value);
		return scn_diag_set(ctx->diag, loc, "YAML syntax error: %s", problem);
	}
	loc = scn_yaml_mark(p->problem_mark);
	/* The context is worth a mention only when it points somewhere else. */
	if (p->context && (p->context_mark.line != p->problem_mark.line ||
			   p->context_mark.column != p->problem_mark.column)) {
		struct scn_loc cloc = scn_yaml_mark(p->context_mark);

		return scn_diag_set(ctx->diag, loc, "YAML syntax error: %s (%s at %" PRIu32
				    ":%" PRIu32 ")", problem, p->context, cloc.line, cloc.col);
	}
	return scn_diag_set(ctx->diag, loc, "YAML syntax error: %s", problem);
}

/* Create a node and hang it under PARENT (or make it the root), so that
 * freeing the root always frees everything built so far. */
static int scn_yaml_node_add(struct scn_yaml_ctx *ctx, struct scn_node **root,
				   struct scn_node *parent, enum scn_node_kind kind,
				   struct scn_loc loc, struct scn_node **out)
{
	struct scn_node *n;

	if (++ctx->n_nodes > SCN_MAX_NODES)
		return scn_diag_set(ctx->diag, loc, "too many YAML nodes (max %u)",
				    SCN_MAX_NODES);
	n = calloc(1, sizeof(*n));
	if (!n)
		return scn_yaml_oom(ctx);
	n->kind = kind;
	n->loc = loc;
	if (!parent) {
		*root = n;
	} else {
		if (parent->n_kids == parent->cap_kids) {
			size_t cap = parent->cap_kids ? parent->cap_kids * 2 : 8;
			struct scn_node **k = realloc(parent->kids, cap * sizeof(*k));

			if (!k) {
				free(n);
				return scn_yaml_oom(ctx);
			}
			parent->kids = k;
			parent->cap_kids = cap;
		}
		parent->kids[parent->n_kids++] = n;
	}
	*out = n;
	return 0;
}

static int scn_yaml_no_tag(struct scn_yaml_ctx *ctx, const yaml_char_t *tag,
				 struct scn_loc loc)
{
	char q[256];

	if (!tag)
		return 0;
	scn_diag_quote((const char *)tag, strlen((const char *)tag), q, sizeof(q));
	return scn_diag_set(ctx->diag, loc, "YAML tags are not supported (found %s)", q);
}

/* Handle one content event: scalar, mapping start or sequence start. */
static int scn_yaml_event_node(struct scn_yaml_ctx *ctx, const yaml_event_t *ev,
				     struct scn_node **root, struct scn_node **stack,
				     size_t *depth)
{
	struct scn_loc loc = scn_yaml_mark(ev->start_mark);
	struct scn_node *parent = *depth ? stack[*depth - 1] : NULL;
	struct scn_node *n = NULL;
	int rc;

	if (ev->type == YAML_SCALAR_EVENT) {
		rc = scn_yaml_no_tag(ctx, ev->data.scalar.tag, loc);
		if (rc)
			return rc;
		rc = scn_yaml_node_add(ctx, root, parent, SCN_NODE_SCALAR, loc, &n);
		if (rc)
			return rc;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->len = ev->data.scalar.length;
		n->str = malloc(n->len + 1);
		if (!n->str)
			return scn_yaml_oom(ctx);
		memcpy(n->str, ev->data.scalar.value, n->len);
		n->str[n->len] = '\0';
		return 0;
	}

	rc = scn_yaml_no_tag(ctx, ev->type == YAML_MAPPING_START_EVENT ?
				   ev->data.mapping_start.tag : ev->data.sequence_start.tag, loc);
	if (rc)
		return rc;
	if (*depth == SCN_MAX_DEPTH)
		return scn_diag_set(ctx->diag, loc, "YAML nested more than %u levels deep",
				    SCN_MAX_DEPTH);
	rc = scn_yaml_node_add(ctx, root, parent, ev->type == YAML_MAPPING_START_EVENT ?
				     SCN_NODE_MAP : SCN_NODE_SEQ, loc, &n);
	if (rc)
		return rc;
	stack[(*depth)++] = n;
	return 0;
}

static int scn_yaml_tree(struct scn_yaml_ctx *ctx, struct scn_node **out)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct scn_node *root = NULL;
	struct scn_node *stack[SCN_MAX_DEPTH];
	size_t depth = 0;
	uint32_t n_docs = 0;
	int done = 0;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return scn_yaml_oom(ctx);
	yaml_parser_set_input_string(&parser, (const unsigned char *)ctx->buf, ctx->len);
	while (!done && rc == 0) {
		char q[256];

		if (!yaml_parser_parse(&parser, &ev)) {
			rc = scn_yaml_error(ctx, &parser);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (n_docs++)
				rc = scn_diag_set(ctx->diag, scn_yaml_mark(ev.start_mark),
						  "a second YAML document; a scenario file holds exactly one");
			break;
		case YAML_ALIAS_EVENT:
			scn_diag_quote((const char *)ev.data.alias.anchor,
					     strlen((const char *)ev.data.alias.anchor), q, sizeof(q));
			rc = scn_diag_set(ctx->diag, scn_yaml_mark(ev.start_mark),
					  "YAML aliases are not supported (found alias %s); write the value out",
					  q);
			break;
		case YAML_SCALAR_EVENT:
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			rc = scn_yaml_event_node(ctx, &ev, &root, stack, &depth);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			if (depth)
				depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (rc == 0 && !root)
		rc = scn_diag_set(ctx->diag, (struct scn_loc){ 1, 1 },
				  "empty scenario file: no YAML document");
	if (rc) {
		scn_yaml_free(root);
		root = NULL;
	}
	*out = root;
	return rc;
}

int scn_yaml_is_null(const struct scn_node *n)
{
	return n->kind == SCN_NODE_SCALAR && n->plain &&
	       (n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
		!strcmp(n->str, "Null") || !strcmp(n->str, "NULL"));
}

int scn_yaml_is_int(const struct scn_node *n)
{
	size_t i = (n->len && n->str[0] == '-') ? 1 : 0;

	if (n->kind != SCN_NODE_SCALAR || !n->plain || i == n->len)
		return 0;
	for (; i < n->len; i++)
		if (n->str[i] < '0' || n->str[i] > '9')
			return 0;
	return 1;
}

/* "a string "lan"", "a sequence"...: what the user actually wrote. */
void scn_yaml_found(const struct scn_node *n, char *out, size_t len)
{
	char q[256];

	if (n->kind == SCN_NODE_MAP) {
		snprintf(out, len, "a mapping");
	} else if (n->kind == SCN_NODE_SEQ) {
		snprintf(out, len, "a sequence");
	} else if (scn_yaml_is_null(n)) {
		snprintf(out, len, "null");
	} else {
		scn_diag_quote(n->str, n->len, q, sizeof(q));
		snprintf(out, len, "%s %s", scn_yaml_is_int(n) ? "an integer" : "a string", q);
	}
}

int scn_yaml_same(const struct scn_node *a, const struct scn_node *b)
{
	return a->len == b->len && !memcmp(a->str, b->str, a->len);
}

int scn_yaml_load(const char *buf, size_t len, struct scn_diag *diag, struct scn_node **out)
{
	struct scn_yaml_ctx ctx = { .diag = diag, .buf = buf ? buf : "", .len = len };

	return scn_yaml_tree(&ctx, out);
}
