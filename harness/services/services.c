/* SPDX-License-Identifier: MIT */
/* services.c: the registry of host services, in start order. */
#include "services/service.h"

#include <errno.h>
#include <string.h>

#include "probes/lab_containment.h"
#include "probes/lab_flows.h"
#include "services/lab_services.h"

/* The private Tor network runs in the fake internet's namespace: after it.
 * Containment looks at every namespace once those exist, before the first
 * VM. The flow recorder attaches to taps as they appear: its place is free. */
static const struct service_ops *const services_all[] = {
	&lab_vsock_service,
	&lab_internet_service,
	&lab_tor_service,
	&lab_containment_service,
	&lab_flows_service,
};

const struct service_ops *const *services_registry(size_t *n)
{
	*n = sizeof(services_all) / sizeof(services_all[0]);
	return services_all;
}

int services_wait(struct lab *lab, const char *name, int timeout_s)
{
	size_t n, i;
	const struct service_ops *const *all = services_registry(&n);

	for (i = 0; i < n; i++) {
		if (strcmp(all[i]->name, name))
			continue;
		if (!all[i]->wait || !lab_service_wanted(lab, all[i]))
			return 0;
		return all[i]->wait(lab, lab_service_state(lab, all[i]), timeout_s);
	}
	return -ENOENT;
}
