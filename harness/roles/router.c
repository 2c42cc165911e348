/* SPDX-License-Identifier: MIT */
/* router.c: the router role: addresses first, forwards, the uplink to the fake internet, NAT and the filter. */
#include "services/service_schemas.h"
#include "roles/router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab_plugin.h"
#include "roles/role.h"
#include "roles/roles_internal.h"
#include "base/util.h"
#include "services/internet_addrs.h"

/* Where the uplink sends its LAN's DNS queries. */
#define ROUTER_UPSTREAM_DNS INTERNET_DNS_ADDR

int router_nat_ruleset(char *buf, size_t len)
{
	size_t off = 0;

	/* Lab sources leaving for anything outside the lab take the router's
	 * uplink address: the fake internet has no route back into the lab. */
	return roles_cat(buf, len, &off,
		"table ip uvmlab_nat {\n"
		"\tchain postrouting {\n"
		"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		"\t\tip saddr 198.18.0.0/15 ip daddr != 198.18.0.0/15 masquerade\n"
		"\t}\n"
		"}\n");
}

/* " ip saddr X" / " ip daddr X" for a filter endpoint REF (a VM or a
 * network of PLAN); nothing for "any". */
static int router_filter_addrs(char *buf, size_t len, size_t *off, const struct plan *plan,
			       const struct scn_ref *ref, const char *dir)
{
	const struct plan_vm *vm;
	const struct scn_network *net;
	char ip[16];
	size_t k;
	int ret;

	if (!ref->name)
		return 0;
	vm = plan_find_vm(plan, ref->name);
	if (vm) {
		if (vm->n_nics == 0)
			return -EINVAL;
		ret = roles_cat(buf, len, off, " ip %s %s", dir, vm->n_nics > 1 ? "{ " : "");
		for (k = 0; !ret && k < vm->n_nics; k++) {
			plan_fmt_addr(vm->nics[k].addr, ip);
			ret = roles_cat(buf, len, off, "%s%s", k ? ", " : "", ip);
		}
		if (!ret && vm->n_nics > 1)
			ret = roles_cat(buf, len, off, " }");
		return ret;
	}
	net = scenario_find_network(plan->scn, ref->name);
	if (!net)
		return -EINVAL;
	plan_fmt_addr(net->subnet, ip);
	return roles_cat(buf, len, off, " ip %s %s/%u", dir, ip, (unsigned int)net->prefix);
}

int router_filter_ruleset(char *buf, size_t len, const struct plan *plan,
			  const struct plan_vm *router)
{
	const struct scn_filter *f = router->scn ? &router->scn->filter : NULL;
	size_t off = 0, i;
	int ret;

	if (!f || !router->scn->has_filter)
		return -EINVAL;
	/* Stateful: the rules judge the first packet of a connection; its
	 * replies (and ICMP errors about it) pass, whatever the rules say. */
	ret = roles_cat(buf, len, &off, "table inet uvmlab_filter {\n"
			"\tchain forward {\n"
			"\t\ttype filter hook forward priority filter; policy %s;\n"
			"\t\tct state established,related accept\n",
			scn_filter_action_name(f->dflt));
	for (i = 0; !ret && i < f->n_rules; i++) {
		const struct scn_filter_rule *r = &f->rules[i];
		/* 8 NICs a side: well under 512 bytes; each part starts with a space */
		char rule[512];
		size_t roff = 0;

		ret = router_filter_addrs(rule, sizeof(rule), &roff, plan, &r->from, "saddr");
		if (!ret)
			ret = router_filter_addrs(rule, sizeof(rule), &roff, plan, &r->to, "daddr");
		if (!ret && r->proto != SCN_PROTO_ANY && r->port)
			ret = roles_cat(rule, sizeof(rule), &roff, " %s dport %u",
					scn_proto_name(r->proto), (unsigned int)r->port);
		else if (!ret && r->proto != SCN_PROTO_ANY)
			ret = roles_cat(rule, sizeof(rule), &roff, " meta l4proto %s",
					scn_proto_name(r->proto));
		/* the comment ties what the kernel holds back to the scenario */
		if (!ret)
			ret = roles_cat(rule, sizeof(rule), &roff, " %s comment \"rule %zu (line %u)\"",
					scn_filter_action_name(r->action), i + 1,
					(unsigned int)r->loc.line);
		if (!ret)
			ret = roles_cat(buf, len, &off, "\t\t%s\n", rule + 1);
	}
	if (!ret)
		ret = roles_cat(buf, len, &off, "\t}\n}\n");
	return ret;
}

/* --- planning --- */

/* The fake internet's gateway (the "ISP") takes the last host of a network
 * with internet: true. */
static uint32_t router_reserved_top(const struct scn_network *net)
{
	return (net->services & SERVICE_INTERNET) ? 1 : 0;
}

/* A filtering router starts forwarding once its filter is in force
 * (router_release()), so nothing crosses it unfiltered. */
static int router_boot_forward(const struct plan_vm *vm)
{
	return !vm->scn->has_filter;
}

static int router_forwards(const struct plan_vm *vm)
{
	(void)vm;
	return 1;
}

/* Every network a router is on may route through it. */
static uint32_t router_route_offer(const struct plan_vm *vm, uint32_t net)
{
	size_t k;

	for (k = 0; k < vm->n_nics; k++)
		if (vm->nics[k].net == net)
			return vm->nics[k].addr;
	return 0;
}

/* Its uplink: the fake internet's gateway on its first network with
 * internet: true (that network's last host); no default route without one. */
static uint32_t router_default_route(const struct plan *plan, const struct plan_vm *vm)
{
	size_t k;

	for (k = 0; k < vm->n_nics; k++) {
		const struct scn_network *net = plan->nets[vm->nics[k].net].scn;

		if (net->services & SERVICE_INTERNET)
			return net->subnet + (1u << (32 - net->prefix)) - 2;
	}
	return 0;
}

static int router_has_uplink(const struct plan *plan, const struct plan_vm *vm)
{
	return router_default_route(plan, vm) != 0;
}

/* Behind a plain internet router a VM asks the fake internet's DNS (as a
 * home network would its ISP's), through the router's NAT. */
static int router_offer_dns(const struct plan *plan, const struct plan_vm *vm, uint32_t addr,
			    uint32_t *dns)
{
	(void)addr;
	if (!router_has_uplink(plan, vm))
		return 0;
	*dns = ROUTER_UPSTREAM_DNS;
	return 1;
}

/* --- live --- */

static int router_holds(const struct lab_vm *vm)
{
	return lab_plugin_vm_plan(vm)->scn->has_filter && !lab_plugin_vm_filter_applied(vm);
}

/* The filter in force, read back into the VM's filter ruleset, then IPv4
 * forwarding on. */
static int router_release(struct lab *lab, struct lab_vm *vm)
{
	const struct plan_vm *pvm = lab_plugin_vm_plan(vm);
	const char *argv[] = { ROLES_NFT, "list", "table", "inet", "uvmlab_filter", NULL };
	struct agent_exec_result r = { 0 };
	const size_t cap = 256 * 1024;
	char *buf = NULL;
	int ret;

	if (!router_holds(vm) || lab_plugin_vm_state(vm) != LAB_VM_READY)
		return 0;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	ret = router_filter_ruleset(buf, cap, lab_plugin_plan(lab), pvm);
	if (ret == -ENOSPC)
		lab_set_err(lab, "vm \"%s\": filter ruleset larger than %zu bytes", pvm->name, cap);
	else if (ret < 0)
		lab_set_err(lab, "vm \"%s\": filter: a rule names no vm or network of the plan",
			    pvm->name);
	if (!ret)
		ret = roles_nft(lab, pvm->name, buf);
	/* what the kernel holds, not what we meant: that goes to result.json */
	if (!ret)
		ret = lab_exec(lab, pvm->name, argv, ROLES_EXEC_MS, &r);
	if (!ret && (r.status || r.timed_out)) {
		lab_set_err(lab, "vm \"%s\": nft list table inet uvmlab_filter exited %u: %.300s",
			    pvm->name, r.status, r.err_len ? (char *)r.err : "");
		ret = -EIO;
	}
	if (!ret) {
		char *ruleset = strndup(r.out_len ? (char *)r.out : "", r.out_len);

		if (ruleset)
			lab_plugin_vm_set_filter_ruleset(vm, ruleset);
		else
			ret = -ENOMEM;
	}
	agent_exec_result_release(&r);
	if (!ret)
		ret = roles_sysctl_forward(lab, pvm->name, 1);
	if (!ret) {
		lab_plugin_vm_set_filter_applied(vm);
		util_progress("vm %s: filter in force (default %s, %zu rule(s)); forwarding on",
			      pvm->name, scn_filter_action_name(pvm->scn->filter.dflt),
			      pvm->scn->filter.n_rules);
	}
	free(buf);
	return ret;
}

static int router_services(struct lab *lab, struct lab_vm *vm)
{
	char rules[1024];
	int ret;

	/* in force already when VMs depended on it; else here */
	ret = router_release(lab, vm);
	if (!ret && router_has_uplink(lab_plugin_plan(lab), lab_plugin_vm_plan(vm))) {
		ret = router_nat_ruleset(rules, sizeof(rules));
		if (!ret)
			ret = roles_nft(lab, lab_plugin_vm_name(vm), rules);
	}
	return ret;
}

const struct role_ops role_router = {
	.name = "router",
	.image = "router",
	.addr_first = 1,
	.reserved_top = router_reserved_top,
	.boot_forward = router_boot_forward,
	.route_offer = router_route_offer,
	.route_rank = 1,
	.default_route = router_default_route,
	.offer_dns = router_offer_dns,
	.forwards = router_forwards,
	.holds_dependents = router_holds,
	.release_dependents = router_release,
	.services = router_services,
};
