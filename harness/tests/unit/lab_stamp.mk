# SPDX-License-Identifier: MIT
# lab_stamp.mk: the stamper test #includes lab_stamp.c; the clock comes from util.c.
test_lab_stamp_DEPS := harness/base/util.c
