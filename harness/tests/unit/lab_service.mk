# SPDX-License-Identifier: MIT
# lab_service.mk: test_lab_service #includes lab_service.c and lab_plugin.c and drives fake services.
test_lab_service_DEPS := harness/base/util.c
