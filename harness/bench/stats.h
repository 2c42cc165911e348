/* SPDX-License-Identifier: MIT */
/* stats.h: summary statistics for raw benchmark samples.
 *
 * Medians with distribution-free 95% confidence intervals (order statistics,
 * normal approximation to the binomial: ranks n/2 -/+ 0.98*sqrt(n), rounded
 * outwards), mean, sample standard deviation and coefficient of variation.
 * Boot times are skewed (a slow tail), so the median is the headline number.
 */
#ifndef UVMLAB_STATS_H
#define UVMLAB_STATS_H

#include <stddef.h>

struct stats_summary {
	size_t n;
	double min, max;
	double mean;
	double stddev;     /* sample (n-1) standard deviation; 0 when n < 2 */
	double cv;         /* stddev / mean; 0 when mean is 0 */
	double median;
	double ci_lo, ci_hi; /* 95% CI of the median; min..max when n < 6 */
	double p10, p90;   /* linear interpolation between order statistics */
};

/* Summarize X[0..N). Negative values count as "not reached" and are skipped.
 * 0, -EINVAL when no sample is left, -ENOMEM. */
int stats_summarize(const double *x, size_t n, struct stats_summary *out);

/* Quantile Q (0..1) of SORTED[0..N) by linear interpolation (N >= 1). */
double stats_quantile_sorted(const double *sorted, size_t n, double q);

#endif
