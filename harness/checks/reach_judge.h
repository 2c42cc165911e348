/* SPDX-License-Identifier: MIT */
/* reach_judge.h: what both ends of a reach check saw, read from guest output, and the verdict.
 *
 * Pure: no lab, no I/O. Everything parsed here came from a guest (the output
 * of uvmlab-xfer listen/probe, /proc/net/snmp) and is treated as untrusted:
 * lines are length-bounded, values range-checked, unknown lines skipped.
 * checks_reach.c gathers the observations; reach_judge_verdict() turns them
 * into pass / fail / error with one line of evidence.
 */
#ifndef UVMLAB_REACH_JUDGE_H
#define UVMLAB_REACH_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "scenario/scenario.h"

#define REACH_JUDGE_TOKEN_MAX 64
#define REACH_JUDGE_MAX_SRC 8     /* source addresses (the source VM's NICs) */

/* What a prober saw of its own attempt ("reach-probe result" line). */
enum reach_connect {
	REACH_CONNECT_UNKNOWN = 0,    /* no result line: the probe did not run */
	REACH_CONNECT_HANDSHAKE,      /* tcp: handshake completed */
	REACH_CONNECT_SENT,           /* udp: sent, no ICMP error came back */
	REACH_CONNECT_REFUSED,        /* tcp RST, udp ICMP port unreachable */
	REACH_CONNECT_TIMEOUT,
	REACH_CONNECT_UNREACHABLE,    /* ICMP host/net unreachable, no route, no ARP */
	REACH_CONNECT_ERROR,          /* the prober failed locally */
};
enum reach_echo { REACH_ECHO_NONE = 0, REACH_ECHO_TOKEN, REACH_ECHO_OTHER };

struct reach_probe_obs {
	int ran;                      /* a well-formed result line was found */
	enum reach_connect connect;
	enum reach_echo echo;
	char err[24];                 /* errno name as the prober printed it, "0" for none */
	uint32_t sent;                /* tokens sent */
};

/* What the listener needs to be told apart: the check's token (sent from
 * the source), the self-probe's token, and the source VM's planned addresses. */
struct reach_judge_keys {
	const char *token;
	const char *self_token;
	uint32_t src[REACH_JUDGE_MAX_SRC];   /* host byte order */
	size_t n_src;
};

/* What the listener in the target saw. */
struct reach_listen_obs {
	int listening;                /* it bound the address and said so */
	int ended;                    /* its end line: the report is complete */
	char error[64];               /* "bind EADDRINUSE" when it could not listen */
	uint32_t n_token_src;         /* the check's token, from a source address */
	uint32_t n_token_other;       /* the check's token, from any other address */
	uint32_t n_self;              /* the self-probe's token */
	uint32_t n_conn_src;          /* tcp connections accepted from a source address */
	uint32_t n_other;             /* other bytes, other tokens, other peers' connections */
	uint32_t dropped;             /* events the listener counted but did not print */
	char token_from[16];          /* first source address the token came from */
	char other_from[16];          /* first other address the token came from */
	char stray_from[16];          /* first peer of an n_other event */
};

/* ICMP: the source's ping and the target's counters around it. */
struct reach_icmp_obs {
	uint32_t tries, replies;      /* ping runs, and how many got a reply */
	uint32_t last_status;         /* exit status of the last ping */
	int counters_ok;              /* both /proc/net/snmp reads parsed */
	int counters_err;             /* else the failed read's negative errno (0: not known) */
	uint64_t in_echos, out_echo_reps;   /* the target's deltas over the check */
};

struct reach_obs {
	enum scn_proto proto;
	const char *from, *to;        /* VM names, for the evidence */
	char addr[16];                /* the target's planned address */
	uint16_t port;
	uint32_t timeout_s;           /* how long the probe may wait */
	uint32_t window_ms;           /* tcp/udp: source probe start to listener stop */
	struct reach_listen_obs tgt;  /* tcp/udp */
	struct reach_probe_obs self;  /* tcp/udp: the target probing its own listener */
	struct reach_probe_obs src;   /* tcp/udp: the source's probe */
	char listen_line[128];        /* tcp/udp: last line of a listener that did not start */
	struct reach_icmp_obs icmp;
};

enum reach_verdict { REACH_PASS = 0, REACH_FAIL, REACH_ERROR };

/* Parse LEN bytes of a prober's output (may hold other lines; the first
 * well-formed "reach-probe result" line counts). Never fails: OUT->ran says
 * whether a result was found. */
void reach_judge_parse_probe(const char *buf, size_t len, struct reach_probe_obs *out);

/* Parse LEN bytes of a listener's output against KEYS into OUT (zeroed first).
 * Malformed lines and lines longer than 1023 bytes are skipped. */
void reach_judge_parse_listen(const char *buf, size_t len, const struct reach_judge_keys *keys,
			      struct reach_listen_obs *out);

/* Find counter NAME of group GROUP ("Icmp", "InEchos") in LEN bytes of
 * /proc/net/snmp text. 0 with *VAL, or -ENOENT. */
int reach_judge_snmp(const char *buf, size_t len, const char *group, const char *name, uint64_t *val);

/* Judge O against EXPECT (tcp/udp: listener, self-probe, source probe; icmp:
 * ping and the target's counters). Writes one line of evidence to EV (always
 * NUL-terminated when EVLEN > 0). */
enum reach_verdict reach_judge_verdict(const struct reach_obs *o, enum scn_expect expect,
				       char *ev, size_t evlen);

/* Names for JSON: "handshake", "sent", "refused", ...; "token", "other", "none". */
const char *reach_judge_connect_name(enum reach_connect c);
const char *reach_judge_echo_name(enum reach_echo e);

#endif
