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

#include "checks.h"
#include "lab.h"
#include "plan.h"

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

/* Whether C is one of ours: fetch, resolve, or reach with to == internet. */
int checks_net_handles(const struct scn_check *c);

/* Run C (see checks_net_handles()), filling ROW's verdict and evidence and
 * counting it in SUM. 0, or negative errno when the lab failed. */
int checks_net_run(struct lab *lab, const struct plan *plan, const struct scn_check *c,
		   json_t *row, struct checks_summary *sum);

#endif
