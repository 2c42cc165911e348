/* SPDX-License-Identifier: MIT */
/* tor_gateway.c: the tor-gateway role: a Whonix-style transparent proxy for its LANs, and its mutations. */
#include "services/service_schemas.h"
#include "roles/role_schemas.h"
#include "roles/tor_gateway.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lab/lab_plugin.h"
#include "roles/role.h"
#include "roles/roles_internal.h"
#include "base/util.h"
#include "services/lab_services.h"

#define TOR_GATEWAY_BOOTSTRAP_S 240
#define TOR_GATEWAY_NETWORK_S 150

int tor_gateway_torrc(char *buf, size_t len, const char *client_torrc,
		      const struct tor_gateway_lan *lans, size_t n_lans)
{
	char ip[16];
	size_t off = 0, i;
	int ret;

	ret = roles_cat(buf, len, &off, "%s%s", client_torrc,
			*client_torrc && client_torrc[strlen(client_torrc) - 1] != '\n' ? "\n" : "");
	if (!ret)
		ret = roles_cat(buf, len, &off,
			"# uvmlab tor gateway (Whonix-style transparent proxy)\n"
			"DataDirectory /var/lib/tor\n"
			"User debian-tor\n"
			"Log notice file /var/log/tor/notices.log\n"
			"SocksPort 0\n"
			"VirtualAddrNetworkIPv4 10.192.0.0/10\n"
			"AutomapHostsOnResolve 1\n");
	for (i = 0; !ret && i < n_lans; i++) {
		plan_fmt_addr(lans[i].addr, ip);
		ret = roles_cat(buf, len, &off, "TransPort %s:%u\nDNSPort %s:%u\n", ip,
				TOR_GATEWAY_TRANS_PORT, ip, TOR_GATEWAY_DNS_PORT);
	}
	return ret;
}

int tor_gateway_ruleset(char *buf, size_t len, enum gateway_mode mode,
			const struct tor_gateway_lan *lans, size_t n_lans, uint32_t tor_uid)
{
	char ip[16], net[16];
	size_t off = 0, i;
	int ret;

	if (mode == GATEWAY_LEAKY) {
		/* The mutation: DNS to the gateway still goes to Tor, everything
		 * else is forwarded and NATed out of the uplink. */
		ret = roles_cat(buf, len, &off, "table inet uvmlab_gw {\n"
				   "\tchain prerouting {\n"
				   "\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
		for (i = 0; !ret && i < n_lans; i++) {
			plan_fmt_addr(lans[i].addr, ip);
			ret = roles_cat(buf, len, &off, "\t\tip daddr %s udp dport 53 redirect to :%u\n",
					   ip, TOR_GATEWAY_DNS_PORT);
		}
		if (!ret)
			ret = roles_cat(buf, len, &off, "\t}\n\tchain postrouting {\n"
					   "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
		for (i = 0; !ret && i < n_lans; i++) {
			plan_fmt_addr(lans[i].addr & ~((1u << (32 - lans[i].prefix)) - 1), net);
			ret = roles_cat(buf, len, &off,
					   "\t\tip saddr %s/%u ip daddr != %s/%u masquerade\n",
					   net, lans[i].prefix, net, lans[i].prefix);
		}
		if (!ret)
			ret = roles_cat(buf, len, &off, "\t}\n}\n");
		return ret;
	}
	/* Strict, after Whonix: the LAN reaches only Tor's DNSPort and TransPort
	 * (UDP 53 and new TCP redirected there); nothing is forwarded; the
	 * gateway itself sends only replies, LAN traffic and the tor user's. */
	ret = roles_cat(buf, len, &off, "table inet uvmlab_gw {\n"
			   "\tchain prerouting {\n"
			   "\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
	for (i = 0; !ret && i < n_lans; i++) {
		plan_fmt_addr(lans[i].addr & ~((1u << (32 - lans[i].prefix)) - 1), net);
		ret = roles_cat(buf, len, &off,
			"\t\tip saddr %s/%u udp dport 53 redirect to :%u\n"
			"\t\tip saddr %s/%u tcp flags & (fin|syn|rst|ack) == syn redirect to :%u\n",
			net, lans[i].prefix, TOR_GATEWAY_DNS_PORT, net, lans[i].prefix, TOR_GATEWAY_TRANS_PORT);
	}
	if (!ret)
		ret = roles_cat(buf, len, &off, "\t}\n"
			"\tchain input {\n"
			"\t\ttype filter hook input priority filter; policy drop;\n"
			"\t\tct state invalid drop\n"
			"\t\tct state established,related accept\n"
			"\t\tiif \"lo\" accept\n");
	for (i = 0; !ret && i < n_lans; i++) {
		plan_fmt_addr(lans[i].addr & ~((1u << (32 - lans[i].prefix)) - 1), net);
		plan_fmt_addr(lans[i].addr, ip);
		ret = roles_cat(buf, len, &off,
			"\t\tip saddr %s/%u ip daddr %s udp dport %u accept\n"
			"\t\tip saddr %s/%u ip daddr %s tcp dport %u accept\n",
			net, lans[i].prefix, ip, TOR_GATEWAY_DNS_PORT, net, lans[i].prefix, ip,
			TOR_GATEWAY_TRANS_PORT);
	}
	if (!ret)
		ret = roles_cat(buf, len, &off, "\t}\n"
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
		ret = roles_cat(buf, len, &off, "\t\tip daddr %s/%u accept\n", net, lans[i].prefix);
	}
	/* open-output, the mutation: any user of the gateway may send, not only tor */
	if (!ret && mode == GATEWAY_OPEN_OUTPUT)
		ret = roles_cat(buf, len, &off, "\t\taccept\n\t}\n}\n");
	else if (!ret)
		ret = roles_cat(buf, len, &off, "\t\tmeta skuid %u accept\n\t}\n}\n", tor_uid);
	return ret;
}

int tor_gateway_progress(const char *log, char *summary, size_t len)
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

/* Tor refuses consensuses from the future or the past: make sure the guest's
 * wall clock is the host's (microvm's RTC gives it at boot, to the second). */
static int tor_gateway_clock(struct lab *lab, const char *vm)
{
	const char *argv_get[] = { "date", "+%s", NULL };
	struct agent_exec_result r = { 0 };
	char when[32];
	long long guest = 0, host;
	int ret;

	ret = lab_exec(lab, vm, argv_get, ROLES_EXEC_MS, &r);
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

	return roles_exec(lab, vm, argv_set);
}

/* The LANs of tor gateway VM: every network but its first (the uplink). */
static size_t tor_gateway_lans(const struct plan_vm *pvm, struct tor_gateway_lan *lans, size_t max)
{
	size_t k, n = 0;

	for (k = 1; k < pvm->n_nics && n < max; k++)
		if (pvm->nics[k].net != pvm->nics[0].net)
			lans[n++] = (struct tor_gateway_lan){ pvm->nics[k].addr, pvm->nics[k].prefix };
	return n;
}

static int tor_gateway_wait(struct lab *lab, const char *vm)
{
	uint64_t t0 = util_mono_ns(), last_print = 0;
	char line[256] = "";
	int pct = -1, last = -2, ret;

	for (;;) {
		uint8_t *data = NULL;
		size_t len = 0;
		uint64_t now = util_mono_ns();

		if (lab_read_file(lab, vm, "/var/log/tor/notices.log", &data, &len) == 0) {
			pct = tor_gateway_progress((const char *)data, line, sizeof(line));
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
		if (lab_plugin_stop_requested()) {
			lab_set_err(lab, "interrupted while tor bootstrapped in vm \"%s\"", vm);
			return -EINTR;
		}
		if (now - t0 > (uint64_t)TOR_GATEWAY_BOOTSTRAP_S * 1000000000ull) {
			lab_set_err(lab, "vm \"%s\": tor did not bootstrap within %d s (last: %s)", vm,
				    TOR_GATEWAY_BOOTSTRAP_S, line[0] ? line : "no progress logged");
			return -ETIMEDOUT;
		}
		ret = lab_poll(lab, 1000);
		if (ret < 0)
			return ret;
	}
}

static int tor_gateway_services(struct lab *lab, struct lab_vm *vm)
{
	const struct plan_vm *pvm = lab_plugin_vm_plan(vm);
	struct tor_gateway_lan lans[PLAN_MAX_NICS];
	size_t n_lans = tor_gateway_lans(pvm, lans, PLAN_MAX_NICS);
	char path[700], *client = NULL, *buf = NULL;
	const size_t cap = 64 * 1024;
	int ret;

	/* Without a private Tor network there is nothing for tor to join: the
	 * image is still usable (smoke tests run tor --version), so leave it idle. */
	if (!(lab_plugin_plan(lab)->scn->services & SERVICE_TOR)) {
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
	ret = tor_gateway_clock(lab, pvm->name);
	if (!ret)
		ret = roles_sysctl_forward(lab, pvm->name, pvm->scn->role_opt == GATEWAY_LEAKY);
	if (!ret)
		ret = tor_gateway_ruleset(buf, cap, pvm->scn->role_opt, lans, n_lans,
					  TOR_GATEWAY_TOR_UID);
	if (!ret)
		ret = roles_nft(lab, pvm->name, buf);
	if (!ret)
		ret = tor_gateway_torrc(buf, cap, client, lans, n_lans);
	if (!ret)
		ret = lab_write_file(lab, pvm->name, "/etc/tor/torrc", 0644, buf, strlen(buf));
	/* The relays should be up by now (they started before the first VM). */
	if (!ret)
		ret = lab_tor_wait(lab, TOR_GATEWAY_NETWORK_S);
	if (!ret) {
		const char *argv[] = { "sh", "-c", "mkdir -p /var/log/tor && chown debian-tor /var/log/tor && "
				       "tor -f /etc/tor/torrc --RunAsDaemon 1 >/var/log/tor/stdout.log 2>&1 || "
				       "{ grep -v -e 'public address' -e 'alternate directory' -e '\\[notice\\]' /var/log/tor/stdout.log | tail -n 3 | cut -c 1-200 >&2; exit 1; }",
				       NULL };

		util_progress("vm %s: starting tor (%s gateway)", pvm->name,
			      pvm->scn->role_opt == GATEWAY_LEAKY ? "leaky" :
			      pvm->scn->role_opt == GATEWAY_OPEN_OUTPUT ? "open-output" : "strict");
		lab_plugin_vm_mark(vm, "tor_started", "tor_bootstrap_ms");
		ret = roles_exec(lab, pvm->name, argv);
	}
	if (!ret)
		ret = tor_gateway_wait(lab, pvm->name);
cleanup:
	if (ret == -ENOSPC)
		lab_set_err(lab, "vm \"%s\": torrc or ruleset too large", pvm->name);
	free(client);
	free(buf);
	return ret;
}

/* --- planning --- */

/* Its first NIC is its uplink; each other network is a LAN whose only way
 * out is Tor, and the gateway is the default route there. */
static uint32_t tor_gateway_route_offer(const struct plan_vm *vm, uint32_t net)
{
	size_t k;

	for (k = 1; k < vm->n_nics; k++)
		if (vm->nics[k].net == net && vm->nics[k].net != vm->nics[0].net)
			return vm->nics[k].addr;
	return 0;
}

/* A VM whose default route is a tor gateway resolves through it too. */
static int tor_gateway_offer_dns(const struct plan *plan, const struct plan_vm *vm, uint32_t addr,
				 uint32_t *dns)
{
	(void)plan;
	(void)vm;
	*dns = addr;
	return 1;
}

/* Only the leaky mutation forwards (and NATs) its LAN. */
static int tor_gateway_forwards(const struct plan_vm *vm)
{
	return vm->scn->role_opt == GATEWAY_LEAKY;
}

/* Never boots forwarding and has no default route of its own: it takes a
 * router's offer on its networks (rank 0 accepts only higher ranks). */
const struct role_ops role_tor_gateway = {
	.name = "tor-gateway",
	.image = "tor-gateway",
	.route_offer = tor_gateway_route_offer,
	.route_rank = 0,
	.offer_dns = tor_gateway_offer_dns,
	.forwards = tor_gateway_forwards,
	.services = tor_gateway_services,
};
