# SPDX-License-Identifier: MIT
# plugins.mk: test_plugins brings its own role_table and check_table (no roles/roles.c, no
# checks/check_kinds.c) and runs a fake role through plan_build() and fake check kinds through
# checks_run(), and asks the flow judge about the fake role.
test_plugins_DEPS := harness/plan/plan.c $(SCENARIO_SRCS) \
                     harness/checks/checks.c harness/checks/policy.c \
                     harness/base/util.c
