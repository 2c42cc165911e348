# SPDX-License-Identifier: MIT
# probes.mk: host-side eBPF probes (libbpf-bootstrap layout): flow.bpf.c is
# compiled against the running kernel's BTF and embedded in a skeleton header
# that the loader harness/probes/flow_probe.c includes.

BPFTOOL    ?= bpftool
KERNEL_BTF ?= /sys/kernel/btf/vmlinux
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I$(BUILD)/gen -Iharness/probes \
              -Iharness
# Header rules the BPF programs share with guests/ (the IPv6 extension-header
# walk, protocol constants).
BPF_PROTO_HDRS := harness/proto/ipv6_walk.h harness/proto/pkt.bpf.h
BPF_LIBS   := -lbpf -lelf -lz

# vmlinux.h only gives the program its types; CO-RE relocates field offsets
# against each kernel's own BTF at load time, so one dump serves every host.
$(BUILD)/gen/vmlinux.h: | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BTF     $@")
	$(Q)$(BPFTOOL) btf dump file $(KERNEL_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/probes/%.bpf.o: harness/probes/%.bpf.c harness/probes/%.h $(BPF_PROTO_HDRS) \
		$(BUILD)/gen/vmlinux.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BPF     $<")
	$(Q)$(CLANG) $(BPF_CFLAGS) -c -o $@ $<

# bpftool gen object links (and strips DWARF-only sections), as libbpf-bootstrap does.
$(BUILD)/probes/%.o: $(BUILD)/probes/%.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $<

$(BUILD)/gen/%.skel.h: $(BUILD)/probes/%.o
	@mkdir -p $(@D)
	$(if $(Q),@echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

# Every build flavour of the loader needs the skeleton first.
FLOW_PROBE_OBJS := $(addsuffix /harness/probes/flow_probe.o,$(BUILD)/obj $(BUILD)/san $(BUILD)/fuzzobj)
$(FLOW_PROBE_OBJS): $(BUILD)/gen/flow.skel.h

# uvmlab-flowctl: record flows on interfaces by hand or from tests.
$(BUILD)/obj/harness/probes/flowctl.o: $(BUILD)/gen/flow.skel.h
$(BUILD)/uvmlab-flowctl: $(BUILD)/obj/harness/probes/flowctl.o $(BUILD)/obj/harness/probes/flow_probe.o
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(BPF_LIBS)
EXTRA_ALL += $(BUILD)/uvmlab-flowctl

# Keep the objects so a rebuild does not redo the chain.
.SECONDARY: $(BUILD)/probes/flow.bpf.o $(BUILD)/probes/flow.o
