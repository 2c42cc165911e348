# SPDX-License-Identifier: MIT
# plan.mk: the planner asks the roles (role.h); their live code links against weak lab stubs.
test_plan_DEPS := $(SCENARIO_SRCS) $(ROLE_SRCS) harness/base/util.c harness/tests/unit/lab_stubs.c
