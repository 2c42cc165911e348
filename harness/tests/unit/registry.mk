# SPDX-License-Identifier: MIT
# registry.mk: test_registry links the whole orchestrator library (every table and what it points at).
test_registry_DEPS := $(LIB_SRCS)
$(BUILD)/tests/test_registry: $(BUILD)/gen/flow.skel.h $(BUILD)/gen/version.h
$(BUILD)/tests/test_registry: PKG_LIBS += -lbpf -lelf -lz
