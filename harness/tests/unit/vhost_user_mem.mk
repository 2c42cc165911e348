# SPDX-License-Identifier: MIT
# vhost_user_mem.mk: the test #includes vhost_user_mem.c and needs no other module.
test_vhost_user_mem_DEPS :=
