# SPDX-License-Identifier: MIT
# checks_reach.mk: the checks_reach test #includes checks_reach.c and fakes the live lab.
test_checks_reach_DEPS := harness/src/reach_judge.c harness/src/util.c harness/src/plan.c \
                          harness/src/scenario_parse.c harness/src/scenario_validate.c
