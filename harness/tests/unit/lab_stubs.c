/* SPDX-License-Identifier: MIT */
/* lab_stubs.c: weak stand-ins for the live lab, for tests that link the role table but run no lab.
 *
 * The roles (roles/NAME.c) carry their planning hooks and their live services
 * in one file, so a test that plans (plan.c asks the roles) links their
 * live code too. These satisfy the linker; a test's own fake of the same
 * function overrides the weak one here.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lab/lab_plugin.h"
#include "services/lab_services.h"

/* A lab with no VMs, stopped by nobody. */
__attribute__((weak)) const struct plan *lab_plugin_plan(const struct lab *lab)
{
	(void)lab;
	return NULL;
}

__attribute__((weak)) int lab_plugin_stop_requested(void)
{
	return 0;
}

__attribute__((weak)) size_t lab_plugin_vm_count(const struct lab *lab)
{
	(void)lab;
	return 0;
}

__attribute__((weak)) struct lab_vm *lab_plugin_vm(struct lab *lab, size_t i)
{
	(void)lab; (void)i;
	return NULL;
}

__attribute__((weak)) const char *lab_plugin_vm_name(const struct lab_vm *vm)
{
	(void)vm;
	return "";
}

__attribute__((weak)) const struct plan_vm *lab_plugin_vm_plan(const struct lab_vm *vm)
{
	(void)vm;
	return NULL;
}

__attribute__((weak)) enum lab_vm_state lab_plugin_vm_state(const struct lab_vm *vm)
{
	(void)vm;
	return LAB_VM_PENDING;
}

__attribute__((weak)) void lab_plugin_vm_services_ready(struct lab_vm *vm)
{
	(void)vm;
}

__attribute__((weak)) int lab_plugin_vm_filter_applied(const struct lab_vm *vm)
{
	(void)vm;
	return 0;
}

__attribute__((weak)) void lab_plugin_vm_set_filter_ruleset(struct lab_vm *vm, char *ruleset)
{
	(void)vm;
	free(ruleset); /* it owns what it is given */
}

__attribute__((weak)) void lab_plugin_vm_set_filter_applied(struct lab_vm *vm)
{
	(void)vm;
}

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
