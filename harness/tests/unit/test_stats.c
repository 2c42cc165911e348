/* SPDX-License-Identifier: MIT */
/* test_stats.c: summary statistics against values computed by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/stats.c"

static void test_small_known_values(void **state)
{
	/* 2 4 4 4 5 5 7 9: mean 5, sample variance 32/7, median 4.5 */
	const double x[] = { 9, 4, 2, 5, 4, 7, 4, 5 };
	struct stats_summary s;

	(void)state;
	assert_int_equal(stats_summarize(x, 8, &s), 0);
	assert_int_equal(s.n, 8);
	assert_float_equal(s.mean, 5.0, 1e-12);
	assert_float_equal(s.median, 4.5, 1e-12);
	assert_float_equal(s.stddev, sqrt(32.0 / 7.0), 1e-12);
	assert_float_equal(s.cv, sqrt(32.0 / 7.0) / 5.0, 1e-12);
	assert_float_equal(s.min, 2, 0);
	assert_float_equal(s.max, 9, 0);
	/* p10: pos 0.7 between 2 and 4 -> 3.4; p90: pos 6.3 between 7 and 9 -> 7.6 */
	assert_float_equal(s.p10, 3.4, 1e-12);
	assert_float_equal(s.p90, 7.6, 1e-12);
	/* n=8: ranks floor(4 - 2.77)=1 and ceil(5 + 2.77)=8 */
	assert_float_equal(s.ci_lo, 2, 0);
	assert_float_equal(s.ci_hi, 9, 0);
}

static void test_ci_ranks_n20(void **state)
{
	double x[20];
	struct stats_summary s;
	int i;

	(void)state;
	for (i = 0; i < 20; i++)
		x[i] = (double)(20 - i) * 10; /* 10..200, reversed */
	assert_int_equal(stats_summarize(x, 20, &s), 0);
	assert_float_equal(s.median, 105, 1e-12);
	/* 0.98*sqrt(20)=4.383: ranks floor(10-4.383)=5 and ceil(11+4.383)=16 */
	assert_float_equal(s.ci_lo, 50, 0);
	assert_float_equal(s.ci_hi, 160, 0);
	assert_true(s.ci_lo <= s.median && s.median <= s.ci_hi);
}

static void test_unreached_samples_skipped(void **state)
{
	const double x[] = { -1, 3, -1, 1, 2 };
	const double none[] = { -1, -1 };
	struct stats_summary s;

	(void)state;
	assert_int_equal(stats_summarize(x, 5, &s), 0);
	assert_int_equal(s.n, 3);
	assert_float_equal(s.median, 2, 0);
	assert_float_equal(s.ci_lo, 1, 0); /* n<6: full range */
	assert_float_equal(s.ci_hi, 3, 0);
	assert_int_equal(stats_summarize(none, 2, &s), -EINVAL);
	assert_int_equal(stats_summarize(x, 0, &s), -EINVAL);
}

static void test_single_and_constant(void **state)
{
	const double one[] = { 7 };
	const double same[] = { 3, 3, 3, 3, 3, 3, 3 };
	struct stats_summary s;

	(void)state;
	assert_int_equal(stats_summarize(one, 1, &s), 0);
	assert_float_equal(s.stddev, 0, 0);
	assert_float_equal(s.median, 7, 0);
	assert_int_equal(stats_summarize(same, 7, &s), 0);
	assert_float_equal(s.cv, 0, 0);
	assert_float_equal(s.ci_lo, 3, 0);
	assert_float_equal(stats_quantile_sorted(same, 7, 0.25), 3, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_known_values),
		cmocka_unit_test(test_ci_ranks_n20),
		cmocka_unit_test(test_unreached_samples_skipped),
		cmocka_unit_test(test_single_and_constant),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
