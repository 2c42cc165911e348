# SPDX-License-Identifier: MIT
# lab_role.mk: the lab_role test #includes lab_role.c and fakes the live lab it drives.
test_lab_role_DEPS := harness/src/util.c harness/src/plan.c harness/src/scenario_parse.c \
                      harness/src/scenario_validate.c
