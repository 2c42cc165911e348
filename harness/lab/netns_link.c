/* SPDX-License-Identifier: MIT */
/* netns_link.c: bridges, veths, taps and addresses in the run's netns via libnl-3 route. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>

#include "lab/netns_link.h"

struct netns_link {
	struct nl_sock *sk;
};

/* libnl folds kernel errnos into NLE_* codes (nl_syserr2nlerr); undo that
 * so callers see one error convention. NLE_FAILURE and friends carry no
 * errno, hence -EIO. */
static int netns_link_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:                  return 0;
	case NLE_EXIST:          return -EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:          return -ENODEV;
	case NLE_PERM:           return -EPERM;
	case NLE_NOACCESS:       return -EACCES;
	case NLE_NOMEM:          return -ENOMEM;
	case NLE_INVAL:          return -EINVAL;
	case NLE_BUSY:           return -EBUSY;
	case NLE_RANGE:          return -ERANGE;
	case NLE_AGAIN:          return -EAGAIN;
	case NLE_INTR:           return -EINTR;
	case NLE_NOADDR:         return -EADDRNOTAVAIL;
	case NLE_OPNOTSUPP:      return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:   return -EAFNOSUPPORT;
	case NLE_PROTO_MISMATCH: return -EPROTONOSUPPORT;
	case NLE_BAD_SOCK:       return -EBADF;
	case NLE_MSGSIZE:        return -EMSGSIZE;
	default:                 return -EIO;
	}
}

/* The kernel would accept some of these and mean something else: "%d" asks
 * it to pick a free name, so the link we later look up would not exist. */
static int netns_link_name_check(const char *name)
{
	size_t len;

	if (!name || !name[0])
		return -EINVAL;
	len = strlen(name);
	if (len > IFNAMSIZ - 1)
		return -ENAMETOOLONG;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '/' || ch == ':' || ch == '%' || ch <= ' ' || ch == 0x7f)
			return -EINVAL;
	}
	return 0;
}

/* Current kernel view of IFNAME; the caller puts *LINK. */
static int netns_link_get(struct netns_link *nl, const char *ifname, struct rtnl_link **link)
{
	int ret = netns_link_name_check(ifname);

	*link = NULL;
	if (ret < 0)
		return ret;
	return netns_link_errno(rtnl_link_get_kernel(nl->sk, 0, ifname, link));
}

int netns_link_open(struct netns_link **out)
{
	struct netns_link *nl = NULL;
	int ret = -ENOMEM;

	*out = NULL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		goto cleanup;
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		goto cleanup;
	/* The socket binds to the calling thread's netns here, for good. */
	ret = netns_link_errno(nl_connect(nl->sk, NETLINK_ROUTE));
	if (ret < 0)
		goto cleanup;
	*out = nl;
	nl = NULL;
cleanup:
	netns_link_close(nl);
	return ret;
}

void netns_link_close(struct netns_link *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk); /* closes if connected; NULL is fine */
	free(nl);
}

int netns_link_bridge_create(struct netns_link *nl, const char *name)
{
	struct rtnl_link *link = NULL;
	int ret = netns_link_name_check(name);

	if (ret < 0)
		goto cleanup;
	link = rtnl_link_bridge_alloc();
	if (!link) {
		ret = -ENOMEM;
		goto cleanup;
	}
	rtnl_link_set_name(link, name);
	/* Without NLM_F_EXCL the kernel would silently modify an existing link. */
	ret = netns_link_errno(rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL));
cleanup:
	rtnl_link_put(link);
	return ret;
}

int netns_link_veth_create(struct netns_link *nl, const char *a, const char *b)
{
	struct rtnl_link *link = NULL, *peer;
	int ret = netns_link_name_check(a);

	if (ret == 0)
		ret = netns_link_name_check(b);
	if (ret == 0 && strcmp(a, b) == 0)
		ret = -EINVAL;
	if (ret < 0)
		goto cleanup;
	/* Not rtnl_link_veth_add(): its pid argument would place the peer in
	 * the netns of a process, which need not be this socket's netns. */
	link = rtnl_link_veth_alloc();
	if (!link) {
		ret = -ENOMEM;
		goto cleanup;
	}
	rtnl_link_set_name(link, a);
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(peer, b);
	rtnl_link_put(peer);
	ret = netns_link_errno(rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL));
cleanup:
	rtnl_link_put(link);
	return ret;
}

int netns_link_tap_open(struct netns_link *nl, const char *name, int *fd)
{
	struct ifreq ifr = { 0 };
	int tfd = -1, ret = netns_link_name_check(name);

	*fd = -1;
	if (ret < 0)
		goto cleanup;
	tfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (tfd < 0) {
		ret = -errno;
		goto cleanup;
	}
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(tfd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		/* EINVAL: the name belongs to a non-tun link; EBUSY: to a tap
		 * someone holds. Either way the name is taken. */
		if ((ret == -EINVAL || ret == -EBUSY) && netns_link_ifindex(nl, name) > 0)
			ret = -EEXIST;
		goto cleanup;
	}
	*fd = tfd;
	tfd = -1;
cleanup:
	if (tfd >= 0)
		close(tfd);
	return ret;
}

int netns_link_set_master(struct netns_link *nl, const char *ifname, const char *master)
{
	struct rtnl_link *slave = NULL, *mlink = NULL;
	int ret = netns_link_get(nl, ifname, &slave);

	if (ret == 0)
		ret = netns_link_get(nl, master, &mlink);
	if (ret < 0)
		goto cleanup;
	/* rtnl_link_enslave() re-reads the link and reports NLE_OPNOTSUPP when
	 * the kernel ignored the request, so success means it took effect. */
	ret = netns_link_errno(rtnl_link_enslave(nl->sk, mlink, slave));
cleanup:
	rtnl_link_put(mlink);
	rtnl_link_put(slave);
	return ret;
}

int netns_link_move(struct netns_link *nl, const char *ifname, int ns_fd)
{
	struct rtnl_link *orig = NULL, *change = NULL;
	int ret = netns_link_get(nl, ifname, &orig);

	if (ret == 0 && ns_fd < 0)
		ret = -EBADF;
	if (ret < 0)
		goto cleanup;
	change = rtnl_link_alloc();
	if (!change) {
		ret = -ENOMEM;
		goto cleanup;
	}
	rtnl_link_set_ns_fd(change, (uint32_t)ns_fd);
	ret = netns_link_errno(rtnl_link_change(nl->sk, orig, change, 0));
cleanup:
	rtnl_link_put(change);
	rtnl_link_put(orig);
	return ret;
}

int netns_link_set_up(struct netns_link *nl, const char *ifname, int up)
{
	struct rtnl_link *orig = NULL, *change = NULL;
	int ret = netns_link_get(nl, ifname, &orig);

	if (ret < 0)
		goto cleanup;
	change = rtnl_link_alloc();
	if (!change) {
		ret = -ENOMEM;
		goto cleanup;
	}
	if (up)
		rtnl_link_set_flags(change, IFF_UP);
	else
		rtnl_link_unset_flags(change, IFF_UP);
	ret = netns_link_errno(rtnl_link_change(nl->sk, orig, change, 0));
cleanup:
	rtnl_link_put(change);
	rtnl_link_put(orig);
	return ret;
}

int netns_link_addr_add(struct netns_link *nl, const char *ifname, uint32_t addr,
			uint8_t prefix)
{
	struct rtnl_addr *ra = NULL;
	struct nl_addr *local = NULL;
	uint32_t be = htonl(addr);
	int ifindex, ret = -EINVAL;

	if (prefix > 32)
		goto cleanup;
	ifindex = netns_link_ifindex(nl, ifname);
	if (ifindex < 0) {
		ret = ifindex;
		goto cleanup;
	}
	ret = -ENOMEM;
	ra = rtnl_addr_alloc();
	local = nl_addr_build(AF_INET, &be, sizeof(be));
	if (!ra || !local)
		goto cleanup;
	nl_addr_set_prefixlen(local, prefix);
	rtnl_addr_set_ifindex(ra, ifindex);
	ret = netns_link_errno(rtnl_addr_set_local(ra, local));
	if (ret < 0)
		goto cleanup;
	rtnl_addr_set_prefixlen(ra, prefix);
	/* NLM_F_EXCL: a duplicate is the caller's planning error, not a no-op. */
	ret = netns_link_errno(rtnl_addr_add(nl->sk, ra, NLM_F_EXCL));
cleanup:
	nl_addr_put(local);
	rtnl_addr_put(ra);
	return ret;
}

int netns_link_ifindex(struct netns_link *nl, const char *ifname)
{
	struct rtnl_link *link = NULL;
	int ret = netns_link_get(nl, ifname, &link);

	if (ret == 0)
		ret = rtnl_link_get_ifindex(link);
	if (ret == 0)
		ret = -ENODEV; /* a link without an index is not one we can use */
	rtnl_link_put(link);
	return ret;
}

int netns_link_delete(struct netns_link *nl, const char *ifname)
{
	struct rtnl_link *link = NULL;
	int ret = netns_link_name_check(ifname);

	if (ret < 0)
		goto cleanup;
	link = rtnl_link_alloc();
	if (!link) {
		ret = -ENOMEM;
		goto cleanup;
	}
	rtnl_link_set_name(link, ifname);
	ret = netns_link_errno(rtnl_link_delete(nl->sk, link));
cleanup:
	rtnl_link_put(link);
	return ret;
}

struct netns_link_nsid_reply {
	int nsid;
	int seen;
};

static int netns_link_nsid_parse(struct nl_msg *msg, void *arg)
{
	struct netns_link_nsid_reply *r = arg;
	struct nlattr *tb[NETNSA_MAX + 1];
	struct nlmsghdr *hdr = nlmsg_hdr(msg);

	if (hdr->nlmsg_type != RTM_NEWNSID ||
	    nlmsg_parse(hdr, sizeof(struct rtgenmsg), tb, NETNSA_MAX, NULL) < 0)
		return NL_SKIP;
	r->seen = 1;
	r->nsid = tb[NETNSA_NSID] ? (int)nla_get_s32(tb[NETNSA_NSID]) : -1;
	return NL_OK;
}

int netns_link_nsid_of(struct netns_link *nl, int ns_fd, int *nsid)
{
	struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
	struct netns_link_nsid_reply r = { -1, 0 };
	struct nl_sock *sk = NULL;
	struct nl_msg *msg = NULL;
	int ret;

	*nsid = -1;
	if (ns_fd < 0)
		return -EBADF;
	/* its own socket: the replies must not meet the link socket's callbacks */
	sk = nl_socket_alloc();
	msg = nlmsg_alloc_simple(RTM_GETNSID, NLM_F_REQUEST);
	if (!sk || !msg) {
		ret = -ENOMEM;
		goto out;
	}
	(void)nl;
	ret = netns_link_errno(nl_connect(sk, NETLINK_ROUTE));
	if (!ret && (nlmsg_append(msg, &g, sizeof(g), NLMSG_ALIGNTO) < 0 ||
		     nla_put_u32(msg, NETNSA_FD, (uint32_t)ns_fd) < 0))
		ret = -ENOMEM;
	if (!ret)
		ret = netns_link_errno(nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM,
							   netns_link_nsid_parse, &r));
	if (!ret) {
		int sent = nl_send_auto(sk, msg);

		ret = sent < 0 ? netns_link_errno(sent) : netns_link_errno(nl_recvmsgs_default(sk));
	}
	if (!ret && !r.seen)
		ret = -EIO;
	if (!ret)
		*nsid = r.nsid;
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return ret;
}

int netns_link_foreach(struct netns_link *nl,
		       int (*cb)(const struct netns_link_info *info, void *arg), void *arg)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int ret = netns_link_errno(rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &cache));

	if (ret < 0)
		return ret;
	for (o = nl_cache_get_first(cache); o && !ret; o = nl_cache_get_next(o)) {
		struct rtnl_link *link = (struct rtnl_link *)o;
		struct netns_link_info info = { .peer_nsid = -1 };
		const char *kind = rtnl_link_get_type(link), *name = rtnl_link_get_name(link);
		int32_t id;

		snprintf(info.name, sizeof(info.name), "%s", name ? name : "");
		info.kind = kind ? kind : "";
		info.ifindex = rtnl_link_get_ifindex(link);
		if (rtnl_link_get_link_netnsid(link, &id) == 0)
			info.peer_nsid = id;
		ret = cb(&info, arg);
	}
	nl_cache_free(cache);
	return ret;
}

int netns_link_sysctl(const char *key, const char *value)
{
	char path[256];
	size_t len = strlen(value);
	int fd, ret = 0;

	if (strstr(key, "..") || key[0] == '/' ||
	    snprintf(path, sizeof(path), "/proc/sys/net/%s", key) >= (int)sizeof(path))
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

int netns_link_disable_ipv6(void)
{
	static const char *const paths[] = { "/proc/sys/net/ipv6/conf/default/disable_ipv6",
					     "/proc/sys/net/ipv6/conf/all/disable_ipv6" };
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int fd = open(paths[i], O_WRONLY | O_CLOEXEC), ret = 0;

		/* a kernel without IPv6 has nothing to turn off */
		if (fd < 0)
			return errno == ENOENT ? 0 : -errno;
		if (write(fd, "1\n", 2) != 2)
			ret = -errno;
		close(fd);
		if (ret < 0)
			return ret;
	}
	return 0;
}
