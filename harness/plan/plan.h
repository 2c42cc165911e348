/* SPDX-License-Identifier: MIT */
/* plan.h: what uvmlab derives from a scenario before anything runs.
 *
 * Addresses, MACs, tap and bridge names, vsock CIDs and the start order are
 * pure functions of the scenario, so two runs of one scenario look the same.
 * A plan points into its scenario: keep the scenario alive while the plan is.
 */
#ifndef UVMLAB_PLAN_H
#define UVMLAB_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "scenario/scenario.h"

#define PLAN_MAX_NICS 8
#define PLAN_IFNAME_LEN 16

struct plan_nic {
	uint32_t net;                  /* index into plan->nets */
	uint8_t mac[6];
	uint32_t addr;                 /* host byte order */
	uint8_t prefix;
	char tap[PLAN_IFNAME_LEN];     /* host-side tap name, e.g. "vm0n1" */
};

struct plan_vm {
	const struct scn_vm *scn;
	const char *name;
	uint32_t index;                /* declaration order */
	unsigned int role;
	enum scn_machine machine;
	uint32_t memory_mib;
	uint32_t vcpus;
	uint32_t cid;                  /* vsock context id: 3 + index */
	struct plan_nic nics[PLAN_MAX_NICS];
	size_t n_nics;
	uint32_t default_route;        /* default route (host order), 0 for none */
	int forward;                   /* enable IPv4 forwarding in the guest */
	uint32_t *deps;                /* indices of VMs that must be ready first */
	size_t n_deps;
	uint32_t level;                /* 0 = no dependencies; start waves follow levels */
};

struct plan_net {
	const struct scn_network *scn;
	const char *name;
	char bridge[PLAN_IFNAME_LEN];  /* "br-NAME" */
};

struct plan {
	const struct scenario *scn;
	struct plan_net *nets;
	size_t n_nets;
	struct plan_vm *vms;
	size_t n_vms;
	uint32_t *order;               /* VM indices, dependencies first, stable */
	uint32_t boot_timeout_s;       /* per VM, from the scenario or the default */
};

/* Derive the plan. 0 with *OUT set (free with plan_free()); -EINVAL with DIAG
 * filled for a scenario error only the plan can see (dependency cycle, a
 * subnet too small for its VMs); -ENOMEM. Address order, forwarding and
 * default routes follow each VM's role (role_get(), roles/role.h). */
int plan_build(const struct scenario *scn, struct plan **out, struct scn_diag *diag);
void plan_free(struct plan *plan);

/* Default boot timeout for KVM (KVM=1) or emulation when the scenario sets none. */
uint32_t plan_default_boot_timeout_s(int kvm);

const struct plan_vm *plan_find_vm(const struct plan *plan, const char *name);

/* The address a check from FROM should use to reach TO: TO's address on
 * NETWORK when given (NULL otherwise), else on a network both share, else TO's
 * first NIC. 0 with *ADDR set, -ENOENT if TO has no NIC (or none on NETWORK). */
int plan_target_addr(const struct plan *plan, const struct plan_vm *from,
		     const struct plan_vm *to, const char *network, uint32_t *addr);

/* Format helpers. BUF must hold 16 (addr) / 18 (mac) bytes. */
void plan_fmt_addr(uint32_t addr, char *buf);
void plan_fmt_mac(const uint8_t mac[6], char *buf);

#endif
