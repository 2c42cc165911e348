/* SPDX-License-Identifier: MIT */
/* flow_probe.h: host-side eBPF flow recorder on lab ports (tc clsact, ingress and egress).
 *
 * One probe = one loaded BPF object with one flow table, attached to any
 * number of interfaces of ONE network namespace (the run's). Typical use:
 *
 *   flow_probe_create(&fp, NULL, err, sizeof(err))   -- anywhere; exit 3 on failure
 *   (in the run's netns) flow_probe_attach(fp, "vm0n0") for every tap
 *   ... traffic ...
 *   flow_probe_read(fp, cb, arg)                      -- any time, any namespace
 *   flow_probe_destroy(fp)                            -- detaches everything
 *
 * Nothing is pinned: the programs and maps live exactly as long as the
 * probe. Detaching removes our tc filters, and the clsact qdisc too when this
 * probe created it (one that already existed is left, with others' filters).
 * The probe holds a reference to the namespace of its first attachment until
 * flow_probe_detach_all() or flow_probe_destroy(), so it can detach from
 * there whichever namespace the caller is in by then.
 *
 * Needs root (CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON, and CAP_SYS_ADMIN to
 * detach across namespaces) and a kernel with BTF. libbpf's own diagnostics
 * go through libbpf's print callback (stderr by default; libbpf_set_print()).
 * Not thread-safe: one thread drives a probe.
 */
#ifndef UVMLAB_FLOW_PROBE_H
#define UVMLAB_FLOW_PROBE_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "../probes/flow.h"

/* Our filters' tc priority by default: low numbers run first, so the
 * recorder sees frames before a policy filter can drop them. */
#define FLOW_PROBE_TC_PRIORITY 1
/* Default location of the running kernel's BTF. */
#define FLOW_PROBE_KERNEL_BTF "/sys/kernel/btf/vmlinux"

struct flow_probe;

/* Knobs; a zeroed struct (or NULL) gives the defaults. */
struct flow_probe_opts {
	uint32_t max_entries; /* flow table size; 0: FLOW_MAX_ENTRIES_DEFAULT */
	uint16_t tc_priority; /* 0: FLOW_PROBE_TC_PRIORITY */
	uint8_t no_macs;      /* 1: MACs zeroed in the key (flows merge across L2) */
	uint8_t no_ports;     /* 1: ports / ICMP type+code zeroed in the key */
	const char *btf_path; /* kernel BTF to relocate against; NULL: FLOW_PROBE_KERNEL_BTF */
};

/* One flow as read back: struct flow_key's fields, the counters, and the
 * interface name this probe attached under that ifindex. */
struct flow_record {
	char ifname[IF_NAMESIZE]; /* "" if the ifindex is not one of ours */
	uint32_t ifindex;
	uint8_t dir;              /* FLOW_DIR_INGRESS / FLOW_DIR_EGRESS */
	uint8_t family;           /* FLOW_FAMILY_* */
	uint8_t l4proto;          /* IPPROTO_*, 0 if none */
	uint8_t vlan_tagged;
	uint16_t ethertype;       /* host byte order */
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint8_t src_addr[16];     /* network byte order; IPv4/ARP in the first 4 bytes */
	uint8_t dst_addr[16];
	uint16_t src_port;        /* host byte order; ICMP: type */
	uint16_t dst_port;        /* host byte order; ICMP: code; ARP: op */
	uint64_t packets;
	uint64_t bytes;
	uint64_t first_ns;        /* CLOCK_MONOTONIC, as util_mono_ns() */
	uint64_t last_ns;
};

/* Called once per flow by flow_probe_read(). Return 0 to go on; anything
 * else stops the walk and is returned by flow_probe_read(). */
typedef int (*flow_probe_record_fn)(const struct flow_record *rec, void *arg);

/* Open and load the BPF object (nothing attached yet). OPTS may be NULL.
 * 0 with *OUT set, or a negative errno with a one-line reason in ERR (if
 * non-NULL, ERRLEN bytes, always NUL-terminated):
 *   -ENOENT (or the access() errno) kernel BTF file missing/unreadable,
 *   -EPERM  not allowed to load BPF (not root / capabilities missing),
 *   -EINVAL bad option, other negative errnos from libbpf/the verifier.
 * A caller in the lab reports ERR and exits 3: never a silent pass. */
int flow_probe_create(struct flow_probe **out, const struct flow_probe_opts *opts, char *err,
		      size_t errlen);

/* Detach from every interface, drop the namespace reference, unload and
 * free. Accepts NULL. Errors while detaching are ignored (the interface may
 * be gone with its VM); call flow_probe_detach_all() first to see them. */
void flow_probe_destroy(struct flow_probe *fp);

/* The reason for the last failed call on FP ("" if none): names the
 * interface and the step, e.g. "attach vm0n0: tc egress filter: File exists". */
const char *flow_probe_error(const struct flow_probe *fp);

/* Attach the recorder to IFNAME's ingress and egress, in the caller's
 * current network namespace (setns() into the run's namespace first). Every
 * interface of one probe must be in the same namespace: another is -EXDEV.
 * 0, -ENODEV no such interface here, -EEXIST already attached by this probe,
 * -ENAMETOOLONG, or a negative errno from tc netlink. A failed attach leaves
 * nothing behind on the interface. */
int flow_probe_attach(struct flow_probe *fp, const char *ifname);

/* Remove our filters from every attached interface (and clsact qdiscs we
 * created), entering the attachments' namespace for it if the caller is
 * elsewhere, then drop the namespace reference. Interfaces that vanished
 * meanwhile are fine. The flow table is kept: read it afterwards. 0 or the
 * first negative errno (flow_probe_error() says where); every port is tried. */
int flow_probe_detach_all(struct flow_probe *fp);

/* Call FN for every flow in the table (order unspecified) while traffic may
 * still be counted. 0, FN's non-zero return, or a negative errno. */
int flow_probe_read(struct flow_probe *fp, flow_probe_record_fn fn, void *arg);

/* Frames not recorded because the table was full. 0 or negative errno. */
int flow_probe_drops(struct flow_probe *fp, uint64_t *drops);

/* Empty the flow table and the drop counter, e.g. between a lab's phases. */
int flow_probe_clear(struct flow_probe *fp);

/* "ingress" / "egress" / "?". */
const char *flow_probe_dir_name(uint8_t dir);

/* Text forms for reports. MAC as aa:bb:cc:dd:ee:ff (OUT holds 18 bytes).
 * Address of REC (DST 0: source, 1: destination) as inet_ntop text, "" for
 * FLOW_FAMILY_NONE. 0 or -ENOSPC. */
void flow_probe_mac_str(const uint8_t mac[6], char out[18]);
int flow_probe_addr_str(const struct flow_record *rec, int dst, char *buf, size_t len);

#endif
