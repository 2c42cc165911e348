# SPDX-License-Identifier: MIT
# checks_reach.mk: the checks_reach test #includes checks_reach.c and fakes the live lab.
test_checks_reach_DEPS := harness/checks/reach_judge.c harness/base/util.c harness/plan/plan.c \
                          $(SCENARIO_SRCS) $(ROLE_SRCS) harness/tests/unit/lab_stubs.c
