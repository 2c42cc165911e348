test_plan_DEPS := harness/scenario/scenario_parse.c harness/scenario/scenario_validate.c
