# SPDX-License-Identifier: MIT
# checks_vsock.mk: test_checks_vsock #includes checks_vsock.c and fakes the live lab.
test_checks_vsock_DEPS :=
