/* SPDX-License-Identifier: MIT */
/* role_schemas.h: the VM roles' part of the scenario format.
 *
 * scn_role_schemas[] (scenario/schema.h) lists the roles in id order; the id
 * is what scn_vm.role holds and what the runtime role tables index by, so
 * the order below never changes and a new role goes at the end.
 *
 *   app          a plain workstation VM (the default)
 *   router       forwards between its NICs; accepts filter: (scenario.h)
 *   tor-gateway  transparent Tor proxy for its LAN; accepts
 *                gateway: strict|leaky|open-output (scn_vm.role_opt)
 */
#ifndef UVMLAB_ROLES_ROLE_SCHEMAS_H
#define UVMLAB_ROLES_ROLE_SCHEMAS_H

#include "scenario/schema.h"

enum role_id { ROLE_APP = 0, ROLE_ROUTER, ROLE_TOR_GATEWAY };

/* tor-gateway behaviour, in scn_vm.role_opt: strict = Whonix-style
 * (transparent proxy only, no forwarding, only the tor user may send);
 * leaky = a deliberately broken gateway that forwards and NATs its LAN;
 * open-output = strict toward the LAN but its own output is not limited to
 * the tor user. The last two are the mutations that the leak checks and the
 * guest probe must catch. */
enum gateway_mode { GATEWAY_STRICT = 0, GATEWAY_LEAKY, GATEWAY_OPEN_OUTPUT };

/* The words of gateway: in id order. */
extern const struct scn_names role_schema_gateway_modes;

#endif
