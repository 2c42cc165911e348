test_qemu_argv_DEPS := harness/plan/plan.c harness/qemu/qemu_machine.c harness/qemu/qemu_accel.c \
	harness/scenario/scenario_parse.c harness/scenario/scenario_validate.c \
	harness/roles/roles.c harness/roles/app.c harness/roles/router.c harness/roles/tor_gateway.c harness/base/util.c harness/tests/unit/lab_stubs.c
