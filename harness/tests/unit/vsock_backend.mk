# SPDX-License-Identifier: MIT
# vsock_backend.mk: the test #includes vsock_backend.c (device glue, lifecycle) and links
# the rest of the backend and the vhost-user library.
test_vsock_backend_DEPS := harness/vhost/vhost_user_msg.c harness/vhost/vhost_user_mem.c \
                           harness/vhost/virtq.c harness/vhost/vhost_user_dev.c \
                           harness/vsockd/vsock_tx.c harness/vsockd/vsock_conn.c \
                           harness/vsockd/vsock_link.c harness/vsockd/vsock_rx.c
