/* SPDX-License-Identifier: MIT */
/* lab_role.c: role services once VMs are ready: router filters, NAT to the fake internet, the Tor gateway, resolv.conf. */
#include "lab/lab_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "roles/lab_role.h"
#include "checks/lab_gprobe.h"
#include "base/util.h"

#define LAB_ROLE_NFT "/usr/sbin/nft"
#define LAB_ROLE_TOR_BOOTSTRAP_S 240
#define LAB_ROLE_TOR_NETWORK_S 150
#define LAB_ROLE_EXEC_MS 30000

/* printf into BUF at *OFF; -ENOSPC once it does not fit (and stays so). */
static int lab_role_cat(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int lab_role_cat(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return -ENOSPC;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *off) {
		*off = len;
		return -ENOSPC;
	}
	*off += (size_t)n;
	return 0;
}

int lab_role_nat_ruleset(char *buf, size_t len)
{
	size_t off = 0;

	/* Lab sources leaving for anything outside the lab take the router's
	 * uplink address: the fake internet has no route back into the lab. */
	return lab_role_cat(buf, len, &off,
		"table ip uvmlab_nat {\n"
		"\tchain postrouting {\n"
		"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		"\t\tip saddr 198.18.0.0/15 ip daddr != 198.18.0.0/15 masquerade\n"
		"\t}\n"
		"}\n");
}

/* " ip saddr X" / " ip daddr X" for a filter endpoint REF (a VM or a
 * network of PLAN); nothing for "any". */
static int lab_role_filter_addrs(char *buf, size_t len, size_t *off, const struct plan *plan,
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
		ret = lab_role_cat(buf, len, off, " ip %s %s", dir, vm->n_nics > 1 ? "{ " : "");
		for (k = 0; !ret && k < vm->n_nics; k++) {
			plan_fmt_addr(vm->nics[k].addr, ip);
			ret = lab_role_cat(buf, len, off, "%s%s", k ? ", " : "", ip);
		}
		if (!ret && vm->n_nics > 1)
			ret = lab_role_cat(buf, len, off, " }");
		return ret;
	}
	net = scenario_find_network(plan->scn, ref->name);
	if (!net)
		return -EINVAL;
	plan_fmt_addr(net->subnet, ip);
	return lab_role_cat(buf, len, off, " ip %s %s/%u", dir, ip, (unsigned int)net->prefix);
}

int lab_role_filter_ruleset(char *buf, size_t len, const struct plan *plan,
			    const struct plan_vm *router)
{
	const struct scn_filter *f = router->scn ? &router->scn->filter : NULL;
	size_t off = 0, i;
	int ret;

	if (!f || !router->scn->has_filter)
		return -EINVAL;
	/* Stateful: the rules judge the first packet of a connection; its
	 * replies (and ICMP errors about it) pass, whatever the rules say. */
	ret = lab_role_cat(buf, len, &off, "table inet uvmlab_filter {\n"
			   "\tchain forward {\n"
			   "\t\ttype filter hook forward priority filter; policy %s;\n"
			   "\t\tct state established,related accept\n",
			   scn_filter_action_name(f->dflt));
	for (i = 0; !ret && i < f->n_rules; i++) {
		const struct scn_filter_rule *r = &f->rules[i];
		/* 8 NICs a side: well under 512 bytes; each part starts with a space */
		char rule[512];
		size_t roff = 0;

		ret = lab_role_filter_addrs(rule, sizeof(rule), &roff, plan, &r->from, "saddr");
		if (!ret)
			ret = lab_role_filter_addrs(rule, sizeof(rule), &roff, plan, &r->to, "daddr");
		if (!ret && r->proto != SCN_PROTO_ANY && r->port)
			ret = lab_role_cat(rule, sizeof(rule), &roff, " %s dport %u",
					   scn_proto_name(r->proto), (unsigned int)r->port);
		else if (!ret && r->proto != SCN_PROTO_ANY)
			ret = lab_role_cat(rule, sizeof(rule), &roff, " meta l4proto %s",
					   scn_proto_name(r->proto));
		/* the comment ties what the kernel holds back to the scenario */
		if (!ret)
			ret = lab_role_cat(rule, sizeof(rule), &roff, " %s comment \"rule %zu (line %u)\"",
					   scn_filter_action_name(r->action), i + 1,
					   (unsigned int)r->loc.line);
		if (!ret)
			ret = lab_role_cat(buf, len, &off, "\t\t%s\n", rule + 1);
	}
	if (!ret)
		ret = lab_role_cat(buf, len, &off, "\t}\n}\n");
	return ret;
}

int lab_role_torrc(char *buf, size_t len, const char *client_torrc,
		   const struct lab_role_lan *lans, size_t n_lans)
{
	char ip[16];
	size_t off = 0, i;
	int ret;

	ret = lab_role_cat(buf, len, &off, "%s%s", client_torrc,
			   *client_torrc && client_torrc[strlen(client_torrc) - 1] != '\n' ? "\n" : "");
	if (!ret)
		ret = lab_role_cat(buf, len, &off,
			"# uvmlab tor gateway (Whonix-style transparent proxy)\n"
			"DataDirectory /var/lib/tor\n"
			"User debian-tor\n"
			"Log notice file /var/log/tor/notices.log\n"
			"SocksPort 0\n"
			"VirtualAddrNetworkIPv4 10.192.0.0/10\n"
			"AutomapHostsOnResolve 1\n");
	for (i = 0; !ret && i < n_lans; i++) {
		plan_fmt_addr(lans[i].addr, ip);
		ret = lab_role_cat(buf, len, &off, "TransPort %s:%u\nDNSPort %s:%u\n", ip,
				   LAB_ROLE_TRANS_PORT, ip, LAB_ROLE_DNS_PORT);
	}
	return ret;
}

int lab_role_gateway_ruleset(char *buf, size_t len, enum scn_gateway_mode mode,
			     const struct lab_role_lan *lans, size_t n_lans, uint32_t tor_uid)
{
	char ip[16], net[16];
	size_t off = 0, i;
	int ret;

	if (mode == SCN_GATEWAY_LEAKY) {
		/* The mutation: DNS to the gateway still goes to Tor, everything
		 * else is forwarded and NATed out of the uplink. */
		ret = lab_role_cat(buf, len, &off, "table inet uvmlab_gw {\n"
				   "\tchain prerouting {\n"
				   "\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
		for (i = 0; !ret && i < n_lans; i++) {
			plan_fmt_addr(lans[i].addr, ip);
			ret = lab_role_cat(buf, len, &off, "\t\tip daddr %s udp dport 53 redirect to :%u\n",
					   ip, LAB_ROLE_DNS_PORT);
		}
		if (!ret)
			ret = lab_role_cat(buf, len, &off, "\t}\n\tchain postrouting {\n"
					   "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
		for (i = 0; !ret && i < n_lans; i++) {
			plan_fmt_addr(lans[i].addr & ~((1u << (32 - lans[i].prefix)) - 1), net);
			ret = lab_role_cat(buf, len, &off,
					   "\t\tip saddr %s/%u ip daddr != %s/%u masquerade\n",
					   net, lans[i].prefix, net, lans[i].prefix);
		}
		if (!ret)
			ret = lab_role_cat(buf, len, &off, "\t}\n}\n");
		return ret;
	}
	/* Strict, after Whonix: the LAN reaches only Tor's DNSPort and TransPort
	 * (UDP 53 and new TCP redirected there); nothing is forwarded; the
	 * gateway itself sends only replies, LAN traffic and the tor user's. */
	ret = lab_role_cat(buf, len, &off, "table inet uvmlab_gw {\n"
			   "\tchain prerouting {\n"
			   "\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
	for (i = 0; !ret && i < n_lans; i++) {
		plan_fmt_addr(lans[i].addr & ~((1u << (32 - lans[i].prefix)) - 1), net);
		ret = lab_role_cat(buf, len, &off,
			"\t\tip saddr %s/%u udp dport 53 redirect to :%u\n"
			"\t\tip saddr %s/%u tcp flags & (fin|syn|rst|ack) == syn redirect to :%u\n",
			net, lans[i].prefix, LAB_ROLE_DNS_PORT, net, lans[i].prefix, LAB_ROLE_TRANS_PORT);
	}
	if (!ret)
		ret = lab_role_cat(buf, len, &off, "\t}\n"
			"\tchain input {\n"
			"\t\ttype filter hook input priority filter; policy drop;\n"
			"\t\tct state invalid drop\n"
			"\t\tct state established,related accept\n"
			"\t\tiif \"lo\" accept\n");
	for (i = 0; !ret && i < n_lans; i++) {
		plan_fmt_addr(lans[i].addr & ~((1u << (32 - lans[i].prefix)) - 1), net);
		plan_fmt_addr(lans[i].addr, ip);
		ret = lab_role_cat(buf, len, &off,
			"\t\tip saddr %s/%u ip daddr %s udp dport %u accept\n"
			"\t\tip saddr %s/%u ip daddr %s tcp dport %u accept\n",
			net, lans[i].prefix, ip, LAB_ROLE_DNS_PORT, net, lans[i].prefix, ip,
			LAB_ROLE_TRANS_PORT);
	}
	if (!ret)
		ret = lab_role_cat(buf, len, &off, "\t}\n"
			"\tchain forward {\n"
			"\t\ttype filter hook forward priority filter; policy drop;\n"
			"\t\treject\n"
			"\t}\n"
			"\tchain output {\n"
			"\t\ttype filter hook output priority filter; policy drop;\n"
			"\t\tct state invalid drop\n"
			"\t\tct state established,related accept\n"
			"\t\toif \"lo\" accept\n");
	for (i = 0; !ret && i < n_lans; i++) {
		plan_fmt_addr(lans[i].addr & ~((1u << (32 - lans[i].prefix)) - 1), net);
		ret = lab_role_cat(buf, len, &off, "\t\tip daddr %s/%u accept\n", net, lans[i].prefix);
	}
	/* open-output, the mutation: any user of the gateway may send, not only tor */
	if (!ret && mode == SCN_GATEWAY_OPEN_OUTPUT)
		ret = lab_role_cat(buf, len, &off, "\t\taccept\n\t}\n}\n");
	else if (!ret)
		ret = lab_role_cat(buf, len, &off, "\t\tmeta skuid %u accept\n\t}\n}\n", tor_uid);
	return ret;
}

int lab_role_tor_progress(const char *log, char *summary, size_t len)
{
	const char *p = log, *hit = NULL, *eol;
	int pct = -1;

	if (summary && len)
		summary[0] = '\0';
	while (log && (p = strstr(p, "Bootstrapped ")) != NULL) {
		char *end;
		long v = strtol(p + 13, &end, 10);

		if (end != p + 13 && *end == '%' && v >= 0 && v <= 100) {
			pct = (int)v;
			hit = p;
		}
		p += 13;
	}
	if (hit && summary && len) {
		eol = strchr(hit, '\n');
		snprintf(summary, len, "%.*s", (int)(eol ? eol - hit : (long)strlen(hit)), hit);
	}
	return pct;
}

/* Run ARGV in VM; 0 when it exited 0, else -EIO with its output in lab->err. */
static int lab_role_exec(struct lab *lab, const char *vm, const char *const *argv)
{
	struct agent_exec_result r = { 0 };
	int ret = lab_exec(lab, vm, argv, LAB_ROLE_EXEC_MS, &r);

	if (ret < 0)
		return ret;
	if (r.status || r.timed_out) {
		lab_set_err(lab, "vm \"%s\": %s exited %u%s: %.700s", vm, argv[0], r.status,
			    r.timed_out ? " (timed out)" : "", r.err_len ? (char *)r.err : r.out_len ? (char *)r.out : "");
		ret = -EIO;
	}
	agent_exec_result_release(&r);
	return ret;
}

/* Load RULES into VM's nftables (written to a file first: exec has no stdin here). */
static int lab_role_nft(struct lab *lab, const char *vm, const char *rules)
{
	const char *argv[] = { LAB_ROLE_NFT, "-f", "/run/uvmlab-role.nft", NULL };
	int ret = lab_write_file(lab, vm, "/run/uvmlab-role.nft", 0600, rules, strlen(rules));

	return ret < 0 ? ret : lab_role_exec(lab, vm, argv);
}

static int lab_role_sysctl_forward(struct lab *lab, const char *vm, int on)
{
	const char *argv[] = { "sh", "-c", on ? "echo 1 > /proc/sys/net/ipv4/ip_forward" :
			       "echo 0 > /proc/sys/net/ipv4/ip_forward; "
			       "for f in /proc/sys/net/ipv6/conf/*/forwarding; do "
			       "[ -e \"$f\" ] && echo 0 > \"$f\"; done; true", NULL };

	return lab_role_exec(lab, vm, argv);
}

/* Tor refuses consensuses from the future or the past: make sure the guest's
 * wall clock is the host's (microvm's RTC gives it at boot, to the second). */
static int lab_role_clock(struct lab *lab, const char *vm)
{
	const char *argv_get[] = { "date", "+%s", NULL };
	struct agent_exec_result r = { 0 };
	char when[32];
	long long guest = 0, host;
	int ret;

	ret = lab_exec(lab, vm, argv_get, LAB_ROLE_EXEC_MS, &r);
	if (ret < 0)
		return ret;
	if (r.out_len)
		guest = strtoll((char *)r.out, NULL, 10);
	agent_exec_result_release(&r);
	host = (long long)time(NULL);
	if (guest >= host - 2 && guest <= host + 2)
		return 0;
	util_progress("vm %s: guest clock off by %lld s; setting it", vm, guest - host);
	snprintf(when, sizeof(when), "@%lld", (long long)time(NULL));
	const char *argv_set[] = { "date", "-u", "-s", when, NULL };

	return lab_role_exec(lab, vm, argv_set);
}

/* The LANs of tor gateway VM: every network but its first (the uplink). */
static size_t lab_role_lans(const struct plan_vm *pvm, struct lab_role_lan *lans, size_t max)
{
	size_t k, n = 0;

	for (k = 1; k < pvm->n_nics && n < max; k++)
		if (pvm->nics[k].net != pvm->nics[0].net)
			lans[n++] = (struct lab_role_lan){ pvm->nics[k].addr, pvm->nics[k].prefix };
	return n;
}

static int lab_role_tor_wait(struct lab *lab, const char *vm)
{
	uint64_t t0 = util_mono_ns(), last_print = 0;
	char line[256] = "";
	int pct = -1, last = -2, ret;

	for (;;) {
		uint8_t *data = NULL;
		size_t len = 0;
		uint64_t now = util_mono_ns();

		if (lab_read_file(lab, vm, "/var/log/tor/notices.log", &data, &len) == 0) {
			pct = lab_role_tor_progress((const char *)data, line, sizeof(line));
			if (strstr((const char *)data, "[err]")) {
				char *e = strstr((char *)data, "[err]"), *eol = strchr(e, '\n');

				lab_set_err(lab, "vm \"%s\": tor failed: %.*s", vm,
					    (int)(eol ? eol - e : (long)strlen(e)), e);
				free(data);
				return -EIO;
			}
		}
		free(data);
		if (pct == 100) {
			util_progress("vm %s: tor bootstrap 100%% after %.0f s", vm, (double)(now - t0) / 1e9);
			return 0;
		}
		if (pct != last || now - last_print > 15000000000ull) {
			util_progress("vm %s: tor bootstrap %d%% (%.0f s)", vm, pct < 0 ? 0 : pct,
				      (double)(now - t0) / 1e9);
			last = pct;
			last_print = now;
		}
		if (lab_stop_flag) {
			lab_set_err(lab, "interrupted while tor bootstrapped in vm \"%s\"", vm);
			return -EINTR;
		}
		if (now - t0 > (uint64_t)LAB_ROLE_TOR_BOOTSTRAP_S * 1000000000ull) {
			lab_set_err(lab, "vm \"%s\": tor did not bootstrap within %d s (last: %s)", vm,
				    LAB_ROLE_TOR_BOOTSTRAP_S, line[0] ? line : "no progress logged");
			return -ETIMEDOUT;
		}
		ret = lab_poll(lab, 1000);
		if (ret < 0)
			return ret;
	}
}

static int lab_role_tor_gateway(struct lab *lab, struct lab_vm *vm)
{
	const struct plan_vm *pvm = vm->pvm;
	struct lab_role_lan lans[PLAN_MAX_NICS];
	size_t n_lans = lab_role_lans(pvm, lans, PLAN_MAX_NICS);
	char path[700], *client = NULL, *buf = NULL;
	const size_t cap = 64 * 1024;
	int ret;

	/* Without a private Tor network there is nothing for tor to join: the
	 * image is still usable (smoke tests run tor --version), so leave it idle. */
	if (!lab->plan->scn->fixture_tor) {
		util_progress("vm %s: no tor-private-network fixture: tor not configured", pvm->name);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/client.torrc", lab_tor_dir(lab));
	if (!lab_tor_dir(lab)[0] || util_read_file(path, cap / 2, &client, NULL) < 0) {
		lab_set_err(lab, "vm \"%s\": the private Tor network left no %s", pvm->name, path);
		return -ENOENT;
	}
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = lab_role_clock(lab, pvm->name);
	if (!ret)
		ret = lab_role_sysctl_forward(lab, pvm->name, pvm->scn->gateway_mode == SCN_GATEWAY_LEAKY);
	if (!ret)
		ret = lab_role_gateway_ruleset(buf, cap, pvm->scn->gateway_mode, lans, n_lans,
					       LAB_ROLE_TOR_UID);
	if (!ret)
		ret = lab_role_nft(lab, pvm->name, buf);
	if (!ret)
		ret = lab_role_torrc(buf, cap, client, lans, n_lans);
	if (!ret)
		ret = lab_write_file(lab, pvm->name, "/etc/tor/torrc", 0644, buf, strlen(buf));
	/* The relays should be up by now (they started before the first VM). */
	if (!ret)
		ret = lab_tor_wait(lab, LAB_ROLE_TOR_NETWORK_S);
	if (!ret) {
		const char *argv[] = { "sh", "-c", "mkdir -p /var/log/tor && chown debian-tor /var/log/tor && "
				       "tor -f /etc/tor/torrc --RunAsDaemon 1 >/var/log/tor/stdout.log 2>&1 || "
				       "{ grep -v -e 'public address' -e 'alternate directory' -e '\\[notice\\]' /var/log/tor/stdout.log | tail -n 3 | cut -c 1-200 >&2; exit 1; }",
				       NULL };

		util_progress("vm %s: starting tor (%s gateway)", pvm->name,
			      pvm->scn->gateway_mode == SCN_GATEWAY_LEAKY ? "leaky" :
			      pvm->scn->gateway_mode == SCN_GATEWAY_OPEN_OUTPUT ? "open-output" : "strict");
		lab_plugin_vm_mark(vm, "tor_started", "tor_bootstrap_ms");
		ret = lab_role_exec(lab, pvm->name, argv);
	}
	if (!ret)
		ret = lab_role_tor_wait(lab, pvm->name);
cleanup:
	if (ret == -ENOSPC)
		lab_set_err(lab, "vm \"%s\": torrc or ruleset too large", pvm->name);
	free(client);
	free(buf);
	return ret;
}

/* Whether router VM has a NIC on a network with internet: true. */
static int lab_role_internet_router(const struct plan *plan, const struct plan_vm *vm)
{
	size_t k;

	if (vm->role != SCN_ROLE_ROUTER)
		return 0;
	for (k = 0; k < vm->n_nics; k++)
		if (plan->scn->networks[vm->nics[k].net].internet)
			return 1;
	return 0;
}

/* A VM whose default route is a tor gateway resolves through it too; one
 * behind a plain internet router asks the fake internet's DNS (as a home
 * network would its ISP's), through the router's NAT. */
static int lab_role_resolv(struct lab *lab, const struct plan_vm *pvm)
{
	const struct plan *plan = lab->plan;
	char line[64], ip[16];
	size_t v, k;

	if (!pvm->gateway)
		return 0;
	for (v = 0; v < plan->n_vms; v++) {
		const struct plan_vm *gw = &plan->vms[v];
		int inet = lab_role_internet_router(plan, gw);

		if (gw->role != SCN_ROLE_TOR_GATEWAY && !inet)
			continue;
		for (k = 0; k < gw->n_nics; k++)
			if (gw->nics[k].addr == pvm->gateway) {
				plan_fmt_addr(pvm->gateway, ip);
				/* 203.0.113.53: the fake internet's DNS (lab_internet.c) */
				snprintf(line, sizeof(line), "nameserver %s\n", inet ? "203.0.113.53" : ip);
				return lab_write_file(lab, pvm->name, "/etc/resolv.conf", 0644, line,
						      strlen(line));
			}
	}
	return 0;
}

/* The guest probe, once per boot, before anything it should see. */
static int lab_role_probe(struct lab *lab, struct lab_vm *vm)
{
	int ret;

	if (lab_plugin_vm_probe_started(vm))
		return 0;
	ret = lab_gprobe_start(lab, vm->pvm);
	if (ret < 0)
		return ret;
	lab_plugin_vm_set_probe_started(vm);
	return 0;
}

static int lab_role_filter(struct lab *lab, struct lab_vm *vm)
{
	const struct plan_vm *pvm = vm->pvm;
	const char *argv[] = { LAB_ROLE_NFT, "list", "table", "inet", "uvmlab_filter", NULL };
	struct agent_exec_result r = { 0 };
	const size_t cap = 256 * 1024;
	char *buf = NULL;
	int ret;

	if (vm->filter_applied || !pvm->scn->has_filter || vm->state != LAB_VM_READY)
		return 0;
	ret = lab_role_probe(lab, vm);
	if (ret < 0)
		return ret;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	ret = lab_role_filter_ruleset(buf, cap, lab->plan, pvm);
	if (ret == -ENOSPC)
		lab_set_err(lab, "vm \"%s\": filter ruleset larger than %zu bytes", pvm->name, cap);
	else if (ret < 0)
		lab_set_err(lab, "vm \"%s\": filter: a rule names no vm or network of the plan",
			    pvm->name);
	if (!ret)
		ret = lab_role_nft(lab, pvm->name, buf);
	/* what the kernel holds, not what we meant: that goes to result.json */
	if (!ret)
		ret = lab_exec(lab, pvm->name, argv, LAB_ROLE_EXEC_MS, &r);
	if (!ret && (r.status || r.timed_out)) {
		lab_set_err(lab, "vm \"%s\": nft list table inet uvmlab_filter exited %u: %.300s",
			    pvm->name, r.status, r.err_len ? (char *)r.err : "");
		ret = -EIO;
	}
	if (!ret) {
		free(vm->filter_ruleset);
		vm->filter_ruleset = strndup(r.out_len ? (char *)r.out : "", r.out_len);
		if (!vm->filter_ruleset)
			ret = -ENOMEM;
	}
	agent_exec_result_release(&r);
	if (!ret)
		ret = lab_role_sysctl_forward(lab, pvm->name, 1);
	if (!ret) {
		vm->filter_applied = 1;
		vm->t_filter = util_mono_ns();
		util_progress("vm %s: filter in force (default %s, %zu rule(s)); forwarding on",
			      pvm->name, scn_filter_action_name(pvm->scn->filter.dflt),
			      pvm->scn->filter.n_rules);
	}
	free(buf);
	return ret;
}

int lab_role_filters(struct lab *lab)
{
	size_t i;
	int ret;

	for (i = 0; i < lab->n_vms; i++) {
		ret = lab_role_filter(lab, &lab->vms[lab->plan->order[i]]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int lab_role_one(struct lab *lab, struct lab_vm *vm)
{
	const struct plan_vm *pvm = vm->pvm;
	const struct scenario *scn = lab->plan->scn;
	char rules[1024];
	size_t k;
	int ret = 0;

	switch (pvm->role) {
	case SCN_ROLE_ROUTER:
		/* in force already when VMs depended on it; else here */
		ret = lab_role_filter(lab, vm);
		for (k = 0; k < pvm->n_nics && !ret; k++)
			if (scn->networks[pvm->nics[k].net].internet) {
				ret = lab_role_nat_ruleset(rules, sizeof(rules));
				if (!ret)
					ret = lab_role_nft(lab, pvm->name, rules);
				break;
			}
		break;
	case SCN_ROLE_TOR_GATEWAY:
		ret = lab_role_tor_gateway(lab, vm);
		break;
	case SCN_ROLE_APP:
		ret = lab_role_resolv(lab, pvm);
		break;
	}
	return ret;
}

int lab_role_services(struct lab *lab)
{
	size_t i;
	int ret;

	for (i = 0; i < lab->n_vms; i++) {
		struct lab_vm *vm = &lab->vms[lab->plan->order[i]];

		if (vm->state != LAB_VM_READY)
			continue;
		/* the probe first, so it sees everything the services send */
		ret = lab_role_probe(lab, vm);
		if (ret < 0)
			return ret;
		ret = lab_role_one(lab, vm);
		if (ret < 0)
			return ret;
		vm->t_role = util_mono_ns();
	}
	return 0;
}
