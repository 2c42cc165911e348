/* SPDX-License-Identifier: MIT */
/* lab_plugin.c: the accessors roles, check kinds and host services use on a live lab. */
#include "lab/lab_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

const struct plan *lab_plugin_plan(const struct lab *lab) { return lab->plan; }
int lab_plugin_stop_requested(void) { return (int)lab_stop_flag; }
struct netns_link *lab_plugin_netlink(struct lab *lab) { return lab->nl; }
size_t lab_plugin_vm_count(const struct lab *lab) { return lab->n_vms; }
int lab_plugin_host_netns(const struct lab *lab) { return lab->orig_netns; }

struct lab_vm *lab_plugin_vm(struct lab *lab, size_t i)
{
	return i < lab->n_vms ? &lab->vms[i] : NULL;
}

struct lab_vm *lab_plugin_vm_find(struct lab *lab, const char *name)
{
	size_t i;

	for (i = 0; i < lab->n_vms; i++)
		if (!strcmp(lab->vms[i].pvm->name, name))
			return &lab->vms[i];
	return NULL;
}

struct lab *lab_plugin_vm_lab(const struct lab_vm *vm) { return vm->lab; }
const char *lab_plugin_vm_name(const struct lab_vm *vm) { return vm->pvm->name; }
const struct plan_vm *lab_plugin_vm_plan(const struct lab_vm *vm) { return vm->pvm; }
enum lab_vm_state lab_plugin_vm_state(const struct lab_vm *vm) { return vm->state; }
pid_t lab_plugin_vm_pid(const struct lab_vm *vm) { return vm->pid; }
const char *lab_plugin_vm_dir(const struct lab_vm *vm) { return vm->dir; }
uint32_t lab_plugin_vm_uid(const struct lab_vm *vm) { return vm->uid; }
uint32_t lab_plugin_helper_uid(const struct lab *lab) { return lab->helper_uid; }

const char *lab_plugin_vm_tap(const struct lab_vm *vm, size_t k)
{
	return k < vm->pvm->n_nics ? vm->pvm->nics[k].tap : NULL;
}

void lab_plugin_vm_services_ready(struct lab_vm *vm)
{
	vm->t_role = util_mono_ns();
}

int lab_plugin_vm_mark(struct lab_vm *vm, const char *phase, const char *span_key)
{
	if (vm->n_marks >= LAB_PLUGIN_MAX_MARKS)
		return -ENOSPC;
	vm->marks[vm->n_marks++] = (struct lab_vm_mark){ .phase = phase, .span_key = span_key,
							 .t = util_mono_ns() };
	return 0;
}

int lab_plugin_vm_probe_started(const struct lab_vm *vm) { return vm->probe_started; }
void lab_plugin_vm_set_probe_started(struct lab_vm *vm) { vm->probe_started = 1; }
int lab_plugin_vm_filter_applied(const struct lab_vm *vm) { return vm->filter_applied; }

void lab_plugin_vm_set_filter_ruleset(struct lab_vm *vm, char *ruleset)
{
	if (vm->filter_ruleset != ruleset)
		free(vm->filter_ruleset);
	vm->filter_ruleset = ruleset;
}

void lab_plugin_vm_set_filter_applied(struct lab_vm *vm)
{
	vm->filter_applied = 1;
	vm->t_filter = util_mono_ns();
}

void *lab_plugin_vm_role_state(const struct lab_vm *vm) { return vm->role_state; }

void lab_plugin_vm_set_role_state(struct lab_vm *vm, void *state, void (*free_fn)(void *))
{
	if (vm->role_state && vm->role_state_free && vm->role_state != state)
		vm->role_state_free(vm->role_state);
	vm->role_state = state;
	vm->role_state_free = free_fn;
}
