# SPDX-License-Identifier: MIT
# kernel.mk: the lab kernel (PVH vmlinux + bzImage) built from Debian's linux-source and lab.config.
#
# Part of `make` (EXTRA_ALL): every role boots the lab kernel by default. The
# first build on a machine takes minutes and prints its progress; the builder
# caches each kernel outside the tree (/var/cache/uvmlab/kernels/<key>/, key =
# hash of its inputs), so every later `make`, in any clone, only copies the
# cached files.

LAB_KERNEL_OUTPUTS := $(BUILD)/guests/lab-vmlinux $(BUILD)/guests/lab-bzImage \
                      $(BUILD)/guests/lab-kernel.json
LAB_KERNEL_BUILDER := guests/kernel/build-kernel
EXTRA_ALL += $(LAB_KERNEL_OUTPUTS)

.PHONY: lab-kernel lab-kernel-relock
lab-kernel: $(LAB_KERNEL_OUTPUTS)

# build-image is a prerequisite because the builder reuses its lock reader and
# deb cache.
$(LAB_KERNEL_OUTPUTS) &: $(LAB_KERNEL_BUILDER) guests/kernel/lab.config guests/kernel/source.lock \
		guests/build-image | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/guests
	$(if $(Q),@echo "  KERNEL  lab-vmlinux lab-bzImage (cold build: minutes)")
	$(Q)$(PYTHON) $(LAB_KERNEL_BUILDER) build --out $(BUILD)/guests

# Pin the kernel source at the version of the stock kernel in guests/packages.lock
# (run after 'make guests-relock'); review and commit guests/kernel/source.lock.
lab-kernel-relock:
	$(PYTHON) $(LAB_KERNEL_BUILDER) relock
