# SPDX-License-Identifier: MIT
# qmp_client.mk: the QMP client test #includes qmp_client.c and needs no other module.
test_qmp_client_DEPS :=
