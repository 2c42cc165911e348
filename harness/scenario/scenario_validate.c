/* SPDX-License-Identifier: MIT */
/* scenario_validate.c: semantic checks on a typed scenario (refs, subnets, checks).
 *
 * scenario_parse.c has already enforced shapes, types, per-value ranges, name
 * syntax and unique mapping keys; what is left needs the whole model: does a
 * name refer to something that exists, do subnets fit the lab range and not
 * collide. Every error points at the reference or value the user must edit.
 * Dependency cycles are left to plan_build(), which orders the VMs anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scenario/diag.h"
#include "scenario/scenario_internal.h"

static uint32_t scenario_validate_mask(uint32_t prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? UINT32_MAX : UINT32_MAX << (32 - prefix);
}

static void scenario_validate_cidr(uint32_t addr, uint32_t prefix, char *out, size_t len)
{
	snprintf(out, len, "%" PRIu32 ".%" PRIu32 ".%" PRIu32 ".%" PRIu32 "/%" PRIu32,
		 addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff, prefix);
}

static int scenario_validate_networks(const struct scenario *scn, struct scn_diag *diag)
{
	size_t i, j;

	for (i = 0; i < scn->n_networks; i++) {
		const struct scn_network *net = &scn->networks[i];
		uint32_t mask = scenario_validate_mask(net->prefix);
		char cidr[32], fixed[32];
		int rc;

		scenario_validate_cidr(net->subnet, net->prefix, cidr, sizeof(cidr));
		if (net->prefix < SCN_MIN_PREFIX || net->prefix > SCN_MAX_PREFIX)
			return scn_diag_set(diag, net->subnet_loc, "network \"%s\": subnet %s: prefix "
					    "/%u is out of range (%u..%u)", net->name, cidr,
					    (unsigned int)net->prefix, SCN_MIN_PREFIX, SCN_MAX_PREFIX);
		/* Lab links must stay inside the benchmarking range so that no lab
		 * address can ever shadow a real one on the host. */
		if ((net->subnet & scenario_validate_mask(SCN_LAB_PREFIX)) != SCN_LAB_NET)
			return scn_diag_set(diag, net->subnet_loc, "network \"%s\": subnet %s is "
					    "outside the lab range 198.18.0.0/15", net->name, cidr);
		if (net->subnet & ~mask) {
			scenario_validate_cidr(net->subnet & mask, net->prefix, fixed, sizeof(fixed));
			rc = scn_diag_set(diag, net->subnet_loc, "network \"%s\": subnet %s has host "
					  "bits set", net->name, cidr);
			snprintf(diag->hint, sizeof(diag->hint), "did you mean \"%s\"?", fixed);
			return rc;
		}
		for (j = 0; j < i; j++) {
			const struct scn_network *o = &scn->networks[j];
			uint32_t m = scenario_validate_mask(o->prefix < net->prefix ?
							    o->prefix : net->prefix);
			char ocidr[32];

			if ((o->subnet & m) != (net->subnet & m))
				continue;
			scenario_validate_cidr(o->subnet, o->prefix, ocidr, sizeof(ocidr));
			return scn_diag_set(diag, net->subnet_loc, "network \"%s\": subnet %s overlaps "
					    "%s of network \"%s\" (%" PRIu32 ":%" PRIu32 ")",
					    net->name, cidr, ocidr, o->name, o->subnet_loc.line,
					    o->subnet_loc.col);
		}
	}
	return 0;
}

/* Report REF as unknown, with a did-you-mean over the names that do exist. */
static int scenario_validate_unknown(const struct scenario *scn, struct scn_diag *diag,
				     const struct scn_ref *ref, const char *where,
				     const char *key, int networks)
{
	const char *cands[SCN_MAX_VMS > SCN_MAX_NETWORKS ? SCN_MAX_VMS : SCN_MAX_NETWORKS];
	size_t n = networks ? scn->n_networks : scn->n_vms;
	char q[256];
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		cands[i] = networks ? scn->networks[i].name : scn->vms[i].name;
	scn_diag_quote(ref->name, strlen(ref->name), q, sizeof(q));
	rc = scn_diag_set(diag, ref->loc, "%s: %s: unknown %s %s", where, key,
			  networks ? "network" : "vm", q);
	scn_diag_suggest(diag, ref->name, cands, n);
	return rc;
}

/* Find a repeat of REFS[I] among the entries before it. */
static const struct scn_ref *scenario_validate_repeat(const struct scn_ref *refs, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (!strcmp(refs[j].name, refs[i].name))
			return &refs[j];
	return NULL;
}

/* A filter endpoint names a VM with addresses or a network, never both and
 * never the router itself: its own traffic is not forwarded, so such a rule
 * could never match and would only look like protection. */
static int scenario_validate_filter_ref(const struct scenario *scn, const struct scn_vm *router,
					const struct scn_ref *ref, const char *where,
					const char *key, struct scn_diag *diag)
{
	const char *cands[SCN_MAX_VMS + SCN_MAX_NETWORKS];
	const struct scn_vm *vm;
	const struct scn_network *net;
	size_t i, n = 0;
	char q[256];
	int rc;

	if (!ref->name)
		return 0;
	vm = scenario_find_vm(scn, ref->name);
	net = scenario_find_network(scn, ref->name);
	if (vm && net)
		return scn_diag_set(diag, ref->loc, "%s: %s: \"%s\" names both a vm and a network; "
				    "rename one of them", where, key, ref->name);
	if (vm == router)
		return scn_diag_set(diag, ref->loc, "%s: %s: the router itself: the filter sees only "
				    "traffic it forwards, never its own", where, key);
	if (vm && vm->n_nics == 0)
		return scn_diag_set(diag, ref->loc, "%s: %s: vm \"%s\" has no nics, so no address "
				    "to filter", where, key, vm->name);
	if (vm || net)
		return 0;
	for (i = 0; i < scn->n_vms; i++)
		cands[n++] = scn->vms[i].name;
	for (i = 0; i < scn->n_networks; i++)
		cands[n++] = scn->networks[i].name;
	scn_diag_quote(ref->name, strlen(ref->name), q, sizeof(q));
	rc = scn_diag_set(diag, ref->loc, "%s: %s: unknown vm or network %s", where, key, q);
	scn_diag_suggest(diag, ref->name, cands, n);
	return rc;
}

static int scenario_validate_filter(const struct scenario *scn, const struct scn_vm *vm,
				    const char *vm_where, struct scn_diag *diag)
{
	char where[112];
	size_t i;
	int rc;

	if (!vm->has_filter)
		return 0;
	if (vm->role != SCN_ROLE_ROUTER) {
		rc = scn_diag_set(diag, vm->filter.loc, "%s: filter: only for role router (it "
				  "filters what a router forwards), not role %s", vm_where,
				  scn_role_name(vm->role));
		snprintf(diag->hint, sizeof(diag->hint), "add role: router");
		return rc;
	}
	for (i = 0; i < vm->filter.n_rules; i++) {
		const struct scn_filter_rule *r = &vm->filter.rules[i];

		snprintf(where, sizeof(where), "%s filter rule #%zu", vm_where, i + 1);
		rc = scenario_validate_filter_ref(scn, vm, &r->from, where, "from", diag);
		if (!rc)
			rc = scenario_validate_filter_ref(scn, vm, &r->to, where, "to", diag);
		if (rc)
			return rc;
	}
	return 0;
}

static int scenario_validate_vm(const struct scenario *scn, const struct scn_vm *vm,
				struct scn_diag *diag)
{
	const struct scn_ref *first;
	char where[64];
	size_t i;

	snprintf(where, sizeof(where), "vm \"%s\"", vm->name);
	for (i = 0; i < vm->n_nics; i++) {
		const struct scn_ref *nic = &vm->nics[i];

		if (!scenario_find_network(scn, nic->name))
			return scenario_validate_unknown(scn, diag, nic, where, "nics", 1);
		/* Two NICs on one bridge would give the VM two addresses in one
		 * subnet and make routing inside the guest ambiguous. */
		first = scenario_validate_repeat(vm->nics, i);
		if (first)
			return scn_diag_set(diag, nic->loc, "%s: network \"%s\" is listed twice in nics "
					    "(first at %" PRIu32 ":%" PRIu32 ")", where, nic->name,
					    first->loc.line, first->loc.col);
	}
	for (i = 0; i < vm->n_depends_on; i++) {
		const struct scn_ref *dep = &vm->depends_on[i];

		if (!strcmp(dep->name, vm->name))
			return scn_diag_set(diag, dep->loc, "%s depends on itself", where);
		if (!scenario_find_vm(scn, dep->name))
			return scenario_validate_unknown(scn, diag, dep, where, "depends_on", 0);
		first = scenario_validate_repeat(vm->depends_on, i);
		if (first)
			return scn_diag_set(diag, dep->loc, "%s: \"%s\" is listed twice in depends_on "
					    "(first at %" PRIu32 ":%" PRIu32 ")", where, dep->name,
					    first->loc.line, first->loc.col);
	}
	/* Debian ships only the compressed bzImage; direct PVH boot needs an
	 * uncompressed vmlinux with a PVH note, which only the lab kernel has. */
	if (vm->has_boot && vm->boot == SCN_BOOT_PVH && vm->kernel != SCN_KERNEL_LAB)
		return scn_diag_set(diag, vm->boot_loc, "%s: boot: pvh needs kernel: lab "
				    "(the stock kernel is a bzImage only)", where);
	return scenario_validate_filter(scn, vm, where, diag);
}

static int scenario_validate_check_name(const struct scenario *scn, size_t idx, const char *where,
					struct scn_diag *diag);

/* from/to are VMs or "host"; a vsock check needs the scenario's vsock section,
 * or the VMs would have no vsock device and the check could only fail. */
static int scenario_validate_vsock_check(const struct scenario *scn, const struct scn_check *chk,
					 const char *where, struct scn_diag *diag)
{
	int from_host = !strcmp(chk->from.name, SCN_HOST), to_host = !strcmp(chk->to.name, SCN_HOST);

	if (!scn->has_vsock)
		return scn_diag_set(diag, chk->loc, "%s: a vsock check needs a top-level vsock: section",
				    where);
	if (!from_host && !scenario_find_vm(scn, chk->from.name))
		return scenario_validate_unknown(scn, diag, &chk->from, where, "from", 0);
	if (!to_host && !scenario_find_vm(scn, chk->to.name))
		return scenario_validate_unknown(scn, diag, &chk->to, where, "to", 0);
	if (!strcmp(chk->from.name, chk->to.name))
		return scn_diag_set(diag, chk->to.loc, "%s: from and to are the same (\"%s\")",
				    where, chk->to.name);
	(void)from_host;
	(void)to_host;
	return 0;
}

/* Probe checks read what the guest probe saw: only router and tor-gateway
 * images carry uvmlab-gprobe, and pausing a VM would not change a finding. */
static int scenario_validate_probe_check(const struct scenario *scn, const struct scn_check *chk,
					 const char *where, struct scn_diag *diag)
{
	const struct scn_vm *vm = scenario_find_vm(scn, chk->from.name);
	size_t i;

	if (!vm)
		return scenario_validate_unknown(scn, diag, &chk->from, where, "vm", 0);
	if (vm->role == SCN_ROLE_APP) {
		scn_diag_set(diag, chk->from.loc, "%s: vm \"%s\" has role app, whose image carries "
			     "no guest probe", where, vm->name);
		snprintf(diag->hint, sizeof(diag->hint), "probe checks need role router or tor-gateway");
		return -EINVAL;
	}
	if (vm->n_nics == 0)
		return scn_diag_set(diag, chk->from.loc, "%s: vm \"%s\" has no nics to watch", where,
				    vm->name);
	if (chk->while_stopped.name)
		return scn_diag_set(diag, chk->while_stopped.loc, "%s: while_stopped does not apply "
				    "to probe checks (they judge the whole run)", where);
	if (!chk->network.name)
		return 0;
	if (!scenario_find_network(scn, chk->network.name))
		return scenario_validate_unknown(scn, diag, &chk->network, where, "network", 1);
	for (i = 0; i < vm->n_nics; i++)
		if (!strcmp(vm->nics[i].name, chk->network.name))
			return 0;
	return scn_diag_set(diag, chk->network.loc, "%s: vm \"%s\" has no nic on network \"%s\"",
			    where, vm->name, chk->network.name);
}

static int scenario_validate_check(const struct scenario *scn, size_t idx, struct scn_diag *diag)
{
	const struct scn_check *chk = &scn->checks[idx];
	const struct scn_vm *from, *to;
	char where[64];
	size_t i;

	snprintf(where, sizeof(where), "check #%zu", idx + 1);
	if (scn_check_is_probe(chk))
		return scenario_validate_probe_check(scn, chk, where, diag) ?:
		       scenario_validate_check_name(scn, idx, where, diag);
	if (chk->while_stopped.name) {
		if (!scenario_find_vm(scn, chk->while_stopped.name))
			return scenario_validate_unknown(scn, diag, &chk->while_stopped, where,
							 "while_stopped", 0);
		if (!strcmp(chk->while_stopped.name, chk->from.name))
			return scn_diag_set(diag, chk->while_stopped.loc, "%s: while_stopped: the vm "
					    "running the check cannot be stopped", where);
	}
	if (chk->kind == SCN_CHECK_VSOCK)
		return scenario_validate_vsock_check(scn, chk, where, diag) ?:
		       scenario_validate_check_name(scn, idx, where, diag);
	if (chk->kind == SCN_CHECK_FETCH || chk->kind == SCN_CHECK_RESOLVE ||
	    !strcmp(chk->to.name, SCN_INTERNET)) {
		from = scenario_find_vm(scn, chk->from.name);
		if (!from)
			return scenario_validate_unknown(scn, diag, &chk->from, where, "from", 0);
		if (!scn->fixture_internet)
			return scn_diag_set(diag, chk->loc, "%s: checks toward the internet need "
					    "fixtures: [fake-internet]", where);
		if (from->n_nics == 0)
			return scn_diag_set(diag, chk->from.loc, "%s: vm \"%s\" has no nics to probe from",
					    where, from->name);
		return scenario_validate_check_name(scn, idx, where, diag);
	}
	from = scenario_find_vm(scn, chk->from.name);
	if (!from)
		return scenario_validate_unknown(scn, diag, &chk->from, where, "from", 0);
	to = scenario_find_vm(scn, chk->to.name);
	if (!to)
		return scenario_validate_unknown(scn, diag, &chk->to, where, "to", 0);
	if (from == to)
		return scn_diag_set(diag, chk->to.loc, "%s: from and to are the same vm \"%s\"",
				    where, to->name);
	/* A probe needs an interface at each end; without one the check could
	 * only ever report "blocked", which would be a false pass. */
	if (from->n_nics == 0)
		return scn_diag_set(diag, chk->from.loc, "%s: vm \"%s\" has no nics to probe from",
				    where, from->name);
	if (to->n_nics == 0)
		return scn_diag_set(diag, chk->to.loc, "%s: vm \"%s\" has no nics to probe",
				    where, to->name);
	if (chk->network.name) {
		if (!scenario_find_network(scn, chk->network.name))
			return scenario_validate_unknown(scn, diag, &chk->network, where,
							 "network", 1);
		for (i = 0; i < to->n_nics; i++)
			if (!strcmp(to->nics[i].name, chk->network.name))
				break;
		if (i == to->n_nics)
			return scn_diag_set(diag, chk->network.loc, "%s: vm \"%s\" has no nic on "
					    "network \"%s\"", where, to->name, chk->network.name);
	}
	return scenario_validate_check_name(scn, idx, where, diag);
}

/* Results are keyed by check name, so two checks may not share one. */
static int scenario_validate_check_name(const struct scenario *scn, size_t idx, const char *where,
					struct scn_diag *diag)
{
	const struct scn_check *chk = &scn->checks[idx];
	size_t i;
	int rc;

	for (i = 0; i < idx; i++) {
		if (strcmp(scn->checks[i].name, chk->name))
			continue;
		rc = scn_diag_set(diag, chk->loc, "%s: duplicate check name \"%s\" (first at %" PRIu32
				  ":%" PRIu32 ")", where, chk->name, scn->checks[i].loc.line,
				  scn->checks[i].loc.col);
		snprintf(diag->hint, sizeof(diag->hint), "give each check a distinct name:");
		return rc;
	}
	return 0;
}

static int scenario_validate_fixtures(const struct scenario *scn, struct scn_diag *diag)
{
	const struct scn_network *inet = NULL;
	size_t i;

	for (i = 0; i < scn->n_networks; i++) {
		if (!scn->networks[i].internet)
			continue;
		if (inet)
			return scn_diag_set(diag, scn->networks[i].loc, "network \"%s\": only one "
					    "network can lead to the internet (\"%s\" does already)",
					    scn->networks[i].name, inet->name);
		inet = &scn->networks[i];
	}
	if (scn->fixture_tor && !scn->fixture_internet)
		return scn_diag_set(diag, scn->fixtures_loc, "fixtures: tor-private-network needs "
				    "fake-internet (its exits resolve and connect there)");
	if (scn->fixture_internet && !inet)
		return scn_diag_set(diag, scn->fixtures_loc, "fixtures: fake-internet needs a network "
				    "with internet: true to reach it");
	if (inet && !scn->fixture_internet)
		return scn_diag_set(diag, inet->loc, "network \"%s\": internet: true needs "
				    "fixtures: [fake-internet]", inet->name);
	for (i = 0; i < scn->n_vms; i++)
		if (scn->vms[i].gateway_mode != SCN_GATEWAY_STRICT &&
		    scn->vms[i].role != SCN_ROLE_TOR_GATEWAY)
			return scn_diag_set(diag, scn->vms[i].loc, "vm \"%s\": gateway: only for "
					    "role tor-gateway", scn->vms[i].name);
	for (i = 0; i < scn->n_policy; i++) {
		const struct scn_policy_rule *r = &scn->policy[i];

		if (strcmp(r->from.name, SCN_INTERNET) && !scenario_find_vm(scn, r->from.name))
			return scenario_validate_unknown(scn, diag, &r->from, "policy rule", "from", 0);
		if (strcmp(r->to.name, SCN_INTERNET) && !scenario_find_vm(scn, r->to.name))
			return scenario_validate_unknown(scn, diag, &r->to, "policy rule", "to", 0);
	}
	return 0;
}

int scenario_validate(const struct scenario *scn, struct scn_diag *diag)
{
	size_t i;
	int rc;

	rc = scenario_validate_fixtures(scn, diag);
	if (rc)
		return rc;

	for (i = 0; i < scn->n_vsock_allow; i++) {
		const struct scn_vsock_pair *vp = &scn->vsock_allow[i];

		if (!scenario_find_vm(scn, vp->a.name))
			return scenario_validate_unknown(scn, diag, &vp->a, "vsock allow", "vm", 0);
		if (!scenario_find_vm(scn, vp->b.name))
			return scenario_validate_unknown(scn, diag, &vp->b, "vsock allow", "vm", 0);
		if (!strcmp(vp->a.name, vp->b.name))
			return scn_diag_set(diag, vp->b.loc, "vsock allow: a vm paired with itself");
	}

	rc = scenario_validate_networks(scn, diag);
	for (i = 0; rc == 0 && i < scn->n_vms; i++)
		rc = scenario_validate_vm(scn, &scn->vms[i], diag);
	for (i = 0; rc == 0 && i < scn->n_checks; i++)
		rc = scenario_validate_check(scn, i, diag);
	return rc;
}
