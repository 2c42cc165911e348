/* SPDX-License-Identifier: MIT */
/* lab_containment.c: no link to the host, and every frame at the lab's egress recorded and judged. */
#include "probes/lab_containment.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "lab/lab_plugin.h"
#include "lab/netns_link.h"
#include "probes/containment.h"
#include "probes/flow_probe.h"

#define CONTAINMENT_MAX_EGRESS 16
#define CONTAINMENT_MAX_LISTED 32

struct lab_containment {
	struct flow_probe *probe;   /* the egress recorder; NULL unless enabled */
	int enabled;
	char egress[CONTAINMENT_MAX_EGRESS][IF_NAMESIZE];
	size_t n_egress;
	size_t n_namespaces;        /* looked at during the last scan */
	json_t *host_peers;         /* links found with a peer in the host's namespace */
};

/* What one namespace's scan found. */
struct containment_scan {
	struct lab_containment *c;
	const char *where;          /* "the run's namespace", "fake internet's namespace" */
	int host_nsid;
	int is_run_ns;              /* collect egress points here */
	json_t *peers;              /* appended to: {"link","kind","namespace"} */
};

static int containment_scan_link(const struct netns_link_info *info, void *arg)
{
	struct containment_scan *s = arg;

	if (info->peer_nsid < 0)
		return 0;
	if (s->host_nsid >= 0 && info->peer_nsid == s->host_nsid) {
		json_array_append_new(s->peers, json_pack("{s:s,s:s,s:s}", "link", info->name,
							  "kind", info->kind, "namespace", s->where));
		return 0;
	}
	if (s->is_run_ns && s->c->n_egress < CONTAINMENT_MAX_EGRESS) {
		size_t i;

		for (i = 0; i < s->c->n_egress; i++)
			if (!strcmp(s->c->egress[i], info->name))
				return 0;
		util_strlcpy(s->c->egress[s->c->n_egress++], info->name, IF_NAMESIZE);
	}
	return 0;
}

/* Scan the namespace NL is bound to. */
static int containment_scan_ns(struct lab *lab, struct netns_link *nl, struct containment_scan *s)
{
	int ret = netns_link_nsid_of(nl, lab_plugin_host_netns(lab), &s->host_nsid);

	if (ret < 0) {
		lab_set_err(lab, "containment: the host's namespace id as %s sees it: %s", s->where,
			    strerror(-ret));
		return ret;
	}
	s->c->n_namespaces++;
	ret = netns_link_foreach(nl, containment_scan_link, s);
	if (ret < 0)
		lab_set_err(lab, "containment: listing the links of %s: %s", s->where, strerror(-ret));
	return ret;
}

/* Enter NS_FD long enough to open a netlink socket bound there. */
static int containment_open_in(int ns_fd, struct netns_link **nl)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), ret;

	if (self < 0)
		return -errno;
	if (setns(ns_fd, CLONE_NEWNET) < 0) {
		ret = -errno;
		close(self);
		return ret;
	}
	ret = netns_link_open(nl);
	if (setns(self, CLONE_NEWNET) < 0 && !ret) {
		/* stranded in the wrong namespace: nothing after this is safe */
		ret = -errno;
		netns_link_close(*nl);
		*nl = NULL;
	}
	close(self);
	return ret;
}

/* Every lab namespace: the run's, then each service's (once per inode).
 * Links found toward the host go to PEERS. */
static int containment_scan_all(struct lab *lab, struct lab_containment *c, json_t *peers)
{
	struct containment_scan s = { .c = c, .where = "the run's namespace", .is_run_ns = 1,
				      .peers = peers };
	ino_t seen[8];
	size_t n_seen = 0, k;
	struct stat st;
	const char *name;
	char where[96];
	int fd, ret;

	c->n_namespaces = 0;
	c->n_egress = 0;
	if (!lab_plugin_netlink(lab))
		return 0;
	ret = containment_scan_ns(lab, lab_plugin_netlink(lab), &s);
	if (ret < 0)
		return ret;
	if (fstat(lab_plugin_host_netns(lab), &st) == 0)
		seen[n_seen++] = st.st_ino; /* never scan the host's own */
	for (k = 0; (fd = lab_plugin_service_netns(lab, k, &name)) != -ENOENT; k++) {
		struct netns_link *nl = NULL;
		size_t i;
		int dup = 0;

		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		for (i = 0; i < n_seen; i++)
			dup |= seen[i] == st.st_ino;
		if (dup)
			continue;
		if (n_seen < sizeof(seen) / sizeof(seen[0]))
			seen[n_seen++] = st.st_ino;
		snprintf(where, sizeof(where), "the %s's namespace", name);
		ret = containment_open_in(fd, &nl);
		if (ret < 0) {
			lab_set_err(lab, "containment: entering %s: %s", where, strerror(-ret));
			return ret;
		}
		s = (struct containment_scan){ .c = c, .where = where, .peers = peers };
		ret = containment_scan_ns(lab, nl, &s);
		netns_link_close(nl);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void containment_init(struct lab *lab, void *state)
{
	(void)lab;
	(void)state;
}

static int containment_wanted(const struct plan *plan)
{
	(void)plan;
	return 1;
}

/* After the services that make namespaces (registry order) and before the
 * first VM: the lab's links exist, no guest frame has been sent yet. */
static int containment_start(struct lab *lab, void *state)
{
	struct lab_containment *c = state;
	json_t *peers = json_array();
	size_t i;
	int ret;

	if (!peers)
		return -ENOMEM;
	ret = containment_scan_all(lab, c, peers);
	if (!ret && json_array_size(peers)) {
		json_t *p = json_array_get(peers, 0);

		lab_set_err(lab, "containment: link \"%s\" (%s) of %s has its peer in the host's "
			    "network namespace", json_string_value(json_object_get(p, "link")),
			    json_string_value(json_object_get(p, "kind")),
			    json_string_value(json_object_get(p, "namespace")));
		ret = -EXDEV;
	}
	json_decref(peers);
	for (i = 0; !ret && c->probe && i < c->n_egress; i++) {
		ret = flow_probe_attach(c->probe, c->egress[i]);
		if (ret < 0)
			lab_set_err(lab, "containment: recording egress %s: %s", c->egress[i],
				    flow_probe_error(c->probe));
	}
	return ret;
}

static void containment_release(struct lab_containment *c)
{
	if (c->probe) {
		flow_probe_destroy(c->probe);
		c->probe = NULL;
	}
}

static void containment_stop(struct lab *lab, void *state)
{
	(void)lab;
	containment_release(state);
}

static void containment_destroy(void *state)
{
	containment_release(state);
}

const struct service_ops lab_containment_service = {
	.name = "containment",
	.state_size = sizeof(struct lab_containment),
	.wanted = containment_wanted,
	.init = containment_init,
	.start = containment_start,
	.stop = containment_stop,
	.destroy = containment_destroy,
};

int lab_containment_enable(struct lab *lab)
{
	struct lab_containment *c = lab_service_state(lab, &lab_containment_service);
	struct flow_probe_opts opts = { .btf_path = getenv("UVMLAB_KERNEL_BTF") };
	char err[256] = "";
	int ret;

	if (!c) {
		lab_set_err(lab, "containment: not registered as a service");
		return -ENOENT;
	}
	ret = flow_probe_create(&c->probe, &opts, err, sizeof(err));
	if (ret < 0) {
		c->probe = NULL;
		lab_set_err(lab, "containment: egress recorder: %s (uvmlab run --no-flows skips it)", err);
		return ret;
	}
	c->enabled = 1;
	return 0;
}

struct containment_read {
	json_t *outside;
	uint64_t packets, outside_packets, by_class[4];
};

static int containment_one(const struct flow_record *rec, void *arg)
{
	struct containment_read *r = arg;
	char sa[INET6_ADDRSTRLEN] = "", da[INET6_ADDRSTRLEN] = "";

	r->packets += rec->packets;
	if (!containment_outside(rec->family, rec->src_addr, rec->dst_addr)) {
		if (rec->family != FLOW_FAMILY_NONE)
			r->by_class[containment_addr_class(rec->family, rec->dst_addr)] += rec->packets;
		return 0;
	}
	r->outside_packets += rec->packets;
	if (json_array_size(r->outside) >= CONTAINMENT_MAX_LISTED)
		return 0;
	flow_probe_addr_str(rec, 0, sa, sizeof(sa));
	flow_probe_addr_str(rec, 1, da, sizeof(da));
	json_array_append_new(r->outside, json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:I}",
		"port", rec->ifname, "dir", rec->dir == FLOW_DIR_EGRESS ? "out" : "in",
		"src", sa, "dst", da, "l4proto", rec->l4proto, "src_port", rec->src_port,
		"dst_port", rec->dst_port, "packets", (json_int_t)rec->packets));
	return 0;
}

int lab_containment_collect(struct lab *lab, json_t **out)
{
	struct lab_containment *c = lab_service_state(lab, &lab_containment_service);
	struct containment_read r = { 0 };
	json_t *peers = json_array(), *egress = json_array(), *rec;
	uint64_t drops = 0;
	const char *verdict;
	size_t i;
	int ret, breaches;

	*out = NULL;
	r.outside = json_array();
	if (!c || !peers || !egress || !r.outside) {
		json_decref(peers);
		json_decref(egress);
		json_decref(r.outside);
		return -ENOMEM;
	}
	/* the links again, as they are now ("at down") */
	ret = containment_scan_all(lab, c, peers);
	if (!ret && c->probe) {
		ret = flow_probe_read(c->probe, containment_one, &r);
		if (!ret)
			ret = flow_probe_drops(c->probe, &drops);
		if (ret < 0)
			lab_set_err(lab, "containment: reading the egress records: %s", strerror(-ret));
	}
	containment_release(c);
	if (ret < 0) {
		json_decref(peers);
		json_decref(egress);
		json_decref(r.outside);
		return ret;
	}
	for (i = 0; i < c->n_egress; i++)
		json_array_append_new(egress, json_string(c->egress[i]));
	breaches = (int)json_array_size(peers) + (r.outside_packets > 0x3fffffff ? 0x3fffffff :
						  (int)r.outside_packets) + (drops ? 1 : 0);
	verdict = json_array_size(peers) || r.outside_packets ? "breached" :
		  drops ? "unrecorded" : "contained";
	rec = json_pack("{s:s,s:i,s:o,s:o,s:b,s:I,s:I,s:I,s:{s:I,s:I,s:I},s:o}",
		"verdict", verdict, "namespaces", (int)c->n_namespaces, "host_peers", peers,
		"egress_points", egress, "recorded", c->enabled,
		"packets", (json_int_t)r.packets, "outside_packets", (json_int_t)r.outside_packets,
		"unrecorded_frames", (json_int_t)drops,
		"inside_packets", "lab", (json_int_t)r.by_class[CONTAINMENT_LAB],
		"internet", (json_int_t)r.by_class[CONTAINMENT_TESTNET],
		"link-local", (json_int_t)r.by_class[CONTAINMENT_LINK],
		"outside", r.outside);
	if (!rec)
		return -ENOMEM;
	*out = rec;
	return breaches;
}

void lab_containment_print(FILE *f, const json_t *rec)
{
	const json_t *egress = json_object_get(rec, "egress_points"), *e;
	const json_t *peers = json_object_get(rec, "host_peers");
	char ports[200] = "";
	size_t i, off = 0;

	json_array_foreach(egress, i, e)
		if (off < sizeof(ports))
			off += (size_t)snprintf(ports + off, sizeof(ports) - off, "%s%s", i ? ", " : "",
						json_string_value(e));
	fprintf(f, "containment: %s — %zu link(s) peered with the host's namespace (%d namespace(s), "
		"checked at up and down); ", json_string_value(json_object_get(rec, "verdict")),
		json_array_size(peers), (int)json_integer_value(json_object_get(rec, "namespaces")));
	if (!json_is_true(json_object_get(rec, "recorded")))
		fprintf(f, "egress not recorded (--no-flows)\n");
	else if (!json_array_size(egress))
		fprintf(f, "no egress point: nothing can leave the run's namespace\n");
	else
		fprintf(f, "%lld packet(s) at the lab's egress (%s), %lld toward addresses outside the "
			"lab and TEST-NET ranges%s\n",
			(long long)json_integer_value(json_object_get(rec, "packets")), ports,
			(long long)json_integer_value(json_object_get(rec, "outside_packets")),
			json_integer_value(json_object_get(rec, "unrecorded_frames")) ?
			", some frames NOT recorded (table full)" : "");
}
