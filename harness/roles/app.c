/* SPDX-License-Identifier: MIT */
/* app.c: the app role: a plain VM; once ready it resolves through whatever its default route offers. */
#include <string.h>

#include "lab/lab_plugin.h"
#include "roles/role.h"

/* resolv.conf from the role of the VM that owns its default route. */
static int app_services(struct lab *lab, struct lab_vm *vm)
{
	const struct plan *plan = lab_plugin_plan(lab);
	const struct plan_vm *pvm = lab_plugin_vm_plan(vm);
	char line[64], ip[16];
	uint32_t dns;
	size_t v, k;

	if (!pvm->default_route)
		return 0;
	for (v = 0; v < plan->n_vms; v++) {
		const struct plan_vm *gw = &plan->vms[v];
		const struct role_ops *ops = role_get(gw->role);

		if (!ops || !ops->offer_dns)
			continue;
		for (k = 0; k < gw->n_nics; k++) {
			if (gw->nics[k].addr != pvm->default_route)
				continue;
			if (!ops->offer_dns(plan, gw, pvm->default_route, &dns))
				break;
			plan_fmt_addr(dns, ip);
			snprintf(line, sizeof(line), "nameserver %s\n", ip);
			return lab_write_file(lab, pvm->name, "/etc/resolv.conf", 0644, line,
					      strlen(line));
		}
	}
	return 0;
}

const struct role_ops role_app = {
	.name = "app",
	.image = "app",
	.services = app_services,
};
