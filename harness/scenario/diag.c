/* SPDX-License-Identifier: MIT */
/* diag.c: scenario diagnostics: one message with a position, quoting, did-you-mean. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scenario/diag.h"

int scn_diag_set(struct scn_diag *diag, struct scn_loc loc, const char *fmt, ...)
{
	va_list ap;

	if (!diag)
		return -EINVAL;
	diag->loc = loc;
	diag->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(diag->msg, sizeof(diag->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void scn_diag_format(const struct scn_diag *diag, char *buf, size_t len)
{
	const char *hl, *hr;

	if (!buf || len == 0)
		return;
	if (!diag) {
		buf[0] = '\0';
		return;
	}
	/* Precisions guard against a caller-built diag that is not terminated. */
	hl = diag->hint[0] ? " (hint: " : "";
	hr = diag->hint[0] ? ")" : "";
	if (diag->loc.line)
		snprintf(buf, len, "%.511s:%" PRIu32 ":%" PRIu32 ": %.511s%s%.255s%s",
			 diag->file, diag->loc.line, diag->loc.col, diag->msg,
			 hl, diag->hint, hr);
	else
		snprintf(buf, len, "%.511s: %.511s%s%.255s%s", diag->file, diag->msg,
			 hl, diag->hint, hr);
}

void scn_diag_quote(const char *s, size_t len, char *out, size_t out_len)
{
	/* Long enough to recognise the text, short enough to keep one line. */
	const size_t max_shown = 48;
	size_t o = 0;
	size_t i;

	if (!out || out_len < 8) {
		if (out && out_len)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (i = 0; i < len && i < max_shown; i++) {
		uint8_t c = (uint8_t)s[i];
		char tmp[5];
		size_t n;

		if (c == '"' || c == '\\')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			n = (size_t)snprintf(tmp, sizeof(tmp), "%c", c);
		else
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		if (o + n + 5 > out_len)    /* room for `..."` and NUL */
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

uint32_t scn_diag_distance(const char *a, const char *b)
{
	uint32_t row[65];
	size_t la = strlen(a), lb = strlen(b);
	size_t i, j;

	if (la > 64 || lb > 64)
		return 255;
	for (j = 0; j <= lb; j++)
		row[j] = (uint32_t)j;
	for (i = 1; i <= la; i++) {
		uint32_t diag = row[0];    /* row[i-1][j-1] */

		row[0] = (uint32_t)i;
		for (j = 1; j <= lb; j++) {
			uint32_t up = row[j];
			uint32_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb] > 255 ? 255 : row[lb];
}

int scn_diag_suggest(struct scn_diag *diag, const char *word,
			   const char *const *cands, size_t n_cands)
{
	const char *best = NULL;
	uint32_t best_d = 3;
	size_t i;

	for (i = 0; i < n_cands; i++) {
		uint32_t d = scn_diag_distance(word, cands[i]);

		/* d < strlen(word): "x" is one edit from every one-letter name,
		 * which is no evidence of a typo. */
		if (d < best_d && d < strlen(word)) {
			best = cands[i];
			best_d = d;
		}
	}
	if (best && diag)
		snprintf(diag->hint, sizeof(diag->hint), "did you mean \"%s\"?", best);
	return -EINVAL;
}
