/* SPDX-License-Identifier: MIT */
/* test_qemu_argv.c: the QEMU and kernel command lines per machine type and accelerator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qemu/qemu_argv.c"

static const char scn_yaml[] =
	"name: argv\n"
	"networks:\n"
	"  lan: { subnet: 198.18.1.0/24 }\n"
	"  wan: { subnet: 198.18.2.0/24 }\n"
	"vms:\n"
	"  r: { role: router, nics: [lan, wan], memory: 512, vcpus: 2 }\n"
	"  a: { nics: [lan], machine: q35 }\n";

struct fixture {
	struct scenario *scn;
	struct plan *plan;
	struct qemu_vm_spec spec;
	struct qemu_argv argv;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct scn_diag d = { 0 };

	assert_int_equal(scenario_parse("argv.yaml", scn_yaml, strlen(scn_yaml), &f->scn, &d), 0);
	assert_int_equal(plan_build(f->scn, &f->plan, &d), 0);
	f->spec = (struct qemu_vm_spec){
		.plan = f->plan, .qemu_bin = "qemu-system-x86_64", .kernel = "/img/vmlinuz",
		.initrd = "/img/router.cpio", .qmp_sock = "/run/x/r/qmp.sock",
		.console_sock = "/run/x/r/console.sock", .marker_sock = "/run/x/r/marker.sock",
		.agent_sock = "/run/x/r/agent.sock", .tsc_khz = 2445000,
		.tap_fds = { 7, 9 }, .console = 1,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	qemu_argv_release(&f->argv);
	plan_free(f->plan);
	scenario_free(f->scn);
	free(f);
	return 0;
}

/* The value following FLAG's Nth occurrence. */
static const char *after(const struct qemu_argv *a, const char *flag, int nth)
{
	size_t i;

	for (i = 0; i + 1 < a->n; i++)
		if (!strcmp(a->v[i], flag) && nth-- == 0)
			return a->v[i + 1];
	return NULL;
}

static void test_microvm_tcg(void **state)
{
	struct fixture *f = *state;
	const char *cmdline;

	f->spec.vm = plan_find_vm(f->plan, "r");
	f->spec.machine = qemu_machine_get(f->spec.vm->machine);
	f->spec.accel = qemu_accel_get(QEMU_ACCEL_TCG);
	assert_int_equal(qemu_argv_build(&f->spec, &f->argv), 0);
	assert_string_equal(f->argv.v[0], "qemu-system-x86_64");
	assert_null(f->argv.v[f->argv.n]);
	assert_string_equal(after(&f->argv, "-machine", 0), "microvm,rtc=on");
	assert_string_equal(after(&f->argv, "-accel", 0), "tcg");
	assert_int_equal(qemu_argv_find(&f->argv, "-cpu"), -1);
	assert_string_equal(after(&f->argv, "-m", 0), "512");
	assert_string_equal(after(&f->argv, "-smp", 0), "2");
	assert_true(qemu_argv_find(&f->argv, "-nodefaults") > 0);
	assert_true(qemu_argv_find(&f->argv, "-no-reboot") > 0);
	/* exactly one -sandbox, with every deny option */
	assert_string_equal(after(&f->argv, "-sandbox", 0),
			    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	assert_null(after(&f->argv, "-sandbox", 1));
	/* never user-mode networking toward the host: only tap fds we pass */
	assert_string_equal(after(&f->argv, "-netdev", 0), "tap,id=net0,fd=7,vhost=off");
	assert_string_equal(after(&f->argv, "-netdev", 1), "tap,id=net1,fd=9,vhost=off");
	assert_null(after(&f->argv, "-netdev", 2));
	assert_non_null(strstr(after(&f->argv, "-device", 3), "virtio-net-device,netdev=net0,mac=02:"));
	assert_string_equal(after(&f->argv, "-device", 1), "virtio-serial-device,id=vser0");
	assert_string_equal(after(&f->argv, "-chardev", 0), "socket,id=qmp,path=/run/x/r/qmp.sock,server=off");
	assert_string_equal(after(&f->argv, "-chardev", 3),
			    "socket,id=agent,path=/run/x/r/agent.sock,server=on,wait=off");
	assert_string_equal(after(&f->argv, "-device", 0), "isa-debugcon,iobase=0x5f0,chardev=marker");
	cmdline = after(&f->argv, "-append", 0);
	assert_non_null(strstr(cmdline, "console=ttyS0 panic=-1"));
	assert_non_null(strstr(cmdline, " tsc_early_khz=2445000 tsc=reliable "));
	assert_non_null(strstr(cmdline, " uvmlab.vm=r uvmlab.role=router uvmlab.marker=0x5f0"));
	assert_non_null(strstr(cmdline, ",198.18.1.1/24 uvmlab.if="));
	assert_non_null(strstr(cmdline, ",198.18.2.1/24"));
	assert_non_null(strstr(cmdline, "uvmlab.forward=1"));
	assert_null(strstr(cmdline, "uvmlab.gw="));
}

static void test_q35_kvm(void **state)
{
	struct fixture *f = *state;
	const char *cmdline;

	f->spec.vm = plan_find_vm(f->plan, "a");
	f->spec.machine = qemu_machine_get(f->spec.vm->machine);
	f->spec.accel = qemu_accel_get(QEMU_ACCEL_KVM);
	assert_int_equal(qemu_argv_build(&f->spec, &f->argv), 0);
	assert_string_equal(after(&f->argv, "-machine", 0), "q35");
	assert_string_equal(after(&f->argv, "-accel", 0), "kvm");
	assert_string_equal(after(&f->argv, "-cpu", 0), "host");
	assert_string_equal(after(&f->argv, "-m", 0), "256");
	assert_string_equal(after(&f->argv, "-smp", 0), "1");
	assert_string_equal(after(&f->argv, "-device", 1), "virtio-serial-pci,id=vser0");
	assert_non_null(strstr(after(&f->argv, "-device", 3), "virtio-net-pci,netdev=net0,mac=02:"));
	cmdline = after(&f->argv, "-append", 0);
	/* KVM gets the TSC rate from kvmclock: no tsc_early_khz */
	assert_null(strstr(cmdline, "tsc_early_khz"));
	assert_null(strstr(cmdline, "tsc=reliable"));
	assert_non_null(strstr(cmdline, "uvmlab.gw=198.18.1.1"));
	assert_null(strstr(cmdline, "uvmlab.forward"));
}

/* --timing virtual: TCG counting instructions, and a guest told that its TSC
 * runs at the instruction clock's 1 GHz, not at the host's rate the spec
 * carries. */
static void test_microvm_icount(void **state)
{
	struct fixture *f = *state;
	const char *cmdline;

	f->spec.vm = plan_find_vm(f->plan, "r");
	f->spec.machine = qemu_machine_get(f->spec.vm->machine);
	f->spec.accel = qemu_accel_get(QEMU_ACCEL_TCG_ICOUNT);
	assert_non_null(f->spec.accel);
	assert_string_equal(f->spec.accel->name, "tcg-icount");
	assert_int_equal(qemu_argv_build(&f->spec, &f->argv), 0);
	assert_string_equal(after(&f->argv, "-accel", 0), "tcg");
	assert_string_equal(after(&f->argv, "-icount", 0), "shift=0,align=off,sleep=off");
	assert_null(after(&f->argv, "-icount", 1));
	cmdline = after(&f->argv, "-append", 0);
	assert_non_null(strstr(cmdline, " tsc_early_khz=1000000 tsc=reliable "));
	assert_null(strstr(cmdline, "2445000"));
}

static void test_bare_and_quiet(void **state)
{
	struct fixture *f = *state;

	f->spec.vm = plan_find_vm(f->plan, "r");
	f->spec.machine = qemu_machine_get(SCN_MACHINE_PC);
	f->spec.accel = qemu_accel_get(QEMU_ACCEL_TCG);
	f->spec.bare = 1;
	f->spec.console = 0;
	assert_int_equal(qemu_argv_build(&f->spec, &f->argv), 0);
	/* a bare QEMU has no monitor and writes console and marker to files */
	assert_int_equal(qemu_argv_find(&f->argv, "-mon"), -1);
	/* the baseline is sandboxed the same way: only uvmlab's overhead differs */
	assert_string_equal(after(&f->argv, "-sandbox", 0), QEMU_SANDBOX_ARG);
	assert_string_equal(after(&f->argv, "-chardev", 0), "file,id=con,path=/run/x/r/console.sock");
	assert_string_equal(after(&f->argv, "-chardev", 1), "file,id=marker,path=/run/x/r/marker.sock");
	assert_string_equal(after(&f->argv, "-machine", 0), "pc");
	assert_non_null(strstr(after(&f->argv, "-append", 0), "quiet panic=-1"));
	assert_null(strstr(after(&f->argv, "-append", 0), "console=ttyS0"));
}

static void test_pc_and_machine_table(void **state)
{
	(void)state;
	assert_string_equal(qemu_machine_get(SCN_MACHINE_PC)->machine_arg, "pc");
	assert_string_equal(qemu_machine_get(SCN_MACHINE_PC)->virtio_bus, "pci");
	assert_string_equal(qemu_machine_get(SCN_MACHINE_MICROVM)->virtio_bus, "device");
	assert_string_equal(qemu_accel_get(QEMU_ACCEL_KVM)->name, "kvm");
	assert_int_equal(qemu_accel_get(QEMU_ACCEL_TCG)->id, QEMU_ACCEL_TCG);
	assert_null(qemu_machine_get((enum scn_machine)42));
}

static void test_cmdline_overflow(void **state)
{
	struct fixture *f = *state;
	char small[40];

	f->spec.vm = plan_find_vm(f->plan, "r");
	f->spec.machine = qemu_machine_get(f->spec.vm->machine);
	f->spec.accel = qemu_accel_get(QEMU_ACCEL_TCG);
	assert_int_equal(qemu_cmdline_build(&f->spec, small, sizeof(small)), -ENAMETOOLONG);
}

static void test_join(void **state)
{
	struct qemu_argv a = { 0 };
	char *s;

	(void)state;
	assert_int_equal(qemu_argv_add(&a, "qemu"), 0);
	assert_int_equal(qemu_argv_add(&a, "-m %d", 3), 0);
	s = qemu_argv_join(&a);
	assert_string_equal(s, "qemu -m 3");
	free(s);
	qemu_argv_release(&a);
	assert_null(a.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_microvm_tcg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_q35_kvm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_microvm_icount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bare_and_quiet, setup, teardown),
		cmocka_unit_test(test_pc_and_machine_table),
		cmocka_unit_test_setup_teardown(test_cmdline_overflow, setup, teardown),
		cmocka_unit_test(test_join),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
