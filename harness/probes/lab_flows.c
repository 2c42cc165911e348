/* SPDX-License-Identifier: MIT */
/* lab_flows.c: what crossed the lab's ports during a run, judged against the policy. */
#include "probes/lab_flows.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probes/flow_probe.h"
#include "lab/lab_plugin.h"
#include "checks/policy.h"
#include "base/util.h"

/* The recorder of one lab: NULL until lab_flows_enable(). */
struct lab_flows {
	struct flow_probe *probe;
};

static struct flow_probe *lab_flows_probe(const struct lab *lab)
{
	struct lab_flows *f = lab_service_state(lab, &lab_flows_service);

	return f ? f->probe : NULL;
}

static void lab_flows_forget(const struct lab *lab)
{
	struct lab_flows *f = lab_service_state(lab, &lab_flows_service);

	if (f)
		f->probe = NULL;
}

int lab_flows_enable(struct lab *lab)
{
	/* UVMLAB_KERNEL_BTF points the loader elsewhere (tests of load failures) */
	struct flow_probe_opts opts = { .btf_path = getenv("UVMLAB_KERNEL_BTF") };
	struct lab_flows *f = lab_service_state(lab, &lab_flows_service);
	char err[256] = "";
	int ret;

	if (!f) {
		lab_set_err(lab, "flow recorder: not registered as a service");
		return -ENOENT;
	}
	ret = flow_probe_create(&f->probe, &opts, err, sizeof(err));
	if (ret < 0) {
		f->probe = NULL;
		lab_set_err(lab, "flow recorder: %s (uvmlab run --no-flows skips it)", err);
	}
	return ret;
}

/* Recording starts before QEMU exists: no frame of the VM is missed. */
static int lab_flows_vm_taps(struct lab *lab, void *state, struct lab_vm *vm)
{
	struct lab_flows *f = state;
	const char *tap;
	size_t k;
	int ret;

	for (k = 0; f->probe && (tap = lab_plugin_vm_tap(vm, k)); k++) {
		ret = flow_probe_attach(f->probe, tap);
		if (ret < 0) {
			lab_set_err(lab, "vm \"%s\": flow recorder: %s", lab_plugin_vm_name(vm),
				    flow_probe_error(f->probe));
			return ret;
		}
	}
	return 0;
}

/* The CLI enables it (uvmlab run/up without --no-flows): wanted by every
 * plan, idle unless enabled. It is read and released by the CLI before
 * lab_down(). */
static int lab_flows_wanted(const struct plan *plan)
{
	(void)plan;
	return 1;
}

const struct service_ops lab_flows_service = {
	.name = "flow recorder",
	.state_size = sizeof(struct lab_flows),
	.wanted = lab_flows_wanted,
	.vm_taps = lab_flows_vm_taps,
};

struct lab_flows_mark {
	struct flow_record *recs;
	size_t n, cap;
};

void lab_flows_mark_free(struct lab_flows_mark *mark)
{
	if (!mark)
		return;
	free(mark->recs);
	free(mark);
}

/* One flow of the table: every key field equal (the counters aside). */
static int lab_flows_same(const struct flow_record *a, const struct flow_record *b)
{
	return a->ifindex == b->ifindex && a->dir == b->dir && a->family == b->family &&
	       a->l4proto == b->l4proto && a->vlan_tagged == b->vlan_tagged &&
	       a->ethertype == b->ethertype && !memcmp(a->src_mac, b->src_mac, 6) &&
	       !memcmp(a->dst_mac, b->dst_mac, 6) && !memcmp(a->src_addr, b->src_addr, 16) &&
	       !memcmp(a->dst_addr, b->dst_addr, 16) && a->src_port == b->src_port &&
	       a->dst_port == b->dst_port && !strcmp(a->ifname, b->ifname);
}

/* REC minus what BASE had counted of it into *OUT; 0 when nothing is new. */
static int lab_flows_delta(const struct lab_flows_mark *base, const struct flow_record *rec,
			   struct flow_record *out)
{
	size_t i;

	*out = *rec;
	for (i = 0; base && i < base->n; i++)
		if (lab_flows_same(&base->recs[i], rec)) {
			if (rec->packets <= base->recs[i].packets)
				return 0;
			out->packets -= base->recs[i].packets;
			out->bytes -= rec->bytes >= base->recs[i].bytes ? base->recs[i].bytes : rec->bytes;
			break;
		}
	return 1;
}

static int lab_flows_mark_add(struct lab_flows_mark *m, const struct flow_record *rec)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct flow_record *r = realloc(m->recs, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		m->recs = r;
		m->cap = cap;
	}
	m->recs[m->n++] = *rec;
	return 0;
}

struct lab_flows_ctx {
	struct lab *lab;
	const struct lab_flows_mark *since;
	struct lab_flows_mark *next;
	json_t *flows;
	json_t *matrix;
	size_t judged, violations;
	uint64_t first_ns;      /* when the violation named in FIRST was first seen */
	char first[600];
};

static int lab_flows_one(const struct flow_record *rec, void *arg);

/* Remember REC for the next snapshot, then judge only what is new in it. */
static int lab_flows_one_since(const struct flow_record *rec, void *arg)
{
	struct lab_flows_ctx *c = arg;
	struct flow_record d;

	if (c->next && lab_flows_mark_add(c->next, rec) < 0)
		return -ENOMEM;
	if (!lab_flows_delta(c->since, rec, &d))
		return 0;
	return lab_flows_one(&d, arg);
}

static int lab_flows_one(const struct flow_record *rec, void *arg)
{
	struct lab_flows_ctx *c = arg;
	const struct plan_vm *vm = policy_tap_vm(lab_plugin_plan(c->lab), rec->ifname);
	char src[32], dst[32], why[200], pb[20], sa[INET6_ADDRSTRLEN] = "", da[INET6_ADDRSTRLEN] = "";
	char key[80];
	enum policy_verdict v = policy_judge(lab_plugin_plan(c->lab), rec, src, dst, why, sizeof(why));
	const char *proto = policy_proto_name(rec, pb, sizeof(pb));
	/* without a policy nothing is judged: say so rather than "violation" */
	const char *vname = !lab_plugin_plan(c->lab)->scn->has_policy &&
			    (v == POLICY_ALLOWED || v == POLICY_VIOLATION) ? "unjudged" : policy_verdict_name(v);
	int af = rec->family == FLOW_FAMILY_IPV6 ? AF_INET6 : AF_INET;
	json_t *cell;

	if (rec->family != FLOW_FAMILY_NONE) {
		inet_ntop(af, rec->src_addr, sa, sizeof(sa));
		inet_ntop(af, rec->dst_addr, da, sizeof(da));
	}
	/* "proto" by name for people, "l4proto" the number for programs */
	json_array_append_new(c->flows, json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:i,s:i,s:I,s:I,s:s,s:s}",
		"port", rec->ifname, "vm", vm ? vm->name : "?",
		"dir", rec->dir == FLOW_DIR_EGRESS ? "to-vm" : "from-vm", "proto", proto,
		"l4proto", rec->l4proto,
		"src", sa, "dst", da, "src_endpoint", src, "dst_endpoint", dst,
		"src_port", rec->src_port, "dst_port", rec->dst_port,
		"packets", (json_int_t)rec->packets, "bytes", (json_int_t)rec->bytes,
		"verdict", vname, "why", lab_plugin_plan(c->lab)->scn->has_policy ? why : "no policy in the scenario"));
	if (v != POLICY_ALLOWED && v != POLICY_VIOLATION)
		return 0;
	c->judged++;
	snprintf(key, sizeof(key), "%s->%s %s", src, dst, proto);
	cell = json_object_get(c->matrix, key);
	if (!cell) {
		cell = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "from", src, "to", dst, "proto", proto,
				 "packets", (json_int_t)0, "bytes", (json_int_t)0,
				 "verdict", vname);
		json_object_set_new(c->matrix, key, cell);
	}
	json_object_set_new(cell, "packets", json_integer(json_integer_value(json_object_get(cell, "packets")) +
							  (json_int_t)rec->packets));
	json_object_set_new(cell, "bytes", json_integer(json_integer_value(json_object_get(cell, "bytes")) +
							(json_int_t)rec->bytes));
	if (v == POLICY_VIOLATION && lab_plugin_plan(c->lab)->scn->has_policy) {
		json_object_set_new(cell, "verdict", json_string("violation"));
		/* "first" is the earliest seen (a request before its reply), not
		 * whichever the table happened to yield first */
		if (!c->violations++ || rec->first_ns < c->first_ns) {
			c->first_ns = rec->first_ns;
			snprintf(c->first, sizeof(c->first), "%s -> %s %s at %s (%llu packets): %s", src, dst,
				 proto, rec->ifname, (unsigned long long)rec->packets, why);
		}
	}
	return 0;
}

static int lab_flows_judge(struct lab *lab, int release, const struct lab_flows_mark *since,
			   struct lab_flows_mark *next, json_t **flows, json_t **matrix,
			   json_t **check, struct checks_summary *sum)
{
	struct lab_flows_ctx c = { .lab = lab, .since = since, .next = next };
	char evidence[700];
	uint64_t drops = 0;
	int ret;

	struct flow_probe *probe = lab_flows_probe(lab);

	*flows = *matrix = *check = NULL;
	if (!probe)
		return 0;
	c.flows = json_array();
	c.matrix = json_object();
	if (release) {
		ret = flow_probe_detach_all(probe);
		if (ret < 0)
			util_err("flow recorder: %s", flow_probe_error(probe));
	}
	ret = flow_probe_read(probe, since || next ? lab_flows_one_since : lab_flows_one, &c);
	flow_probe_drops(probe, &drops);
	if (release) {
		flow_probe_destroy(probe);
		lab_flows_forget(lab);
	}
	if (ret < 0) {
		lab_set_err(lab, "flow recorder: reading flows: %s", strerror(-ret));
		json_decref(c.flows);
		json_decref(c.matrix);
		return ret;
	}
	if (lab_plugin_plan(lab)->scn->has_policy) {
		int pass = c.violations == 0 && drops == 0;

		if (pass)
			snprintf(evidence, sizeof(evidence), "%zu delivered flow(s) judged, all allowed by the policy",
				 c.judged);
		else if (c.violations)
			snprintf(evidence, sizeof(evidence), "%zu violation(s); first: %s", c.violations, c.first);
		else
			snprintf(evidence, sizeof(evidence), "the flow table overflowed (%llu frames unrecorded)",
				 (unsigned long long)drops);
		*check = json_pack("{s:s,s:s,s:s,s:s}", "name", "flow-policy", "kind", "policy",
				   "verdict", pass ? "pass" : "fail", "evidence", evidence);
		if (pass)
			sum->passed++;
		else
			sum->failed++;
	}
	*flows = c.flows;
	*matrix = c.matrix;
	return 0;
}

int lab_flows_collect(struct lab *lab, json_t **flows, json_t **matrix, json_t **check,
		      struct checks_summary *sum)
{
	return lab_flows_judge(lab, 1, NULL, NULL, flows, matrix, check, sum);
}

int lab_flows_snapshot(struct lab *lab, json_t **flows, json_t **matrix, json_t **check,
		       struct checks_summary *sum)
{
	return lab_flows_judge(lab, 0, NULL, NULL, flows, matrix, check, sum);
}

int lab_flows_snapshot_since(struct lab *lab, const struct lab_flows_mark *since,
			     struct lab_flows_mark **next, json_t **flows, json_t **matrix,
			     json_t **check, struct checks_summary *sum)
{
	struct lab_flows_mark *m = NULL;
	int ret;

	if (next && lab_flows_probe(lab) && !(m = calloc(1, sizeof(*m))))
		return -ENOMEM;
	ret = lab_flows_judge(lab, 0, since, m, flows, matrix, check, sum);
	if (ret < 0 || !next) {
		lab_flows_mark_free(m);
		return ret;
	}
	lab_flows_mark_free(*next);
	*next = m;
	return 0;
}

void lab_flows_release(struct lab *lab)
{
	struct flow_probe *probe = lab_flows_probe(lab);

	if (!probe)
		return;
	if (flow_probe_detach_all(probe) < 0)
		util_err("flow recorder: %s", flow_probe_error(probe));
	flow_probe_destroy(probe);
	lab_flows_forget(lab);
}

void lab_flows_print(FILE *f, json_t *matrix)
{
	const char *key;
	json_t *cell;

	if (!json_object_size(matrix))
		return;
	fprintf(f, "%-16s %-16s %-7s %9s %11s  %s\n", "FLOW FROM", "TO", "PROTO", "PACKETS", "BYTES",
		"POLICY");
	json_object_foreach(matrix, key, cell)
		fprintf(f, "%-16s %-16s %-7s %9lld %11lld  %s\n",
			json_string_value(json_object_get(cell, "from")),
			json_string_value(json_object_get(cell, "to")),
			json_string_value(json_object_get(cell, "proto")),
			(long long)json_integer_value(json_object_get(cell, "packets")),
			(long long)json_integer_value(json_object_get(cell, "bytes")),
			json_string_value(json_object_get(cell, "verdict")));
}
