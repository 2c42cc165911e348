/* SPDX-License-Identifier: MIT */
/* lab_gprobe.c: start the guest probe before role services, fetch and judge its findings. */
#include "checks/check_schemas.h"
#include "checks/lab_gprobe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/agent_client.h"
#include "checks/check.h"
#include "checks/gprobe_report.h"
#include "lab/lab_plugin.h"
#include "base/util.h"

/* Under TCG the verifier and CO-RE relocation of the probe take seconds. */
#define LAB_GPROBE_START_MS  120000u
#define LAB_GPROBE_REPORT_MS 60000u

int lab_gprobe_wanted(const struct plan *plan, const char *vm)
{
	const struct scenario *scn = plan->scn;
	size_t i;

	for (i = 0; i < scn->n_checks; i++)
		if (check_get(scn->checks[i].kind) && check_get(scn->checks[i].kind)->needs_guest_probe &&
		    !strcmp(scn->checks[i].from.name, vm))
			return 1;
	return 0;
}

/* The first line of S (at most 300 bytes), for one-line errors. */
static void lab_gprobe_line(const uint8_t *s, size_t len, char *out, size_t cap)
{
	size_t n = 0;

	while (n < len && n + 1 < cap && n < 300 && s[n] != '\n' && s[n])
		n++;
	memcpy(out, s, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
			out[i] = '?';
}

int lab_gprobe_start(struct lab *lab, const struct plan_vm *pvm)
{
	/* UVMLAB_GUEST_BTF: a BTF file inside the guest for CO-RE instead of the
	 * kernel's own (custom kernels; tests of load failures) */
	const char *btf = getenv("UVMLAB_GUEST_BTF");
	const char *argv[] = { LAB_GPROBE_BIN, "start", btf ? "--btf" : NULL, btf, NULL };
	struct agent_exec_result r = { 0 };
	uint64_t t0 = util_mono_ns();
	char line[320];
	int ret;

	if (!lab_gprobe_wanted(lab_plugin_plan(lab), pvm->name))
		return 0;
	util_progress("vm %s: loading the guest probe", pvm->name);
	ret = lab_exec(lab, pvm->name, argv, LAB_GPROBE_START_MS, &r);
	if (ret < 0)
		return ret;
	if (r.status || r.timed_out) {
		lab_gprobe_line(r.err_len ? r.err : r.out, r.err_len ? r.err_len : r.out_len, line,
				sizeof(line));
		lab_set_err(lab, "vm \"%s\": guest probe did not load%s: %s", pvm->name,
			    r.timed_out ? " (timed out)" : "",
			    line[0] ? line : r.status == 127 ? "uvmlab-gprobe not in the image" : "no reason given");
		ret = -EIO;
	} else {
		util_progress("vm %s: guest probe attached in %.1f s", pvm->name,
			      (double)(util_mono_ns() - t0) / 1e9);
	}
	agent_exec_result_release(&r);
	return ret;
}

int lab_gprobe_prepare(struct lab *lab, struct lab_vm *vm)
{
	int ret;

	if (lab_plugin_vm_probe_started(vm))
		return 0;
	ret = lab_gprobe_start(lab, lab_plugin_vm_plan(vm));
	if (ret < 0)
		return ret;
	lab_plugin_vm_set_probe_started(vm);
	return 0;
}

/* The raw report of VM, fetched once per run and kept in CACHE. */
static int lab_gprobe_fetch(struct lab *lab, const char *vm, json_t *cache, const char **text, size_t *len)
{
	const char *argv[] = { LAB_GPROBE_BIN, "report", NULL };
	struct agent_exec_result r = { 0 };
	json_t *s = json_object_get(cache, vm);
	char line[320];
	int ret;

	if (!s) {
		ret = lab_exec(lab, vm, argv, LAB_GPROBE_REPORT_MS, &r);
		if (ret < 0)
			return ret;
		if (r.status || r.timed_out) {
			lab_gprobe_line(r.err_len ? r.err : r.out, r.err_len ? r.err_len : r.out_len, line,
					sizeof(line));
			lab_set_err(lab, "vm \"%s\": guest probe report failed%s: %s", vm,
				    r.timed_out ? " (timed out)" : "", line[0] ? line : "no reason given");
			agent_exec_result_release(&r);
			return -EIO;
		}
		/* a string, not parsed JSON: the report is judged by our own parser */
		s = json_stringn_nocheck((const char *)r.out, r.out_len);
		agent_exec_result_release(&r);
		if (!s || json_object_set_new(cache, vm, s))
			return -ENOMEM;
	}
	*text = json_string_value(s);
	*len = json_string_length(s);
	return 0;
}

static const struct plan_nic *lab_gprobe_nic(const struct plan *plan, const struct plan_vm *pvm,
					     const char *network)
{
	size_t k;

	if (!network)
		return pvm->n_nics ? &pvm->nics[0] : NULL;
	for (k = 0; k < pvm->n_nics; k++)
		if (!strcmp(plan->scn->networks[pvm->nics[k].net].name, network))
			return &pvm->nics[k];
	return NULL;
}

int lab_gprobe_check(struct lab *lab, const struct plan *plan, const struct scn_check *c, json_t *row,
		     json_t *cache, struct checks_summary *sum)
{
	const struct plan_vm *pvm = plan_find_vm(plan, c->from.name);
	struct gprobe_report rep;
	const struct plan_nic *nic;
	const struct gprobe_if *ifc;
	json_t *detail = NULL;
	char ev[1536], err[256];
	const char *text;
	size_t len;
	enum gprobe_verdict v;
	int ret;

	if (!pvm)
		return -ENOENT;
	ret = lab_gprobe_fetch(lab, pvm->name, cache, &text, &len);
	if (ret < 0)
		return ret;
	if (gprobe_report_parse(text, len, &rep, err, sizeof(err)) < 0) {
		lab_set_err(lab, "vm \"%s\": guest probe report rejected: %s", pvm->name, err);
		gprobe_report_free(&rep);
		return -EPROTO;
	}
	json_object_set_new(row, "probe", json_pack("{s:s,s:I,s:I,s:I}", "kernel", rep.kernel,
						     "packets_seen", (json_int_t)rep.seen,
						     "lost", (json_int_t)rep.lost,
						     "xdp_redirects", (json_int_t)rep.xdp_redirects));
	if (c->kind == CHECK_FORWARDING) {
		v = gprobe_judge_forwarding(&rep, c->expect == SCN_EXPECT_ALLOWED, c->allow_empty, ev,
					    sizeof(ev), &detail);
	} else {
		struct gprobe_allow allow = { (const char *const *)c->users, c->n_users,
					      (const char *const *)c->procs, c->n_procs };
		char mac[18];

		nic = lab_gprobe_nic(plan, pvm, c->network.name);
		if (!nic) {
			gprobe_report_free(&rep);
			return -ENOENT;
		}
		json_object_set_new(row, "network", json_string(plan->scn->networks[nic->net].name));
		ifc = gprobe_report_if_by_mac(&rep, nic->mac);
		if (!ifc) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", nic->mac[0], nic->mac[1],
				 nic->mac[2], nic->mac[3], nic->mac[4], nic->mac[5]);
			lab_set_err(lab, "vm \"%s\": the guest probe lists no interface with MAC %s "
				    "(network %s)", pvm->name, mac, plan->scn->networks[nic->net].name);
			gprobe_report_free(&rep);
			return -EPROTO;
		}
		v = gprobe_judge_attribution(&rep, ifc, &allow, c->allow_empty, ev, sizeof(ev), &detail);
	}
	json_object_set_new(row, "verdict", json_string(gprobe_verdict_name(v)));
	json_object_set_new(row, "evidence", json_string(ev));
	if (detail)
		json_object_set_new(row, "findings", detail);
	if (v == GPROBE_PASS)
		sum->passed++;
	else if (v == GPROBE_INCONCLUSIVE)
		sum->inconclusive++;
	else
		sum->failed++;
	gprobe_report_free(&rep);
	return 0;
}
