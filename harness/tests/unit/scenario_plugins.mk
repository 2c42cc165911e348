# SPDX-License-Identifier: MIT
# scenario_plugins.mk: the scenario subsystem without the real schema tables; the test brings fakes.
test_scenario_plugins_DEPS := $(filter harness/scenario/%,$(SCENARIO_SRCS))
