# SPDX-License-Identifier: MIT
# vhost_user.mk: fuzz_vhost_user feeds message streams to the device library.
fuzz_vhost_user_DEPS := harness/vhost/vhost_user_msg.c harness/vhost/vhost_user_mem.c \
                        harness/vhost/virtq.c harness/vhost/vhost_user_dev.c
