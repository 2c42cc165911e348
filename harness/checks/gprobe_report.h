/* SPDX-License-Identifier: MIT */
/* gprobe_report.h: the guest probe's findings (uvmlab-gprobe report), parsed and judged.
 *
 * The report comes from inside a guest, so it is untrusted: every field is
 * type- and range-checked, strings are bounded and must be printable, and
 * anything unexpected rejects the whole report (a lab error, never a pass).
 *
 * Judging is pure (no lab, no I/O) so that unit tests can feed it reports:
 * - forwarding: a tx row with iif != 0 is a packet the guest received on one
 *   interface and sent again; XDP redirects count as forwarding too.
 * - attribution: on one interface (found by MAC), every packet must come from
 *   a socket whose owner is an allowed user or process. Link-layer control
 *   (non-IP frames, and ARP-like kernel chatter: ICMPv6 neighbour discovery and
 *   MLD, IGMP, sent without a process) is listed but allowed. A TCP packet from
 *   a kernel socket (no process: a reset or a TIME_WAIT ack) toward an address
 *   and port that an allowed owner talks to on that interface is the kernel
 *   finishing that owner's connection, and is allowed with it.
 * Either verdict fails when the probe lost updates (a full map) or truncated
 * its rows: an incomplete picture cannot prove "nothing else happened".
 * Silence proves nothing either: when the VM (forwarding) or the interface
 * (attribution) sent no packet beyond link-layer control, the verdict is
 * inconclusive unless the check allows an empty picture (allow_empty).
 */
#ifndef UVMLAB_GPROBE_REPORT_H
#define UVMLAB_GPROBE_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "proto/gprobe_proto.h" /* GPROBE_FORMAT and the report's limits */

struct gprobe_if {
	uint32_t ifindex;
	char name[16];
	uint8_t mac[6];
	int has_mac;          /* 0: no Ethernet-style address ("" in the report: sit0, tunl0) */
};

struct gprobe_owner {
	int present;          /* 0: the packet had no socket */
	uint64_t cookie;
	uint32_t uid;
	char user[33];        /* "" when the guest could not name the uid */
	uint32_t pid;         /* 0: socket created before the probe, or a kernel/child socket */
	char comm[16];        /* "" when pid is 0 */
};

struct gprobe_tx {
	uint32_t oif, iif;
	uint16_t ethertype;
	uint8_t proto;
	uint16_t port;        /* TCP/UDP destination port; ICMP(v6) type */
	char src[46], dst[46];
	uint64_t packets, bytes;
	struct gprobe_owner owner;
};

struct gprobe_report {
	char kernel[65];
	struct gprobe_if ifs[GPROBE_MAX_IFS];
	size_t n_ifs;
	uint64_t seen, lost, xdp_redirects;
	int truncated;
	struct gprobe_tx *tx;
	size_t n_tx;
};

/* Parse LEN bytes of report text into *R (zeroed first). 0, or -EINVAL with
 * a one-line reason in ERR ("tx[3].owner.comm: ..."). gprobe_report_free()
 * is safe after either outcome. */
int gprobe_report_parse(const char *buf, size_t len, struct gprobe_report *r, char *err,
			size_t errlen);
void gprobe_report_free(struct gprobe_report *r);

/* The interface with MAC, or NULL. */
const struct gprobe_if *gprobe_report_if_by_mac(const struct gprobe_report *r, const uint8_t mac[6]);

enum gprobe_verdict { GPROBE_FAIL = 0, GPROBE_PASS = 1, GPROBE_INCONCLUSIVE = 2 };

/* Verdicts: GPROBE_PASS, GPROBE_FAIL, or GPROBE_INCONCLUSIVE when nothing
 * but link-layer control was sent and ALLOW_EMPTY is 0. EVIDENCE gets one
 * line; *DETAIL (if not NULL) a new JSON array of the offending rows (at
 * most 32). */
enum gprobe_verdict gprobe_judge_forwarding(const struct gprobe_report *r, int expect_forwarding,
					    int allow_empty, char *evidence, size_t evlen,
					    json_t **detail);

struct gprobe_allow {
	const char *const *users;
	size_t n_users;
	const char *const *procs;
	size_t n_procs;
};
enum gprobe_verdict gprobe_judge_attribution(const struct gprobe_report *r,
					     const struct gprobe_if *ifc,
					     const struct gprobe_allow *allow, int allow_empty,
					     char *evidence, size_t evlen, json_t **detail);

/* "pass", "fail" or "inconclusive". */
const char *gprobe_verdict_name(enum gprobe_verdict v);

#endif
