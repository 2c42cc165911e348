test_qemu_argv_DEPS := harness/src/plan.c harness/src/qemu_machine.c harness/src/qemu_accel.c \
	harness/src/scenario_parse.c harness/src/scenario_validate.c
