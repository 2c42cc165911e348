# SPDX-License-Identifier: MIT
# vhost_user_msg.mk: the test #includes vhost_user_msg.c and needs no other module.
test_vhost_user_msg_DEPS :=
