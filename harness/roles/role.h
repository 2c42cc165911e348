/* SPDX-License-Identifier: MIT */
/* role.h: what a VM role is: its image, how the planner treats it, what it runs once ready.
 *
 * Each role is one const struct role_ops in its own file (roles/app.c,
 * roles/router.c, roles/tor_gateway.c), registered in role_table[]
 * (roles/roles.c) at the index of its role id: the number the scenario
 * parser stores in scn_vm.role (unsigned int). The planner (plan/), the
 * flow judge (checks/policy.c) and the lab core (lab/lab.c) reach roles only
 * through this table and the roles_*() drivers below, so none of them names
 * a role. Adding a role is one new file, one line in role_table[], its image
 * and its scenario name.
 *
 * A unit test may link its own role_table and role_table_len instead of
 * roles/roles.c: plan_build() then plans with the test's roles alone.
 */
#ifndef UVMLAB_ROLE_H
#define UVMLAB_ROLE_H

#include <stddef.h>
#include <stdint.h>

#include "plan/plan.h"
#include "scenario/scenario.h"

struct lab;
struct lab_vm;

/* Every hook may be NULL: the role then does not do that (its comment says
 * what NULL means). Planning hooks are pure functions of the scenario and the
 * plan built so far; live hooks run in the lab's supervisor with VM ready
 * (its agent answers) and return 0 or a negative errno with the lab's error
 * set (lab_set_err()). */
struct role_ops {
	const char *name;       /* the scenario's word for it: "router" */
	const char *image;      /* the guest image: IMAGES_DIR/IMAGE.cpio */

	/* --- planning (plan_build(), in this order) --- */

	/* Takes the lowest host addresses (.1, .2, ...) of each network it is
	 * on, before VMs of roles without it, so the VM others route through
	 * has the conventional low address. */
	int addr_first;
	/* Hosts at the top of scenario network NET that no VM may take (a
	 * router's upstream on a network with internet: true keeps the last
	 * one). Asked for every network, whether or not a VM has this role;
	 * the planner keeps the largest answer. NULL: none. */
	uint32_t (*reserved_top)(const struct scn_network *net);
	/* VM boots with IPv4 forwarding on (plan_vm.forward). NULL: off. */
	int (*boot_forward)(const struct plan_vm *vm);
	/* The address VM offers as default route to the other VMs on plan
	 * network NET (an index into plan->nets), 0 for none. NULL: none. */
	uint32_t (*route_offer)(const struct plan_vm *vm, uint32_t net);
	/* Among the offers on one network the lowest rank wins, then the
	 * first VM in declaration order. A VM whose role makes offers takes
	 * only offers ranked after its own: it routes upstream, never through
	 * a peer. Meaningless without route_offer. */
	uint32_t route_rank;
	/* VM's own default route (host order, 0 for none), used instead of
	 * any offer: a router's is its uplink's upstream. NULL: the best offer
	 * on VM's first network that has one. */
	uint32_t (*default_route)(const struct plan *plan, const struct plan_vm *vm);
	/* The nameserver a VM whose default route is ADDR (one of VM's own
	 * addresses) should use: 1 with *DNS set (host order), 0 if VM offers
	 * none. NULL: none. */
	int (*offer_dns)(const struct plan *plan, const struct plan_vm *vm, uint32_t addr,
			 uint32_t *dns);

	/* --- flow judging (checks/policy.c) --- */

	/* VM legitimately sends packets with other hosts' source addresses
	 * (it forwards): the flow judge does not call that spoofing. NULL: never. */
	int (*forwards)(const struct plan_vm *vm);

	/* --- live (lab/lab.c through the roles_*() drivers) --- */

	/* 1 while the VMs that depend on VM must not boot yet (a router whose
	 * filter is not in force). NULL: never. */
	int (*holds_dependents)(const struct lab_vm *vm);
	/* Called while holds_dependents() is 1: do what dependents wait for
	 * (put the filter in force), after which it is 0. */
	int (*release_dependents)(struct lab *lab, struct lab_vm *vm);
	/* Once every VM is ready: what the role runs (NAT, Tor and its ruleset,
	 * resolv.conf). Must release dependents itself if still held. */
	int (*services)(struct lab *lab, struct lab_vm *vm);
};

/* The registry: role_table[id] is the role with that id, NULL for an id no
 * role has. Defined in roles/roles.c (or by a unit test). */
extern const struct role_ops *const role_table[];
extern const size_t role_table_len;

/* The role with id ID, or NULL when no role has it. */
static inline const struct role_ops *role_get(uint32_t id)
{
	return id < role_table_len ? role_table[id] : NULL;
}

/* Called by the drivers below for each VM right before the first role hook
 * that runs on it, so that what watches the VM sees everything the role
 * sends (checks_prepare_vm(): the guest probe). Must be idempotent. 0 or a
 * negative errno with the lab's error set. */
typedef int (*role_prepare_fn)(struct lab *lab, struct lab_vm *vm);

/* Whether VM (of a live lab) still holds back the VMs that depend on it:
 * its role's holds_dependents(). For lab_deps_ready(). */
int roles_holds_dependents(const struct lab_vm *vm);

/* For every ready VM that holds its dependents back, in start order:
 * PREPARE (may be NULL), then its role's release_dependents(). Call before
 * starting VMs that depend on others. 0 or negative errno (lab error set). */
int roles_release_dependents(struct lab *lab, role_prepare_fn prepare);

/* Once every VM is ready, for each ready VM in start order: PREPARE (may be
 * NULL), then its role's services(); records the VM's t_role. 0 or negative
 * errno (lab error set). */
int roles_start_services(struct lab *lab, role_prepare_fn prepare);

#endif
