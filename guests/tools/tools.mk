# SPDX-License-Identifier: MIT
# tools.mk: uvmlab-xfer, the throughput and reach tool run in guests and on the host.

# The transfer tool runs in guests (static, stripped, path-independent like
# the agent so images stay reproducible) and on the host (same source).
XFER_SRCS := guests/tools/uvmlab-xfer.c guests/tools/xfer_reach.c
$(BUILD)/guests/uvmlab-xfer: $(XFER_SRCS) guests/tools/xfer_reach.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC xfer $(XFER_SRCS)")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -O2 -static -s -ffile-prefix-map=$(CURDIR)=. -o $@ $(XFER_SRCS)

$(BUILD)/uvmlab-xfer: $(BUILD)/guests/uvmlab-xfer
	$(Q)cp $< $@

EXTRA_ALL += $(BUILD)/guests/uvmlab-xfer $(BUILD)/uvmlab-xfer

# Every role image carries the tool (reach checks start and end on any VM;
# guests/roles/*.conf name it); make must build it before the image builder
# runs, even on a fresh tree.
$(BUILD)/guests/app.cpio $(BUILD)/guests/router.cpio $(BUILD)/guests/tor-gateway.cpio: \
		$(BUILD)/guests/uvmlab-xfer
