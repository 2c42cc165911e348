/* SPDX-License-Identifier: MIT */
/* lab_stubs.c: weak stand-ins for the live lab, for tests that link the role table but run no lab.
 *
 * The roles (roles/*.c) carry their planning hooks and their live services
 * in one file, so a test that plans (plan.c asks the roles) links their
 * live code too. These satisfy the linker; a test's own fake of the same
 * function overrides the weak one here.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "lab/lab_internal.h"

__attribute__((weak)) volatile sig_atomic_t lab_stop_flag;

__attribute__((weak)) int lab_exec(struct lab *lab, const char *vm, const char *const *argv,
				   uint32_t timeout_ms, struct agent_exec_result *res)
{
	(void)lab; (void)vm; (void)argv; (void)timeout_ms; (void)res;
	return -ENOSYS;
}

__attribute__((weak)) int lab_write_file(struct lab *lab, const char *vm, const char *path,
					 uint32_t mode, const void *data, size_t len)
{
	(void)lab; (void)vm; (void)path; (void)mode; (void)data; (void)len;
	return -ENOSYS;
}

__attribute__((weak)) int lab_read_file(struct lab *lab, const char *vm, const char *path,
					uint8_t **data, size_t *len)
{
	(void)lab; (void)vm; (void)path; (void)data; (void)len;
	return -ENOSYS;
}

__attribute__((weak)) int lab_poll(struct lab *lab, int timeout_ms)
{
	(void)lab; (void)timeout_ms;
	return -ENOSYS;
}

__attribute__((weak)) int lab_tor_wait(struct lab *lab, int timeout_s)
{
	(void)lab; (void)timeout_s;
	return -ENOSYS;
}

__attribute__((weak)) const char *lab_tor_dir(const struct lab *lab)
{
	(void)lab;
	return "";
}

__attribute__((weak)) int lab_plugin_vm_mark(struct lab_vm *vm, const char *phase, const char *span_key)
{
	(void)vm; (void)phase; (void)span_key;
	return 0;
}

__attribute__((weak)) int lab_plugin_vm_probe_started(const struct lab_vm *vm)
{
	(void)vm;
	return 0;
}

__attribute__((weak)) void lab_plugin_vm_set_probe_started(struct lab_vm *vm)
{
	(void)vm;
}

__attribute__((weak)) void lab_set_err(struct lab *lab, const char *fmt, ...)
{
	(void)lab; (void)fmt;
}

__attribute__((weak)) void agent_exec_result_release(struct agent_exec_result *res)
{
	(void)res;
}
