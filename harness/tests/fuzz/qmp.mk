# SPDX-License-Identifier: MIT
# qmp.mk: fuzz_qmp #includes qmp_client.c (static line reader) and needs no other module.
fuzz_qmp_DEPS :=
