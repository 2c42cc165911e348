/* SPDX-License-Identifier: MIT */
/* flow_probe.c: load the flow recorder skeleton, attach it with tc on lab ports, read the table. */
#include "probes/flow_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flow.skel.h"

_Static_assert(sizeof(struct flow_key) == 60, "flow_key must have no implicit padding");
_Static_assert(sizeof(struct flow_value) == 32, "flow_value layout is shared with BPF");

#define FLOW_PROBE_NETNS_SELF "/proc/thread-self/ns/net"

/* One interface we attached to. Kept after detaching (live = 0) so flows
 * read afterwards still carry the interface's name. */
struct flow_probe_port {
	char ifname[IF_NAMESIZE];
	uint32_t ifindex;
	uint8_t live;          /* our filters are (or may be) on it */
	uint8_t hook_created;  /* we made the clsact qdisc, so we remove it */
	uint8_t attached[2];   /* per FLOW_DIR_* */
	uint32_t handle[2];
	uint32_t priority[2];
};

struct flow_probe {
	struct flow *skel;
	uint16_t tc_priority;
	uint32_t max_entries;
	int netns_fd;          /* namespace of the ports; -1 before the first attach */
	struct flow_probe_port *ports;
	size_t nports, cap;
	char err[256];
};

static void flow_probe_seterr(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void flow_probe_seterr(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

#define flow_probe_fail(fp, ...) flow_probe_seterr((fp)->err, sizeof((fp)->err), __VA_ARGS__)

int flow_probe_create(struct flow_probe **out, const struct flow_probe_opts *opts, char *err,
		      size_t errlen)
{
	const struct flow_probe_opts none = { 0 };
	struct flow_probe *fp = NULL;
	const char *btf;
	int ret;

	flow_probe_seterr(err, errlen, "%s", "");
	*out = NULL;
	if (!opts)
		opts = &none;
	btf = opts->btf_path ? opts->btf_path : FLOW_PROBE_KERNEL_BTF;
	/* libbpf would say "failed to parse target BTF: -2" deep in its log;
	 * the user needs to hear which file and what it means. */
	if (access(btf, R_OK) < 0) {
		ret = -errno;
		flow_probe_seterr(err, errlen,
				  "flow recorder: kernel BTF %s: %s (needs a kernel built with "
				  "CONFIG_DEBUG_INFO_BTF=y)", btf, strerror(-ret));
		goto fail;
	}
	fp = calloc(1, sizeof(*fp));
	if (!fp) {
		ret = -ENOMEM;
		flow_probe_seterr(err, errlen, "flow recorder: %s", strerror(ENOMEM));
		goto fail;
	}
	fp->netns_fd = -1;
	fp->tc_priority = opts->tc_priority ? opts->tc_priority : FLOW_PROBE_TC_PRIORITY;
	fp->max_entries = opts->max_entries ? opts->max_entries : FLOW_MAX_ENTRIES_DEFAULT;

	LIBBPF_OPTS(bpf_object_open_opts, oopts, .btf_custom_path = opts->btf_path);
	fp->skel = flow__open_opts(&oopts);
	if (!fp->skel) {
		ret = errno ? -errno : -EINVAL;
		flow_probe_seterr(err, errlen, "flow recorder: open BPF object: %s", strerror(-ret));
		goto fail;
	}
	fp->skel->rodata->flow_cfg_macs = opts->no_macs ? 0 : 1;
	fp->skel->rodata->flow_cfg_ports = opts->no_ports ? 0 : 1;
	ret = bpf_map__set_max_entries(fp->skel->maps.flow_table, fp->max_entries);
	if (ret < 0) {
		flow_probe_seterr(err, errlen, "flow recorder: table size %u: %s", fp->max_entries,
				  strerror(-ret));
		goto fail;
	}
	ret = flow__load(fp->skel);
	if (ret < 0) {
		if (ret == -EPERM || ret == -EACCES)
			flow_probe_seterr(err, errlen,
					  "flow recorder: load BPF programs: %s (run as root: needs "
					  "CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON)", strerror(-ret));
		else
			flow_probe_seterr(err, errlen, "flow recorder: load BPF programs: %s",
					  strerror(-ret));
		goto fail;
	}
	*out = fp;
	return 0;
fail:
	flow_probe_destroy(fp);
	return ret;
}

/* Who we are in the namespace sense: st_dev/st_ino of an ns file. */
static int flow_probe_ns_same(int fd_a, int fd_b)
{
	struct stat a, b;

	if (fstat(fd_a, &a) < 0 || fstat(fd_b, &b) < 0)
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int flow_probe_netns_open(void)
{
	int fd = open(FLOW_PROBE_NETNS_SELF, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* The latest port with IFINDEX (only live ones if LIVE), or NULL. */
static struct flow_probe_port *flow_probe_port_find(struct flow_probe *fp, uint32_t ifindex,
						    int live)
{
	for (size_t i = fp->nports; i-- > 0;)
		if (fp->ports[i].ifindex == ifindex && (!live || fp->ports[i].live))
			return &fp->ports[i];
	return NULL;
}

static const enum bpf_tc_attach_point flow_probe_tc_point[2] = {
	[FLOW_DIR_INGRESS] = BPF_TC_INGRESS,
	[FLOW_DIR_EGRESS] = BPF_TC_EGRESS,
};

/* Undo whatever part of an attachment PORT holds, in the current namespace.
 * A vanished interface (its VM is gone) counts as detached. */
static int flow_probe_port_detach(struct flow_probe *fp, struct flow_probe_port *port)
{
	int first = 0;
	int ret;

	for (int dir = FLOW_DIR_INGRESS; dir <= FLOW_DIR_EGRESS; dir++) {
		if (!port->attached[dir])
			continue;
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)port->ifindex,
			    .attach_point = flow_probe_tc_point[dir]);
		LIBBPF_OPTS(bpf_tc_opts, topts, .handle = port->handle[dir],
			    .priority = port->priority[dir]);
		ret = bpf_tc_detach(&hook, &topts);
		if (ret < 0 && ret != -ENODEV && ret != -ENOENT && !first) {
			flow_probe_fail(fp, "detach %s: tc %s filter: %s", port->ifname,
					flow_probe_dir_name((uint8_t)dir), strerror(-ret));
			first = ret;
		}
		port->attached[dir] = 0;
	}
	if (port->hook_created) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)port->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
		ret = bpf_tc_hook_destroy(&hook);
		if (ret < 0 && ret != -ENODEV && ret != -ENOENT && ret != -EINVAL && !first) {
			flow_probe_fail(fp, "detach %s: remove clsact qdisc: %s", port->ifname,
					strerror(-ret));
			first = ret;
		}
		port->hook_created = 0;
	}
	return first;
}

int flow_probe_attach(struct flow_probe *fp, const char *ifname)
{
	struct flow_probe_port port = { 0 };
	int here = -1;
	int ret;

	if (strlen(ifname) >= IF_NAMESIZE) {
		flow_probe_fail(fp, "attach %s: interface name too long", ifname);
		return -ENAMETOOLONG;
	}
	here = flow_probe_netns_open();
	if (here < 0) {
		ret = here;
		flow_probe_fail(fp, "attach %s: %s: %s", ifname, FLOW_PROBE_NETNS_SELF,
				strerror(-ret));
		goto out;
	}
	/* ifindexes are per namespace and the key has only the ifindex. */
	if (fp->netns_fd >= 0) {
		ret = flow_probe_ns_same(here, fp->netns_fd);
		if (ret <= 0) {
			ret = ret < 0 ? ret : -EXDEV;
			flow_probe_fail(fp, "attach %s: this probe is attached in another network "
					"namespace", ifname);
			goto out;
		}
	}
	port.ifindex = if_nametoindex(ifname);
	if (port.ifindex == 0) {
		ret = -ENODEV;
		flow_probe_fail(fp, "attach %s: no such interface in this network namespace",
				ifname);
		goto out;
	}
	if (flow_probe_port_find(fp, port.ifindex, 1)) {
		ret = -EEXIST;
		flow_probe_fail(fp, "attach %s: already attached", ifname);
		goto out;
	}
	memcpy(port.ifname, ifname, strlen(ifname) + 1);
	if (fp->nports == fp->cap) {
		size_t cap = fp->cap ? fp->cap * 2 : 8;
		struct flow_probe_port *p = realloc(fp->ports, cap * sizeof(*p));

		if (!p) {
			ret = -ENOMEM;
			flow_probe_fail(fp, "attach %s: %s", ifname, strerror(ENOMEM));
			goto out;
		}
		fp->ports = p;
		fp->cap = cap;
	}

	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)port.ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	ret = bpf_tc_hook_create(&hook);
	if (ret < 0 && ret != -EEXIST) {
		flow_probe_fail(fp, "attach %s: create clsact qdisc: %s", ifname, strerror(-ret));
		goto out;
	}
	/* A clsact someone else made stays theirs: detach leaves it. */
	port.hook_created = ret == 0;
	for (int dir = FLOW_DIR_INGRESS; dir <= FLOW_DIR_EGRESS; dir++) {
		struct bpf_program *prog = dir == FLOW_DIR_INGRESS ? fp->skel->progs.flow_tc_ingress
								   : fp->skel->progs.flow_tc_egress;

		hook.attach_point = flow_probe_tc_point[dir];
		LIBBPF_OPTS(bpf_tc_opts, topts, .prog_fd = bpf_program__fd(prog),
			    .priority = fp->tc_priority);
		ret = bpf_tc_attach(&hook, &topts);
		if (ret < 0) {
			flow_probe_fail(fp, "attach %s: tc %s filter (priority %u): %s", ifname,
					flow_probe_dir_name((uint8_t)dir), fp->tc_priority,
					strerror(-ret));
			/* Keep this message: the unwind's own is secondary. */
			char keep[sizeof(fp->err)];

			memcpy(keep, fp->err, sizeof(keep));
			flow_probe_port_detach(fp, &port);
			memcpy(fp->err, keep, sizeof(keep));
			goto out;
		}
		port.attached[dir] = 1;
		port.handle[dir] = topts.handle;
		port.priority[dir] = topts.priority;
	}
	if (fp->netns_fd < 0) {
		/* A new namespace: old names would shadow its ifindexes. */
		fp->nports = 0;
		fp->netns_fd = here;
		here = -1;
	}
	port.live = 1;
	fp->ports[fp->nports++] = port;
	ret = 0;
out:
	if (here >= 0)
		close(here);
	return ret;
}

int flow_probe_detach_all(struct flow_probe *fp)
{
	int back = -1;
	int first = 0;
	int ret;

	if (fp->netns_fd < 0)
		return 0;
	back = flow_probe_netns_open();
	if (back < 0) {
		first = back;
		flow_probe_fail(fp, "detach: %s: %s", FLOW_PROBE_NETNS_SELF, strerror(-back));
		goto out;
	}
	ret = flow_probe_ns_same(back, fp->netns_fd);
	if (ret < 0) {
		first = ret;
		flow_probe_fail(fp, "detach: %s", strerror(-ret));
		goto out;
	}
	if (ret == 0) {
		if (setns(fp->netns_fd, CLONE_NEWNET) < 0) {
			first = -errno;
			flow_probe_fail(fp, "detach: enter the ports' network namespace: %s",
					strerror(errno));
			goto out;
		}
	} else {
		close(back);
		back = -1;
	}
	for (size_t i = 0; i < fp->nports; i++) {
		if (!fp->ports[i].live)
			continue;
		ret = flow_probe_port_detach(fp, &fp->ports[i]);
		if (ret < 0 && !first)
			first = ret;
		fp->ports[i].live = 0;
	}
	close(fp->netns_fd);
	fp->netns_fd = -1;
	/* Failing to return would leave this thread in the lab's namespace:
	 * nothing sane can follow, and the caller must know. */
	if (back >= 0 && setns(back, CLONE_NEWNET) < 0) {
		first = -errno;
		flow_probe_fail(fp, "detach: return to the caller's network namespace: %s",
				strerror(errno));
	}
out:
	if (back >= 0)
		close(back);
	return first;
}

void flow_probe_destroy(struct flow_probe *fp)
{
	if (!fp)
		return;
	flow_probe_detach_all(fp);
	if (fp->netns_fd >= 0)
		close(fp->netns_fd);
	flow__destroy(fp->skel);
	free(fp->ports);
	free(fp);
}

const char *flow_probe_error(const struct flow_probe *fp)
{
	return fp ? fp->err : "";
}

static void flow_probe_record_fill(struct flow_probe *fp, const struct flow_key *k,
				   const struct flow_value *v, struct flow_record *rec)
{
	const struct flow_probe_port *port = flow_probe_port_find(fp, k->ifindex, 0);

	memset(rec, 0, sizeof(*rec));
	if (port)
		memcpy(rec->ifname, port->ifname, sizeof(rec->ifname));
	rec->ifindex = k->ifindex;
	rec->dir = k->dir;
	rec->family = k->family;
	rec->l4proto = k->l4proto;
	rec->vlan_tagged = k->vlan_tagged;
	rec->ethertype = k->ethertype;
	memcpy(rec->src_mac, k->src_mac, sizeof(rec->src_mac));
	memcpy(rec->dst_mac, k->dst_mac, sizeof(rec->dst_mac));
	memcpy(rec->src_addr, k->src_addr, sizeof(rec->src_addr));
	memcpy(rec->dst_addr, k->dst_addr, sizeof(rec->dst_addr));
	rec->src_port = k->src_port;
	rec->dst_port = k->dst_port;
	rec->packets = v->packets;
	rec->bytes = v->bytes;
	rec->first_ns = v->first_ns;
	rec->last_ns = v->last_ns;
}

int flow_probe_read(struct flow_probe *fp, flow_probe_record_fn fn, void *arg)
{
	int fd = bpf_map__fd(fp->skel->maps.flow_table);
	struct flow_key key, next;
	struct flow_value val;
	struct flow_record rec;
	const void *prev = NULL;
	/* Entries are never deleted while we walk (only flow_probe_clear
	 * deletes), so the walk ends; the bound guards against a kernel that
	 * restarts iteration under us. */
	uint64_t budget = 2ull * fp->max_entries + 16;
	int ret;

	for (;;) {
		if (budget-- == 0)
			break;
		if (bpf_map_get_next_key(fd, prev, &next) < 0) {
			ret = -errno;
			if (ret == -ENOENT)
				break;
			flow_probe_fail(fp, "read flow table: %s", strerror(-ret));
			return ret;
		}
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val) < 0) {
			if (errno == ENOENT)
				continue;
			ret = -errno;
			flow_probe_fail(fp, "read flow table: %s", strerror(-ret));
			return ret;
		}
		flow_probe_record_fill(fp, &key, &val, &rec);
		ret = fn(&rec, arg);
		if (ret)
			return ret;
	}
	return 0;
}

int flow_probe_drops(struct flow_probe *fp, uint64_t *drops)
{
	uint32_t zero = FLOW_DROPS_KEY;

	if (bpf_map_lookup_elem(bpf_map__fd(fp->skel->maps.flow_drops), &zero, drops) < 0) {
		int ret = -errno;

		flow_probe_fail(fp, "read drop counter: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int flow_probe_clear(struct flow_probe *fp)
{
	int fd = bpf_map__fd(fp->skel->maps.flow_table);
	uint32_t zero = FLOW_DROPS_KEY;
	uint64_t nil = 0;
	struct flow_key key;
	/* Traffic may add flows while we delete; stop after one table's worth
	 * more than it can hold rather than chase it forever. */
	uint64_t budget = 2ull * fp->max_entries + 16;
	int ret;

	while (budget-- > 0 && bpf_map_get_next_key(fd, NULL, &key) == 0) {
		if (bpf_map_delete_elem(fd, &key) < 0 && errno != ENOENT) {
			ret = -errno;
			flow_probe_fail(fp, "clear flow table: %s", strerror(-ret));
			return ret;
		}
	}
	if (bpf_map_update_elem(bpf_map__fd(fp->skel->maps.flow_drops), &zero, &nil, BPF_ANY) < 0) {
		ret = -errno;
		flow_probe_fail(fp, "clear drop counter: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

const char *flow_probe_dir_name(uint8_t dir)
{
	switch (dir) {
	case FLOW_DIR_INGRESS:
		return "ingress";
	case FLOW_DIR_EGRESS:
		return "egress";
	}
	return "?";
}

void flow_probe_mac_str(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

int flow_probe_addr_str(const struct flow_record *rec, int dst, char *buf, size_t len)
{
	const uint8_t *a = dst ? rec->dst_addr : rec->src_addr;
	int af;

	if (len == 0)
		return -ENOSPC;
	switch (rec->family) {
	case FLOW_FAMILY_IPV4:
	case FLOW_FAMILY_ARP:
		af = AF_INET;
		break;
	case FLOW_FAMILY_IPV6:
		af = AF_INET6;
		break;
	default:
		buf[0] = '\0';
		return 0;
	}
	if (!inet_ntop(af, a, buf, (socklen_t)(len > 0x7fffffff ? 0x7fffffff : len))) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}
