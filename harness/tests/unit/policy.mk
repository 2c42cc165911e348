test_policy_DEPS := harness/plan/plan.c $(SCENARIO_SRCS)
