# SPDX-License-Identifier: MIT
# agent.mk: uvmlab-agent (static guest PID 1) and agentctl (host debugging tool).
# Included from guests/guests.mk; uses the top Makefile's CC/CPPFLAGS/CFLAGS/Q/BUILD.

AGENT_GUEST_SRCS := guests/agent/agent_main.c guests/agent/agent_boot.c \
                    guests/agent/agent_cmdline.c guests/agent/agent_net.c \
                    guests/agent/agent_port.c guests/agent/agent_serve.c \
                    guests/agent/agent_exec.c guests/agent/agent_log.c \
                    harness/proto/agent_proto.c
# Separate object tree: the agent is built -O2 without the host's pkg-config flags.
AGENT_GUEST_OBJS := $(AGENT_GUEST_SRCS:%.c=$(BUILD)/agentobj/%.o)
AGENTCTL_SRCS    := guests/agent/agentctl.c harness/lab/agent_client.c harness/proto/agent_proto.c

# agentctl: a command-line agent client for debugging, used by tests too.
EXTRA_ALL += $(BUILD)/agentctl

.PHONY: agent
agent: $(BUILD)/guests/uvmlab-agent $(BUILD)/agentctl

$(BUILD)/agentobj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC agent $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -O2 -ffile-prefix-map=$(CURDIR)=. -c -o $@ $<

# Static: the guest image has no libc, only busybox and this binary. Stripped,
# and built with paths relative to the tree, so a clone anywhere gives the same
# bytes (the images must not depend on where the repository sits).
$(BUILD)/guests/uvmlab-agent: $(AGENT_GUEST_OBJS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -static -s $(CFLAGS) -O2 -o $@ $^

$(BUILD)/agentctl: $(AGENTCTL_SRCS:%.c=$(BUILD)/obj/%.o)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^
