# SPDX-License-Identifier: MIT
# lab_role.mk: the lab_role test #includes lab_role.c and fakes the live lab it drives.
test_lab_role_DEPS := harness/base/util.c harness/plan/plan.c $(SCENARIO_SRCS)
