test_policy_DEPS := harness/plan/plan.c harness/scenario/scenario_parse.c harness/scenario/scenario_validate.c
