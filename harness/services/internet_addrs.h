/* SPDX-License-Identifier: MIT */
/* internet_addrs.h: the fake internet's and the private Tor network's addresses, in one place.
 *
 * TEST-NET ranges (RFC 5737), outside every lab subnet (198.18.0.0/15). The
 * fixture scripts (fixtures/internet/fake_internet.py, fixtures/tor/
 * private_tor.py) get them on their command line from lab_internet.c and
 * lab_tor.c; roles and checks that name them use these macros. Each address
 * exists twice, as text (argv, guest files, messages) and as a host-order
 * number (netlink): change both together.
 */
#ifndef UVMLAB_INTERNET_ADDRS_H
#define UVMLAB_INTERNET_ADDRS_H

/* The web server and the authoritative DNS of the zone "test". */
#define INTERNET_WEB      "203.0.113.80"
#define INTERNET_WEB_ADDR 0xcb007150u
#define INTERNET_DNS      "203.0.113.53"
#define INTERNET_DNS_ADDR 0xcb007135u

/* The private Tor network's nodes: hosts 1..INTERNET_TOR_NODES of this /24
 * (private_tor.py's defaults: 4 authorities + 2 exits). */
#define INTERNET_TOR_NET       "198.51.100.0/24"
#define INTERNET_TOR_NET_ADDR  0xc6336400u
#define INTERNET_TOR_NODES     6

#endif
