/* SPDX-License-Identifier: MIT */
/* roles.c: the role registry, the drivers the lab calls, and helpers shared by roles. */
#include "roles/role_schemas.h"
#include "roles/role.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lab/lab_plugin.h"
#include "roles/roles_internal.h"
#include "base/util.h"

extern const struct role_ops role_app, role_router, role_tor_gateway;

/* Indexed by role id: the value the scenario parser stores in scn_vm.role. */
const struct role_ops *const role_table[] = {
	[ROLE_APP] = &role_app,
	[ROLE_ROUTER] = &role_router,
	[ROLE_TOR_GATEWAY] = &role_tor_gateway,
};
const size_t role_table_len = sizeof(role_table) / sizeof(role_table[0]);

int roles_holds_dependents(const struct lab_vm *vm)
{
	const struct role_ops *ops = role_get(lab_plugin_vm_plan(vm)->role);

	return ops && ops->holds_dependents && ops->holds_dependents(vm);
}

int roles_release_dependents(struct lab *lab, role_prepare_fn prepare)
{
	const struct plan *plan = lab_plugin_plan(lab);
	size_t i;
	int ret;

	for (i = 0; i < lab_plugin_vm_count(lab); i++) {
		struct lab_vm *vm = lab_plugin_vm(lab, plan->order[i]);
		const struct role_ops *ops = role_get(lab_plugin_vm_plan(vm)->role);

		if (lab_plugin_vm_state(vm) != LAB_VM_READY || !roles_holds_dependents(vm) ||
		    !ops->release_dependents)
			continue;
		ret = prepare ? prepare(lab, vm) : 0;
		if (!ret)
			ret = ops->release_dependents(lab, vm);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int roles_start_services(struct lab *lab, role_prepare_fn prepare)
{
	const struct plan *plan = lab_plugin_plan(lab);
	size_t i;
	int ret;

	for (i = 0; i < lab_plugin_vm_count(lab); i++) {
		struct lab_vm *vm = lab_plugin_vm(lab, plan->order[i]);
		const struct role_ops *ops = role_get(lab_plugin_vm_plan(vm)->role);

		if (lab_plugin_vm_state(vm) != LAB_VM_READY)
			continue;
		/* first, so what watches the VM sees everything its services send */
		ret = prepare ? prepare(lab, vm) : 0;
		if (!ret && ops && ops->services)
			ret = ops->services(lab, vm);
		if (ret < 0)
			return ret;
		lab_plugin_vm_services_ready(vm);
	}
	return 0;
}

int roles_cat(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return -ENOSPC;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *off) {
		*off = len;
		return -ENOSPC;
	}
	*off += (size_t)n;
	return 0;
}

int roles_exec(struct lab *lab, const char *vm, const char *const *argv)
{
	struct agent_exec_result r = { 0 };
	int ret = lab_exec(lab, vm, argv, ROLES_EXEC_MS, &r);

	if (ret < 0)
		return ret;
	if (r.status || r.timed_out) {
		lab_set_err(lab, "vm \"%s\": %s exited %u%s: %.700s", vm, argv[0], r.status,
			    r.timed_out ? " (timed out)" : "", r.err_len ? (char *)r.err : r.out_len ? (char *)r.out : "");
		ret = -EIO;
	}
	agent_exec_result_release(&r);
	return ret;
}

int roles_nft(struct lab *lab, const char *vm, const char *rules)
{
	const char *argv[] = { ROLES_NFT, "-f", "/run/uvmlab-role.nft", NULL };
	int ret = lab_write_file(lab, vm, "/run/uvmlab-role.nft", 0600, rules, strlen(rules));

	return ret < 0 ? ret : roles_exec(lab, vm, argv);
}

int roles_sysctl_forward(struct lab *lab, const char *vm, int on)
{
	const char *argv[] = { "sh", "-c", on ? "echo 1 > /proc/sys/net/ipv4/ip_forward" :
			       "echo 0 > /proc/sys/net/ipv4/ip_forward; "
			       "for f in /proc/sys/net/ipv6/conf/*/forwarding; do "
			       "[ -e \"$f\" ] && echo 0 > \"$f\"; done; true", NULL };

	return roles_exec(lab, vm, argv);
}
