/* SPDX-License-Identifier: MIT */
/* service_schemas.c: the host services' entries and rules in the scenario format.
 *
 * Pure data and checks over a parsed scenario: starting the services is
 * lab_internet.c's business.
 */
#include <stdio.h>
#include <string.h>

#include "services/service_schemas.h"

#define SERVICE_SCHEMAS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* internet: true on more than one network would leave the fake internet's
 * router address ambiguous. */
static int service_schemas_internet_networks(const struct scenario *scn, struct scn_diag *diag)
{
	const struct scn_network *inet = NULL;
	size_t i;

	for (i = 0; i < scn->n_networks; i++) {
		if (!(scn->networks[i].services & SERVICE_INTERNET))
			continue;
		if (inet)
			return scn_diag_set(diag, scn->networks[i].loc, "network \"%s\": only one "
					    "network can lead to the internet (\"%s\" does already)",
					    scn->networks[i].name, inet->name);
		inet = &scn->networks[i];
	}
	return 0;
}

static int service_schemas_internet(const struct scenario *scn, struct scn_diag *diag)
{
	const struct scn_network *inet = NULL;
	size_t i;

	for (i = 0; i < scn->n_networks && !inet; i++)
		if (scn->networks[i].services & SERVICE_INTERNET)
			inet = &scn->networks[i];
	if ((scn->services & SERVICE_INTERNET) && !inet)
		return scn_diag_set(diag, scn->services_loc, "fixtures: fake-internet needs a network "
				    "with internet: true to reach it");
	if (inet && !(scn->services & SERVICE_INTERNET))
		return scn_diag_set(diag, inet->loc, "network \"%s\": internet: true needs "
				    "fixtures: [fake-internet]", inet->name);
	return 0;
}

static const struct scn_service_schema service_schema_fake_internet = {
	.name = "fake-internet",
	.net_key = "internet",
	.ref_name = SERVICE_INTERNET_REF,
	.ref_what = "the fake internet",
	.validate_networks = service_schemas_internet_networks,
	.validate = service_schemas_internet,
};

static const struct scn_service_schema service_schema_tor_network = {
	.name = "tor-private-network",
	.needs = SERVICE_FAKE_INTERNET + 1,
	.needs_why = "its exits resolve and connect there",
};

/* Index = enum service_id = bit in scenario.services. */
const struct scn_service_schema *const scn_service_schemas[] = {
	[SERVICE_FAKE_INTERNET] = &service_schema_fake_internet,
	[SERVICE_TOR_NETWORK] = &service_schema_tor_network,
};
const size_t scn_n_service_schemas = SERVICE_SCHEMAS_COUNT(scn_service_schemas);
