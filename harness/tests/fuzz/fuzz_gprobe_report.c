/* SPDX-License-Identifier: MIT */
/* fuzz_gprobe_report.c: arbitrary bytes as a guest probe report, parsed and judged. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "checks/gprobe_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const users[] = { "debian-tor" };
	static const char *const procs[] = { "tor" };
	struct gprobe_allow allow = { users, 1, procs, 1 };
	struct gprobe_report r;
	char err[256], ev[1536];
	json_t *d = NULL;
	size_t i;

	if (gprobe_report_parse((const char *)data, size, &r, err, sizeof(err)) == 0) {
		/* whatever passed must be within the documented bounds */
		if (r.n_ifs > GPROBE_MAX_IFS || r.n_tx > GPROBE_MAX_TX || (r.n_tx && !r.tx))
			__builtin_trap();
		for (i = 0; i < r.n_tx; i++)
			if (!r.tx[i].oif || strlen(r.tx[i].owner.comm) >= sizeof(r.tx[i].owner.comm))
				__builtin_trap();
		/* every report gets one of the three verdicts, empty or not */
		if (gprobe_judge_forwarding(&r, 0, (int)(size & 1), ev, sizeof(ev), &d) > GPROBE_INCONCLUSIVE)
			__builtin_trap();
		json_decref(d);
		d = NULL;
		for (i = 0; i < r.n_ifs; i++) {
			if (gprobe_judge_attribution(&r, &r.ifs[i], &allow, (int)(size & 1), ev, sizeof(ev),
						     &d) > GPROBE_INCONCLUSIVE)
				__builtin_trap();
			json_decref(d);
			d = NULL;
		}
	} else if (!err[0]) {
		__builtin_trap(); /* a rejection always says why */
	}
	gprobe_report_free(&r);
	return 0;
}
