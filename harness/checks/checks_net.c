/* SPDX-License-Identifier: MIT */
/* checks_net.c: fetch, resolve and reach-to-internet checks, judged by the fake internet's log. */
#include "checks/checks_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lab/lab_plugin.h"
#include "base/util.h"
#include "checks/check_schemas.h"
#include "services/internet_addrs.h"
#include "services/lab_services.h"
#include "services/service_schemas.h"

#define CHECKS_NET_TOKEN "uvmlab-fake-internet-7f3a"
#define CHECKS_NET_EXEC_MS 60000
#define CHECKS_NET_LAB_NET 0xc6120000u  /* 198.18.0.0/15 */
#define CHECKS_NET_LAB_MASK 0xfffe0000u

void checks_net_scan(const char *buf, size_t len, const char *proto, const uint32_t *exits,
		     size_t n_exits, struct checks_net_seen *out)
{
	const char *p = buf, *end = buf + len;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		json_error_t jerr;
		json_t *o;

		if (!eol)
			break; /* a line still being written */
		o = json_loadb(p, (size_t)(eol - p), 0, &jerr);
		p = eol + 1;
		if (!json_is_object(o)) {
			json_decref(o);
			continue;
		}
		const char *pr = json_string_value(json_object_get(o, "proto"));
		const char *client = json_string_value(json_object_get(o, "client"));
		struct in_addr a;

		if (pr && client && !strcmp(pr, proto) && inet_pton(AF_INET, client, &a) == 1) {
			uint32_t h = ntohl(a.s_addr);
			size_t i;
			int is_exit = 0;

			for (i = 0; i < n_exits; i++)
				is_exit |= exits[i] == h;
			out->n++;
			if ((h & CHECKS_NET_LAB_MASK) == CHECKS_NET_LAB_NET) {
				if (!out->n_lab++)
					util_strlcpy(out->lab, client, sizeof(out->lab));
			} else if (is_exit) {
				if (!out->n_exit++)
					util_strlcpy(out->exit, client, sizeof(out->exit));
			} else if (!out->other[0]) {
				util_strlcpy(out->other, client, sizeof(out->other));
			}
		}
		json_decref(o);
	}
}

int checks_net_handles(const struct scn_check *c)
{
	return c->kind == CHECK_FETCH || c->kind == CHECK_RESOLVE ||
	       (c->kind == CHECK_REACH && c->to.name && !strcmp(c->to.name, SERVICE_INTERNET_REF));
}

static off_t checks_net_log_size(const struct lab *lab)
{
	struct stat st;

	return lab_internet_log(lab)[0] && stat(lab_internet_log(lab), &st) == 0 ? st.st_size : 0;
}

/* What the fake internet logged for PROTO since offset FROM. */
static void checks_net_seen_since(const struct lab *lab, off_t from, const char *proto,
				  struct checks_net_seen *seen)
{
	struct timespec nap = { 0, 300 * 1000 * 1000 };
	const uint32_t *exits;
	size_t n_exits = lab_tor_exits(lab, &exits);
	char *buf = NULL;
	size_t len = 0;

	nanosleep(&nap, NULL); /* let the server flush what it handled last */
	memset(seen, 0, sizeof(*seen));
	if (!lab_internet_log(lab)[0] || util_read_file(lab_internet_log(lab), 64u << 20, &buf, &len) < 0)
		return;
	if ((size_t)from <= len)
		checks_net_scan(buf + from, len - (size_t)from, proto, exits, n_exits, seen);
	free(buf);
}

/* The last line of S (trimmed) into BUF. */
static void checks_net_last_line(const char *s, size_t n, char *buf, size_t len)
{
	const char *end = s + n, *start;

	buf[0] = '\0';
	if (!s)
		return;
	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	start = end;
	while (start > s && start[-1] != '\n')
		start--;
	snprintf(buf, len, "%.*s", (int)(end - start), start);
}

static int checks_net_error(struct lab *lab, json_t *row, struct checks_summary *sum, int ret)
{
	json_object_set_new(row, "verdict", json_string("error"));
	json_object_set_new(row, "evidence", json_string(lab_error(lab)));
	sum->errors++;
	return ret;
}

static void checks_net_seen_json(json_t *row, const char *key, const struct checks_net_seen *s)
{
	json_object_set_new(row, key, json_pack("{s:I,s:I,s:I,s:s,s:s,s:s}",
		"events", (json_int_t)s->n, "from_lab", (json_int_t)s->n_lab,
		"from_exits", (json_int_t)s->n_exit, "first_lab", s->lab,
		"first_exit", s->exit, "first_other", s->other));
}

/* Resolve the URL's host in the VM (its resolver: the tor gateway behind a
 * gateway) and GET it by address with a Host header: busybox's static wget
 * has no resolver of its own to trust. */
static const char checks_net_fetch_sh[] =
	"h=$1; p=$2; "
	"case $h in *[!0-9.]*) "
	"a=$(nslookup \"$h\" 2>&1 | awk '/^Name:/{n=1} n&&/^Address/{print $NF; exit}'); "
	"[ -n \"$a\" ] || { echo \"cannot resolve $h\" >&2; exit 2; }; "
	"echo \"resolved $h to $a\" >&2;; *) a=$h;; esac; "
	"wget -q -O - --header \"Host: $h\" \"http://$a$p\" || { echo \"wget http://$a$p failed\" >&2; exit 1; }";

enum checks_verdict checks_net_judge_fetch(const struct checks_net_fetch_obs *o, int expect_allowed,
					   char *ev, size_t evlen)
{
	const struct checks_net_seen *seen = &o->seen;
	const char *res = o->resolved ? o->resolved : "";
	int pass;

	if (o->carrier_down) {
		snprintf(ev, evlen, "not judged: %s", o->carrier_down);
		return CHECKS_VERDICT_ERROR;
	}
	if (seen->n_lab)
		snprintf(ev, evlen, "%s: the web server saw %s, a lab address: not through Tor%s%s",
			 o->got_page ? "page fetched" : "no page", seen->lab, res[0] ? "; " : "", res);
	else if (o->got_page && seen->n_exit == seen->n && seen->n)
		snprintf(ev, evlen, "page with the token; the web server saw only Tor exit %s (%zu request%s)%s%s",
			 seen->exit, seen->n, seen->n == 1 ? "" : "s", res[0] ? "; " : "", res);
	else if (o->got_page)
		snprintf(ev, evlen, "page with the token, but the web server saw %s (%zu requests, %zu from exits)",
			 seen->n ? (seen->other[0] ? seen->other : seen->exit) : "no request", seen->n,
			 seen->n_exit);
	else
		snprintf(ev, evlen, "no page from %s (exit %u%s%s); the web server saw %zu request%s",
			 o->from, o->status, o->line && o->line[0] ? ": " : "", o->line ? o->line : "",
			 seen->n, seen->n == 1 ? "" : "s");
	pass = expect_allowed ? o->got_page && !seen->n_lab && seen->n && seen->n_exit == seen->n :
	       !o->got_page && !seen->n_lab;
	return pass ? CHECKS_VERDICT_PASS : CHECKS_VERDICT_FAIL;
}

enum checks_verdict checks_net_judge_resolve(const struct checks_net_resolve_obs *o,
					     int expect_allowed, char *ev, size_t evlen)
{
	const struct checks_net_seen *seen = &o->seen;
	int pass;

	if (o->carrier_down) {
		snprintf(ev, evlen, "not judged: %s", o->carrier_down);
		return CHECKS_VERDICT_ERROR;
	}
	if (seen->n_lab)
		snprintf(ev, evlen, "%s%s%s; the fake DNS saw a query from %s, a lab address",
			 o->answered ? o->host : "no answer", o->answered ? " -> " : "",
			 o->answered ? o->answer : "", seen->lab);
	else if (o->answered)
		snprintf(ev, evlen, "%s -> %s; the fake DNS saw %zu quer%s, none from the lab",
			 o->host, o->answer, seen->n, seen->n == 1 ? "y" : "ies");
	else
		snprintf(ev, evlen, "%s: no answer in %s; the fake DNS saw %zu quer%s, none from the lab",
			 o->host, o->from, seen->n, seen->n == 1 ? "y" : "ies");
	pass = expect_allowed ? o->answered && !seen->n_lab : !o->answered && !seen->n_lab;
	return pass ? CHECKS_VERDICT_PASS : CHECKS_VERDICT_FAIL;
}

/* Whether the fake internet's server is still there to log what it saw:
 * NULL, or why not (into BUF). */
static const char *checks_net_carrier(const struct lab *lab, char *buf, size_t len)
{
	char path[64], st[512], *p;
	FILE *f;
	size_t n;

	if (lab_internet_web_pid(lab) <= 0) {
		snprintf(buf, len, "the fake internet's server is not running");
		return buf;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)lab_internet_web_pid(lab));
	f = fopen(path, "re");
	n = f ? fread(st, 1, sizeof(st) - 1, f) : 0;
	if (f)
		fclose(f);
	st[n] = '\0';
	p = strrchr(st, ')');
	if (!n || !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X') {
		snprintf(buf, len, "the fake internet's server (pid %d) died (see %.400s)",
			 (int)lab_internet_web_pid(lab), lab_internet_log(lab));
		return buf;
	}
	if (p[2] == 'T' || p[2] == 't') {
		snprintf(buf, len, "the fake internet's server (pid %d) is stopped", (int)lab_internet_web_pid(lab));
		return buf;
	}
	return NULL;
}

static int checks_net_fetch(struct lab *lab, const struct scn_check *c, json_t *row,
			    struct checks_summary *sum)
{
	char host[256], path[512] = "/", evidence[768], line[256] = "", resolved[128] = "", down[700];
	const char *url = c->target, *rest, *slash;
	const char *argv[] = { "sh", "-c", checks_net_fetch_sh, "sh", host, path, NULL };
	int tries = c->expect == SCN_EXPECT_ALLOWED ? 3 : 1, i, ret;
	struct checks_net_fetch_obs o = { .from = c->from.name, .line = line, .resolved = resolved };
	/* every attempt's requests count: a leak on a failed try is still a leak */
	off_t from = checks_net_log_size(lab);

	rest = !strncmp(url, "http://", 7) ? url + 7 : url;
	slash = strchr(rest, '/');
	snprintf(host, sizeof(host), "%.*s", (int)(slash ? slash - rest : (long)strlen(rest)), rest);
	if (slash)
		snprintf(path, sizeof(path), "%s", slash);
	for (i = 0; i < tries && !o.got_page; i++) {
		struct agent_exec_result r = { 0 };

		ret = lab_exec(lab, c->from.name, argv, CHECKS_NET_EXEC_MS, &r);
		if (ret < 0)
			return checks_net_error(lab, row, sum, ret);
		o.got_page = r.out_len && strstr((const char *)r.out, CHECKS_NET_TOKEN) != NULL;
		o.status = r.status;
		checks_net_last_line((const char *)r.err, r.err_len, line, sizeof(line));
		if (r.err_len && strstr((const char *)r.err, "resolved "))
			snprintf(resolved, sizeof(resolved), "%.*s", (int)strcspn(strstr((const char *)r.err,
				 "resolved "), "\n"), strstr((const char *)r.err, "resolved "));
		agent_exec_result_release(&r);
	}
	checks_net_seen_since(lab, from, "http", &o.seen);
	o.carrier_down = checks_net_carrier(lab, down, sizeof(down));
	checks_net_seen_json(row, "web_server_saw", &o.seen);
	json_object_set_new(row, "attempts", json_integer(i));
	checks_verdict_record(row, sum, checks_net_judge_fetch(&o, c->expect == SCN_EXPECT_ALLOWED,
							       evidence, sizeof(evidence)), evidence);
	return 0;
}

static int checks_net_resolve(struct lab *lab, const struct scn_check *c, json_t *row,
			      struct checks_summary *sum)
{
	const char *argv[] = { "sh", "-c", "nslookup \"$1\" 2>&1 | awk '/^Name:/{n=1} n&&/^Address/{print $NF; f=1} END{exit !f}'",
			       "sh", c->target, NULL };
	int tries = c->expect == SCN_EXPECT_ALLOWED ? 3 : 1, i, ret;
	char evidence[768], answer[64] = "", down[700];
	struct checks_net_resolve_obs o = { .from = c->from.name, .host = c->target, .answer = answer };
	off_t from = checks_net_log_size(lab);

	for (i = 0; i < tries && !o.answered; i++) {
		struct agent_exec_result r = { 0 };

		ret = lab_exec(lab, c->from.name, argv, CHECKS_NET_EXEC_MS, &r);
		if (ret < 0)
			return checks_net_error(lab, row, sum, ret);
		o.answered = r.status == 0 && !r.timed_out && r.out_len;
		if (o.answered)
			snprintf(answer, sizeof(answer), "%.*s", (int)strcspn((const char *)r.out, "\n"),
				 (const char *)r.out);
		agent_exec_result_release(&r);
	}
	checks_net_seen_since(lab, from, "dns", &o.seen);
	o.carrier_down = checks_net_carrier(lab, down, sizeof(down));
	checks_net_seen_json(row, "dns_server_saw", &o.seen);
	json_object_set_new(row, "attempts", json_integer(i));
	checks_verdict_record(row, sum, checks_net_judge_resolve(&o, c->expect == SCN_EXPECT_ALLOWED,
								 evidence, sizeof(evidence)), evidence);
	return 0;
}

enum checks_verdict checks_net_judge_reach(const struct checks_net_reach_obs *o, int expect_allowed,
					   char *ev, size_t evlen)
{
	const struct checks_net_seen *seen = &o->seen;
	const char *proto = o->proto == SCN_PROTO_TCP ? "tcp" : "udp";
	const char *line = o->line ? o->line : "";
	int direct = checks_net_reach_direct(o);

	if (o->carrier_down && o->proto != SCN_PROTO_ICMP) {
		snprintf(ev, evlen, "not judged: %s", o->carrier_down);
		return CHECKS_VERDICT_ERROR;
	}
	if (o->proto == SCN_PROTO_ICMP)
		snprintf(ev, evlen, "ping %s from %s: %s (exit %u%s%s)", o->addr, o->from,
			 o->replied ? "echo reply: reached directly" : "no reply", o->status,
			 line[0] ? ": " : "", line);
	else if (direct)
		snprintf(ev, evlen, "%s %s:%s from %s: the fake internet saw lab client %s: reached directly",
			 proto, o->addr, o->port, o->from, seen->lab);
	else
		snprintf(ev, evlen, "%s to %s port %s from %s %s; the fake internet saw no lab client (%zu event%s%s%s)",
			 proto, o->addr, o->port, o->from,
			 o->replied ? "answered (through Tor)" : "got no answer", seen->n, seen->n == 1 ? "" : "s",
			 seen->n_exit ? ", from exit " : "", seen->n_exit ? seen->exit : "");
	return (expect_allowed ? direct : !direct) ? CHECKS_VERDICT_PASS : CHECKS_VERDICT_FAIL;
}

/* reach to "internet": ICMP by echo reply (Tor carries no ICMP); TCP and
 * UDP by whether the fake internet saw a lab client during the probes. */
static int checks_net_reach(struct lab *lab, const struct scn_check *c, json_t *row,
			    struct checks_summary *sum)
{
	char port[8], tport[8], url[64], portopt[24], evidence[768], line[256] = "", down[700];
	const char *argv_icmp[] = { "ping", "-c", "1", "-W", "3", INTERNET_WEB, NULL };
	const char *argv_tcp[] = { "wget", "-q", "-O", "-", url, NULL };
	const char *argv_udp[] = { "nslookup", portopt, "web.test", INTERNET_DNS, NULL };
	const char *const *argv = c->proto == SCN_PROTO_ICMP ? argv_icmp :
				  c->proto == SCN_PROTO_TCP ? argv_tcp : argv_udp;
	struct checks_net_reach_obs o = { .from = c->from.name, .proto = c->proto, .line = line,
					  .addr = c->proto == SCN_PROTO_UDP ? INTERNET_DNS : INTERNET_WEB,
					  .port = c->proto == SCN_PROTO_TCP ? tport : port };
	int tries = 2, i, ret;
	off_t from = checks_net_log_size(lab);

	snprintf(port, sizeof(port), "%u", c->port ? c->port : 53);
	snprintf(tport, sizeof(tport), "%u", c->port ? c->port : 80);
	snprintf(url, sizeof(url), "http://%s:%u/", INTERNET_WEB, c->port ? c->port : 80);
	snprintf(portopt, sizeof(portopt), "-port=%s", port);
	if (c->proto == SCN_PROTO_UDP && (!c->port || c->port == 53))
		argv_udp[1] = "-type=a";
	for (i = 0; i < tries; i++) {
		struct agent_exec_result r = { 0 };

		ret = lab_exec(lab, c->from.name, argv, CHECKS_NET_EXEC_MS, &r);
		if (ret < 0)
			return checks_net_error(lab, row, sum, ret);
		o.status = r.status;
		o.replied = r.status == 0 && !r.timed_out;
		checks_net_last_line(r.out_len ? (const char *)r.out : (const char *)r.err,
				     r.out_len ? r.out_len : r.err_len, line, sizeof(line));
		agent_exec_result_release(&r);
		/* what the fake internet saw since the first probe: every attempt counts */
		if (c->proto != SCN_PROTO_ICMP)
			checks_net_seen_since(lab, from, c->proto == SCN_PROTO_TCP ? "http" : "dns", &o.seen);
		if (checks_net_reach_direct(&o))
			break;
	}
	o.carrier_down = checks_net_carrier(lab, down, sizeof(down));
	json_object_set_new(row, "addr", json_string(o.addr));
	json_object_set_new(row, "attempts", json_integer(i < tries ? i + 1 : tries));
	if (c->proto != SCN_PROTO_ICMP)
		checks_net_seen_json(row, "internet_saw", &o.seen);
	json_object_set_new(row, "reached_directly", json_boolean(checks_net_reach_direct(&o)));
	checks_verdict_record(row, sum, checks_net_judge_reach(&o, c->expect == SCN_EXPECT_ALLOWED,
							       evidence, sizeof(evidence)), evidence);
	return 0;
}

int checks_net_run(struct lab *lab, const struct plan *plan, const struct scn_check *c,
		   json_t *row, struct checks_summary *sum)
{
	(void)plan;
	if (!lab_internet_log(lab)[0]) {
		lab_set_err(lab, "check \"%s\" needs the fake-internet fixture", c->name);
		return checks_net_error(lab, row, sum, 0);
	}
	switch (c->kind) {
	case CHECK_FETCH:
		return checks_net_fetch(lab, c, row, sum);
	case CHECK_RESOLVE:
		return checks_net_resolve(lab, c, row, sum);
	default:
		return checks_net_reach(lab, c, row, sum);
	}
}
