/* SPDX-License-Identifier: MIT */
/* test_flow_probe.c: the flow recorder on a real veth between two private network namespaces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>

#include "probes/flow_probe.c"
#include "lab/netns_link.h"

/* Our side of the veth lives in this process's private namespace, the peer
 * in a child's: frames really cross a link and every count is known. */
#define T_IF_A "fv0"
#define T_IF_B "fv1"
#define T_ADDR_A 0xc612c801u /* 198.18.200.1 */
#define T_ADDR_B 0xc612c802u /* 198.18.200.2 */
#define T_UDP_SPORT 40000
#define T_UDP_DPORT 5000
#define T_TCP_SPORT 40001
#define T_TCP_DPORT 5001
#define T_UDP_N 5
#define T_UDP_PAYLOAD 100
#define T_PING_PAYLOAD 56
#define T_WAIT_MS 3000

struct env {
	int err;          /* 0 when both namespaces and the veth are in place */
	const char *what; /* the step that failed */
	pid_t peer;       /* the child holding the peer namespace */
	int peer_pipe;    /* closing it lets the peer exit */
	uint8_t mac_a[6], mac_b[6];
	int ifindex_a;
};

/* --- environment ------------------------------------------------------- */

static int t_write_file(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int ret = 0;

	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		ret = -EIO;
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	return ret;
}

static int t_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		ret = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return ret;
}

static int t_bind(int type, uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(addr) };
	int one = 1;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* The peer: its own namespace with T_IF_B, a UDP sink and a TCP listener, so
 * nothing answers with ICMP errors that would blur the counts. */
static void t_peer_main(int rd, int wr)
{
	struct netns_link *nl = NULL;
	char c;
	int u, t;

	if (unshare(CLONE_NEWNET) < 0 || write(wr, "u", 1) != 1)
		_exit(10);
	if (read(rd, &c, 1) != 1 || c != 'm') /* the parent moved T_IF_B here */
		_exit(11);
	if (netns_link_open(&nl) < 0 || netns_link_addr_add(nl, T_IF_B, T_ADDR_B, 24) < 0 ||
	    netns_link_set_up(nl, T_IF_B, 1) < 0)
		_exit(12);
	u = t_bind(SOCK_DGRAM, T_ADDR_B, T_UDP_DPORT);
	t = t_bind(SOCK_STREAM, T_ADDR_B, T_TCP_DPORT);
	if (u < 0 || t < 0 || listen(t, 8) < 0)
		_exit(13);
	if (write(wr, "r", 1) != 1)
		_exit(14);
	while (read(rd, &c, 1) > 0) /* until the parent closes its end */
		;
	_exit(0);
}

static int t_move_link(const char *ifname, pid_t pid)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *orig = NULL, *change = rtnl_link_alloc();
	int ret;

	if (!sk || !change) {
		ret = -ENOMEM;
		goto out;
	}
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (ret == 0)
		ret = rtnl_link_get_kernel(sk, 0, ifname, &orig);
	if (ret == 0) {
		rtnl_link_set_ns_pid(change, pid);
		ret = rtnl_link_change(sk, orig, change, 0);
	}
	ret = ret < 0 ? -EIO : 0;
out:
	rtnl_link_put(orig);
	rtnl_link_put(change);
	nl_socket_free(sk);
	return ret;
}

static void env_enter(struct env *env)
{
	struct netns_link *nl = NULL;
	int to_peer[2] = { -1, -1 }, from_peer[2] = { -1, -1 };
	char c;

	env->peer = -1;
	env->peer_pipe = -1;
	env->what = "unshare(CLONE_NEWNET)";
	if (unshare(CLONE_NEWNET) < 0)
		goto fail;
	env->what = "pipes";
	if (pipe2(to_peer, O_CLOEXEC) < 0 || pipe2(from_peer, O_CLOEXEC) < 0)
		goto fail;
	env->what = "fork the peer";
	env->peer = fork();
	if (env->peer < 0)
		goto fail;
	if (env->peer == 0) {
		/* Our copy of the parent's write end would keep the EOF that
		 * ends the peer from ever coming; and never outlive the test. */
		close(to_peer[1]);
		close(from_peer[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		t_peer_main(to_peer[0], from_peer[1]);
	}
	close(to_peer[0]);
	close(from_peer[1]);
	env->peer_pipe = to_peer[1];
	env->what = "peer unshare";
	if (read(from_peer[0], &c, 1) != 1 || c != 'u') {
		errno = ECHILD;
		goto fail;
	}
	/* Fixed TCP options, so the handshake's frame sizes are known. */
	env->what = "tcp sysctls";
	if (t_write_file("/proc/sys/net/ipv4/tcp_timestamps", "0") < 0 ||
	    t_write_file("/proc/sys/net/ipv4/tcp_sack", "0") < 0 ||
	    t_write_file("/proc/sys/net/ipv4/tcp_window_scaling", "0") < 0)
		goto fail;
	env->what = "veth " T_IF_A "/" T_IF_B;
	if ((errno = -netns_link_open(&nl)) != 0 ||
	    (errno = -netns_link_veth_create(nl, T_IF_A, T_IF_B)) != 0 ||
	    (errno = -t_mac(T_IF_A, env->mac_a)) != 0 || (errno = -t_mac(T_IF_B, env->mac_b)) != 0)
		goto fail;
	env->what = "move " T_IF_B " to the peer";
	if ((errno = -t_move_link(T_IF_B, env->peer)) != 0)
		goto fail;
	if (write(env->peer_pipe, "m", 1) != 1)
		goto fail;
	env->what = "address and up " T_IF_A;
	if ((errno = -netns_link_addr_add(nl, T_IF_A, T_ADDR_A, 24)) != 0 ||
	    (errno = -netns_link_set_up(nl, T_IF_A, 1)) != 0)
		goto fail;
	env->ifindex_a = (int)if_nametoindex(T_IF_A);
	env->what = "peer ready";
	if (read(from_peer[0], &c, 1) != 1 || c != 'r') {
		errno = ECHILD;
		goto fail;
	}
	env->err = 0;
	goto out;
fail:
	env->err = errno ? errno : EIO;
out:
	netns_link_close(nl);
	if (from_peer[0] >= 0)
		close(from_peer[0]);
}

static void env_leave(struct env *env)
{
	int st;

	if (env->peer_pipe >= 0)
		close(env->peer_pipe);
	if (env->peer > 0)
		waitpid(env->peer, &st, 0);
}

static struct env *env_get(void **state)
{
	struct env *env = *state;

	if (env->err)
		skip();
	return env;
}

/* --- traffic ----------------------------------------------------------- */

static void t_send_udp(int n)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(T_UDP_DPORT),
				  .sin_addr.s_addr = htonl(T_ADDR_B) };
	char payload[T_UDP_PAYLOAD];
	int fd = t_bind(SOCK_DGRAM, T_ADDR_A, T_UDP_SPORT);

	assert_true(fd >= 0);
	memset(payload, 'u', sizeof(payload));
	/* The first datagram waits in the neighbour queue for ARP; the
	 * default queue holds far more than T_UDP_N. */
	for (int i = 0; i < n; i++)
		assert_int_equal(sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to,
					sizeof(to)), sizeof(payload));
	close(fd);
}

static void t_tcp_connect(int *fd_out)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(T_TCP_DPORT),
				  .sin_addr.s_addr = htonl(T_ADDR_B) };
	int fd = t_bind(SOCK_STREAM, T_ADDR_A, T_TCP_SPORT);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	*fd_out = fd; /* kept open: a FIN would race with the counts */
}

static void t_ping(void)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(T_ADDR_B) };
	uint8_t pkt[sizeof(struct icmphdr) + T_PING_PAYLOAD] = { 0 };
	struct icmphdr *h = (struct icmphdr *)pkt;
	uint8_t buf[256];
	struct pollfd pfd;
	uint32_t sum = 0;
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);

	assert_true(fd >= 0);
	h->type = ICMP_ECHO;
	h->un.echo.id = htons(0x4242);
	h->un.echo.sequence = htons(1);
	for (size_t i = 0; i < sizeof(pkt); i += 2)
		sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	h->checksum = htons((uint16_t)~sum);
	assert_int_equal(sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)),
			 sizeof(pkt));
	/* The raw socket sees every ICMP frame, our own request included on
	 * some kernels: wait for the echo reply itself. */
	for (;;) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		assert_int_equal(poll(&pfd, 1, T_WAIT_MS), 1);
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		assert_true(n >= 20 + 8);
		if (buf[20] == ICMP_ECHOREPLY)
			break;
	}
	close(fd);
}

/* --- reading the table ------------------------------------------------- */

struct t_flows {
	struct flow_record rec[256];
	size_t n;
};

static int t_collect(const struct flow_record *rec, void *arg)
{
	struct t_flows *f = arg;

	if (f->n == sizeof(f->rec) / sizeof(f->rec[0]))
		return -ENOSPC;
	f->rec[f->n++] = *rec;
	return 0;
}

static void t_read(struct flow_probe *fp, struct t_flows *f)
{
	f->n = 0;
	assert_int_equal(flow_probe_read(fp, t_collect, f), 0);
}

/* The one IPv4 flow with these coordinates, or NULL. */
static const struct flow_record *t_find4(const struct t_flows *f, uint8_t dir, uint8_t proto,
					 uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	const struct flow_record *hit = NULL;
	uint32_t s = htonl(src), d = htonl(dst);

	for (size_t i = 0; i < f->n; i++) {
		const struct flow_record *r = &f->rec[i];

		if (r->dir != dir || r->family != FLOW_FAMILY_IPV4 || r->l4proto != proto ||
		    memcmp(r->src_addr, &s, 4) || memcmp(r->dst_addr, &d, 4) ||
		    r->src_port != sport || r->dst_port != dport)
			continue;
		assert_null(hit); /* a key is unique */
		hit = r;
	}
	return hit;
}

static const struct flow_record *t_find_arp(const struct t_flows *f, uint8_t dir, uint16_t op)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->rec[i].dir == dir && f->rec[i].family == FLOW_FAMILY_ARP &&
		    f->rec[i].dst_port == op)
			return &f->rec[i];
	return NULL;
}

/* --- qdisc inspection through netlink ---------------------------------- */

static int t_has_clsact(int ifindex)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int found = 0;

	assert_non_null(sk);
	assert_int_equal(nl_connect(sk, NETLINK_ROUTE), 0);
	assert_int_equal(rtnl_qdisc_alloc_cache(sk, &cache), 0);
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_tc *tc = (struct rtnl_tc *)o;
		const char *kind = rtnl_tc_get_kind(tc);

		if (rtnl_tc_get_ifindex(tc) == ifindex && kind && strcmp(kind, "clsact") == 0)
			found = 1;
	}
	nl_cache_free(cache);
	nl_socket_free(sk);
	return found;
}


/* --- the parser, on crafted frames through BPF_PROG_TEST_RUN ------------ */

/* Run one frame through the DIR program of FP; the recorder never decides. */
static void t_run(struct flow_probe *fp, uint8_t dir, const void *frame, size_t len)
{
	struct bpf_program *prog = dir == FLOW_DIR_INGRESS ? fp->skel->progs.flow_tc_ingress
							   : fp->skel->progs.flow_tc_egress;

	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)len);
	int ret = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);

	if (ret != 0)
		fail_msg("test run of a %zu-byte frame: %s", len, strerror(-ret));
	assert_int_equal((int32_t)o.retval, -1 /* TC_ACT_UNSPEC */);
}

/* Clear, run FRAME once, and return the single flow it made. */
static struct flow_record t_one(struct flow_probe *fp, uint8_t dir, const void *frame, size_t len)
{
	struct t_flows *f = calloc(1, sizeof(*f));
	struct flow_record r;

	assert_non_null(f);
	assert_int_equal(flow_probe_clear(fp), 0);
	t_run(fp, dir, frame, len);
	t_read(fp, f);
	assert_int_equal(f->n, 1);
	r = f->rec[0];
	free(f);
	assert_int_equal(r.dir, dir);
	assert_int_equal(r.packets, 1);
	assert_int_equal(r.bytes, len);
	return r;
}

static const uint8_t t_eth_dst[6] = { 0x02, 0, 0, 0, 0, 0x0d };
static const uint8_t t_eth_src[6] = { 0x02, 0, 0, 0, 0, 0x05 };

/* Ethernet header with ETHERTYPE (and an 802.1Q tag carrying INNER if
 * non-zero) at F; returns the header length. */
static size_t t_eth(uint8_t *f, uint16_t ethertype, uint16_t inner)
{
	memcpy(f, t_eth_dst, 6);
	memcpy(f + 6, t_eth_src, 6);
	f[12] = (uint8_t)(ethertype >> 8);
	f[13] = (uint8_t)ethertype;
	if (!inner)
		return 14;
	f[14] = 0;
	f[15] = 7; /* VLAN 7 */
	f[16] = (uint8_t)(inner >> 8);
	f[17] = (uint8_t)inner;
	return 18;
}

static size_t t_ipv4(uint8_t *p, uint8_t proto, uint16_t frag_field)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	p[6] = (uint8_t)(frag_field >> 8);
	p[7] = (uint8_t)frag_field;
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, (const uint8_t[]){ 198, 18, 1, 2 }, 4);
	memcpy(p + 16, (const uint8_t[]){ 198, 18, 3, 4 }, 4);
	return 20;
}

static const uint8_t t_v6_src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t t_v6_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

static size_t t_ipv6(uint8_t *p, uint8_t nexthdr)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	p[6] = nexthdr;
	p[7] = 64;
	memcpy(p + 8, t_v6_src, 16);
	memcpy(p + 24, t_v6_dst, 16);
	return 40;
}

static size_t t_ports(uint8_t *p, uint16_t sport, uint16_t dport)
{
	p[0] = (uint8_t)(sport >> 8);
	p[1] = (uint8_t)sport;
	p[2] = (uint8_t)(dport >> 8);
	p[3] = (uint8_t)dport;
	memset(p + 4, 0, 4);
	return 8;
}

static void test_parse_frames(void **state)
{
	struct env *env = env_get(state); /* test runs need a loopback: our netns has one */
	struct flow_probe *fp = NULL;
	uint8_t f[256];
	const uint8_t v4_dst[4] = { 198, 18, 3, 4 };
	struct flow_record r;
	char err[256], a[INET6_ADDRSTRLEN], mac[18];
	size_t n;

	(void)env;
	if (flow_probe_create(&fp, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);

	/* IPv6 UDP behind a hop-by-hop header. */
	memset(f, 0, sizeof(f));
	n = t_eth(f, 0x86dd, 0);
	n += t_ipv6(f + n, 0 /* HOPOPTS */);
	f[n] = 17;
	f[n + 1] = 0; /* 8 bytes */
	n += 8;
	n += t_ports(f + n, 1234, 53);
	r = t_one(fp, FLOW_DIR_EGRESS, f, n);
	assert_int_equal(r.family, FLOW_FAMILY_IPV6);
	assert_int_equal(r.ethertype, 0x86dd);
	assert_int_equal(r.l4proto, 17);
	assert_int_equal(r.src_port, 1234);
	assert_int_equal(r.dst_port, 53);
	assert_memory_equal(r.src_addr, t_v6_src, 16);
	assert_memory_equal(r.dst_addr, t_v6_dst, 16);
	assert_memory_equal(r.src_mac, t_eth_src, 6);
	assert_memory_equal(r.dst_mac, t_eth_dst, 6);
	assert_string_equal(r.ifname, ""); /* lo: not one of ours */
	assert_int_equal(flow_probe_addr_str(&r, 1, a, sizeof(a)), 0);
	assert_string_equal(a, "2001:db8::2");
	flow_probe_mac_str(r.src_mac, mac);
	assert_string_equal(mac, "02:00:00:00:00:05");

	/* A non-first IPv6 fragment has no ports to read. */
	n = t_eth(f, 0x86dd, 0);
	n += t_ipv6(f + n, 44 /* FRAGMENT */);
	memcpy(f + n, (const uint8_t[]){ 17, 0, 0x05, 0xa8, 0, 0, 0, 1 }, 8); /* offset 181*8 */
	n += 8;
	n += t_ports(f + n, 1111, 2222); /* payload bytes that look like ports */
	r = t_one(fp, FLOW_DIR_INGRESS, f, n);
	assert_int_equal(r.l4proto, 17);
	assert_int_equal(r.src_port, 0);
	assert_int_equal(r.dst_port, 0);

	/* ICMPv6 echo request: type and code take the ports' places. */
	n = t_eth(f, 0x86dd, 0);
	n += t_ipv6(f + n, 58);
	memcpy(f + n, (const uint8_t[]){ 128, 0, 0, 0, 0, 1, 0, 1 }, 8);
	n += 8;
	r = t_one(fp, FLOW_DIR_EGRESS, f, n);
	assert_int_equal(r.l4proto, 58);
	assert_int_equal(r.src_port, 128);
	assert_int_equal(r.dst_port, 0);

	/* More extension headers than the parser walks: no L4 guess. */
	n = t_eth(f, 0x86dd, 0);
	n += t_ipv6(f + n, 60);
	for (int i = 0; i < FLOW_IPV6_EXT_MAX + 1; i++) {
		memset(f + n, 0, 8);
		f[n] = 60;
		n += 8;
	}
	r = t_one(fp, FLOW_DIR_EGRESS, f, n);
	assert_int_equal(r.family, FLOW_FAMILY_IPV6);
	assert_int_equal(r.l4proto, 60);
	assert_int_equal(r.src_port, 0);

	/* IPv4: a non-first fragment, then a UDP header cut after 2 bytes. */
	n = t_eth(f, 0x0800, 0);
	n += t_ipv4(f + n, 17, 0x0010);
	n += t_ports(f + n, 1111, 2222);
	r = t_one(fp, FLOW_DIR_INGRESS, f, n);
	assert_int_equal(r.family, FLOW_FAMILY_IPV4);
	assert_int_equal(r.l4proto, 17);
	assert_int_equal(r.src_port, 0);
	assert_memory_equal(r.dst_addr, v4_dst, 4);
	n = t_eth(f, 0x0800, 0);
	n += t_ipv4(f + n, 17, 0x4000 /* DF only: not a fragment */);
	n += 2;
	r = t_one(fp, FLOW_DIR_INGRESS, f, n);
	assert_int_equal(r.l4proto, 17);
	assert_int_equal(r.dst_port, 0);

	/* An IPv4 header claiming options the frame does not have. */
	n = t_eth(f, 0x0800, 0);
	n += t_ipv4(f + n, 6, 0);
	f[14] = 0x4f;
	r = t_one(fp, FLOW_DIR_INGRESS, f, n);
	assert_int_equal(r.l4proto, 6);
	assert_int_equal(r.src_port, 0);

	/* 802.1Q-tagged TCP. */
	n = t_eth(f, 0x8100, 0x0800);
	n += t_ipv4(f + n, 6, 0);
	n += t_ports(f + n, 40000, 443);
	r = t_one(fp, FLOW_DIR_EGRESS, f, n);
	assert_int_equal(r.vlan_tagged, 1);
	assert_int_equal(r.ethertype, 0x0800);
	assert_int_equal(r.l4proto, 6);
	assert_int_equal(r.src_port, 40000);
	assert_int_equal(r.dst_port, 443);

	/* An ethertype we do not parse (the kernel's test run refuses IPv4
	 * frames without a whole IP header): counted, no L3. */
	n = t_eth(f, 0x88b5, 0);
	f[n++] = 0x45;
	f[n++] = 0;
	r = t_one(fp, FLOW_DIR_INGRESS, f, n);
	assert_int_equal(r.family, FLOW_FAMILY_NONE);
	assert_int_equal(r.ethertype, 0x88b5);
	assert_int_equal(flow_probe_addr_str(&r, 0, a, sizeof(a)), 0);
	assert_string_equal(a, "");

	/* ARP reply 198.18.1.2 is-at ...; then a non-Ethernet ARP. */
	n = t_eth(f, 0x0806, 0);
	memcpy(f + n, (const uint8_t[]){ 0, 1, 0x08, 0, 6, 4, 0, 2 }, 8);
	memcpy(f + n + 8, t_eth_src, 6);
	memcpy(f + n + 14, (const uint8_t[]){ 198, 18, 1, 2 }, 4);
	memcpy(f + n + 18, t_eth_dst, 6);
	memcpy(f + n + 24, v4_dst, 4);
	n += 28;
	r = t_one(fp, FLOW_DIR_INGRESS, f, n);
	assert_int_equal(r.family, FLOW_FAMILY_ARP);
	assert_int_equal(r.dst_port, 2);
	assert_memory_equal(r.dst_addr, v4_dst, 4);
	assert_int_equal(flow_probe_addr_str(&r, 0, a, sizeof(a)), 0);
	assert_string_equal(a, "198.18.1.2");
	f[15] = 6; /* htype IEEE 802 */
	r = t_one(fp, FLOW_DIR_INGRESS, f, n);
	assert_int_equal(r.family, FLOW_FAMILY_NONE);

	/* Same frame twice, both directions: one flow per direction, counts add. */
	assert_int_equal(flow_probe_clear(fp), 0);
	t_run(fp, FLOW_DIR_INGRESS, f, n);
	t_run(fp, FLOW_DIR_INGRESS, f, n);
	t_run(fp, FLOW_DIR_EGRESS, f, n);
	struct t_flows *fl = calloc(1, sizeof(*fl));

	assert_non_null(fl);
	t_read(fp, fl);
	assert_int_equal(fl->n, 2);
	for (size_t i = 0; i < fl->n; i++) {
		assert_int_equal(fl->rec[i].packets, fl->rec[i].dir == FLOW_DIR_INGRESS ? 2 : 1);
		assert_int_equal(fl->rec[i].bytes, fl->rec[i].packets * n);
	}
	free(fl);
	flow_probe_destroy(fp);
}

/* Aggregation knobs and a full table. */
static void test_knobs_and_drops(void **state)
{
	struct env *env = env_get(state);
	const struct flow_probe_opts o = { .max_entries = 2, .no_macs = 1, .no_ports = 1 };
	struct flow_probe *fp = NULL;
	struct t_flows *fl = calloc(1, sizeof(*fl));
	uint8_t f[64];
	uint64_t drops = 0;
	char err[256];
	size_t n;

	(void)env;
	assert_non_null(fl);
	if (flow_probe_create(&fp, &o, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	n = t_eth(f, 0x0800, 0);
	n += t_ipv4(f + n, 17, 0);
	n += t_ports(f + n, 1000, 2000);
	t_run(fp, FLOW_DIR_EGRESS, f, n);
	f[n - 7] = 0xff; /* another source port: the same flow without ports */
	t_run(fp, FLOW_DIR_EGRESS, f, n);
	t_read(fp, fl);
	assert_int_equal(fl->n, 1);
	assert_int_equal(fl->rec[0].packets, 2);
	assert_int_equal(fl->rec[0].src_port, 0);
	assert_memory_equal(fl->rec[0].src_mac, (const uint8_t[6]){ 0 }, 6);

	t_run(fp, FLOW_DIR_INGRESS, f, n); /* second entry: table now full */
	f[9 + 14] = 6;                      /* a third flow (TCP) has no room */
	t_run(fp, FLOW_DIR_INGRESS, f, n);
	t_run(fp, FLOW_DIR_INGRESS, f, n);
	t_read(fp, fl);
	assert_int_equal(fl->n, 2);
	assert_int_equal(flow_probe_drops(fp, &drops), 0);
	assert_int_equal(drops, 2);
	assert_int_equal(flow_probe_clear(fp), 0);
	assert_int_equal(flow_probe_drops(fp, &drops), 0);
	assert_int_equal(drops, 0);
	flow_probe_destroy(fp);
	free(fl);
}

/* --- tests ------------------------------------------------------------- */

static void test_missing_btf(void **state)
{
	const struct flow_probe_opts o = { .btf_path = "/nonexistent/uvmlab/vmlinux" };
	struct flow_probe *fp = (struct flow_probe *)0x1;
	char err[256];

	(void)state;
	assert_int_equal(flow_probe_create(&fp, &o, err, sizeof(err)), -ENOENT);
	assert_null(fp);
	assert_non_null(strstr(err, "/nonexistent/uvmlab/vmlinux"));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_non_null(strstr(err, "CONFIG_DEBUG_INFO_BTF"));
	flow_probe_destroy(NULL);
}

/* Without capabilities the load must fail loudly, never yield a probe that
 * records nothing. Checked in a child that drops every capability. */
static void test_no_permission(void **state)
{
	int p[2];
	pid_t pid;
	int st;
	char msg[300] = { 0 };
	ssize_t n;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct data[2] = { { 0 } };
		struct flow_probe *fp = NULL;
		char err[256];
		int ret;

		if (syscall(SYS_capset, &hdr, data) < 0)
			_exit(100);
		ret = flow_probe_create(&fp, NULL, err, sizeof(err));
		flow_probe_destroy(fp);
		if (write(p[1], err, strlen(err)) < 0)
			_exit(101);
		_exit(ret == -EPERM ? 0 : ret == 0 ? 102 : 103);
	}
	close(p[1]);
	n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(n > 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("child status %d, message: %s", st, msg);
	assert_non_null(strstr(msg, "load BPF programs: Operation not permitted"));
	assert_non_null(strstr(msg, "root"));
}

static void test_traffic_counts(void **state)
{
	struct env *env = env_get(state);
	struct flow_probe *fp = NULL;
	struct t_flows *f = calloc(1, sizeof(*f));
	const struct flow_record *r;
	uint64_t drops = 1;
	char err[256];
	int tcp = -1;

	assert_non_null(f);
	if (flow_probe_create(&fp, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(flow_probe_attach(fp, T_IF_A), 0);
	assert_int_equal(t_has_clsact(env->ifindex_a), 1);

	t_send_udp(T_UDP_N);
	t_ping();
	t_tcp_connect(&tcp);
	t_read(fp, f);

	r = t_find4(f, FLOW_DIR_EGRESS, IPPROTO_UDP, T_ADDR_A, T_ADDR_B, T_UDP_SPORT, T_UDP_DPORT);
	assert_non_null(r);
	assert_string_equal(r->ifname, T_IF_A);
	assert_int_equal(r->ifindex, env->ifindex_a);
	assert_int_equal(r->ethertype, 0x0800);
	assert_memory_equal(r->src_mac, env->mac_a, 6);
	assert_memory_equal(r->dst_mac, env->mac_b, 6);
	assert_int_equal(r->packets, T_UDP_N);
	assert_int_equal(r->bytes, T_UDP_N * (14 + 20 + 8 + T_UDP_PAYLOAD));
	assert_true(r->first_ns > 0 && r->first_ns <= r->last_ns);
	/* Nothing answers UDP: no reverse flow at all. */
	assert_null(t_find4(f, FLOW_DIR_INGRESS, IPPROTO_UDP, T_ADDR_B, T_ADDR_A, T_UDP_DPORT,
			    T_UDP_SPORT));

	r = t_find4(f, FLOW_DIR_EGRESS, IPPROTO_ICMP, T_ADDR_A, T_ADDR_B, ICMP_ECHO, 0);
	assert_non_null(r);
	assert_int_equal(r->packets, 1);
	assert_int_equal(r->bytes, 14 + 20 + 8 + T_PING_PAYLOAD);
	r = t_find4(f, FLOW_DIR_INGRESS, IPPROTO_ICMP, T_ADDR_B, T_ADDR_A, ICMP_ECHOREPLY, 0);
	assert_non_null(r);
	assert_int_equal(r->packets, 1);
	assert_int_equal(r->bytes, 14 + 20 + 8 + T_PING_PAYLOAD);
	assert_memory_equal(r->src_mac, env->mac_b, 6);
	assert_memory_equal(r->dst_mac, env->mac_a, 6);

	/* SYN (MSS option only) and the final ACK out, SYN-ACK in. */
	r = t_find4(f, FLOW_DIR_EGRESS, IPPROTO_TCP, T_ADDR_A, T_ADDR_B, T_TCP_SPORT, T_TCP_DPORT);
	assert_non_null(r);
	assert_int_equal(r->packets, 2);
	assert_int_equal(r->bytes, (14 + 20 + 24) + (14 + 20 + 20));
	r = t_find4(f, FLOW_DIR_INGRESS, IPPROTO_TCP, T_ADDR_B, T_ADDR_A, T_TCP_DPORT, T_TCP_SPORT);
	assert_non_null(r);
	assert_int_equal(r->packets, 1);
	assert_int_equal(r->bytes, 14 + 20 + 24);

	/* The first datagram resolved the peer: who-has out, is-at back. */
	r = t_find_arp(f, FLOW_DIR_EGRESS, ARPOP_REQUEST);
	assert_non_null(r);
	assert_int_equal(r->ethertype, 0x0806);
	assert_true(r->packets >= 1);
	r = t_find_arp(f, FLOW_DIR_INGRESS, ARPOP_REPLY);
	assert_non_null(r);
	assert_memory_equal(r->src_mac, env->mac_b, 6);

	assert_int_equal(flow_probe_drops(fp, &drops), 0);
	assert_int_equal(drops, 0);

	/* Detached: no filter counts any more and the clsact we made is gone. */
	assert_int_equal(flow_probe_detach_all(fp), 0);
	assert_int_equal(t_has_clsact(env->ifindex_a), 0);
	t_send_udp(1);
	t_read(fp, f);
	r = t_find4(f, FLOW_DIR_EGRESS, IPPROTO_UDP, T_ADDR_A, T_ADDR_B, T_UDP_SPORT, T_UDP_DPORT);
	assert_non_null(r);
	assert_int_equal(r->packets, T_UDP_N);
	assert_string_equal(r->ifname, T_IF_A); /* names outlive the attachment */

	assert_int_equal(flow_probe_clear(fp), 0);
	t_read(fp, f);
	assert_int_equal(f->n, 0);
	close(tcp);
	flow_probe_destroy(fp);
	free(f);
}

/* A clsact qdisc that was there before us is not ours to remove. */
static void test_foreign_clsact_kept(void **state)
{
	struct env *env = env_get(state);
	struct flow_probe *fp = NULL;
	char err[256];

	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = env->ifindex_a,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	assert_int_equal(bpf_tc_hook_create(&hook), 0);
	if (flow_probe_create(&fp, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(flow_probe_attach(fp, T_IF_A), 0);
	assert_int_equal(flow_probe_detach_all(fp), 0);
	assert_int_equal(t_has_clsact(env->ifindex_a), 1);
	flow_probe_destroy(fp);
	assert_int_equal(bpf_tc_hook_destroy(&hook), 0);
	assert_int_equal(t_has_clsact(env->ifindex_a), 0);
}

static void test_attach_errors(void **state)
{
	struct env *env = env_get(state);
	struct flow_probe *fp = NULL;
	char err[256];
	char path[64];
	int here, peer;

	if (flow_probe_create(&fp, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(flow_probe_error(fp), "");
	assert_int_equal(flow_probe_attach(fp, "nosuch0"), -ENODEV);
	assert_non_null(strstr(flow_probe_error(fp), "attach nosuch0: no such interface"));
	assert_int_equal(flow_probe_attach(fp, "a-name-longer-than-ifnamsiz"), -ENAMETOOLONG);
	assert_int_equal(flow_probe_attach(fp, T_IF_A), 0);
	assert_int_equal(flow_probe_attach(fp, T_IF_A), -EEXIST);

	/* The peer's namespace is another one: ifindexes would be ambiguous. */
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)env->peer);
	here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	peer = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(here >= 0 && peer >= 0);
	assert_int_equal(setns(peer, CLONE_NEWNET), 0);
	assert_int_equal(flow_probe_attach(fp, T_IF_B), -EXDEV);
	assert_int_equal(setns(here, CLONE_NEWNET), 0);
	flow_probe_destroy(fp);
	assert_int_equal(t_has_clsact(env->ifindex_a), 0);

	/* Attached in the peer's namespace, detached from ours: the probe
	 * goes back there by itself and returns us where we were. */
	assert_int_equal(flow_probe_create(&fp, NULL, err, sizeof(err)), 0);
	assert_int_equal(setns(peer, CLONE_NEWNET), 0);
	int ifindex_b = (int)if_nametoindex(T_IF_B);

	assert_true(ifindex_b > 0);
	assert_int_equal(flow_probe_attach(fp, T_IF_B), 0);
	assert_int_equal(t_has_clsact(ifindex_b), 1);
	assert_int_equal(setns(here, CLONE_NEWNET), 0);
	assert_int_equal(flow_probe_detach_all(fp), 0);
	assert_int_equal(if_nametoindex(T_IF_A), (unsigned)env->ifindex_a); /* back home */
	assert_int_equal(setns(peer, CLONE_NEWNET), 0);
	assert_int_equal(t_has_clsact(ifindex_b), 0);
	assert_int_equal(setns(here, CLONE_NEWNET), 0);
	flow_probe_destroy(fp);
	close(here);
	close(peer);
}

int main(void)
{
	struct env env = { 0 };

	env_enter(&env);
	if (env.err && env.err != EPERM) {
		print_message("flow_probe: %s: %s\n", env.what, strerror(env.err));
		env_leave(&env);
		return 1;
	}
	if (env.err)
		print_message("flow_probe namespace tests skipped: %s: %s\n", env.what,
			      strerror(env.err));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_btf),
		cmocka_unit_test(test_no_permission),
		cmocka_unit_test_prestate(test_traffic_counts, &env),
		cmocka_unit_test_prestate(test_foreign_clsact_kept, &env),
		cmocka_unit_test_prestate(test_attach_errors, &env),
		cmocka_unit_test_prestate(test_parse_frames, &env),
		cmocka_unit_test_prestate(test_knobs_and_drops, &env),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	env_leave(&env);
	return ret;
}
