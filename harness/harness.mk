# SPDX-License-Identifier: MIT
# harness.mk: the uvmlab orchestrator. Explicit source lists per component.

# The scenario format: parser and validator, plus the schema tables that
# roles, check kinds and host services contribute (linked with the parser).
SCENARIO_SRCS := harness/scenario/yaml.c harness/scenario/diag.c harness/scenario/names.c \
                 harness/scenario/schema.c harness/scenario/scenario_parse.c harness/scenario/scenario_elements.c \
                 harness/scenario/scenario_validate.c \
                 harness/roles/role_schemas.c harness/checks/check_schemas.c \
                 harness/services/service_schemas.c
AGENT_SRCS    := harness/proto/agent_proto.c harness/lab/agent_client.c
QMP_SRCS      := harness/qemu/qmp_client.c
NETNS_SRCS    := harness/lab/netns_link.c
CORE_SRCS     := harness/base/util.c harness/plan/plan.c \
                 harness/qemu/qemu_argv.c harness/qemu/qemu_machine.c harness/qemu/qemu_accel.c \
                 harness/qemu/accel_probe.c harness/lab/run_state.c harness/record/result.c \
                 harness/lab/lab.c harness/lab/lab_vm.c harness/lab/lab_health.c \
                 harness/lab/lab_plugin.c harness/lab/lab_service.c harness/lab/lab_spawn.c harness/lab/lab_ids.c \
                 harness/lab/lab_stamp.c \
                 harness/lab/lab_sample.c harness/lab/cgroup.c \
                 harness/services/services.c harness/checks/checks.c harness/checks/check_kinds.c \
                 harness/checks/checks_vsock.c harness/checks/checks_reach.c harness/checks/reach_judge.c \
                 harness/qemu/initrd_pad.c harness/bench/stats.c harness/bench/bench_boot.c \
                 harness/services/lab_vsock.c harness/checks/lab_xfer.c harness/bench/bench_vsock.c
CLI_SRCS      := harness/cli/cli.c harness/cli/cli_run.c harness/cli/cli_ctl.c harness/cli/cli_bench.c \
                 harness/cli/cli_plan.c
FLOW_SRCS     := harness/probes/flow_probe.c harness/checks/policy.c harness/probes/lab_flows.c \
                 harness/probes/containment.c harness/probes/lab_containment.c
MAIN_SRCS     := harness/cli/main.c
ROLE_SRCS     := harness/roles/roles.c harness/roles/app.c harness/roles/router.c harness/roles/tor_gateway.c
WHONIX_SRCS   := harness/services/lab_internet.c $(ROLE_SRCS) harness/checks/checks_net.c \
                 harness/checks/gprobe_report.c harness/checks/lab_gprobe.c harness/services/lab_tor.c

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
$(BUILD)/obj/harness/record/result.o $(BUILD)/san/harness/record/result.o $(BUILD)/fuzzobj/harness/record/result.o: $(BUILD)/gen/version.h

$(BUILD)/libuvmlab.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/uvmlab: $(MAIN_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/libuvmlab.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lbpf -lelf -lz -lm
