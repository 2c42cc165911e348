# SPDX-License-Identifier: MIT
# vsock_backend.mk: the test #includes vsock_backend.c and links the vhost-user library.
test_vsock_backend_DEPS := harness/src/vhost_user_msg.c harness/src/vhost_user_mem.c \
                           harness/src/virtq.c harness/src/vhost_user_dev.c
