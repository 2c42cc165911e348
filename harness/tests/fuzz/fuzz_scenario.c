/* SPDX-License-Identifier: MIT */
/* fuzz_scenario.c: scenario_parse() on arbitrary bytes must never crash or leak.
 *
 * Beyond the sanitizers, a scenario that parses must honour the invariants
 * later stages rely on without re-checking them; breaking one aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario.h"
#include "roles/role_schemas.h"

static void fuzz_scenario_invariants(const struct scenario *scn)
{
	size_t i, j;

	if (!scn->name || scn->n_vms == 0)
		abort();
	for (i = 0; i < scn->n_networks; i++) {
		const struct scn_network *n = &scn->networks[i];
		uint32_t host = n->prefix >= 16 && n->prefix <= 30 ? ~(UINT32_MAX << (32 - n->prefix)) : 0;

		if (n->prefix < 16 || n->prefix > 30 || (n->subnet & host) ||
		    (n->subnet & 0xfffe0000u) != 0xc6120000u || n->loc.line == 0)
			abort();
	}
	for (i = 0; i < scn->n_vms; i++) {
		const struct scn_vm *vm = &scn->vms[i];

		if (scenario_find_vm(scn, vm->name) != vm || vm->n_nics > 8 || vm->vcpus > 16)
			abort();
		for (j = 0; j < vm->n_nics; j++)
			if (!scenario_find_network(scn, vm->nics[j].name))
				abort();
		for (j = 0; j < vm->n_depends_on; j++)
			if (!scenario_find_vm(scn, vm->depends_on[j].name) ||
			    !strcmp(vm->depends_on[j].name, vm->name))
				abort();
	}
	for (i = 0; i < scn->n_checks; i++) {
		const struct scn_check *c = &scn->checks[i];

		if (!c->name || !scenario_find_vm(scn, c->from.name) ||
		    !scenario_find_vm(scn, c->to.name) ||
		    (c->proto == SCN_PROTO_TCP || c->proto == SCN_PROTO_UDP) != (c->port != 0))
			abort();
	}
	/* what router_filter_ruleset() relies on */
	for (i = 0; i < scn->n_vms; i++) {
		const struct scn_vm *vm = &scn->vms[i];

		if (vm->has_filter && vm->role != ROLE_ROUTER)
			abort();
		for (j = 0; j < vm->filter.n_rules; j++) {
			const struct scn_filter_rule *r = &vm->filter.rules[j];
			const struct scn_ref *ends[2] = { &r->from, &r->to };

			if (r->port && r->proto != SCN_PROTO_TCP && r->proto != SCN_PROTO_UDP)
				abort();
			for (size_t e = 0; e < 2; e++) {
				const struct scn_vm *v = scenario_find_vm(scn, ends[e]->name);

				if (ends[e]->name && (!v == !scenario_find_network(scn, ends[e]->name) ||
						      v == vm || (v && v->n_nics == 0)))
					abort();
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scenario *scn = NULL;
	struct scn_diag diag;
	char line[1400];
	int rc;

	rc = scenario_parse("fuzz.yaml", (const char *)data, size, &scn, &diag);
	scn_diag_format(&diag, line, sizeof(line));
	/* Diagnostics are promised to be one line. */
	if (strchr(line, '\n') || strchr(line, '\r'))
		abort();
	if (rc == 0)
		fuzz_scenario_invariants(scn);
	else if (scn || (rc == -22 && diag.msg[0] == '\0'))
		abort();
	scenario_free(scn);
	return 0;
}
