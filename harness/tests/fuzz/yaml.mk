# SPDX-License-Identifier: MIT
# yaml.mk: fuzz_yaml drives the scenario YAML tree builder alone over arbitrary bytes.
fuzz_yaml_DEPS := harness/scenario/yaml.c harness/scenario/diag.c
