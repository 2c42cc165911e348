# SPDX-License-Identifier: MIT
# scenario.mk: test_scenario #includes scenario_parse.c and links the validator.
test_scenario_DEPS := harness/scenario/scenario_validate.c
