/* SPDX-License-Identifier: MIT */
/* scenario_internal.h: what the files of the scenario subsystem share.
 *
 * Not for callers outside the scenario subsystem: they include scenario.h.
 */
#ifndef UVMLAB_SCENARIO_INTERNAL_H
#define UVMLAB_SCENARIO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "scenario/scenario.h"
#include "scenario/schema.h"

/* Limits. They keep every loop over names quadratic-but-tiny and bound the
 * memory a hostile file can make us allocate. */
#define SCN_MAX_FILE_BYTES   (1024u * 1024u)
#define SCN_MAX_DESCRIPTION  4096u

/* The lab range (RFC 2544 benchmarking): 198.18.0.0/15. */
#define SCN_LAB_NET          0xc6120000u
#define SCN_LAB_PREFIX       15u
#define SCN_MIN_PREFIX       16u
#define SCN_MAX_PREFIX       30u

/* The parse of one scenario: the shared state plus the role names the
 * role: key accepts, gathered from the role schemas. */
struct scenario_parse_ctx {
	struct scn_parse p;
	const char *role_names[SCN_MAX_KEYS];
	struct scn_names roles;
	const char *service_names[SCN_MAX_KEYS];
	struct scn_names services;
};

#define SCN_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static inline struct scenario_parse_ctx *scenario_parse_ctx_of(struct scn_parse *p)
{
	return (struct scenario_parse_ctx *)((char *)p - offsetof(struct scenario_parse_ctx, p));
}

/* The key parsers of the top-level networks:, vms: and checks: sections
 * (struct scn_key.parse), in scenario_elements.c. */
int scenario_elements_networks(struct scn_parse *p, const struct scn_key *k, const char *where,
			       const struct scn_node *key, const struct scn_node *n, void *obj);
int scenario_elements_vms(struct scn_parse *p, const struct scn_key *k, const char *where,
			  const struct scn_node *key, const struct scn_node *n, void *obj);
int scenario_elements_checks(struct scn_parse *p, const struct scn_key *k, const char *where,
			     const struct scn_node *key, const struct scn_node *n, void *obj);

/* Semantic checks on a fully typed scenario: cross references, duplicate
 * NICs and dependencies, subnet ranges and overlaps, check targets.
 * Returns 0 or -EINVAL with DIAG filled (first error only). */
int scenario_validate(const struct scenario *scn, struct scn_diag *diag);

#endif
