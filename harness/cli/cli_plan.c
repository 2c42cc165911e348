/* SPDX-License-Identifier: MIT */
/* cli_plan.c: `uvmlab plan FILE [--json]`: the address plan, before anything runs. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "services/service_schemas.h"

/* The fake internet's gateway (the "ISP") on a network with internet: true:
 * its last host (plan.c keeps it free). 0 on other networks. */
static uint32_t cli_plan_isp(const struct scn_network *net)
{
	return (net->services & SERVICE_INTERNET) ? net->subnet + (1u << (32 - net->prefix)) - 2 : 0;
}

/* Whether VM's default route GW lies on network NET of the plan. */
static int cli_plan_gw_on(const struct plan *plan, uint32_t net, uint32_t gw)
{
	const struct scn_network *n = plan->nets[net].scn;
	uint32_t mask = ~0u << (32 - n->prefix);

	return gw && (gw & mask) == n->subnet;
}

static const char *cli_plan_role(unsigned int r)
{
	return scn_role_name(r);
}

static json_t *cli_plan_json(const char *path, const struct plan *plan)
{
	const struct scenario *scn = plan->scn;
	json_t *root, *nets = json_array(), *vms = json_array(), *order = json_array();
	char a[16], b[24], mac[18];
	size_t i, k;

	for (i = 0; i < plan->n_nets; i++) {
		const struct scn_network *n = plan->nets[i].scn;
		json_t *o;

		plan_fmt_addr(n->subnet, a);
		snprintf(b, sizeof(b), "%s/%u", a, n->prefix);
		o = json_pack("{s:s,s:s,s:s}", "name", plan->nets[i].name, "subnet", b,
			      "bridge", plan->nets[i].bridge);
		if (cli_plan_isp(n)) {
			plan_fmt_addr(cli_plan_isp(n), a);
			json_object_set_new(o, "internet_gateway", json_string(a));
		}
		json_array_append_new(nets, o);
	}
	for (i = 0; i < plan->n_vms; i++) {
		const struct plan_vm *vm = &plan->vms[i];
		json_t *nics = json_array(), *deps = json_array();

		for (k = 0; k < vm->n_nics; k++) {
			const struct plan_nic *nic = &vm->nics[k];

			snprintf(b, sizeof(b), "eth%zu", k);
			plan_fmt_addr(nic->addr, a);
			plan_fmt_mac(nic->mac, mac);
			json_array_append_new(nics, json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "nic", b,
				"network", plan->nets[nic->net].name, "mac", mac, "address", a,
				"prefix", nic->prefix, "tap", nic->tap));
		}
		for (k = 0; k < vm->n_deps; k++)
			json_array_append_new(deps, json_string(plan->vms[vm->deps[k]].name));
		plan_fmt_addr(vm->default_route, a);
		json_array_append_new(vms, json_pack("{s:s,s:s,s:o,s:o,s:b,s:o,s:i,s:o}",
			"name", vm->name, "role", cli_plan_role(vm->role),
			"vsock_cid", scn->has_vsock ? json_integer(vm->cid) : json_null(),
			"gateway", vm->default_route ? json_string(a) : json_null(), "forward", vm->forward,
			"depends_on", deps, "start_wave", vm->level, "nics", nics));
	}
	for (i = 0; i < plan->n_vms; i++)
		json_array_append_new(order, json_string(plan->vms[plan->order[i]].name));
	root = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "schema", "uvmlab.plan/1", "scenario",
			 scn->name, "file", path, "networks", nets, "vms", vms, "start_order", order);
	return root;
}

static void cli_plan_text(FILE *f, const char *path, const struct plan *plan)
{
	const struct scenario *scn = plan->scn;
	char a[16], sub[24], mac[18], gw[16], esc[4096];
	size_t i, k;

	fprintf(f, "plan %s (%s): %zu network(s), %zu VM(s)\n", scn->name,
		cli_esc(path, esc, sizeof(esc)), plan->n_nets, plan->n_vms);
	if (plan->n_nets) {
		fprintf(f, "\n%-12s %-18s %-15s %s\n", "NETWORK", "SUBNET", "BRIDGE", "INTERNET GATEWAY");
		for (i = 0; i < plan->n_nets; i++) {
			const struct scn_network *n = plan->nets[i].scn;

			plan_fmt_addr(n->subnet, a);
			snprintf(sub, sizeof(sub), "%s/%u", a, n->prefix);
			plan_fmt_addr(cli_plan_isp(n), a);
			fprintf(f, "%-12s %-18s %-15s %s\n", plan->nets[i].name, sub, plan->nets[i].bridge,
				cli_plan_isp(n) ? a : "-");
		}
	}
	fprintf(f, "\n%-16s %-4s %-12s %-17s %-18s %-6s %-4s %s\n", "VM", "NIC", "NETWORK", "MAC",
		"ADDRESS", "TAP", "CID", "GATEWAY");
	for (i = 0; i < plan->n_vms; i++) {
		const struct plan_vm *vm = &plan->vms[i];
		char cid[12];

		snprintf(cid, sizeof(cid), "%u", vm->cid);
		if (!scn->has_vsock)
			snprintf(cid, sizeof(cid), "-");
		plan_fmt_addr(vm->default_route, gw);
		if (!vm->n_nics)
			fprintf(f, "%-16s %-4s %-12s %-17s %-18s %-6s %-4s %s\n", vm->name, "-", "-", "-",
				"-", "-", cid, "-");
		for (k = 0; k < vm->n_nics; k++) {
			const struct plan_nic *nic = &vm->nics[k];
			char eth[24];

			snprintf(eth, sizeof(eth), "eth%zu", k);
			plan_fmt_addr(nic->addr, a);
			snprintf(sub, sizeof(sub), "%s/%u", a, nic->prefix);
			plan_fmt_mac(nic->mac, mac);
			/* the default route shows on the NIC it leaves by */
			fprintf(f, "%-16s %-4s %-12s %-17s %-18s %-6s %-4s %s\n", vm->name, eth,
				plan->nets[nic->net].name, mac, sub, nic->tap, cid,
				cli_plan_gw_on(plan, nic->net, vm->default_route) ? gw : "-");
		}
	}
	fprintf(f, "\nstart order:");
	for (i = 0; i < plan->n_vms; i++) {
		const struct plan_vm *vm = &plan->vms[plan->order[i]];

		fprintf(f, "%s%s (wave %u)", i ? ", " : " ", vm->name, vm->level);
	}
	fprintf(f, "\n%s", scn->has_vsock ? "" :
		"no vsock: section, so no VM gets a vsock device (CID -)\n");
}

int cli_plan(int argc, char **argv)
{
	struct cli_opts o;
	struct scenario *scn = NULL;
	struct plan *plan = NULL;
	json_t *root;
	int first, code;

	code = cli_parse("plan", argc, argv, &o, &first);
	if (code)
		return code;
	if (first != argc - 1) {
		util_err("plan: expected one scenario FILE (see uvmlab --help)");
		return CLI_EXIT_USAGE;
	}
	code = cli_load(argv[first], &scn, &plan);
	if (code)
		return code;
	if (o.json) {
		root = cli_plan_json(argv[first], plan);
		if (!root || json_dumpf(root, stdout, JSON_INDENT(2)) < 0) {
			util_err("plan: out of memory");
			code = CLI_EXIT_LAB;
		}
		putchar('\n');
		json_decref(root);
	} else {
		cli_plan_text(stdout, argv[first], plan);
	}
	plan_free(plan);
	scenario_free(scn);
	return code;
}
