/* SPDX-License-Identifier: MIT */
/* diag.h: helpers for scenario diagnostics (quoting user text, did-you-mean).
 *
 * scn_diag_set() and scn_diag_format() are declared in scenario.h, since
 * every caller of scenario_load() renders diagnostics; these helpers serve
 * whoever writes diagnostics: the parser, scenario_validate.c and the schema
 * tables contributed by roles, check kinds and services.
 */
#ifndef UVMLAB_SCENARIO_DIAG_H
#define UVMLAB_SCENARIO_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "scenario/scenario.h"

/* Levenshtein distance between A and B, saturating at 255; strings longer
 * than 64 bytes count as "far" (255) since no hint would help there. */
uint32_t scn_diag_distance(const char *a, const char *b);

/* If WORD is within edit distance 2 of one of CANDS (and the edit is smaller
 * than WORD itself), set DIAG's hint to `did you mean "CAND"?`; the first of
 * equally close candidates wins. Call after scn_diag_set(), which clears the
 * hint. Returns -EINVAL for chaining. */
int scn_diag_suggest(struct scn_diag *diag, const char *word,
		     const char *const *cands, size_t n_cands);

/* Render user text S (LEN bytes, may hold any byte) as a double-quoted,
 * printable, length-capped string into OUT, so that diagnostics stay one line.
 * OUT_LEN below 8 yields an empty string. */
void scn_diag_quote(const char *s, size_t len, char *out, size_t out_len);

#endif
