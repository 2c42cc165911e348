# SPDX-License-Identifier: MIT
# gprobe_report.mk: test_gprobe_report #includes gprobe_report.c (jansson only).
test_gprobe_report_DEPS :=
