# SPDX-License-Identifier: MIT
# policy.mk: the flow judge asks the roles who forwards; their live code links against weak lab stubs.
test_policy_DEPS := harness/plan/plan.c harness/scenario/scenario_parse.c harness/scenario/scenario_validate.c \
                    harness/roles/roles.c harness/roles/app.c harness/roles/router.c harness/roles/tor_gateway.c \
                    harness/base/util.c harness/tests/unit/lab_stubs.c
