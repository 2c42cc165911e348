# SPDX-License-Identifier: MIT
# reach_judge.mk: fuzz_reach_judge drives the reach checks' guest-output parsers and the verdict.
fuzz_reach_judge_DEPS := harness/checks/reach_judge.c
