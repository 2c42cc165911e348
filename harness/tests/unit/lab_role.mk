# SPDX-License-Identifier: MIT
# lab_role.mk: the lab_role test #includes the router and tor gateway roles and fakes the live lab they drive.
test_lab_role_DEPS := harness/base/util.c harness/plan/plan.c $(SCENARIO_SRCS) \
                      harness/roles/roles.c harness/roles/app.c \
                      harness/tests/unit/lab_stubs.c
