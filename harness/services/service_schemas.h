/* SPDX-License-Identifier: MIT */
/* service_schemas.h: the host services' part of the scenario format.
 *
 * scn_service_schemas[] (scenario/schema.h) lists the services a scenario
 * can ask for with fixtures: [...], in id order; bit ID of
 * scenario.services says it was asked for, bit ID of scn_network.services
 * that the service is attached to that network. The order never changes.
 *
 *   fake-internet        web and DNS servers standing in for the internet;
 *                        a network with internet: true leads to it (its
 *                        router address is the last host address), and
 *                        "internet" names it as a reach or policy target
 *   tor-private-network  a private Tor network (needs fake-internet, where
 *                        its exits resolve and connect)
 */
#ifndef UVMLAB_SERVICES_SERVICE_SCHEMAS_H
#define UVMLAB_SERVICES_SERVICE_SCHEMAS_H

#include "scenario/schema.h"

enum service_id { SERVICE_FAKE_INTERNET = 0, SERVICE_TOR_NETWORK };

#define SERVICE_MASK(id)      (1u << (id))
#define SERVICE_INTERNET      SERVICE_MASK(SERVICE_FAKE_INTERNET)
#define SERVICE_TOR           SERVICE_MASK(SERVICE_TOR_NETWORK)

/* The fake internet as a check or policy target. */
#define SERVICE_INTERNET_REF  "internet"

#endif
