test_qemu_argv_DEPS := harness/plan/plan.c harness/qemu/qemu_machine.c harness/qemu/qemu_accel.c \
	$(SCENARIO_SRCS) $(ROLE_SRCS) harness/base/util.c harness/tests/unit/lab_stubs.c
