/* SPDX-License-Identifier: MIT */
/* flowctl.c: uvmlab-flowctl, record the flows crossing interfaces for a while and print them as JSON lines. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "probes/flow_probe.h"

#define FLOWCTL_EXIT_OK 0
#define FLOWCTL_EXIT_USAGE 2
#define FLOWCTL_EXIT_LAB 3
#define FLOWCTL_MAX_SECONDS 86400

/* The one allowed global: SIGINT/SIGTERM end the recording early, and the
 * probe is still detached on the way out. */
static volatile sig_atomic_t flowctl_stop;

static void flowctl_on_signal(int sig)
{
	(void)sig;
	flowctl_stop = 1;
}

static void flowctl_usage(FILE *f)
{
	fprintf(f,
		"usage: uvmlab-flowctl record [--ns-pid PID | --here] [--seconds N]\n"
		"                             [--max-entries N] [--no-macs] [--no-ports] [IFNAME...]\n"
		"\n"
		"Attach the eBPF flow recorder (tc ingress+egress) to IFNAME... (default: every\n"
		"interface but lo) in the network namespace of PID (e.g. a lab's QEMU, see\n"
		"/run/uvmlab/<run-id>/state.json) or in this one (--here), record for N\n"
		"seconds (default 5; 0 = until SIGINT/SIGTERM), detach, and print one JSON\n"
		"object per flow on stdout, then one summary object. Nothing stays attached\n"
		"or pinned afterwards. \"recording\" on stderr means the probe is attached.\n"
		"\n"
		"exit status: 0 recorded, 2 bad usage, 3 the recorder failed (no BTF, no\n"
		"permission, no such interface or namespace).\n");
}

static const char *flowctl_family_name(uint8_t family)
{
	switch (family) {
	case FLOW_FAMILY_IPV4:
		return "ipv4";
	case FLOW_FAMILY_IPV6:
		return "ipv6";
	case FLOW_FAMILY_ARP:
		return "arp";
	}
	return NULL;
}

struct flowctl_out {
	uint64_t flows;
	int err;
};

static int flowctl_print(const struct flow_record *r, void *arg)
{
	struct flowctl_out *out = arg;
	char smac[18], dmac[18], src[64], dst[64];
	const char *fam = flowctl_family_name(r->family);
	json_t *o;
	char *line;

	flow_probe_mac_str(r->src_mac, smac);
	flow_probe_mac_str(r->dst_mac, dmac);
	flow_probe_addr_str(r, 0, src, sizeof(src));
	flow_probe_addr_str(r, 1, dst, sizeof(dst));
	o = json_pack("{s:s, s:s, s:I, s:s, s:I, s:b, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, "
		      "s:I, s:I, s:I, s:I}",
		      "type", "flow", "ifname", r->ifname, "ifindex", (json_int_t)r->ifindex,
		      "dir", flow_probe_dir_name(r->dir), "ethertype", (json_int_t)r->ethertype,
		      "vlan", r->vlan_tagged, "src_mac", smac, "dst_mac", dmac,
		      "family", fam ? json_string(fam) : json_null(),
		      "src", fam ? json_string(src) : json_null(),
		      "dst", fam ? json_string(dst) : json_null(),
		      "proto", (json_int_t)r->l4proto, "sport", (json_int_t)r->src_port,
		      "dport", (json_int_t)r->dst_port, "packets", (json_int_t)r->packets,
		      "bytes", (json_int_t)r->bytes, "first_ns", (json_int_t)r->first_ns,
		      "last_ns", (json_int_t)r->last_ns);
	line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!line) {
		out->err = -ENOMEM;
		return -ENOMEM;
	}
	printf("%s\n", line);
	free(line);
	out->flows++;
	return 0;
}

static int flowctl_parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

static int flowctl_enter_ns(const char *pid)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Every interface of this namespace but loopback, attached one by one. */
static int flowctl_attach_all(struct flow_probe *fp)
{
	struct if_nameindex *ifs = if_nameindex();
	int ret = 0;

	if (!ifs)
		return -errno;
	for (struct if_nameindex *i = ifs; i->if_index && ret == 0; i++) {
		if (strcmp(i->if_name, "lo") == 0)
			continue;
		ret = flow_probe_attach(fp, i->if_name);
	}
	if_freenameindex(ifs);
	return ret;
}

static int flowctl_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ns-pid", required_argument, NULL, 'p' },
		{ "here", no_argument, NULL, 'H' },
		{ "seconds", required_argument, NULL, 's' },
		{ "max-entries", required_argument, NULL, 'm' },
		{ "no-macs", no_argument, NULL, 'M' },
		{ "no-ports", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct flow_probe_opts opts = { 0 };
	struct flow_probe *fp = NULL;
	struct flowctl_out out = { 0 };
	struct sigaction sa = { .sa_handler = flowctl_on_signal };
	const char *ns_pid = NULL;
	uint64_t seconds = 5, v, drops = 0;
	char err[256];
	int c, ret, rc = FLOWCTL_EXIT_LAB;

	while ((c = getopt_long(argc, argv, "p:Hs:m:MPh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (flowctl_parse_uint(optarg, INT32_MAX, &v) < 0 || v == 0)
				goto usage;
			ns_pid = optarg;
			break;
		case 'H':
			ns_pid = NULL;
			break;
		case 's':
			if (flowctl_parse_uint(optarg, FLOWCTL_MAX_SECONDS, &seconds) < 0)
				goto usage;
			break;
		case 'm':
			if (flowctl_parse_uint(optarg, 1u << 24, &v) < 0 || v == 0)
				goto usage;
			opts.max_entries = (uint32_t)v;
			break;
		case 'M':
			opts.no_macs = 1;
			break;
		case 'P':
			opts.no_ports = 1;
			break;
		case 'h':
			flowctl_usage(stdout);
			return FLOWCTL_EXIT_OK;
		default:
			goto usage;
		}
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Load before entering the namespace: the BTF path and bpf() do not
	 * care, and a failure is reported before anything is touched. */
	ret = flow_probe_create(&fp, &opts, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "uvmlab-flowctl: %s\n", err);
		goto out;
	}
	if (ns_pid) {
		ret = flowctl_enter_ns(ns_pid);
		if (ret < 0) {
			fprintf(stderr, "uvmlab-flowctl: network namespace of pid %s: %s\n", ns_pid,
				strerror(-ret));
			goto out;
		}
	}
	if (optind < argc) {
		for (int i = optind; i < argc && ret == 0; i++)
			ret = flow_probe_attach(fp, argv[i]);
	} else {
		ret = flowctl_attach_all(fp);
	}
	if (ret < 0) {
		fprintf(stderr, "uvmlab-flowctl: %s\n", flow_probe_error(fp));
		goto out;
	}
	fprintf(stderr, "uvmlab-flowctl: recording\n");
	fflush(stderr);

	struct timespec end, now;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)seconds;
	while (!flowctl_stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (seconds && (now.tv_sec > end.tv_sec ||
				(now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec)))
			break;
		usleep(50 * 1000);
	}

	ret = flow_probe_detach_all(fp);
	if (ret < 0) {
		fprintf(stderr, "uvmlab-flowctl: %s\n", flow_probe_error(fp));
		goto out;
	}
	ret = flow_probe_read(fp, flowctl_print, &out);
	if (ret == 0)
		ret = flow_probe_drops(fp, &drops);
	if (ret < 0) {
		fprintf(stderr, "uvmlab-flowctl: %s\n",
			out.err ? strerror(-out.err) : flow_probe_error(fp));
		goto out;
	}
	printf("{\"type\":\"summary\",\"flows\":%llu,\"drops\":%llu,\"seconds\":%llu}\n",
	       (unsigned long long)out.flows, (unsigned long long)drops,
	       (unsigned long long)seconds);
	rc = fflush(stdout) == 0 ? FLOWCTL_EXIT_OK : FLOWCTL_EXIT_LAB;
out:
	flow_probe_destroy(fp);
	return rc;
usage:
	flowctl_usage(stderr);
	return FLOWCTL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		flowctl_usage(stdout);
		return FLOWCTL_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "record") != 0) {
		flowctl_usage(stderr);
		return FLOWCTL_EXIT_USAGE;
	}
	return flowctl_record(argc - 1, argv + 1);
}
