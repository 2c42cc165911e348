/* SPDX-License-Identifier: MIT */
/* reach_judge.c: parse what both ends of a reach check saw (untrusted guest output), judge it. */
#include "checks/reach_judge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REACH_LINE_MAX 1024     /* /proc/net/snmp header lines run to ~400 bytes */
#define REACH_FIELDS_MAX 8

struct reach_field {
	char key[16];
	char val[80];
};

/* Split LINE ("PREFIX WORD k=v k=v ...") after PREFIX into WORD and fields.
 * Returns the number of fields, or -1 when the line is not of that shape. */
static int reach_judge_fields(const char *line, const char *prefix, char *word, size_t wlen,
			      struct reach_field *f, int max)
{
	size_t pl = strlen(prefix);
	const char *p;
	int n = 0;

	if (strncmp(line, prefix, pl) || line[pl] != ' ')
		return -1;
	p = line + pl + 1;
	{
		size_t wl = strcspn(p, " ");

		if (!wl || wl >= wlen)
			return -1;
		memcpy(word, p, wl);
		word[wl] = '\0';
		p += wl;
	}
	while (*p == ' ')
		p++;
	while (*p) {
		size_t tl = strcspn(p, " "), kl;
		const char *eq = memchr(p, '=', tl);

		if (!eq || n >= max)
			return -1;
		kl = (size_t)(eq - p);
		if (!kl || kl >= sizeof(f[n].key) || tl - kl - 1 >= sizeof(f[n].val))
			return -1;
		memcpy(f[n].key, p, kl);
		f[n].key[kl] = '\0';
		memcpy(f[n].val, eq + 1, tl - kl - 1);
		f[n].val[tl - kl - 1] = '\0';
		n++;
		p += tl;
		while (*p == ' ')
			p++;
	}
	return n;
}

static const char *reach_judge_get(const struct reach_field *f, int n, const char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(f[i].key, key))
			return f[i].val;
	return NULL;
}

static int reach_judge_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* "A.B.C.D:PORT" -> address (host order) and its dotted text. */
static int reach_judge_peer(const char *s, uint32_t *addr, char text[16])
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	struct in_addr in;
	uint32_t port;
	char host[16];

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (inet_pton(AF_INET, host, &in) != 1 || reach_judge_u32(colon + 1, &port) < 0 || port > 65535)
		return -1;
	*addr = ntohl(in.s_addr);
	memcpy(text, host, sizeof(host));
	return 0;
}

/* Call FN for every complete or final line of BUF[0..LEN) up to REACH_LINE_MAX-1
 * bytes, NUL-terminated; longer lines are skipped whole. */
static void reach_judge_lines(const char *buf, size_t len, void (*fn)(const char *line, void *arg),
			      void *arg)
{
	size_t i = 0;

	while (buf && i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (buf + i)) : len - i;
		char line[REACH_LINE_MAX];

		if (ll < sizeof(line) && !memchr(buf + i, '\0', ll)) {
			memcpy(line, buf + i, ll);
			line[ll] = '\0';
			if (ll && line[ll - 1] == '\r')
				line[ll - 1] = '\0';
			fn(line, arg);
		}
		i += ll + 1;
	}
}

static void reach_judge_probe_line(const char *line, void *arg)
{
	struct reach_probe_obs *o = arg;
	struct reach_field f[REACH_FIELDS_MAX];
	static const char *const words[] = {
		[REACH_CONNECT_HANDSHAKE] = "handshake", [REACH_CONNECT_SENT] = "sent",
		[REACH_CONNECT_REFUSED] = "refused", [REACH_CONNECT_TIMEOUT] = "timeout",
		[REACH_CONNECT_UNREACHABLE] = "unreachable", [REACH_CONNECT_ERROR] = "error",
	};
	char word[16];
	const char *conn, *echo, *err;
	uint32_t sent = 0;
	size_t i;
	int n;

	if (o->ran)
		return;
	n = reach_judge_fields(line, "reach-probe", word, sizeof(word), f, REACH_FIELDS_MAX);
	if (n < 0 || strcmp(word, "result"))
		return;
	conn = reach_judge_get(f, n, "connect");
	echo = reach_judge_get(f, n, "echo");
	err = reach_judge_get(f, n, "errno");
	if (!conn || !echo || !err || strlen(err) >= sizeof(o->err) ||
	    reach_judge_u32(reach_judge_get(f, n, "sent"), &sent) < 0)
		return;
	for (i = 1; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(conn, words[i]))
			break;
	if (i == sizeof(words) / sizeof(words[0]))
		return;
	if (strcmp(echo, "token") && strcmp(echo, "other") && strcmp(echo, "none"))
		return;
	o->connect = (enum reach_connect)i;
	o->echo = !strcmp(echo, "token") ? REACH_ECHO_TOKEN : !strcmp(echo, "other") ? REACH_ECHO_OTHER
										  : REACH_ECHO_NONE;
	memcpy(o->err, err, strlen(err) + 1);
	o->sent = sent;
	o->ran = 1;
}

void reach_judge_parse_probe(const char *buf, size_t len, struct reach_probe_obs *out)
{
	memset(out, 0, sizeof(*out));
	reach_judge_lines(buf, len, reach_judge_probe_line, out);
}

struct reach_judge_listen_ctx {
	const struct reach_judge_keys *keys;
	struct reach_listen_obs *o;
};

static int reach_judge_is_src(const struct reach_judge_keys *k, uint32_t a)
{
	size_t i;

	for (i = 0; i < k->n_src && i < REACH_JUDGE_MAX_SRC; i++)
		if (k->src[i] == a)
			return 1;
	return 0;
}

static void reach_judge_add(uint32_t *n)
{
	if (*n < UINT32_MAX)
		(*n)++;
}

static void reach_judge_stray(struct reach_listen_obs *o, const char from[16])
{
	if (!o->n_other)
		memcpy(o->stray_from, from, 16);
	reach_judge_add(&o->n_other);
}

static void reach_judge_listen_line(const char *line, void *arg)
{
	struct reach_judge_listen_ctx *ctx = arg;
	struct reach_listen_obs *o = ctx->o;
	struct reach_field f[REACH_FIELDS_MAX];
	char word[16], from[16];
	uint32_t a = 0, v;
	int n = reach_judge_fields(line, "reach-listen", word, sizeof(word), f, REACH_FIELDS_MAX);

	if (n < 0)
		return;
	if (!strcmp(word, "listening")) {
		o->listening = 1;
	} else if (!strcmp(word, "end")) {
		o->ended = 1;
		if (reach_judge_u32(reach_judge_get(f, n, "dropped"), &v) == 0)
			o->dropped = v;
	} else if (!strcmp(word, "error")) {
		const char *op = reach_judge_get(f, n, "op"), *e = reach_judge_get(f, n, "errno");

		snprintf(o->error, sizeof(o->error), "%.20s %.32s", op ? op : "?", e ? e : "?");
	} else if (!strcmp(word, "conn")) {
		if (reach_judge_peer(reach_judge_get(f, n, "from"), &a, from) < 0)
			return;
		/* other peers' connections show up again as token or bytes lines
		 * (the self-probe's among them) */
		if (reach_judge_is_src(ctx->keys, a))
			reach_judge_add(&o->n_conn_src);
	} else if (!strcmp(word, "token")) {
		const char *t = reach_judge_get(f, n, "token");

		if (!t || reach_judge_peer(reach_judge_get(f, n, "from"), &a, from) < 0)
			return;
		if (ctx->keys->token && !strcmp(t, ctx->keys->token)) {
			if (reach_judge_is_src(ctx->keys, a)) {
				if (!o->n_token_src)
					memcpy(o->token_from, from, sizeof(from));
				reach_judge_add(&o->n_token_src);
			} else {
				if (!o->n_token_other)
					memcpy(o->other_from, from, sizeof(from));
				reach_judge_add(&o->n_token_other);
			}
		} else if (ctx->keys->self_token && !strcmp(t, ctx->keys->self_token)) {
			reach_judge_add(&o->n_self);
		} else {
			reach_judge_stray(o, from);
		}
	} else if (!strcmp(word, "bytes")) {
		if (reach_judge_peer(reach_judge_get(f, n, "from"), &a, from) < 0)
			return;
		reach_judge_stray(o, from);
	}
}

void reach_judge_parse_listen(const char *buf, size_t len, const struct reach_judge_keys *keys,
			      struct reach_listen_obs *out)
{
	struct reach_judge_listen_ctx ctx = { keys, out };

	memset(out, 0, sizeof(*out));
	reach_judge_lines(buf, len, reach_judge_listen_line, &ctx);
}

struct reach_judge_snmp_ctx {
	const char *group, *name;
	int col;                      /* column of NAME in the group's header, -1 = not seen */
	int found;
	uint64_t val;
};

static void reach_judge_snmp_line(const char *line, void *arg)
{
	struct reach_judge_snmp_ctx *ctx = arg;
	size_t gl = strlen(ctx->group);
	const char *p = line + gl + 1;
	int col = 0;

	if (ctx->found || strncmp(line, ctx->group, gl) || line[gl] != ':')
		return;
	while (*p == ' ')
		p++;
	if (*p >= '0' && *p <= '9') {
		/* the value line follows its header */
		if (ctx->col < 0)
			return;
		while (*p) {
			size_t tl = strcspn(p, " ");

			if (col == ctx->col) {
				char num[24], *end;
				unsigned long long v;

				if (!tl || tl >= sizeof(num))
					return;
				memcpy(num, p, tl);
				num[tl] = '\0';
				errno = 0;
				v = strtoull(num, &end, 10);
				if (errno || *end || num[0] < '0' || num[0] > '9')
					return;
				ctx->val = v;
				ctx->found = 1;
				return;
			}
			col++;
			p += tl;
			while (*p == ' ')
				p++;
		}
		return;
	}
	ctx->col = -1;
	while (*p) {
		size_t tl = strcspn(p, " ");

		if (tl == strlen(ctx->name) && !strncmp(p, ctx->name, tl)) {
			ctx->col = col;
			return;
		}
		col++;
		p += tl;
		while (*p == ' ')
			p++;
	}
}

int reach_judge_snmp(const char *buf, size_t len, const char *group, const char *name, uint64_t *val)
{
	struct reach_judge_snmp_ctx ctx = { group, name, -1, 0, 0 };

	reach_judge_lines(buf, len, reach_judge_snmp_line, &ctx);
	if (!ctx.found)
		return -ENOENT;
	*val = ctx.val;
	return 0;
}

const char *reach_judge_connect_name(enum reach_connect c)
{
	switch (c) {
	case REACH_CONNECT_HANDSHAKE:   return "handshake";
	case REACH_CONNECT_SENT:        return "sent";
	case REACH_CONNECT_REFUSED:     return "refused";
	case REACH_CONNECT_TIMEOUT:     return "timeout";
	case REACH_CONNECT_UNREACHABLE: return "unreachable";
	case REACH_CONNECT_ERROR:       return "error";
	default:                        return "not run";
	}
}

const char *reach_judge_echo_name(enum reach_echo e)
{
	return e == REACH_ECHO_TOKEN ? "token" : e == REACH_ECHO_OTHER ? "other" : "none";
}

/* Append to EV (bounded, always terminated). */
static void reach_judge_cat(char *ev, size_t evlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reach_judge_cat(char *ev, size_t evlen, const char *fmt, ...)
{
	size_t used = strnlen(ev, evlen);
	va_list ap;

	if (used + 1 >= evlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ev + used, evlen - used, fmt, ap);
	va_end(ap);
}

/* "handshake, token echoed" / "refused (RST)" / "sent, no reply" ... */
static void reach_judge_src_words(const struct reach_obs *o, char *ev, size_t evlen)
{
	const struct reach_probe_obs *s = &o->src;
	int tcp = o->proto == SCN_PROTO_TCP;

	switch (s->connect) {
	case REACH_CONNECT_HANDSHAKE:
	case REACH_CONNECT_SENT:
		reach_judge_cat(ev, evlen, "%s, %s", tcp ? "handshake" : "sent",
				s->echo == REACH_ECHO_TOKEN ? "token echoed" :
				s->echo == REACH_ECHO_OTHER ? "other bytes came back" :
				tcp ? "no echo" : "no reply");
		break;
	case REACH_CONNECT_REFUSED:
		reach_judge_cat(ev, evlen, "%s", tcp ? "refused (RST)" : "sent, ICMP port unreachable");
		break;
	case REACH_CONNECT_TIMEOUT:
		reach_judge_cat(ev, evlen, "timeout after %u s", o->timeout_s);
		break;
	case REACH_CONNECT_UNREACHABLE:
		reach_judge_cat(ev, evlen, "unreachable (%s)", s->err);
		break;
	case REACH_CONNECT_ERROR:
		reach_judge_cat(ev, evlen, "probe error (%s)", s->err);
		break;
	default:
		reach_judge_cat(ev, evlen, "probe did not run");
		break;
	}
}

static enum reach_verdict reach_judge_expect(int open, int closed, enum scn_expect expect)
{
	if (expect == SCN_EXPECT_ALLOWED)
		return open ? REACH_PASS : REACH_FAIL;
	return closed ? REACH_PASS : REACH_FAIL;
}

static enum reach_verdict reach_judge_icmp(const struct reach_obs *o, enum scn_expect expect,
					   char *ev, size_t evlen)
{
	const struct reach_icmp_obs *i = &o->icmp;
	int reply = i->replies > 0, counted = i->in_echos > 0;

	snprintf(ev, evlen, "ping %s from %s: exit %u after %u %s, %s", o->addr, o->from,
		 i->last_status, i->tries, i->tries == 1 ? "try" : "tries", reply ? "echo reply" : "no reply");
	if (!i->counters_ok) {
		reach_judge_cat(ev, evlen, "; could not read %s's ICMP counters%s%s", o->to,
				i->counters_err ? ": " : "", i->counters_err ? strerror(-i->counters_err) : "");
		return REACH_ERROR;
	}
	if (counted)
		reach_judge_cat(ev, evlen, "; %s counted %llu echo request%s, sent %llu repl%s", o->to,
				(unsigned long long)i->in_echos, i->in_echos == 1 ? "" : "s",
				(unsigned long long)i->out_echo_reps, i->out_echo_reps == 1 ? "y" : "ies");
	else
		reach_judge_cat(ev, evlen, "; %s counted no echo request", o->to);
	if (reply && !counted) {
		reach_judge_cat(ev, evlen, ": something else answers for %s", o->addr);
		return REACH_FAIL;
	}
	if (!reply && counted) {
		reach_judge_cat(ev, evlen, ": the path is one-way");
		return REACH_FAIL;
	}
	return reach_judge_expect(reply && counted, !reply && !counted, expect);
}

enum reach_verdict reach_judge_verdict(const struct reach_obs *o, enum scn_expect expect,
				       char *ev, size_t evlen)
{
	const struct reach_listen_obs *t = &o->tgt;
	const struct reach_probe_obs *s = &o->src;
	const char *proto = o->proto == SCN_PROTO_UDP ? "udp" : "tcp";
	int tcp = o->proto == SCN_PROTO_TCP, delivered, foreign, open, closed;
	const char *why = NULL;

	if (!ev || !evlen)
		return REACH_ERROR;
	ev[0] = '\0';
	if (o->proto == SCN_PROTO_ICMP)
		return reach_judge_icmp(o, expect, ev, evlen);
	if (o->proto != SCN_PROTO_TCP && o->proto != SCN_PROTO_UDP) {
		snprintf(ev, evlen, "reach: no probe for this protocol");
		return REACH_ERROR;
	}
	snprintf(ev, evlen, "%s %s:%u", proto, o->addr, o->port);
	/* The positive control first: without it, silence proves nothing. */
	if (!t->listening || t->error[0]) {
		reach_judge_cat(ev, evlen, ": listener in %s did not start (%s)", o->to,
				t->error[0] ? t->error : o->listen_line[0] ? o->listen_line : "no output");
		return REACH_ERROR;
	}
	if (!o->self.ran || o->self.echo != REACH_ECHO_TOKEN || !t->n_self) {
		reach_judge_cat(ev, evlen, ": self-probe in %s failed (", o->to);
		reach_judge_cat(ev, evlen, "%s, echo %s; listener saw %s)", reach_judge_connect_name(o->self.connect),
				reach_judge_echo_name(o->self.echo), t->n_self ? "it" : "nothing");
		return REACH_ERROR;
	}
	reach_judge_cat(ev, evlen, " from %s: ", o->from);
	reach_judge_src_words(o, ev, evlen);
	if (!s->ran || s->connect == REACH_CONNECT_ERROR) {
		reach_judge_cat(ev, evlen, "; %s's listener was ready (self-probe ok)", o->to);
		return REACH_ERROR;
	}
	delivered = t->n_token_src > 0;
	foreign = t->n_token_other > 0;
	if (delivered)
		reach_judge_cat(ev, evlen, "; %s saw token from %s", o->to, t->token_from);
	else if (foreign)
		reach_judge_cat(ev, evlen, "; %s saw token from %s", o->to, t->other_from);
	else if (tcp && t->n_conn_src)
		reach_judge_cat(ev, evlen, "; %s accepted a connection from %s but got no token", o->to, o->from);
	else if (o->window_ms < 1000)
		reach_judge_cat(ev, evlen, "; %s saw nothing in %u ms (self-probe ok)", o->to, o->window_ms);
	else
		reach_judge_cat(ev, evlen, "; %s saw nothing in %u.%u s (self-probe ok)", o->to,
				o->window_ms / 1000, o->window_ms % 1000 / 100);
	if (t->n_other)
		reach_judge_cat(ev, evlen, ", and %u other event%s (first from %s)", t->n_other,
				t->n_other == 1 ? "" : "s", t->stray_from);
	if (!t->ended)
		reach_judge_cat(ev, evlen, " (the listener ended before it was stopped: report incomplete)");

	if (tcp) {
		int src_open = s->connect == REACH_CONNECT_HANDSHAKE && s->echo == REACH_ECHO_TOKEN;
		int src_closed = s->connect == REACH_CONNECT_REFUSED || s->connect == REACH_CONNECT_TIMEOUT ||
				 s->connect == REACH_CONNECT_UNREACHABLE;

		open = delivered && !foreign && src_open;
		closed = !delivered && !foreign && !t->n_conn_src && src_closed;
		if (foreign)
			why = "the token arrived from an address that is not the source's (NAT or a proxy in the path)";
		else if (delivered && !src_open)
			why = "the target got the token but the source got no echo: the return path is cut";
		else if (!delivered && t->n_conn_src)
			why = "the handshake reached the target but the token did not";
		else if (!delivered && s->connect == REACH_CONNECT_HANDSHAKE)
			why = "the source's handshake was answered, but not by the target's listener";
	} else {
		int src_err = s->connect == REACH_CONNECT_REFUSED || s->connect == REACH_CONNECT_UNREACHABLE;

		open = delivered && !foreign && !src_err;
		closed = !delivered && !foreign && s->echo != REACH_ECHO_TOKEN;
		if (foreign)
			why = "the token arrived from an address that is not the source's (NAT or a proxy in the path)";
		else if (delivered && src_err)
			why = "the target got the token yet the source got an ICMP error";
		else if (!delivered && s->echo == REACH_ECHO_TOKEN)
			why = "the source got its token back, but not from the target's listener";
	}
	/* Silence counts only from a listener that was still there when stopped. */
	if (!open && !t->ended)
		return REACH_ERROR;
	if (!open && !closed) {
		reach_judge_cat(ev, evlen, ": %s", why ? why : "the two ends disagree");
		return REACH_FAIL;
	}
	return reach_judge_expect(open, closed, expect);
}
