# SPDX-License-Identifier: MIT
# vsockd.mk: uvmlab-vsockd (vhost-user-vsock backend) and the uvmlab-xfer throughput tool.
#
# VHOST_USER_SRCS is the reusable vhost-user device library (framing, guest
# memory, split virtqueues, device state); a future backend (e.g. an L2
# switch) links it the same way. VSOCK_SRCS adds the vsock device logic.

VHOST_USER_SRCS := harness/vhost/vhost_user_msg.c harness/vhost/vhost_user_mem.c \
                   harness/vhost/virtq.c harness/vhost/vhost_user_dev.c
VSOCK_SRCS      := $(VHOST_USER_SRCS) harness/vsockd/vsock_backend.c harness/vsockd/vsock_tx.c \
                   harness/vsockd/vsock_conn.c harness/vsockd/vsock_link.c harness/vsockd/vsock_rx.c

EXTRA_ALL += $(BUILD)/uvmlab-vsockd $(BUILD)/guests/uvmlab-xfer $(BUILD)/uvmlab-xfer

$(BUILD)/uvmlab-vsockd: $(VSOCK_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/harness/vsockd/vsockd_main.o
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lseccomp

# The transfer tool runs in guests (static, stripped, path-independent like
# the agent so images stay reproducible) and on the host (same source).
XFER_SRCS := guests/tools/uvmlab-xfer.c guests/tools/xfer_reach.c
$(BUILD)/guests/uvmlab-xfer: $(XFER_SRCS) guests/tools/xfer_reach.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC xfer $(XFER_SRCS)")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -O2 -static -s -ffile-prefix-map=$(CURDIR)=. -o $@ $(XFER_SRCS)

$(BUILD)/uvmlab-xfer: $(BUILD)/guests/uvmlab-xfer
	$(Q)cp $< $@

# Every role image carries the tool (reach checks start and end on any VM;
# guests/roles/*.conf name it); make must build it before the image builder
# runs, even on a fresh tree.
$(BUILD)/guests/app.cpio $(BUILD)/guests/router.cpio $(BUILD)/guests/tor-gateway.cpio: \
		$(BUILD)/guests/uvmlab-xfer
