test_plan_DEPS := $(SCENARIO_SRCS)
