# SPDX-License-Identifier: MIT
# plan.mk: the planner asks the roles (role.h); their live code links against weak lab stubs.
test_plan_DEPS := harness/scenario/scenario_parse.c harness/scenario/scenario_validate.c \
                  harness/roles/roles.c harness/roles/app.c harness/roles/router.c harness/roles/tor_gateway.c \
                  harness/base/util.c harness/tests/unit/lab_stubs.c
