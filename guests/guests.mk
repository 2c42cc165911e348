# SPDX-License-Identifier: MIT
# guests.mk: guest images (kernel + per-role initramfs + manifest) from pinned Debian packages.
#
# One builder run writes every image and the manifest (the manifest covers them
# all), so the outputs form one grouped target. The builder also writes
# $(BUILD)/guests/images.d naming extra inputs (files listed in role files);
# the top Makefile includes every *.d under $(BUILD).

# The agent (guests/agent/agent.mk) provides $(BUILD)/guests/uvmlab-agent.
# AGENT=/path/to/static-init overrides it, e.g. to test images before the agent exists.
-include guests/agent/agent.mk
AGENT ?= $(BUILD)/guests/uvmlab-agent

GUEST_ROLES   := $(sort $(patsubst guests/roles/%.conf,%,$(wildcard guests/roles/*.conf)))
GUEST_OUTPUTS := $(BUILD)/guests/vmlinuz $(GUEST_ROLES:%=$(BUILD)/guests/%.cpio) \
                 $(BUILD)/guests/manifest.json
GUEST_BUILDER := guests/build-image

.PHONY: guests guests-relock
guests: $(GUEST_OUTPUTS)

$(GUEST_OUTPUTS) &: $(GUEST_BUILDER) guests/packages.lock $(GUEST_ROLES:%=guests/roles/%.conf) \
		$(AGENT) | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/guests
	$(if $(Q),@echo "  IMAGES  $(GUEST_ROLES:%=%.cpio) vmlinuz")
	$(Q)$(PYTHON) $(GUEST_BUILDER) build --out $(BUILD)/guests --agent $(AGENT) \
		--lock guests/packages.lock --roles guests/roles --depfile $(BUILD)/guests/images.d

# Pin the versions Debian currently offers (runs apt-get update first), plus every
# package the role files name and the library packages their ELFs need; review
# and commit the rewritten lock: the next 'make guests' then fetches them.
guests-relock:
	$(PYTHON) $(GUEST_BUILDER) relock --lock guests/packages.lock --roles guests/roles
