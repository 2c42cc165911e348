# SPDX-License-Identifier: MIT
# uvmlab: one non-recursive Makefile; component source lists live in the *.mk
# fragments it includes. All outputs go to $(BUILD). V=1 shows commands.

BUILD    ?= build
PREFIX   ?= /usr/local
CC       ?= cc
CLANG    ?= clang
PYTHON   ?= /usr/bin/python3
FUZZ_SECONDS ?= 15

ifeq ($(V),1)
Q :=
else
Q := @
endif

PKGS       := yaml-0.1 jansson libnl-route-3.0 libcrypto
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter
ifeq ($(CI),true)
WARN     += -Werror
endif
CPPFLAGS += -D_GNU_SOURCE -Iharness -I$(BUILD)/gen
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -MMD -MP
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.DELETE_ON_ERROR:
# Objects reached only through pattern chains are kept (no rebuild every run).
.SECONDARY:
.SUFFIXES:
.PHONY: all deps test unit fuzz fuzz-build pytest install clean guests help
.DEFAULT_GOAL := all
# Fragments add their own programs to EXTRA_ALL.
EXTRA_ALL :=

help:
	@echo "make                 build uvmlab, the guest images and the lab kernel"
	@echo "                     (first time on a machine: ~20 min on 2 cores, then cached)"
	@echo "make lab-kernel      only the lab kernel (guests/kernel/README.md)"
	@echo "make deps            install the Debian packages uvmlab needs (root)"
	@echo "make test            unit tests (ASan/UBSan), fuzzers (bounded), integration tests,"
	@echo "                     a sample of the fault suite (FAULT_SAMPLE=6 cases)"
	@echo "make test-faults     the whole fault-injection suite (UVMLAB_FAULT_SEED=S replays)"
	@echo "make scenario-NAME   run scenarios/NAME.yaml (e.g. make scenario-pair)"
	@echo "make install         put uvmlab on PATH ($(PREFIX)/bin)"

# make deps runs automatically before anything builds: the stamp is renewed
# whenever the package list changes.
DEPS_STAMP := $(BUILD)/.deps-ok
$(DEPS_STAMP): ci/debian-packages.txt ci/install-deps
	$(Q)mkdir -p $(@D)
	$(Q)ci/install-deps
	$(Q)touch $@
deps:
	$(Q)ci/install-deps
	$(Q)mkdir -p $(BUILD) && touch $(DEPS_STAMP)

include harness/harness.mk
include guests/guests.mk
# Optional components, each in its own fragment.
-include harness/vhost/vhost.mk harness/vsockd/vsockd.mk guests/tools/tools.mk \
	harness/probes/probes.mk guests/probe/probe.mk guests/kernel/kernel.mk
include harness/tests/tests.mk

all: $(BUILD)/uvmlab guests $(EXTRA_ALL)

install: $(BUILD)/uvmlab
	install -D -m 0755 $(BUILD)/uvmlab $(DESTDIR)$(PREFIX)/bin/uvmlab

# make scenario-NAME: build everything, then run scenarios/NAME.yaml.
scenario-%: all
	$(BUILD)/uvmlab run scenarios/$*.yaml

# The headline scenario: net VM, Tor gateway and workstation against a
# private Tor network and a fake internet (fixtures/), leak checks included.
scenario-whonix: all
	$(BUILD)/uvmlab run scenarios/whonix.yaml

# make report-boot: the boot matrix (REPEAT measured rounds per configuration,
# each with a bare-QEMU twin), the lab kernel on microvm again in virtual time
# (--timing virtual: phases on the instruction clock, with their CV),
# whole-command timings with hyperfine, then one Markdown/HTML report of all
# of it in the matrix run's results folder.
REPEAT ?= 5
.PHONY: report-boot
report-boot: all
	$(BUILD)/uvmlab bench boot scenarios/boot-matrix.yaml --repeat $(REPEAT) | tee $(BUILD)/report-boot.out
	$(BUILD)/uvmlab bench boot scenarios/boot/lab-microvm.yaml --timing virtual --repeat $(REPEAT) \
		--no-bare | tee $(BUILD)/report-boot-virtual.out
	@set -e; run=$$(sed -n 's/^bench \([^:]*\):.*/\1/p' $(BUILD)/report-boot.out | tail -1); \
	virt=$$(sed -n 's/^bench \([^:]*\):.*/\1/p' $(BUILD)/report-boot-virtual.out | tail -1); \
	hyperfine --warmup 1 --runs $(REPEAT) --export-json results/$$run/hyperfine.json \
		'$(BUILD)/uvmlab run scenarios/boot/stock-pc.yaml' \
		'$(BUILD)/uvmlab run scenarios/boot/lab-microvm.yaml'; \
	$(BUILD)/uvmlab report --hyperfine results/$$run/hyperfine.json --out results/$$run \
		results/$$run results/$$virt

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
