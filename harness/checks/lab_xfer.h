/* SPDX-License-Identifier: MIT */
/* lab_xfer.h: move bytes between the host and VMs, or between VMs, and verify them.
 *
 * Both ends run uvmlab-xfer (static, in the app image as /bin/uvmlab-xfer and
 * beside the images on the host). The receiver starts first (in the guest in
 * the background, or on the host), then the sender; each end prints bytes,
 * rate and an FNV-1a checksum of the stream, so a transfer counts only when
 * both ends agree.
 */
#ifndef UVMLAB_LAB_XFER_H
#define UVMLAB_LAB_XFER_H

#include <stdint.h>

#include "lab/lab.h"

#define LAB_XFER_HOST "host"

enum lab_xfer_transport { LAB_XFER_VSOCK = 0, LAB_XFER_TCP };

struct lab_xfer_result {
	int ok;                 /* sender exit 0, both ends saw BYTES and the same checksum */
	int send_status;        /* sender's exit status (-1: did not run) */
	int recv_got;           /* the receiver reported a transfer */
	unsigned long long sent, received;
	double send_mbps, recv_mbps;
	double seconds;         /* receiver's view */
	char send_fnv[17], recv_fnv[17];
	char send_line[200];    /* last line of the sender's output */
};

/* Move BYTES from FROM to TO (VM names, or LAB_XFER_HOST with vsock) on PORT
 * in MSG-byte writes (0: the tool's default). TCP uses TO's planned address.
 * 0 with *RES filled (a refused or short transfer is RES->ok == 0, not an
 * error), or negative errno with lab_error() set when it could not be run. */
int lab_xfer(struct lab *lab, const struct plan *plan, const char *from, const char *to,
	     enum lab_xfer_transport transport, uint16_t port, uint32_t bytes, uint32_t msg,
	     struct lab_xfer_result *res);

#endif
