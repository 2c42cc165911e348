# SPDX-License-Identifier: MIT
# scenario.mk: fuzz_scenario drives scenario_parse() over arbitrary bytes.
fuzz_scenario_DEPS := harness/scenario/scenario_parse.c harness/scenario/scenario_validate.c
