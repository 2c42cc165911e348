# SPDX-License-Identifier: MIT
# checks_reach.mk: the checks_reach test #includes checks_reach.c and fakes the live lab.
test_checks_reach_DEPS := harness/checks/reach_judge.c harness/base/util.c harness/plan/plan.c \
                          harness/scenario/scenario_parse.c harness/scenario/scenario_validate.c \
                          harness/roles/roles.c harness/roles/app.c harness/roles/router.c harness/roles/tor_gateway.c harness/tests/unit/lab_stubs.c
