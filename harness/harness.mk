# SPDX-License-Identifier: MIT
# harness.mk: the uvmlab orchestrator. Explicit source lists per component.

SCENARIO_SRCS := harness/src/scenario_parse.c harness/src/scenario_validate.c
AGENT_SRCS    := harness/src/agent_proto.c harness/src/agent_client.c
QMP_SRCS      := harness/src/qmp_client.c
NETNS_SRCS    := harness/src/netns_link.c
CORE_SRCS     := harness/src/util.c harness/src/plan.c \
                 harness/src/qemu_argv.c harness/src/qemu_machine.c harness/src/qemu_accel.c \
                 harness/src/accel_probe.c harness/src/run_state.c harness/src/result.c \
                 harness/src/lab.c harness/src/lab_vm.c harness/src/lab_health.c harness/src/checks.c \
                 harness/src/checks_vsock.c harness/src/checks_reach.c harness/src/reach_judge.c \
                 harness/src/initrd_pad.c harness/src/stats.c harness/src/bench_boot.c \
                 harness/src/lab_vsock.c harness/src/lab_xfer.c harness/src/bench_vsock.c
CLI_SRCS      := harness/src/cli.c harness/src/cli_run.c harness/src/cli_ctl.c harness/src/cli_bench.c \
                 harness/src/cli_plan.c
FLOW_SRCS     := harness/src/flow_probe.c harness/src/policy.c harness/src/lab_flows.c
MAIN_SRCS     := harness/src/main.c
WHONIX_SRCS   := harness/src/lab_internet.c harness/src/lab_role.c harness/src/checks_net.c \
                 harness/src/gprobe_report.c harness/src/lab_gprobe.c

LIB_SRCS := $(SCENARIO_SRCS) $(AGENT_SRCS) $(QMP_SRCS) $(NETNS_SRCS) $(CORE_SRCS) $(CLI_SRCS) $(WHONIX_SRCS) \
            $(FLOW_SRCS)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

# version.h is rewritten only when the commit changes, so builds stay incremental.
UVMLAB_VERSION := 0.1.0
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define UVMLAB_VERSION "%s"\n#define UVMLAB_GIT_COMMIT "%s"\n' '$(UVMLAB_VERSION)' '$(GIT_COMMIT)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
.PHONY: FORCE
FORCE:
$(BUILD)/obj/harness/src/result.o $(BUILD)/san/harness/src/result.o $(BUILD)/fuzzobj/harness/src/result.o: $(BUILD)/gen/version.h

$(BUILD)/libuvmlab.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/uvmlab: $(MAIN_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/libuvmlab.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lbpf -lelf -lz -lm
