# SPDX-License-Identifier: MIT
# policy.mk: the flow judge asks the roles who forwards; their live code links against weak lab stubs.
test_policy_DEPS := harness/plan/plan.c $(SCENARIO_SRCS) $(ROLE_SRCS) harness/base/util.c \
                    harness/tests/unit/lab_stubs.c
