test_plan_DEPS := harness/src/scenario_parse.c harness/src/scenario_validate.c
