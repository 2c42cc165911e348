/* SPDX-License-Identifier: MIT */
/* agent_net.c: bring up the guest's NICs from the uvmlab.if/gw/forward cmdline keys. */
#include "agent.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int agent_net_read_mac(const char *ifname, uint8_t mac[6])
{
	char path[96], text[32];
	unsigned int b[6];
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	text[n] = 0;
	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* Name of the interface with MAC, or -ENODEV if none (yet). */
static int agent_net_find(const uint8_t mac[6], char name[IFNAMSIZ])
{
	struct dirent *de;
	uint8_t have[6];
	DIR *d;
	int rc = -ENODEV;

	d = opendir("/sys/class/net");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= IFNAMSIZ)
			continue;
		if (agent_net_read_mac(de->d_name, have) == 0 && memcmp(have, mac, 6) == 0) {
			memcpy(name, de->d_name, strlen(de->d_name) + 1);
			rc = 0;
			break;
		}
	}
	closedir(d);
	return rc;
}

static void agent_net_sin(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = addr };

	memcpy(sa, &sin, sizeof(sin));
}

static int agent_net_up(int sk, const char *name)
{
	struct ifreq ifr = { 0 };

	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(sk, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static int agent_net_addr(int sk, const char *name, uint32_t addr, uint8_t prefix)
{
	uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
	struct ifreq ifr = { 0 };

	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	agent_net_sin(&ifr.ifr_addr, addr);
	if (ioctl(sk, SIOCSIFADDR, &ifr) < 0)
		return -errno;
	agent_net_sin(&ifr.ifr_netmask, mask);
	if (ioctl(sk, SIOCSIFNETMASK, &ifr) < 0)
		return -errno;
	return 0;
}

static int agent_net_default_route(int sk, uint32_t gw)
{
	struct rtentry rt;

	memset(&rt, 0, sizeof(rt));
	agent_net_sin(&rt.rt_dst, 0);
	agent_net_sin(&rt.rt_genmask, 0);
	agent_net_sin(&rt.rt_gateway, gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	if (ioctl(sk, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int agent_net_forward(void)
{
	int fd, rc = 0;

	fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "1\n", 2) != 2)
		rc = -EIO;
	close(fd);
	return rc;
}

static void agent_net_note(int *first, int rc)
{
	if (rc < 0 && *first == 0)
		*first = rc;
}

int agent_net_configure(const struct agent_cmdline *cl, int wait_ms, int log_fd)
{
	struct timespec tick = { .tv_nsec = 20 * 1000000 };
	char name[IFNAMSIZ];
	char ip[INET_ADDRSTRLEN];
	int first = 0, waited = 0, rc, sk;
	uint32_t i;

	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk < 0) {
		agent_log_msg(log_fd, "net: socket: %s", strerror(errno));
		return -errno;
	}
	rc = agent_net_up(sk, "lo");
	if (rc < 0)
		agent_log_msg(log_fd, "net: lo up: %s", strerror(-rc));
	agent_net_note(&first, rc);
	for (i = 0; i < cl->n_ifs; i++) {
		const struct agent_cmdline_if *nic = &cl->ifs[i];

		/* virtio probing is asynchronous: the NIC may show up after us.
		 * The wait budget is shared by all NICs, not per NIC. */
		while ((rc = agent_net_find(nic->mac, name)) == -ENODEV && waited < wait_ms) {
			nanosleep(&tick, NULL);
			waited += 20;
		}
		inet_ntop(AF_INET, &nic->addr, ip, sizeof(ip));
		if (rc == 0)
			rc = agent_net_addr(sk, name, nic->addr, nic->prefix);
		if (rc == 0)
			rc = agent_net_up(sk, name);
		if (rc < 0)
			agent_log_msg(log_fd, "net: nic %u (%s/%u): %s", i, ip, nic->prefix,
				      strerror(-rc));
		else
			agent_log_msg(log_fd, "net: %s %s/%u up", name, ip, nic->prefix);
		agent_net_note(&first, rc);
	}
	if (cl->has_gw) {
		rc = agent_net_default_route(sk, cl->gw);
		if (rc < 0)
			agent_log_msg(log_fd, "net: default route: %s", strerror(-rc));
		agent_net_note(&first, rc);
	}
	if (cl->forward) {
		rc = agent_net_forward();
		if (rc < 0)
			agent_log_msg(log_fd, "net: ip_forward: %s", strerror(-rc));
		agent_net_note(&first, rc);
	}
	close(sk);
	return first;
}
