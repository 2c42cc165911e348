/* SPDX-License-Identifier: MIT */
/* xfer_reach.h: uvmlab-xfer's listen and probe modes, the two ends of a reach check.
 *
 * Both print machine-readable lines on stdout, one per observation, flushed
 * as they happen (the host reads them while the listener still runs):
 *
 *   reach-listen listening proto=tcp|udp addr=IP:PORT
 *   reach-listen conn from=IP:PORT                       (tcp: accepted)
 *   reach-listen token from=IP:PORT token=HEX echo=1|0   (a token arrived)
 *   reach-listen bytes from=IP:PORT len=N                (anything else)
 *   reach-listen error op=socket|bind|listen|poll errno=NAME
 *   reach-listen end events=N dropped=N
 *   reach-probe result proto=tcp|udp to=IP:PORT connect=RESULT echo=token|other|none
 *               errno=NAME sent=N
 *
 * RESULT: tcp handshake|refused|timeout|unreachable|error; udp sent|refused|
 * unreachable|error. Tokens are 1..64 characters of [0-9a-z-].
 */
#ifndef UVMLAB_XFER_REACH_H
#define UVMLAB_XFER_REACH_H

/* ARGV[1] is "listen" or "probe". Returns the process exit code:
 * 0 ok (probe: it ran, whatever it saw), 2 bad usage, 3 socket error. */
int xfer_reach_main(int argc, char **argv);

/* The usage lines of both modes, for uvmlab-xfer's usage text. */
void xfer_reach_usage(void);

#endif
