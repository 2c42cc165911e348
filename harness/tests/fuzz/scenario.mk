# SPDX-License-Identifier: MIT
# scenario.mk: fuzz_scenario drives scenario_parse() over arbitrary bytes.
fuzz_scenario_DEPS := $(SCENARIO_SRCS)
