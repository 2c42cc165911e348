# SPDX-License-Identifier: MIT
# scenario.mk: test_scenario #includes scenario_parse.c and links the rest of the scenario subsystem.
test_scenario_DEPS := $(filter-out harness/scenario/scenario_parse.c,$(SCENARIO_SRCS))
