# SPDX-License-Identifier: MIT
# vhost.mk: the reusable vhost-user device library (framing, guest memory,
# split virtqueues, device state). A backend daemon links VHOST_USER_SRCS
# (harness/vsockd/vsockd.mk does); a future one (e.g. an L2 switch) the same way.
# Included before the daemons' fragments, which expand the list when read.

VHOST_USER_SRCS := harness/vhost/vhost_user_msg.c harness/vhost/vhost_user_mem.c \
                   harness/vhost/virtq.c harness/vhost/vhost_user_dev.c
