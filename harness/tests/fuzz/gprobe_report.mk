# SPDX-License-Identifier: MIT
# gprobe_report.mk: fuzz_gprobe_report drives the guest probe report parser and judges.
fuzz_gprobe_report_DEPS := harness/checks/gprobe_report.c
