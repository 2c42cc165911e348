/* SPDX-License-Identifier: MIT */
/* scenario_validate.c: semantic checks on a typed scenario (refs, subnets, checks).
 *
 * scenario_parse.c has already enforced shapes, types, per-value ranges, name
 * syntax and unique mapping keys; what is left needs the whole model: does a
 * name refer to something that exists, do subnets fit the lab range and not
 * collide. What only one role, check kind or host service knows is asked of
 * its schema table (schema.h), in table order. Every error points at the reference or value the user must edit.
 * Dependency cycles are left to plan_build(), which orders the VMs anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scenario/scenario_internal.h"
#include "scenario/schema.h"

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
int scenario_validate_unknown(const struct scenario *scn, struct scn_diag *diag,
			      const struct scn_ref *ref, const char *where, const char *key,
			      int networks)
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
	/* every role judges its own keys, on its vms and on the others */
	for (i = 0; i < scn_n_role_schemas; i++) {
		const struct scn_role_schema *r = scn_role_schemas[i];
		int rc = r->validate_vm ? r->validate_vm(scn, vm, where, diag) : 0;

		if (rc)
			return rc;
	}
	return 0;
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

/* While_stopped is generic: a vm, not the one running the check. Kinds that
 * judge the whole run refuse it in their own validate. */
static int scenario_validate_check(const struct scenario *scn, size_t idx, struct scn_diag *diag)
{
	const struct scn_check *chk = &scn->checks[idx];
	const struct scn_check_schema *cs = scn_schema_check(chk->kind);
	char where[64];
	int rc;

	snprintf(where, sizeof(where), "check #%zu", idx + 1);
	if (!cs->own_while_stopped && chk->while_stopped.name) {
		if (!scenario_find_vm(scn, chk->while_stopped.name))
			return scenario_validate_unknown(scn, diag, &chk->while_stopped, where,
							 "while_stopped", 0);
		if (!strcmp(chk->while_stopped.name, chk->from.name))
			return scn_diag_set(diag, chk->while_stopped.loc, "%s: while_stopped: the vm "
					    "running the check cannot be stopped", where);
	}
	rc = cs->validate ? cs->validate(scn, chk, where, diag) : 0;
	return rc ? rc : scenario_validate_check_name(scn, idx, where, diag);
}

/* Host services first (what each needs, then its own rules), then the
 * roles' early rules, then policy targets: vms or names services provide. */
static int scenario_validate_services(const struct scenario *scn, struct scn_diag *diag)
{
	size_t i;
	int rc;

	for (i = 0; i < scn_n_service_schemas; i++) {
		const struct scn_service_schema *s = scn_service_schemas[i];

		rc = s->validate_networks ? s->validate_networks(scn, diag) : 0;
		if (rc)
			return rc;
	}
	for (i = 0; i < scn_n_service_schemas; i++) {
		const struct scn_service_schema *s = scn_service_schemas[i];

		if (!(scn->services & (1u << i)) || !s->needs || s->needs > scn_n_service_schemas ||
		    (scn->services & (1u << (s->needs - 1))))
			continue;
		return scn_diag_set(diag, scn->services_loc, "fixtures: %s needs %s (%s)", s->name,
				    scn_service_schemas[s->needs - 1]->name, s->needs_why);
	}
	for (i = 0; i < scn_n_service_schemas; i++) {
		const struct scn_service_schema *s = scn_service_schemas[i];

		rc = s->validate ? s->validate(scn, diag) : 0;
		if (rc)
			return rc;
	}
	for (i = 0; i < scn->n_vms; i++) {
		size_t r;

		for (r = 0; r < scn_n_role_schemas; r++) {
			const struct scn_role_schema *rs = scn_role_schemas[r];

			rc = rs->validate_vm_early ? rs->validate_vm_early(scn, &scn->vms[i], diag) : 0;
			if (rc)
				return rc;
		}
	}
	for (i = 0; i < scn->n_policy; i++) {
		const struct scn_policy_rule *r = &scn->policy[i];

		if (!scn_schema_service_ref(r->from.name) && !scenario_find_vm(scn, r->from.name))
			return scenario_validate_unknown(scn, diag, &r->from, "policy rule", "from", 0);
		if (!scn_schema_service_ref(r->to.name) && !scenario_find_vm(scn, r->to.name))
			return scenario_validate_unknown(scn, diag, &r->to, "policy rule", "to", 0);
	}
	return 0;
}

int scenario_validate(const struct scenario *scn, struct scn_diag *diag)
{
	size_t i;
	int rc;

	rc = scenario_validate_services(scn, diag);
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
