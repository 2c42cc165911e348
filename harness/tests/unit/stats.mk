test_stats_DEPS :=
