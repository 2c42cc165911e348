# SPDX-License-Identifier: MIT
# probe.mk: uvmlab-gprobe, the in-guest isolation probe (libbpf-bootstrap
# layout: gprobe.bpf.c + gprobe.h + loader gprobe.c). Uses vmlinux.h, BPF_CFLAGS
# and BPFTOOL from harness/probes/probes.mk: the types come from the build
# host's BTF, CO-RE relocates them against the guest kernel's at load time.

# -Wextra on top of the tree's BPF flags: the probe is held to -Wall -Wextra -Werror.
GPROBE_BPF_CFLAGS = $(BPF_CFLAGS) -Wextra -Iguests/probe -ffile-prefix-map=$(CURDIR)=.

$(BUILD)/gprobe/gprobe.bpf.o: guests/probe/gprobe.bpf.c guests/probe/gprobe.h $(BPF_PROTO_HDRS) \
		$(BUILD)/gen/vmlinux.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BPF     $<")
	$(Q)$(CLANG) $(GPROBE_BPF_CFLAGS) -c -o $@ $<

# bpftool gen object links and drops the DWARF-only sections.
$(BUILD)/gprobe/gprobe.o: $(BUILD)/gprobe/gprobe.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $<

$(BUILD)/gen/gprobe.skel.h: $(BUILD)/gprobe/gprobe.o
	@mkdir -p $(@D)
	$(if $(Q),@echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name gprobe > $@.tmp && mv $@.tmp $@

# Static (the guest has no libbpf), stripped and built with tree-relative
# paths like the agent, so the image does not depend on where the tree sits.
$(BUILD)/guests/uvmlab-gprobe: guests/probe/gprobe.c guests/probe/gprobe.h harness/proto/ipv6_walk.h \
		harness/proto/gprobe_proto.h \
		$(BUILD)/gen/gprobe.skel.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CPPFLAGS) -Iguests/probe $(CFLAGS) -O2 -static -s \
		-ffile-prefix-map=$(CURDIR)=. -o $@ $< -lbpf -lelf -lz

EXTRA_ALL += $(BUILD)/guests/uvmlab-gprobe

# The router and tor-gateway images carry the probe (their role files name
# it); make must build it before the image builder runs.
$(BUILD)/guests/router.cpio $(BUILD)/guests/tor-gateway.cpio: $(BUILD)/guests/uvmlab-gprobe

.SECONDARY: $(BUILD)/gprobe/gprobe.bpf.o $(BUILD)/gprobe/gprobe.o
