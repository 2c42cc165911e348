/* SPDX-License-Identifier: MIT */
/* checks_vsock.c: the vsock check, judged only over a live carrier. */
#include "checks/checks_vsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lab/lab_plugin.h"
#include "services/lab_services.h"

enum checks_verdict checks_vsock_judge(const struct checks_vsock_obs *o, int expect_allowed, char *ev,
				       size_t evlen)
{
	const struct lab_xfer_result *x = o->x;

	if (o->carrier_down) {
		snprintf(ev, evlen, "%s->%s port %u: not judged: %s", o->from, o->to, o->port,
			 o->carrier_down);
		return CHECKS_VERDICT_ERROR;
	}
	if (!x) {
		snprintf(ev, evlen, "%s->%s port %u: the transfer did not run", o->from, o->to, o->port);
		return CHECKS_VERDICT_ERROR;
	}
	if (x->ok)
		snprintf(ev, evlen, "%s->%s port %u: %llu bytes, fnv1a %s on both ends, %.1f MB/s",
			 o->from, o->to, o->port, x->received, x->recv_fnv, x->send_mbps);
	else
		snprintf(ev, evlen, "%s->%s port %u: sender exit %d%s%s; receiver %s", o->from, o->to,
			 o->port, x->send_status, x->send_line[0] ? ": " : "", x->send_line,
			 x->recv_got ? "got data" : "got nothing");
	if (expect_allowed)
		return x->ok ? CHECKS_VERDICT_PASS : CHECKS_VERDICT_FAIL;
	/* refused: the sender failed and not one byte arrived */
	return x->send_status != 0 && !x->recv_got ? CHECKS_VERDICT_PASS : CHECKS_VERDICT_FAIL;
}

int checks_vsock_run(struct lab *lab, const struct plan *plan, const struct scn_check *c, json_t *row,
		     struct checks_summary *sum)
{
	struct checks_vsock_obs obs = { c->from.name, c->to.name, c->port, NULL, NULL };
	struct lab_xfer_result x;
	enum checks_verdict v;
	char ev[1600], down[1100];
	int ret = 0;

	if (lab_vsock_health(lab) < 0) {
		snprintf(down, sizeof(down), "%s", lab_error(lab));
		obs.carrier_down = down;
		ret = -EPIPE;
	} else {
		ret = lab_xfer(lab, plan, c->from.name, c->to.name, LAB_XFER_VSOCK, c->port, c->bytes, 0, &x);
		/* a refusal counts only if the backend is still there to have refused */
		if (lab_vsock_health(lab) < 0) {
			snprintf(down, sizeof(down), "%s", lab_error(lab));
			obs.carrier_down = down;
			ret = -EPIPE;
		} else if (ret >= 0) {
			obs.x = &x;
		}
	}
	v = checks_vsock_judge(&obs, c->expect == SCN_EXPECT_ALLOWED, ev, sizeof(ev));
	if (v == CHECKS_VERDICT_ERROR && !obs.carrier_down)
		snprintf(ev, sizeof(ev), "%s", lab_error(lab));
	checks_verdict_record(row, sum, v, ev);
	if (obs.x && obs.x->ok)
		json_object_set_new(row, "throughput_mbps", json_real(obs.x->send_mbps));
	if (obs.carrier_down)
		lab_set_err(lab, "%s", obs.carrier_down);
	return ret < 0 ? ret : 0;
}
