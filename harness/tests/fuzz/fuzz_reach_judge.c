/* SPDX-License-Identifier: MIT */
/* fuzz_reach_judge.c: arbitrary bytes as guest output (listener, prober, /proc/net/snmp), parsed and judged. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "checks/reach_judge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct reach_judge_keys keys = { "0123456789abcdef", "fedcba9876543210",
						      { 0xc6120101u, 0xc6120201u }, 2 };
	const char *buf = (const char *)data;
	struct reach_obs o;
	uint64_t v;
	char ev[512];
	int p, e;

	memset(&o, 0, sizeof(o));
	o.from = "a";
	o.to = "b";
	memcpy(o.addr, "198.18.1.2", 11);
	o.port = 8080;
	o.timeout_s = 3;
	/* the same bytes as every kind of report the host reads from a guest */
	reach_judge_parse_listen(buf, size, &keys, &o.tgt);
	reach_judge_parse_probe(buf, size, &o.self);
	reach_judge_parse_probe(buf, size, &o.src);
	if (strnlen(o.tgt.error, sizeof(o.tgt.error)) >= sizeof(o.tgt.error) ||
	    strnlen(o.tgt.token_from, 16) >= 16 || strnlen(o.tgt.other_from, 16) >= 16 ||
	    strnlen(o.tgt.stray_from, 16) >= 16 || strnlen(o.src.err, sizeof(o.src.err)) >= sizeof(o.src.err))
		__builtin_trap();
	if (o.src.ran && (o.src.connect == REACH_CONNECT_UNKNOWN || o.src.connect > REACH_CONNECT_ERROR))
		__builtin_trap();
	if (reach_judge_snmp(buf, size, "Icmp", "InEchos", &v) == 0)
		o.icmp.in_echos = v;
	o.icmp.counters_ok = 1;
	o.icmp.replies = size & 1;
	o.icmp.tries = 1;
	for (p = SCN_PROTO_ICMP; p <= SCN_PROTO_ANY; p++)
		for (e = SCN_EXPECT_ALLOWED; e <= SCN_EXPECT_BLOCKED; e++) {
			enum reach_verdict r;

			o.proto = (enum scn_proto)p;
			r = reach_judge_verdict(&o, (enum scn_expect)e, ev, sizeof(ev));
			if (r > REACH_ERROR || strnlen(ev, sizeof(ev)) >= sizeof(ev))
				__builtin_trap();
			/* no positive control, no pass */
			if (p != SCN_PROTO_ICMP && r == REACH_PASS &&
			    (!o.tgt.listening || o.tgt.error[0] || !o.tgt.n_self || o.self.echo != REACH_ECHO_TOKEN))
				__builtin_trap();
			/* silence counts only from a listener that was there to the end */
			if (p != SCN_PROTO_ICMP && r == REACH_PASS && e == SCN_EXPECT_BLOCKED && !o.tgt.ended)
				__builtin_trap();
		}
	return 0;
}
