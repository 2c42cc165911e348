# SPDX-License-Identifier: MIT
# flow_probe.mk: the flow recorder test #includes flow_probe.c (which needs the
# generated skeleton), builds its veth with netns_link and links libbpf.
test_flow_probe_DEPS := harness/lab/netns_link.c
$(BUILD)/tests/test_flow_probe: $(BUILD)/gen/flow.skel.h
$(BUILD)/tests/test_flow_probe: PKG_LIBS += -lbpf -lelf -lz
