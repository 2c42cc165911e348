/* SPDX-License-Identifier: MIT */
/* plan.c: deterministic addresses, MACs, names and start order from a scenario. */
#include "plan/plan.h"
#include "roles/role_schemas.h"
#include "services/service_schemas.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_DEFAULT_MEMORY_MIB 256u

uint32_t plan_default_boot_timeout_s(int kvm)
{
	/* A stock Debian kernel reaches the agent in ~5-10 s under TCG on 2 cores
	 * when two VMs boot at once; 120 s leaves room for slow CI without letting a
	 * hung boot (see qemu_machine.c) go unnoticed for long. */
	return kvm ? 30 : 120;
}

void plan_fmt_addr(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

void plan_fmt_mac(const uint8_t m[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

const struct plan_vm *plan_find_vm(const struct plan *plan, const char *name)
{
	size_t i;

	for (i = 0; i < plan->n_vms; i++)
		if (!strcmp(plan->vms[i].name, name))
			return &plan->vms[i];
	return NULL;
}

static int plan_net_index(const struct scenario *scn, const char *name)
{
	size_t i;

	for (i = 0; i < scn->n_networks; i++)
		if (!strcmp(scn->networks[i].name, name))
			return (int)i;
	return -1;
}

static int plan_vm_index(const struct scenario *scn, const char *name)
{
	size_t i;

	for (i = 0; i < scn->n_vms; i++)
		if (!strcmp(scn->vms[i].name, name))
			return (int)i;
	return -1;
}

/* A locally administered unicast MAC from sha256(scenario/vm/nic/salt): stable
 * across runs, distinct across scenarios so two labs never share a MAC. */
static void plan_mac(const char *scn, const char *vm, size_t nic, uint32_t salt, uint8_t mac[6])
{
	char in[256];
	uint8_t md[32];
	unsigned int mdlen = 0;
	int n;

	n = snprintf(in, sizeof(in), "%s/%s/%zu/%u", scn, vm, nic, salt);
	EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	mac[0] = 0x02; /* locally administered, unicast */
	memcpy(mac + 1, md, 5);
}

static int plan_mac_taken(const struct plan *plan, size_t upto_vm, size_t upto_nic,
			  const uint8_t mac[6])
{
	size_t v, n;

	for (v = 0; v <= upto_vm && v < plan->n_vms; v++)
		for (n = 0; n < plan->vms[v].n_nics; n++) {
			if (v == upto_vm && n >= upto_nic)
				break;
			if (!memcmp(plan->vms[v].nics[n].mac, mac, 6))
				return 1;
		}
	return 0;
}

/* Addresses: on each network routers come first (.1, .2, ...) so gateways
 * have the conventional low address, then the other VMs in declaration order. */
static int plan_addresses(struct plan *plan, struct scn_diag *diag)
{
	const struct scenario *scn = plan->scn;
	size_t ni, pass, v, k;

	for (ni = 0; ni < plan->n_nets; ni++) {
		const struct scn_network *net = &scn->networks[ni];
		uint32_t host = 1, max_host = (1u << (32 - net->prefix)) - 2;

		/* The fake internet's gateway (the "ISP") takes the last host. */
		if (net->services & SERVICE_INTERNET)
			max_host--;

		for (pass = 0; pass < 2; pass++)
			for (v = 0; v < plan->n_vms; v++) {
				struct plan_vm *vm = &plan->vms[v];

				if ((pass == 0) != (vm->role == ROLE_ROUTER))
					continue;
				for (k = 0; k < vm->n_nics; k++) {
					if (vm->nics[k].net != ni)
						continue;
					if (host > max_host)
						return scn_diag_set(diag, net->subnet_loc,
							"subnet of network \"%s\" is too small for its %u VMs",
							net->name, host);
					vm->nics[k].addr = net->subnet + host++;
					vm->nics[k].prefix = net->prefix;
				}
			}
	}
	return 0;
}

/* VM's address on network NET, 0 if it has no NIC there. */
static uint32_t plan_addr_on(const struct plan_vm *vm, uint32_t net)
{
	size_t k;

	for (k = 0; k < vm->n_nics; k++)
		if (vm->nics[k].net == net)
			return vm->nics[k].addr;
	return 0;
}

/* The gateway a non-router VM finds on network NET: a tor gateway's LAN
 * address (a tor gateway's first NIC is its uplink; its other networks are
 * LANs whose only way out is Tor), else the first router there. 0 if none. */
static uint32_t plan_gateway_on(const struct plan *plan, const struct plan_vm *vm, uint32_t net)
{
	size_t r, k;
	uint32_t a;

	for (r = 0; r < plan->n_vms; r++) {
		const struct plan_vm *tg = &plan->vms[r];

		if (tg == vm || tg->role != ROLE_TOR_GATEWAY || !tg->n_nics)
			continue;
		for (k = 1; k < tg->n_nics; k++)
			if (tg->nics[k].net == net && tg->nics[k].net != tg->nics[0].net)
				return tg->nics[k].addr;
	}
	for (r = 0; r < plan->n_vms; r++)
		if (plan->vms[r].role == ROLE_ROUTER && (a = plan_addr_on(&plan->vms[r], net)))
			return a;
	return 0;
}

/* Default routes. A router with a NIC on a network with internet: true
 * routes to the fake internet's gateway (that network's last host); other
 * routers have none. A tor gateway routes through a router on its first
 * network that has one (its uplink) and never forwards. Any other VM takes, on its
 * first network that has one, a tor gateway's LAN address or a router. */
static void plan_gateways(struct plan *plan)
{
	const struct scenario *scn = plan->scn;
	size_t v, k;

	for (v = 0; v < plan->n_vms; v++) {
		struct plan_vm *vm = &plan->vms[v];

		/* a filtering router starts forwarding once its filter is in
		 * force (lab_role.c), so nothing crosses it unfiltered */
		vm->forward = vm->role == ROLE_ROUTER && !vm->scn->has_filter;
		if (vm->role == ROLE_ROUTER) {
			for (k = 0; k < vm->n_nics && !vm->gateway; k++) {
				const struct scn_network *net = &scn->networks[vm->nics[k].net];

				if (net->services & SERVICE_INTERNET)
					vm->gateway = net->subnet + (1u << (32 - net->prefix)) - 2;
			}
			continue;
		}
		if (vm->role == ROLE_TOR_GATEWAY) {
			size_t r;

			for (k = 0; k < vm->n_nics && !vm->gateway; k++)
				for (r = 0; r < plan->n_vms && !vm->gateway; r++)
					if (plan->vms[r].role == ROLE_ROUTER)
						vm->gateway = plan_addr_on(&plan->vms[r], vm->nics[k].net);
			continue;
		}
		for (k = 0; k < vm->n_nics && !vm->gateway; k++)
			vm->gateway = plan_gateway_on(plan, vm, vm->nics[k].net);
	}
}

/* The cycle closed when the VM on top of STACK (DEPTH entries) depends on
 * DEP, which is further down: name it whole ("c -> a -> b -> c", each VM
 * depending on the next) at the depends_on entry where it starts, the one of
 * DEP that names the next VM of the cycle. */
static int plan_cycle(const struct plan *plan, const uint32_t *stack, size_t depth, uint32_t dep,
		      struct scn_diag *diag)
{
	const struct plan_vm *head;
	char path[sizeof(diag->msg) - 32];
	size_t p = 0, i, d, len = 0;

	while (p < depth && stack[p] != dep)
		p++;
	head = &plan->vms[dep];
	for (i = p; i <= depth && len < sizeof(path); i++) {
		const char *name = plan->vms[i < depth ? stack[i] : dep].name;
		int n = snprintf(path + len, sizeof(path) - len, "%s%s", i > p ? " -> " : "", name);

		len += n > 0 ? (size_t)n : 0;
	}
	if (len >= sizeof(path))
		memcpy(path + sizeof(path) - 4, "...", 4);
	/* P + 1 < DEPTH: a VM depending on itself never gets this far */
	for (d = 0; d + 1 < head->n_deps && head->deps[d] != stack[p + 1]; d++)
		;
	return scn_diag_set(diag, head->scn->depends_on[d].loc,
			    "dependency cycle: %s (each VM depends on the next)", path);
}

/* Depth-first search for a cycle; STATE 0 new, 1 on the stack, 2 done. STACK
 * holds the VMs being visited, outermost first. */
static int plan_visit(struct plan *plan, uint32_t v, uint8_t *state, uint32_t *stack,
		      size_t depth, uint32_t *order, size_t *n_order, struct scn_diag *diag)
{
	struct plan_vm *vm = &plan->vms[v];
	size_t d;
	int ret;

	state[v] = 1;
	stack[depth++] = v;
	vm->level = 0;
	for (d = 0; d < vm->n_deps; d++) {
		uint32_t dep = vm->deps[d];

		if (state[dep] == 1)
			return plan_cycle(plan, stack, depth, dep, diag);
		if (state[dep] == 0) {
			ret = plan_visit(plan, dep, state, stack, depth, order, n_order, diag);
			if (ret < 0)
				return ret;
		}
		if (plan->vms[dep].level + 1 > vm->level)
			vm->level = plan->vms[dep].level + 1;
	}
	state[v] = 2;
	order[(*n_order)++] = v;
	return 0;
}

int plan_build(const struct scenario *scn, struct plan **out, struct scn_diag *diag)
{
	struct plan *plan;
	uint8_t *state = NULL;
	uint32_t *stack = NULL;
	size_t i, k, n_order = 0;
	int ret = -ENOMEM;

	plan = calloc(1, sizeof(*plan));
	if (!plan)
		return -ENOMEM;
	plan->scn = scn;
	plan->n_nets = scn->n_networks;
	plan->n_vms = scn->n_vms;
	plan->nets = calloc(scn->n_networks + 1, sizeof(*plan->nets));
	plan->vms = calloc(scn->n_vms + 1, sizeof(*plan->vms));
	plan->order = calloc(scn->n_vms + 1, sizeof(*plan->order));
	state = calloc(scn->n_vms + 1, 1);
	stack = calloc(scn->n_vms + 1, sizeof(*stack));
	if (!plan->nets || !plan->vms || !plan->order || !state || !stack)
		goto cleanup;
	plan->boot_timeout_s = scn->boot_timeout_s;

	for (i = 0; i < scn->n_networks; i++) {
		plan->nets[i].scn = &scn->networks[i];
		plan->nets[i].name = scn->networks[i].name;
		snprintf(plan->nets[i].bridge, PLAN_IFNAME_LEN, "br-%.12s", scn->networks[i].name);
	}
	for (i = 0; i < scn->n_vms; i++) {
		const struct scn_vm *sv = &scn->vms[i];
		struct plan_vm *vm = &plan->vms[i];

		vm->scn = sv;
		vm->name = sv->name;
		vm->index = (uint32_t)i;
		vm->role = sv->role;
		vm->machine = sv->has_machine ? sv->machine : scn->machine;
		vm->memory_mib = sv->memory_mib ? sv->memory_mib : PLAN_DEFAULT_MEMORY_MIB;
		vm->vcpus = sv->vcpus ? sv->vcpus : 1;
		vm->cid = 3 + (uint32_t)i;
		if (sv->n_nics > PLAN_MAX_NICS) {
			ret = scn_diag_set(diag, sv->loc, "vm \"%s\" has more than %d NICs",
					   sv->name, PLAN_MAX_NICS);
			goto cleanup;
		}
		vm->n_nics = sv->n_nics;
		for (k = 0; k < sv->n_nics; k++) {
			int ni = plan_net_index(scn, sv->nics[k].name);
			uint32_t salt = 0;

			if (ni < 0) {
				ret = scn_diag_set(diag, sv->nics[k].loc, "unknown network \"%s\"",
						   sv->nics[k].name);
				goto cleanup;
			}
			vm->nics[k].net = (uint32_t)ni;
			snprintf(vm->nics[k].tap, PLAN_IFNAME_LEN, "vm%un%u", (unsigned)(i & 0xffff), (unsigned)(k & 7));
			do
				plan_mac(scn->name, sv->name, k, salt++, vm->nics[k].mac);
			while (plan_mac_taken(plan, i, k, vm->nics[k].mac));
		}
		vm->deps = calloc(sv->n_depends_on + 1, sizeof(*vm->deps));
		if (!vm->deps)
			goto cleanup;
		vm->n_deps = sv->n_depends_on;
		for (k = 0; k < sv->n_depends_on; k++) {
			int di = plan_vm_index(scn, sv->depends_on[k].name);

			if (di < 0) {
				ret = scn_diag_set(diag, sv->depends_on[k].loc, "unknown vm \"%s\"",
						   sv->depends_on[k].name);
				goto cleanup;
			}
			if ((size_t)di == i) {
				ret = scn_diag_set(diag, sv->depends_on[k].loc,
						   "dependency cycle: vm \"%s\" depends on itself", sv->name);
				goto cleanup;
			}
			vm->deps[k] = (uint32_t)di;
		}
	}
	for (i = 0; i < plan->n_vms; i++) {
		if (state[i])
			continue;
		ret = plan_visit(plan, (uint32_t)i, state, stack, 0, plan->order, &n_order, diag);
		if (ret < 0)
			goto cleanup;
	}
	ret = plan_addresses(plan, diag);
	if (ret < 0)
		goto cleanup;
	plan_gateways(plan);
	*out = plan;
	plan = NULL;
	ret = 0;
cleanup:
	free(stack);
	free(state);
	plan_free(plan);
	return ret;
}

void plan_free(struct plan *plan)
{
	size_t i;

	if (!plan)
		return;
	for (i = 0; plan->vms && i < plan->n_vms; i++)
		free(plan->vms[i].deps);
	free(plan->vms);
	free(plan->nets);
	free(plan->order);
	free(plan);
}

int plan_target_addr(const struct plan *plan, const struct plan_vm *from,
		     const struct plan_vm *to, const char *network, uint32_t *addr)
{
	size_t i, j;

	if (network) {
		for (i = 0; i < to->n_nics; i++)
			if (!strcmp(plan->nets[to->nics[i].net].name, network)) {
				*addr = to->nics[i].addr;
				return 0;
			}
		return -ENOENT;
	}
	for (i = 0; i < to->n_nics; i++)
		for (j = 0; j < from->n_nics; j++)
			if (to->nics[i].net == from->nics[j].net) {
				*addr = to->nics[i].addr;
				return 0;
			}
	if (!to->n_nics)
		return -ENOENT;
	*addr = to->nics[0].addr;
	return 0;
}
