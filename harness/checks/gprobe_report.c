/* SPDX-License-Identifier: MIT */
/* gprobe_report.c: parse the guest probe's report (untrusted) and judge its findings. */
#include "checks/gprobe_report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GPROBE_DETAIL_MAX 32

static int gprobe_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int gprobe_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* An unsigned integer field no larger than MAX. */
static int gprobe_uint(json_t *obj, const char *key, uint64_t max, uint64_t *out, const char *where,
		       char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	json_int_t i;

	if (!json_is_integer(v))
		return gprobe_fail(err, errlen, "%s.%s: missing or not an integer", where, key);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return gprobe_fail(err, errlen, "%s.%s: %lld out of range 0..%llu", where, key,
				   (long long)i, (unsigned long long)max);
	*out = (uint64_t)i;
	return 0;
}

/* A printable ASCII string shorter than CAP (comm may legitimately be odd
 * bytes in the guest, but the probe escapes them, so what arrives is text). */
static int gprobe_str(json_t *obj, const char *key, char *out, size_t cap, const char *allowed,
		      const char *where, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t n, i;

	if (!json_is_string(v))
		return gprobe_fail(err, errlen, "%s.%s: missing or not a string", where, key);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n >= cap)
		return gprobe_fail(err, errlen, "%s.%s: longer than %zu bytes", where, key, cap - 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || (allowed && !strchr(allowed, c)))
			return gprobe_fail(err, errlen, "%s.%s: unexpected byte 0x%02x", where, key, c);
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

#define GPROBE_ADDR_CHARS "0123456789abcdefABCDEF.:"
#define GPROBE_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@"

static int gprobe_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
				       &b[5], &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (s[i * 3 + 2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int gprobe_parse_if(json_t *o, struct gprobe_if *ifc, const char *where, char *err, size_t errlen)
{
	char mac[18];
	uint64_t v;
	int rc;

	if (!json_is_object(o))
		return gprobe_fail(err, errlen, "%s: not an object", where);
	rc = gprobe_uint(o, "ifindex", UINT32_MAX, &v, where, err, errlen);
	if (rc)
		return rc;
	if (v == 0)
		return gprobe_fail(err, errlen, "%s.ifindex: 0 is not an interface", where);
	ifc->ifindex = (uint32_t)v;
	rc = gprobe_str(o, "name", ifc->name, sizeof(ifc->name), GPROBE_NAME_CHARS, where, err, errlen);
	if (!rc)
		rc = gprobe_str(o, "mac", mac, sizeof(mac), "0123456789abcdefABCDEF:", where, err, errlen);
	/* "": a link type without an Ethernet-style address (the lab kernel's
	 * built-in sit0/tunl0/ip6tnl0); such an interface matches no MAC */
	if (!rc && mac[0] && gprobe_mac(mac, ifc->mac))
		rc = gprobe_fail(err, errlen, "%s.mac: not a MAC address", where);
	ifc->has_mac = !rc && mac[0];
	return rc;
}

static int gprobe_parse_owner(json_t *o, struct gprobe_owner *ow, const char *where, char *err,
			      size_t errlen)
{
	uint64_t v = 0;
	int rc;

	if (json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return gprobe_fail(err, errlen, "%s: neither null nor an object", where);
	ow->present = 1;
	rc = gprobe_uint(o, "cookie", UINT64_MAX >> 1, &ow->cookie, where, err, errlen);
	if (!rc)
		rc = gprobe_uint(o, "uid", UINT32_MAX, &v, where, err, errlen);
	ow->uid = (uint32_t)v;
	if (!rc)
		rc = gprobe_uint(o, "pid", UINT32_MAX, &v, where, err, errlen);
	ow->pid = (uint32_t)v;
	if (!rc)
		rc = gprobe_str(o, "user", ow->user, sizeof(ow->user), GPROBE_NAME_CHARS, where, err, errlen);
	/* comm is whatever the process called itself: any printable byte */
	if (!rc)
		rc = gprobe_str(o, "comm", ow->comm, sizeof(ow->comm), NULL, where, err, errlen);
	return rc;
}

static int gprobe_parse_tx(json_t *o, struct gprobe_tx *t, const char *where, char *err, size_t errlen)
{
	uint64_t v = 0;
	int rc;

	if (!json_is_object(o))
		return gprobe_fail(err, errlen, "%s: not an object", where);
	rc = gprobe_uint(o, "oif", UINT32_MAX, &v, where, err, errlen);
	t->oif = (uint32_t)v;
	if (!rc)
		rc = gprobe_uint(o, "iif", UINT32_MAX, &v, where, err, errlen);
	t->iif = (uint32_t)v;
	if (!rc)
		rc = gprobe_uint(o, "ethertype", UINT16_MAX, &v, where, err, errlen);
	t->ethertype = (uint16_t)v;
	if (!rc)
		rc = gprobe_uint(o, "proto", UINT8_MAX, &v, where, err, errlen);
	t->proto = (uint8_t)v;
	if (!rc)
		rc = gprobe_uint(o, "port", UINT16_MAX, &v, where, err, errlen);
	t->port = (uint16_t)v;
	if (!rc)
		rc = gprobe_uint(o, "packets", UINT64_MAX >> 1, &t->packets, where, err, errlen);
	if (!rc)
		rc = gprobe_uint(o, "bytes", UINT64_MAX >> 1, &t->bytes, where, err, errlen);
	if (!rc)
		rc = gprobe_str(o, "src", t->src, sizeof(t->src), GPROBE_ADDR_CHARS, where, err, errlen);
	if (!rc)
		rc = gprobe_str(o, "dst", t->dst, sizeof(t->dst), GPROBE_ADDR_CHARS, where, err, errlen);
	if (!rc) {
		char w[64];

		snprintf(w, sizeof(w), "%s.owner", where);
		if (!json_object_get(o, "owner"))
			return gprobe_fail(err, errlen, "%s: missing", w);
		rc = gprobe_parse_owner(json_object_get(o, "owner"), &t->owner, w, err, errlen);
	}
	if (!rc && t->oif == 0)
		rc = gprobe_fail(err, errlen, "%s.oif: 0 is not an interface", where);
	return rc;
}

int gprobe_report_parse(const char *buf, size_t len, struct gprobe_report *r, char *err, size_t errlen)
{
	json_t *root = NULL, *a, *fmt, *tr;
	json_error_t jerr;
	char where[48];
	size_t i;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (len > GPROBE_MAX_BYTES)
		return gprobe_fail(err, errlen, "report larger than %u bytes", GPROBE_MAX_BYTES);
	/* NULs stay rejected (no JSON_ALLOW_NUL); duplicate keys could hide a field */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return gprobe_fail(err, errlen, "not JSON (line %d: %.80s)", jerr.line, jerr.text);
	if (!json_is_object(root)) {
		rc = gprobe_fail(err, errlen, "not a JSON object");
		goto out;
	}
	fmt = json_object_get(root, "format");
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), GPROBE_FORMAT)) {
		rc = gprobe_fail(err, errlen, "format: not \"%s\"", GPROBE_FORMAT);
		goto out;
	}
	rc = gprobe_str(root, "kernel", r->kernel, sizeof(r->kernel), NULL, "report", err, errlen);
	if (!rc)
		rc = gprobe_uint(root, "seen", UINT64_MAX >> 1, &r->seen, "report", err, errlen);
	if (!rc)
		rc = gprobe_uint(root, "lost", UINT64_MAX >> 1, &r->lost, "report", err, errlen);
	if (!rc)
		rc = gprobe_uint(root, "xdp_redirects", UINT64_MAX >> 1, &r->xdp_redirects, "report",
				 err, errlen);
	tr = json_object_get(root, "truncated");
	if (!rc && !json_is_boolean(tr))
		rc = gprobe_fail(err, errlen, "report.truncated: missing or not a boolean");
	r->truncated = json_is_true(tr);
	if (rc)
		goto out;

	a = json_object_get(root, "interfaces");
	if (!json_is_array(a) || json_array_size(a) > GPROBE_MAX_IFS) {
		rc = gprobe_fail(err, errlen, "interfaces: not an array of at most %d", GPROBE_MAX_IFS);
		goto out;
	}
	for (i = 0; !rc && i < json_array_size(a); i++) {
		snprintf(where, sizeof(where), "interfaces[%zu]", i);
		rc = gprobe_parse_if(json_array_get(a, i), &r->ifs[i], where, err, errlen);
		for (size_t j = 0; !rc && j < i; j++)
			if (r->ifs[j].ifindex == r->ifs[i].ifindex)
				rc = gprobe_fail(err, errlen, "%s: ifindex %u listed twice", where,
						 r->ifs[i].ifindex);
		if (!rc)
			r->n_ifs++;
	}
	if (rc)
		goto out;

	a = json_object_get(root, "tx");
	if (!json_is_array(a) || json_array_size(a) > GPROBE_MAX_TX) {
		rc = gprobe_fail(err, errlen, "tx: not an array of at most %d", GPROBE_MAX_TX);
		goto out;
	}
	if (json_array_size(a)) {
		r->tx = calloc(json_array_size(a), sizeof(*r->tx));
		if (!r->tx) {
			rc = -ENOMEM;
			gprobe_fail(err, errlen, "out of memory");
			goto out;
		}
	}
	for (i = 0; !rc && i < json_array_size(a); i++) {
		snprintf(where, sizeof(where), "tx[%zu]", i);
		rc = gprobe_parse_tx(json_array_get(a, i), &r->tx[i], where, err, errlen);
		if (!rc)
			r->n_tx++;
	}
out:
	json_decref(root);
	return rc;
}

void gprobe_report_free(struct gprobe_report *r)
{
	free(r->tx);
	r->tx = NULL;
	r->n_tx = 0;
}

const struct gprobe_if *gprobe_report_if_by_mac(const struct gprobe_report *r, const uint8_t mac[6])
{
	size_t i;

	for (i = 0; i < r->n_ifs; i++)
		if (r->ifs[i].has_mac && !memcmp(r->ifs[i].mac, mac, 6))
			return &r->ifs[i];
	return NULL;
}

static const char *gprobe_ifname(const struct gprobe_report *r, uint32_t ifindex, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < r->n_ifs; i++)
		if (r->ifs[i].ifindex == ifindex)
			return r->ifs[i].name;
	snprintf(buf, len, "if%u", ifindex);
	return buf;
}

static const char *gprobe_proto_name(const struct gprobe_tx *t, char *buf, size_t len)
{
	if (t->ethertype != 0x0800 && t->ethertype != 0x86dd) {
		snprintf(buf, len, t->ethertype == 0x0806 ? "arp" : "ethertype 0x%04x", t->ethertype);
		return buf;
	}
	switch (t->proto) {
	case 6:  snprintf(buf, len, "tcp/%u", t->port); break;
	case 17: snprintf(buf, len, "udp/%u", t->port); break;
	case 1:  snprintf(buf, len, "icmp type %u", t->port); break;
	case 58: snprintf(buf, len, "icmpv6 type %u", t->port); break;
	default: snprintf(buf, len, "ip proto %u", t->proto); break;
	}
	return buf;
}

/* "root/curl pid 412", "uid 7/curl pid 412", "user root (socket of no known
 * process)", "uid 0 (socket of no known process)" or "no socket" */
static const char *gprobe_owner_name(const struct gprobe_owner *o, char *buf, size_t len)
{
	char who[48];

	if (!o->present) {
		snprintf(buf, len, "no socket");
		return buf;
	}
	if (o->user[0])
		snprintf(who, sizeof(who), "%s", o->user);
	else
		snprintf(who, sizeof(who), "uid %u", o->uid);
	if (o->pid)
		snprintf(buf, len, "%s/%s pid %u", who, o->comm, o->pid);
	else
		snprintf(buf, len, "%s%s (socket of no known process)", o->user[0] ? "user " : "", who);
	return buf;
}

static json_t *gprobe_row_json(const struct gprobe_report *r, const struct gprobe_tx *t, const char *why)
{
	char a[16], b[16], p[32], o[96];
	json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "out",
				gprobe_ifname(r, t->oif, a, sizeof(a)), "src", t->src, "dst", t->dst,
				"proto", gprobe_proto_name(t, p, sizeof(p)), "owner",
				gprobe_owner_name(&t->owner, o, sizeof(o)), "packets", (json_int_t)t->packets,
				"bytes", (json_int_t)t->bytes, "why", why);

	if (row && t->iif)
		json_object_set_new(row, "in", json_string(gprobe_ifname(r, t->iif, b, sizeof(b))));
	return row;
}

static void gprobe_describe(const struct gprobe_report *r, const struct gprobe_tx *t, char *buf, size_t len)
{
	char a[16], b[16], p[32], o[96];

	if (t->iif)
		snprintf(buf, len, "%s -> %s %s -> %s %s (%llu pk)", gprobe_ifname(r, t->iif, a, sizeof(a)),
			 gprobe_ifname(r, t->oif, b, sizeof(b)), t->src[0] ? t->src : "-",
			 t->dst[0] ? t->dst : "-", gprobe_proto_name(t, p, sizeof(p)),
			 (unsigned long long)t->packets);
	else
		snprintf(buf, len, "%s %s -> %s %s (%llu pk)", gprobe_owner_name(&t->owner, o, sizeof(o)),
			 t->src[0] ? t->src : "-", t->dst[0] ? t->dst : "-",
			 gprobe_proto_name(t, p, sizeof(p)), (unsigned long long)t->packets);
}

/* "; first: ...; ..." for up to 3 offending rows, marked in MARK[]. */
static void gprobe_list(const struct gprobe_report *r, const unsigned char *mark, const char *const *why,
			char *ev, size_t evlen, json_t *detail)
{
	size_t i, shown = 0, off = strlen(ev);
	char one[256];

	for (i = 0; i < r->n_tx; i++) {
		if (!mark[i])
			continue;
		if (detail && json_array_size(detail) < GPROBE_DETAIL_MAX)
			json_array_append_new(detail, gprobe_row_json(r, &r->tx[i], why[mark[i]]));
		if (shown < 3 && off < evlen) {
			gprobe_describe(r, &r->tx[i], one, sizeof(one));
			off += (size_t)snprintf(ev + off, evlen - off, "%s%s", shown ? "; " : ": ", one);
			shown++;
		}
	}
}

static int gprobe_incomplete(const struct gprobe_report *r, char *ev, size_t evlen)
{
	if (r->lost || r->truncated) {
		snprintf(ev, evlen, "probe findings are incomplete (%llu updates lost to a full map%s): "
			 "cannot prove the property", (unsigned long long)r->lost,
			 r->truncated ? ", rows truncated" : "");
		return 1;
	}
	return 0;
}

static int gprobe_link_control(const struct gprobe_tx *t);

enum gprobe_verdict gprobe_judge_forwarding(const struct gprobe_report *r, int expect_forwarding,
					    int allow_empty, char *ev, size_t evlen, json_t **detail)
{
	static const char *const why[] = { "", "forwarded" };
	unsigned char *mark = calloc(r->n_tx ? r->n_tx : 1, 1);
	uint64_t fwd = 0, total = 0, payload = 0;
	json_t *d = detail ? json_array() : NULL;
	enum gprobe_verdict v;
	size_t i;

	if (detail)
		*detail = d;
	if (!mark) {
		snprintf(ev, evlen, "out of memory");
		return GPROBE_FAIL;
	}
	for (i = 0; i < r->n_tx; i++) {
		total += r->tx[i].packets;
		if (r->tx[i].iif) {
			fwd += r->tx[i].packets;
			mark[i] = 1;
		} else if (!gprobe_link_control(&r->tx[i])) {
			payload += r->tx[i].packets;
		}
	}
	if (!expect_forwarding && gprobe_incomplete(r, ev, evlen)) {
		free(mark);
		return GPROBE_FAIL;
	}
	if (fwd || r->xdp_redirects) {
		snprintf(ev, evlen, "%llu of %llu packets sent were received on another interface, "
			 "%llu XDP redirects", (unsigned long long)fwd, (unsigned long long)total,
			 (unsigned long long)r->xdp_redirects);
		gprobe_list(r, mark, why, ev, evlen, d);
		v = expect_forwarding ? GPROBE_PASS : GPROBE_FAIL;
	} else if (!payload && !allow_empty) {
		/* a VM that sent nothing proves neither that it forwards nor that it would not */
		snprintf(ev, evlen, "inconclusive: the VM sent no packet beyond link-layer control "
			 "(%llu packets sent, 0 forwarded): no traffic to judge forwarding by",
			 (unsigned long long)total);
		v = GPROBE_INCONCLUSIVE;
	} else {
		snprintf(ev, evlen, "no packet received on one interface was sent again (%llu packets "
			 "sent, 0 forwarded, 0 XDP redirects)", (unsigned long long)total);
		v = expect_forwarding ? GPROBE_FAIL : GPROBE_PASS;
	}
	free(mark);
	return v;
}

static int gprobe_name_in(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; name[0] && i < n; i++)
		if (!strcmp(name, list[i]))
			return 1;
	return 0;
}

static int gprobe_owner_allowed(const struct gprobe_owner *o, const struct gprobe_allow *allow)
{
	return o->present && (gprobe_name_in(o->user, allow->users, allow->n_users) ||
			      (o->pid && gprobe_name_in(o->comm, allow->procs, allow->n_procs)));
}

/* Frames that carry no one's payload: non-IP (ARP), and the kernel's own
 * neighbour discovery, MLD and IGMP when no process owns them. */
static int gprobe_link_control(const struct gprobe_tx *t)
{
	int kernel = !t->owner.present || !t->owner.pid;

	if (t->ethertype != 0x0800 && t->ethertype != 0x86dd)
		return 1;
	if (!kernel)
		return 0;
	if (t->ethertype == 0x86dd && t->proto == 58)
		return (t->port >= 130 && t->port <= 137) || t->port == 143;
	return t->ethertype == 0x0800 && t->proto == 2;
}

enum { GP_OK = 0, GP_FORWARDED, GP_KERNEL, GP_OWNER };

enum gprobe_verdict gprobe_judge_attribution(const struct gprobe_report *r,
					     const struct gprobe_if *ifc,
					     const struct gprobe_allow *allow, int allow_empty,
					     char *ev, size_t evlen, json_t **detail)
{
	static const char *const why[] = { "", "forwarded (no local socket)", "kernel socket, not on an "
					   "allowed owner's connection", "owner not allowed" };
	unsigned char *mark = calloc(r->n_tx ? r->n_tx : 1, 1);
	uint64_t ok = 0, link = 0, kern_ok = 0, bad = 0;
	json_t *d = detail ? json_array() : NULL;
	char owners[128] = "";
	size_t i, j, off = 0;
	enum gprobe_verdict v;

	if (detail)
		*detail = d;
	if (!mark) {
		snprintf(ev, evlen, "out of memory");
		return GPROBE_FAIL;
	}
	if (gprobe_incomplete(r, ev, evlen)) {
		free(mark);
		return GPROBE_FAIL;
	}
	for (i = 0; i < r->n_tx; i++) {
		const struct gprobe_tx *t = &r->tx[i];

		if (t->oif != ifc->ifindex)
			continue;
		if (t->iif) {
			mark[i] = GP_FORWARDED;
		} else if (gprobe_link_control(t)) {
			/* before the owner: the kernel's ND/MLD go out on a socket
			 * of root's, and root may be an allowed owner */
			link += t->packets;
		} else if (gprobe_owner_allowed(&t->owner, allow)) {
			ok += t->packets;
			if (!strstr(owners, t->owner.comm[0] ? t->owner.comm : t->owner.user) &&
			    off + 40 < sizeof(owners))
				off += (size_t)snprintf(owners + off, sizeof(owners) - off, "%s%s/%s",
							off ? ", " : "", t->owner.user[0] ? t->owner.user : "?",
							t->owner.comm[0] ? t->owner.comm : "?");
		} else if (t->owner.present && !t->owner.pid && t->proto == 6) {
			/* a kernel TCP reply: allowed only on an allowed owner's connection */
			for (j = 0; j < r->n_tx; j++) {
				const struct gprobe_tx *u = &r->tx[j];

				if (u->oif == t->oif && !u->iif && u->proto == 6 && u->port == t->port &&
				    !strcmp(u->dst, t->dst) && u->owner.pid &&
				    gprobe_owner_allowed(&u->owner, allow))
					break;
			}
			if (j < r->n_tx)
				kern_ok += t->packets;
			else
				mark[i] = GP_KERNEL;
		} else {
			mark[i] = t->owner.present && t->owner.pid ? GP_OWNER : GP_KERNEL;
		}
		if (mark[i])
			bad += t->packets;
	}
	if (bad) {
		snprintf(ev, evlen, "%s: %llu packets not from an allowed owner (%llu allowed, %llu "
			 "link-layer)", ifc->name, (unsigned long long)bad, (unsigned long long)ok,
			 (unsigned long long)link);
		gprobe_list(r, mark, why, ev, evlen, d);
		v = GPROBE_FAIL;
	} else if (!ok && !kern_ok && !allow_empty) {
		/* "every packet had an allowed owner" over no packet is a vacuous pass */
		snprintf(ev, evlen, "inconclusive: %s sent no packet beyond link-layer control (%llu "
			 "link-layer): nothing to attribute", ifc->name, (unsigned long long)link);
		v = GPROBE_INCONCLUSIVE;
	} else {
		snprintf(ev, evlen, "%s: %llu packets, all from allowed owners (%s)%s%llu link-layer "
			 "control, %llu kernel replies on their connections", ifc->name,
			 (unsigned long long)ok, owners[0] ? owners : "none sent", "; ",
			 (unsigned long long)link, (unsigned long long)kern_ok);
		v = GPROBE_PASS;
	}
	free(mark);
	return v;
}

const char *gprobe_verdict_name(enum gprobe_verdict v)
{
	return v == GPROBE_PASS ? "pass" : v == GPROBE_INCONCLUSIVE ? "inconclusive" : "fail";
}
