# SPDX-License-Identifier: MIT
# vsock_backend.mk: the test #includes vsock_backend.c and links the vhost-user library.
test_vsock_backend_DEPS := harness/vhost/vhost_user_msg.c harness/vhost/vhost_user_mem.c \
                           harness/vhost/virtq.c harness/vhost/vhost_user_dev.c
