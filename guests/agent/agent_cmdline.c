/* SPDX-License-Identifier: MIT */
/* agent_cmdline.c: parse the uvmlab.* keys the host puts on the kernel command line. */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int agent_cmdline_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly "xx:xx:xx:xx:xx:xx". */
static int agent_cmdline_mac(const char *s, size_t n, uint8_t mac[6])
{
	int i, hi, lo;

	if (n != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		hi = agent_cmdline_hex(s[i * 3]);
		lo = agent_cmdline_hex(s[i * 3 + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int agent_cmdline_ipv4(const char *s, size_t n, uint32_t *addr)
{
	char tmp[16];
	struct in_addr a;

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	if (inet_pton(AF_INET, tmp, &a) != 1)
		return -EINVAL;
	*addr = a.s_addr;
	return 0;
}

/* Bounded decimal/hex number: strtoul would run past the token. */
static int agent_cmdline_num(const char *s, size_t n, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	size_t i = 0;
	int d;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == n)
		return -EINVAL;
	for (; i < n; i++) {
		d = agent_cmdline_hex(s[i]);
		if (d < 0 || (unsigned)d >= base)
			return -EINVAL;
		v = v * base + (unsigned)d;
		if (v > max)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

static int agent_cmdline_str(const char *s, size_t n, char *buf, size_t cap)
{
	if (n == 0 || n >= cap)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	return 0;
}

/* "MAC,A.B.C.D/P" */
static int agent_cmdline_if(const char *s, size_t n, struct agent_cmdline *cl)
{
	struct agent_cmdline_if nic;
	const char *slash;
	uint32_t prefix;
	int rc;

	if (cl->n_ifs >= AGENT_CMDLINE_MAX_IFS || n < 18 || s[17] != ',')
		return -EINVAL;
	rc = agent_cmdline_mac(s, 17, nic.mac);
	if (rc < 0)
		return rc;
	s += 18;
	n -= 18;
	slash = memchr(s, '/', n);
	if (!slash)
		return -EINVAL;
	rc = agent_cmdline_ipv4(s, (size_t)(slash - s), &nic.addr);
	if (rc < 0)
		return rc;
	rc = agent_cmdline_num(slash + 1, n - (size_t)(slash + 1 - s), 32, &prefix);
	if (rc < 0)
		return rc;
	nic.prefix = (uint8_t)prefix;
	cl->ifs[cl->n_ifs++] = nic;
	return 0;
}

static int agent_cmdline_token(const char *t, size_t n, struct agent_cmdline *cl)
{
	static const char pfx[] = "uvmlab.";
	const char *tok = t;
	const char *eq, *v;
	size_t klen, vlen;
	uint32_t u;
	int rc;

	if (n < sizeof(pfx) - 1 || memcmp(t, pfx, sizeof(pfx) - 1) != 0)
		return 0;
	eq = memchr(t, '=', n);
	if (!eq)
		return -EINVAL;
	t += sizeof(pfx) - 1;
	klen = (size_t)(eq - t);
	v = eq + 1;
	vlen = n - (size_t)(v - tok);
#define AGENT_CMDLINE_KEY(k) (klen == sizeof(k) - 1 && memcmp(t, k, klen) == 0)
	if (AGENT_CMDLINE_KEY("vm"))
		return agent_cmdline_str(v, vlen, cl->vm, sizeof(cl->vm));
	if (AGENT_CMDLINE_KEY("role"))
		return agent_cmdline_str(v, vlen, cl->role, sizeof(cl->role));
	if (AGENT_CMDLINE_KEY("marker"))
		return agent_cmdline_num(v, vlen, 0xffff, &cl->marker_port);
	if (AGENT_CMDLINE_KEY("if"))
		return agent_cmdline_if(v, vlen, cl);
	if (AGENT_CMDLINE_KEY("gw")) {
		rc = agent_cmdline_ipv4(v, vlen, &cl->gw);
		if (rc == 0)
			cl->has_gw = 1;
		return rc;
	}
	if (AGENT_CMDLINE_KEY("forward")) {
		rc = agent_cmdline_num(v, vlen, 1, &u);
		if (rc == 0)
			cl->forward = (int)u;
		return rc;
	}
#undef AGENT_CMDLINE_KEY
	return -ENOENT;
}

int agent_cmdline_parse(const char *text, size_t len, struct agent_cmdline *out)
{
	size_t i = 0, start;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
				   text[i] == '\0'))
			i++;
		start = i;
		while (i < len && text[i] != ' ' && text[i] != '\t' && text[i] != '\n' &&
		       text[i] != '\0')
			i++;
		if (i > start && agent_cmdline_token(text + start, i - start, out) < 0)
			out->n_bad++;
	}
	return 0;
}
