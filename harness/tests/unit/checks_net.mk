# SPDX-License-Identifier: MIT
# checks_net.mk: the checks_net test #includes checks_net.c and fakes the live lab.
test_checks_net_DEPS := harness/base/util.c
