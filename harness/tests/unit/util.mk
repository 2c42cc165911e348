test_util_DEPS :=
