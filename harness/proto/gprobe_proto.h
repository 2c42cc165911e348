/* SPDX-License-Identifier: MIT */
/* gprobe_proto.h: the guest probe's report, "uvmlab-gprobe/1", written in the guest and read by the host.
 *
 * `uvmlab-gprobe report` (guests/probe/gprobe.c) prints one JSON object on
 * stdout; the host runs it through the agent and parses the text with
 * gprobe_report_parse() (harness/checks/gprobe_report.c), which treats it as
 * untrusted and rejects the whole report when any limit below is exceeded.
 * The fields, their units and their meaning are specified in
 * guests/probe/README.md ("Report format"); a change to either side that the
 * other would read differently needs a new GPROBE_FORMAT.
 *
 * Plain constants only: the header is compiled into the static guest binary
 * and into the host alike.
 */
#ifndef UVMLAB_GPROBE_PROTO_H
#define UVMLAB_GPROBE_PROTO_H

/* The report's "format" member. */
#define GPROBE_FORMAT    "uvmlab-gprobe/1"
/* "tx" rows printed at most, biggest first; with more, "truncated" is true.
 * A bare number: the probe's usage text prints it. */
#define GPROBE_MAX_TX    4096
/* "interfaces" entries a report may hold. */
#define GPROBE_MAX_IFS   32
/* Report text as a whole, the cap the agent puts on one exec's output. */
#define GPROBE_MAX_BYTES (1u << 20)

#endif
