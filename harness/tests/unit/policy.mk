test_policy_DEPS := harness/src/plan.c harness/src/scenario_parse.c harness/src/scenario_validate.c
