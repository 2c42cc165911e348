/* SPDX-License-Identifier: MIT */
/* checks_net.h: checks against the fake internet: fetch, resolve, reach to "internet".
 *
 * The guest-side probe says whether something answered; the fake internet's
 * log says who asked. A page fetched "via Tor" must have reached the web
 * server from a Tor exit and never from a lab address (198.18.0.0/15); a
 * probe is "reached directly" when the fake internet logged a lab client
 * during it (Tor-redirected traffic arrives from an exit instead).
 */
#ifndef UVMLAB_CHECKS_NET_H
#define UVMLAB_CHECKS_NET_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "checks/checks.h"
#include "lab/lab.h"
#include "plan/plan.h"

/* Who the fake internet saw in a slice of its log. */
struct checks_net_seen {
	size_t n;                /* client events of the protocol asked for */
	size_t n_lab;            /* ... from 198.18.0.0/15 */
	size_t n_exit;           /* ... from a Tor exit */
	char lab[16];            /* the first lab client */
	char exit[16];           /* the first exit client */
	char other[16];          /* the first client that is neither */
};

/* Scan LEN bytes of fake_internet.py JSON lines (partial lines and garbage
 * are skipped) for events with "proto" == PROTO ("http" or "dns") and sort
 * their clients. EXITS: the Tor exits' addresses (host order). */
void checks_net_scan(const char *buf, size_t len, const char *proto, const uint32_t *exits,
		     size_t n_exits, struct checks_net_seen *out);

/* Pure verdicts over what a check observed (no lab, no I/O), for unit tests.
 * Each writes one line of evidence into EV and returns CHECKS_VERDICT_PASS,
 * _FAIL, or _ERROR when the fake internet was not there to see anything
 * (CARRIER_DOWN set): a blocked verdict over a dead server proves nothing.
 *
 * fetch, expect allowed (through Tor): the page with the token came back,
 * the web server logged at least one request during the attempts and every
 * one came from a Tor exit. Expect blocked: no page and no request from a
 * lab address (198.18.0.0/15). */
struct checks_net_fetch_obs {
	const char *from;          /* the VM */
	int got_page;              /* the token was in what the VM received */
	uint32_t status;           /* the VM's exit status of the last attempt */
	const char *line;          /* its last stderr line ("" if none) */
	const char *resolved;      /* "resolved web.test to A" or "" */
	struct checks_net_seen seen; /* the web server, over every attempt */
	const char *carrier_down;  /* NULL, or why the fake internet was not there */
};
enum checks_verdict checks_net_judge_fetch(const struct checks_net_fetch_obs *o, int expect_allowed,
					   char *ev, size_t evlen);

/* resolve, expect allowed: an answer came back and the fake DNS saw no query
 * from a lab address (a lab client means the VM asked it directly, not
 * through Tor). Expect blocked: no answer and no lab query. */
struct checks_net_resolve_obs {
	const char *from, *host;
	int answered;
	const char *answer;        /* the first address ("" if none) */
	struct checks_net_seen seen; /* the fake DNS, over every attempt */
	const char *carrier_down;
};
enum checks_verdict checks_net_judge_resolve(const struct checks_net_resolve_obs *o,
					     int expect_allowed, char *ev, size_t evlen);

/* reach to "internet": "reached directly" is an echo reply for ICMP (Tor
 * carries no ICMP) and, for TCP and UDP, a lab client in the fake
 * internet's log during the probes (through Tor it sees an exit instead).
 * Allowed passes when reached directly, blocked when not. */
struct checks_net_reach_obs {
	const char *from;
	enum scn_proto proto;
	const char *addr, *port;   /* what was probed, for the evidence */
	int replied;               /* the probe in the VM succeeded */
	uint32_t status;
	const char *line;          /* the probe's last output line */
	struct checks_net_seen seen; /* TCP/UDP: the fake internet, over every attempt */
	const char *carrier_down;  /* TCP/UDP only: the server was not there */
};
enum checks_verdict checks_net_judge_reach(const struct checks_net_reach_obs *o, int expect_allowed,
					   char *ev, size_t evlen);

static inline int checks_net_reach_direct(const struct checks_net_reach_obs *o)
{
	return o->proto == SCN_PROTO_ICMP ? o->replied : o->seen.n_lab > 0;
}

/* Whether C is one of ours: fetch, resolve, or reach with to == internet. */
int checks_net_handles(const struct scn_check *c);

/* Run C (see checks_net_handles()), filling ROW's verdict and evidence and
 * counting it in SUM. 0, or negative errno when the lab failed. */
int checks_net_run(struct lab *lab, const struct plan *plan, const struct scn_check *c,
		   json_t *row, struct checks_summary *sum);

#endif
