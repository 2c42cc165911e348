/* SPDX-License-Identifier: MIT */
/* tor_gateway.h: the texts a tor gateway's services write: its nftables ruleset and torrc; tor's log.
 *
 * Pure text generators, used by tor_gateway.c and tested on their own. Each
 * writes a NUL-terminated text into BUF (LEN bytes) and returns 0, or -ENOSPC
 * when it does not fit.
 */
#ifndef UVMLAB_TOR_GATEWAY_H
#define UVMLAB_TOR_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "roles/role_schemas.h"
#include "scenario/scenario.h"

#define TOR_GATEWAY_TRANS_PORT 9040u
#define TOR_GATEWAY_DNS_PORT 5300u
#define TOR_GATEWAY_TOR_UID 101u  /* debian-tor, fixed in guests/roles/tor-gateway.conf */

/* One LAN of a tor gateway: the gateway's address there (host order) and prefix. */
struct tor_gateway_lan {
	uint32_t addr;
	uint8_t prefix;
};

/* The gateway's torrc: CLIENT_TORRC (the private network's client fragment)
 * followed by DataDirectory, User, Log, SocksPort 0, automapping, and one
 * TransPort/DNSPort pair per LAN address. */
int tor_gateway_torrc(char *buf, size_t len, const char *client_torrc,
		      const struct tor_gateway_lan *lans, size_t n_lans);

/* nftables for a tor gateway. STRICT: input/forward/output policy drop; LAN
 * UDP 53 redirected to the DNSPort and new TCP (SYN) to the TransPort;
 * forward rejects; output accepts established, LAN and TOR_UID's traffic.
 * LEAKY (a mutation): DNS to the gateway still redirected, the LAN
 * masqueraded and (with ip_forward=1) forwarded. OPEN_OUTPUT (a mutation):
 * strict, but any user of the gateway may send. */
int tor_gateway_ruleset(char *buf, size_t len, enum gateway_mode mode,
			const struct tor_gateway_lan *lans, size_t n_lans, uint32_t tor_uid);

/* The last "Bootstrapped N%" in tor's LOG: N, or -1 if none. SUMMARY (may be
 * NULL) gets that line. */
int tor_gateway_progress(const char *log, char *summary, size_t len);

#endif
