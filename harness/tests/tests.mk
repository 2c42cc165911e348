# SPDX-License-Identifier: MIT
# tests.mk: cmocka unit tests (ASan/UBSan), libFuzzer targets, pytest integration.
#
# Unit tests: harness/tests/unit/test_NAME.c, one binary per module; a test
# #includes the module's .c to reach static functions and links the other
# modules it needs, listed as test_NAME_DEPS (sources) in harness/tests/unit/NAME.mk.
# Fuzzers: harness/tests/fuzz/fuzz_NAME.c, fuzz_NAME_DEPS in
# harness/tests/fuzz/NAME.mk, seeds in harness/tests/fuzz/corpus/NAME/.

-include $(wildcard harness/tests/unit/*.mk harness/tests/fuzz/*.mk)
.SECONDEXPANSION:

UNIT_NAMES := $(patsubst harness/tests/unit/test_%.c,%,$(wildcard harness/tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_NAMES:%=$(BUILD)/tests/test_%)

$(BUILD)/san/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC san  $<")
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

$(BUILD)/tests/test_%: harness/tests/unit/test_%.c $$(addprefix $(BUILD)/san/,$$(subst .c,.o,$$(test_$$*_DEPS))) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC test $<")
	$(Q)$(CC) $(CPPFLAGS) -Iharness/tests/unit $(PKG_CFLAGS) $(CFLAGS) -O1 $(SAN) -o $@ $< \
		$(addprefix $(BUILD)/san/,$(subst .c,.o,$(test_$*_DEPS))) $(PKG_LIBS) -lcmocka -lm

# A hung test fails instead of stalling CI.
UNIT_TIMEOUT ?= 300
unit: $(UNIT_BINS)
	$(Q)set -e; for t in $(UNIT_BINS); do \
		echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		timeout -k 10 $(UNIT_TIMEOUT) $$t || { echo "FAILED (or timed out after $(UNIT_TIMEOUT)s): $$t"; exit 1; }; done

FUZZ_NAMES := $(patsubst harness/tests/fuzz/fuzz_%.c,%,$(wildcard harness/tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined

$(BUILD)/fuzzobj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC fuzz $<")
	$(Q)$(CLANG) $(CPPFLAGS) $(PKG_CFLAGS) -std=gnu11 $(FUZZ_FLAGS) -c -o $@ $<

$(BUILD)/fuzz/fuzz_%: harness/tests/fuzz/fuzz_%.c $$(addprefix $(BUILD)/fuzzobj/,$$(subst .c,.o,$$(fuzz_$$*_DEPS))) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC fuzz $<")
	$(Q)$(CLANG) $(CPPFLAGS) $(PKG_CFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
		-MMD -MP -MF $@.d -o $@ $< $(addprefix $(BUILD)/fuzzobj/,$(subst .c,.o,$(fuzz_$*_DEPS))) $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

# Each fuzzer runs for FUZZ_SECONDS from its committed seeds; a crash fails make.
fuzz: $(FUZZ_BINS)
	$(Q)set -e; for n in $(FUZZ_NAMES); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		echo "== fuzz_$$n for $(FUZZ_SECONDS)s"; \
		$(BUILD)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
			-artifact_prefix=$(BUILD)/fuzz/crash-$$n- \
			$(BUILD)/fuzz/corpus-$$n harness/tests/fuzz/corpus/$$n 2>$(BUILD)/fuzz/fuzz_$$n.log \
			|| { tail -40 $(BUILD)/fuzz/fuzz_$$n.log; exit 1; }; \
		grep -E '^(#[0-9]+.*DONE|Done)' $(BUILD)/fuzz/fuzz_$$n.log | tail -1; \
	done

# Integration tests boot real VMs (TCG here). Debian's pytest on /usr/bin/python3.
pytest: $(BUILD)/uvmlab guests $(EXTRA_ALL)
	$(Q)cd harness/tests && UVMLAB=$(abspath $(BUILD)/uvmlab) UVMLAB_BUILD=$(abspath $(BUILD)) \
		$(PYTHON) -m pytest -ra $(PYTEST_ARGS)

# Fault injection (harness/tests/faults/README.md): uvmlab, QEMU, the
# backends and fixtures killed or stopped mid-run, a full results
# filesystem, two labs at once, floods. `make test-faults` runs the whole
# set; `make test` a sample of FAULT_SAMPLE cases chosen by the seed across
# kinds. UVMLAB_FAULT_SEED=S replays a run (the seed is printed).
FAULT_SAMPLE ?= 6
FAULT_PYTEST = cd harness/tests && UVMLAB=$(abspath $(BUILD)/uvmlab) UVMLAB_BUILD=$(abspath $(BUILD)) \
	UVMLAB_FAULT_SAMPLE=$(1) $(PYTHON) -m pytest -ra faults $(PYTEST_ARGS)
.PHONY: test-faults test-faults-sample
test-faults: $(BUILD)/uvmlab guests $(EXTRA_ALL)
	$(Q)$(call FAULT_PYTEST,)
test-faults-sample: $(BUILD)/uvmlab guests $(EXTRA_ALL)
	$(Q)$(call FAULT_PYTEST,$(FAULT_SAMPLE))

test: unit fuzz pytest test-faults-sample
