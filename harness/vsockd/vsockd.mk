# SPDX-License-Identifier: MIT
# vsockd.mk: uvmlab-vsockd, the vhost-user-vsock backend daemon.
#
# VSOCK_SRCS is the vhost-user library (harness/vhost/vhost.mk, included
# first) plus the vsock device logic.

VSOCK_SRCS := $(VHOST_USER_SRCS) harness/vsockd/vsock_backend.c harness/vsockd/vsock_tx.c \
              harness/vsockd/vsock_conn.c harness/vsockd/vsock_link.c harness/vsockd/vsock_rx.c

EXTRA_ALL += $(BUILD)/uvmlab-vsockd

$(BUILD)/uvmlab-vsockd: $(VSOCK_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/harness/vsockd/vsockd_main.o
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lseccomp
