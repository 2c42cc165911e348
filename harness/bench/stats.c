/* SPDX-License-Identifier: MIT */
/* stats.c: summary statistics for raw benchmark samples. */
#include "bench/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int stats_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double stats_quantile_sorted(const double *s, size_t n, double q)
{
	double pos, frac;
	size_t i;

	if (n == 1 || q <= 0)
		return s[0];
	if (q >= 1)
		return s[n - 1];
	pos = q * (double)(n - 1);
	i = (size_t)pos;
	frac = pos - (double)i;
	return i + 1 < n ? s[i] + frac * (s[i + 1] - s[i]) : s[i];
}

int stats_summarize(const double *x, size_t n, struct stats_summary *out)
{
	double *s, sum = 0, ss = 0, half, w;
	size_t i, m = 0;
	long lo, hi;

	memset(out, 0, sizeof(*out));
	s = malloc((n ? n : 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (x[i] >= 0)
			s[m++] = x[i];
	if (!m) {
		free(s);
		return -EINVAL;
	}
	qsort(s, m, sizeof(*s), stats_cmp);
	for (i = 0; i < m; i++)
		sum += s[i];
	out->n = m;
	out->min = s[0];
	out->max = s[m - 1];
	out->mean = sum / (double)m;
	for (i = 0; i < m; i++)
		ss += (s[i] - out->mean) * (s[i] - out->mean);
	out->stddev = m > 1 ? sqrt(ss / (double)(m - 1)) : 0;
	out->cv = out->mean != 0 ? out->stddev / out->mean : 0;
	out->median = stats_quantile_sorted(s, m, 0.5);
	out->p10 = stats_quantile_sorted(s, m, 0.1);
	out->p90 = stats_quantile_sorted(s, m, 0.9);
	if (m < 6) {
		/* too few samples for the approximation: say so with the full range */
		out->ci_lo = out->min;
		out->ci_hi = out->max;
	} else {
		half = (double)m / 2.0;
		w = 0.98 * sqrt((double)m);          /* 1.96 * sqrt(n) / 2 */
		lo = (long)floor(half - w);           /* 1-based rank, rounded outwards */
		hi = (long)ceil(half + 1 + w);
		if (lo < 1)
			lo = 1;
		if (hi > (long)m)
			hi = (long)m;
		out->ci_lo = s[lo - 1];
		out->ci_hi = s[hi - 1];
	}
	free(s);
	return 0;
}
