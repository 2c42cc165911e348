# SPDX-License-Identifier: MIT
# lab_ids.mk: test_lab_ids #includes lab_ids.c: id picking, leases, the drop.
test_lab_ids_DEPS := harness/base/util.c
