/* SPDX-License-Identifier: MIT */
/* uvmlab-xfer.c: stream N bytes over vsock, TCP or Unix sockets and checksum them;
 * listen/probe modes for reach checks live in xfer_reach.c. */
#include <errno.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "xfer_reach.h"

#define XFER_MAX_MSG (4u << 20)

/* Output line, one per run, parsed by tests:
 * "xfer send|recv bytes=N seconds=S MBps=R fnv1a=HEX" */
struct xfer_opts {
	bool send;
	int family;          /* AF_VSOCK, AF_INET(6) via getaddrinfo, AF_UNIX */
	const char *addr;    /* TCP host, Unix path */
	uint32_t cid, port;
	bool hybrid;         /* Unix path + "CONNECT <port>\n" handshake */
	uint64_t bytes;
	uint32_t msg;
	int timeout_s;
};

static uint64_t xfer_fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Deterministic, non-repeating-looking content so a dropped or reordered
 * chunk changes the checksum. */
static void xfer_fill(uint8_t *p, size_t n, uint64_t *state)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t x = *state;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*state = x;
		p[i] = (uint8_t)x;
	}
}

static double xfer_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int xfer_usage(void)
{
	fprintf(stderr,
		"usage: uvmlab-xfer send|recv (--vsock CID:PORT | --tcp HOST:PORT | --unix PATH |\n"
		"                              --hybrid PATH:PORT) [--bytes N] [--msg SIZE] [--timeout S]\n"
		"send connects and writes N bytes (default 64 MiB) in SIZE-byte writes (default 64 KiB);\n"
		"recv listens (vsock: any CID on PORT; unix: at PATH), accepts one connection\n"
		"and reads to EOF. --hybrid: connect to a vhost-user-vsock host socket and ask\n"
		"for guest PORT. Prints: xfer MODE bytes=N seconds=S MBps=R fnv1a=HEX\n"
		"exit: 0 ok, 1 short transfer, 2 bad usage, 3 socket error\n");
	xfer_reach_usage();
	return 2;
}

static int xfer_split_port(char *s, uint32_t *port)
{
	char *colon = strrchr(s, ':'), *end;
	unsigned long v;

	if (!colon)
		return -1;
	*colon = '\0';
	v = strtoul(colon + 1, &end, 10);
	if (*end || end == colon + 1 || v > UINT32_MAX)
		return -1;
	*port = (uint32_t)v;
	return 0;
}

static int xfer_unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

/* Numeric addresses only: no resolver in a static guest binary. */
static int xfer_tcp_addr(const char *host, uint32_t port, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (port > 65535)
		return -1;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* Read the hybrid reply line byte by byte: data may follow it. */
static int xfer_hybrid(int fd, uint32_t port)
{
	char line[64];
	size_t n = 0;
	int len = snprintf(line, sizeof(line), "CONNECT %" PRIu32 "\n", port);

	if (write(fd, line, (size_t)len) != len)
		return -1;
	while (n < sizeof(line) - 1) {
		if (read(fd, line + n, 1) != 1)
			return -1;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	return strncmp(line, "OK ", 3) ? -1 : 0;
}

static int xfer_connect(const struct xfer_opts *o)
{
	int fd = -1;

	if (o->family == AF_VSOCK) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = o->cid,
					  .svm_port = o->port };

		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
	} else if (o->family == AF_UNIX) {
		struct sockaddr_un sa;

		if (xfer_unix_addr(o->addr, &sa) < 0)
			return -1;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
		if (fd >= 0 && o->hybrid && xfer_hybrid(fd, o->port) < 0) {
			errno = ECONNREFUSED;
			goto fail;
		}
	} else {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (xfer_tcp_addr(o->addr, o->port, &ss, &sl) < 0)
			return -1;
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, sl) < 0)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int xfer_accept(const struct xfer_opts *o)
{
	int lfd = -1, fd = -1, one = 1;

	if (o->family == AF_VSOCK) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
					  .svm_port = o->port };

		lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto out;
	} else if (o->family == AF_UNIX) {
		struct sockaddr_un sa;

		if (xfer_unix_addr(o->addr, &sa) < 0)
			return -1;
		unlink(o->addr);
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto out;
	} else {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (xfer_tcp_addr(o->addr, o->port, &ss, &sl) < 0)
			return -1;
		lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd >= 0)
			setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (lfd >= 0 && bind(lfd, (struct sockaddr *)&ss, sl) < 0)
			goto out;
	}
	if (lfd < 0 || listen(lfd, 1) < 0)
		goto out;
	/* Tests start the receiver first and wait for this line. */
	fprintf(stderr, "uvmlab-xfer: listening\n");
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
out:
	if (lfd >= 0)
		close(lfd);
	if (o->family == AF_UNIX)
		unlink(o->addr);
	return fd;
}

static int xfer_parse(int argc, char **argv, struct xfer_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->bytes = 64ull << 20;
	o->msg = 64u << 10;
	if (argc < 2)
		return -1;
	if (!strcmp(argv[1], "send"))
		o->send = true;
	else if (strcmp(argv[1], "recv"))
		return -1;
	for (i = 2; i < argc; i++) {
		char *v = i + 1 < argc ? argv[i + 1] : NULL, *end;

		if (!v)
			return -1;
		i++;
		if (!strcmp(argv[i - 1], "--vsock")) {
			o->family = AF_VSOCK;
			if (xfer_split_port(v, &o->port) < 0)
				return -1;
			o->cid = (uint32_t)strtoul(v, &end, 10);
			if (*end)
				return -1;
		} else if (!strcmp(argv[i - 1], "--tcp")) {
			o->family = AF_INET;
			if (xfer_split_port(v, &o->port) < 0)
				return -1;
			o->addr = v;
		} else if (!strcmp(argv[i - 1], "--unix")) {
			o->family = AF_UNIX;
			o->addr = v;
		} else if (!strcmp(argv[i - 1], "--hybrid")) {
			o->family = AF_UNIX;
			o->hybrid = true;
			if (xfer_split_port(v, &o->port) < 0)
				return -1;
			o->addr = v;
		} else if (!strcmp(argv[i - 1], "--bytes")) {
			o->bytes = strtoull(v, &end, 0);
			if (*end)
				return -1;
		} else if (!strcmp(argv[i - 1], "--msg")) {
			unsigned long m = strtoul(v, &end, 0);

			if (*end || m == 0 || m > XFER_MAX_MSG)
				return -1;
			o->msg = (uint32_t)m;
		} else if (!strcmp(argv[i - 1], "--timeout")) {
			o->timeout_s = atoi(v);
		} else {
			return -1;
		}
	}
	return o->family ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct xfer_opts o;
	uint64_t done = 0, sum = 0xcbf29ce484222325ull, state = 0x9e3779b97f4a7c15ull;
	uint8_t *buf;
	double t0, t1;
	int fd, code = 0;

	if (argc >= 2 && (!strcmp(argv[1], "listen") || !strcmp(argv[1], "probe")))
		return xfer_reach_main(argc, argv);
	if (xfer_parse(argc, argv, &o) < 0)
		return xfer_usage();
	if (o.timeout_s > 0)
		alarm((unsigned)o.timeout_s); /* a hung peer must not hang a test */
	buf = malloc(o.msg);
	if (!buf)
		return 3;
	fd = o.send ? xfer_connect(&o) : xfer_accept(&o);
	if (fd < 0) {
		fprintf(stderr, "uvmlab-xfer: %s: %s\n", o.send ? "connect" : "accept", strerror(errno));
		free(buf);
		return 3;
	}
	t0 = xfer_now();
	if (o.send) {
		while (done < o.bytes) {
			size_t n = o.bytes - done < o.msg ? (size_t)(o.bytes - done) : o.msg, off = 0;

			xfer_fill(buf, n, &state);
			sum = xfer_fnv1a(sum, buf, n);
			while (off < n) {
				ssize_t w = write(fd, buf + off, n - off);

				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0) {
					fprintf(stderr, "uvmlab-xfer: write: %s\n", strerror(errno));
					code = 1;
					goto end;
				}
				off += (size_t)w;
			}
			done += n;
		}
		shutdown(fd, SHUT_WR);
		/* Wait for the receiver to finish so the timing covers delivery. */
		while (read(fd, buf, o.msg) > 0)
			;
	} else {
		for (;;) {
			ssize_t r = read(fd, buf, o.msg);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				fprintf(stderr, "uvmlab-xfer: read: %s\n", strerror(errno));
				code = 1;
				break;
			}
			if (r == 0)
				break;
			sum = xfer_fnv1a(sum, buf, (size_t)r);
			done += (uint64_t)r;
		}
		if (o.bytes && done != o.bytes && !code)
			code = 1;
	}
end:
	t1 = xfer_now();
	close(fd);
	printf("xfer %s bytes=%" PRIu64 " seconds=%.6f MBps=%.2f fnv1a=%016" PRIx64 "\n",
	       o.send ? "send" : "recv", done, t1 - t0,
	       t1 > t0 ? (double)done / (t1 - t0) / 1e6 : 0.0, sum);
	fflush(stdout);
	free(buf);
	return code;
}
