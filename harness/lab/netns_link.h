/* SPDX-License-Identifier: MIT */
/* netns_link.h: links inside the run's network namespace, through netlink (libnl-3 route).
 *
 * Every call acts in the network namespace the calling thread is in when
 * netns_link_open() is called: enter the run's namespace first (lab code does
 * unshare(CLONE_NEWNET) at start). Taps are opened non-persistent, so they
 * disappear with the last process holding their fd (QEMU).
 *
 * Names: longer than IFNAMSIZ-1 is -ENAMETOOLONG; empty, ".", "..", or
 * containing '/', ':', '%' or whitespace is -EINVAL ('%' would let the
 * kernel pick another name). libnl errors come back as negative errnos.
 */
#ifndef UVMLAB_NETNS_LINK_H
#define UVMLAB_NETNS_LINK_H

#include <stdint.h>

struct netns_link;

/* Turn IPv6 off for the calling thread's network namespace: every link
 * created there afterwards (conf/default) and the ones already there
 * (conf/all) get no address, so the lab's own bridges, taps and veths never
 * answer or send over IPv6 (neighbour discovery, ff02::1 echo replies).
 * Call right after entering a new namespace, before creating links.
 * 0 or negative errno. */
int netns_link_disable_ipv6(void);

/* Write VALUE to /proc/sys/net/KEY (e.g. "ipv4/conf/all/forwarding") of the
 * calling thread's network namespace. KEY may not contain "..". 0 or
 * negative errno. */
int netns_link_sysctl(const char *key, const char *value);

/* Open a route netlink socket. 0 or negative errno. */
int netns_link_open(struct netns_link **out);
void netns_link_close(struct netns_link *nl);

/* Create a bridge NAME (admin down). 0, -EEXIST, or negative errno. */
int netns_link_bridge_create(struct netns_link *nl, const char *name);

/* Create a veth pair A <-> B, both in this namespace. 0, -EEXIST, or negative errno. */
int netns_link_veth_create(struct netns_link *nl, const char *a, const char *b);

/* Open /dev/net/tun as a tap named NAME (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, not
 * persistent). 0 with *FD set (close-on-exec cleared by the caller if it must
 * reach a child), -EEXIST when another link (or a tap someone holds) has
 * the name, or negative errno. */
int netns_link_tap_open(struct netns_link *nl, const char *name, int *fd);

/* Enslave IFNAME to bridge MASTER. */
int netns_link_set_master(struct netns_link *nl, const char *ifname, const char *master);

/* Move IFNAME into the network namespace NS_FD refers to (an open
 * /proc/PID/ns/net). It keeps its name and loses its addresses, master and
 * up state there. 0, -ENODEV, -EBADF (NS_FD < 0) or negative errno. */
int netns_link_move(struct netns_link *nl, const char *ifname, int ns_fd);

/* Set IFNAME administratively up (UP=1) or down. */
int netns_link_set_up(struct netns_link *nl, const char *ifname, int up);

/* Add ADDR/PREFIX (IPv4, host byte order) to IFNAME. -EEXIST if already
 * there, -EINVAL for PREFIX > 32, -ENODEV. */
int netns_link_addr_add(struct netns_link *nl, const char *ifname, uint32_t addr,
			uint8_t prefix);

/* Interface index of IFNAME: > 0, or -ENODEV. */
int netns_link_ifindex(struct netns_link *nl, const char *ifname);

/* Delete link IFNAME. 0 or negative errno (-ENODEV if absent). */
int netns_link_delete(struct netns_link *nl, const char *ifname);

/* The id this namespace gives the namespace NS_FD refers to (RTM_GETNSID):
 * 0 with *NSID >= 0, or *NSID = -1 when it has none (then no link here can
 * have its peer there: the kernel assigns one whenever a link crosses).
 * Negative errno on failure. */
int netns_link_nsid_of(struct netns_link *nl, int ns_fd, int *nsid);

/* One link of this namespace as netns_link_foreach() sees it. */
struct netns_link_info {
	char name[16];
	const char *kind;  /* "veth", "bridge", "tun", ... or "" */
	int ifindex;
	int peer_nsid;     /* IFLA_LINK_NETNSID: its peer or lower device lives in
			    * the namespace with that id; -1 when it has none */
};

/* CB for every link of this namespace (a snapshot), until CB returns
 * nonzero (then that). 0 or negative errno. */
int netns_link_foreach(struct netns_link *nl,
		       int (*cb)(const struct netns_link_info *info, void *arg), void *arg);

#endif
