/* SPDX-License-Identifier: MIT */
/* xfer_reach.c: the listener and the prober of reach checks (see xfer_reach.h). */
#include "xfer_reach.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REACH_TOKEN_MAX 64
#define REACH_MAX_TOKENS 4
#define REACH_MAX_CONNS 8
#define REACH_MAX_EVENTS 256    /* lines printed; the rest are counted as dropped */
#define REACH_CONN_MS 2000      /* a connection must say its piece within this */

/* The one global: SIGTERM/SIGINT ask the listener to print its end line and exit. */
static volatile sig_atomic_t xfer_reach_stop;

struct xfer_reach_opts {
	int listen;
	int udp;
	struct sockaddr_in addr;
	char addr_text[24];
	const char *tokens[REACH_MAX_TOKENS];
	size_t token_len[REACH_MAX_TOKENS];
	size_t n_tokens;
	int timeout_s;
};

struct xfer_reach_conn {
	int fd;
	char peer[24];
	char buf[REACH_TOKEN_MAX + 1];
	size_t len;
	int64_t deadline_ms;
};

void xfer_reach_usage(void)
{
	fprintf(stderr,
		"       uvmlab-xfer listen (--tcp | --udp) IP:PORT --token T [--token T2 ...] [--timeout S]\n"
		"       uvmlab-xfer probe (--tcp | --udp) IP:PORT --token T [--timeout S]\n"
		"listen binds IP:PORT (IPv4), prints \"reach-listen listening ...\" once bound, then one\n"
		"line per peer it saw (tcp connection, token with its source address, other bytes),\n"
		"echoes a received token back to its sender, and ends (\"reach-listen end\") after S\n"
		"seconds (default 30) or on SIGTERM. probe sends T+\"\\n\" (udp: up to 3 times) and\n"
		"prints one \"reach-probe result\" line: tcp handshake|refused|timeout|unreachable,\n"
		"udp sent|refused (ICMP port unreachable)|unreachable, and whether T came back;\n"
		"S defaults to 3. Tokens: 1..64 of [0-9a-z-]. Exit: 0 ran, 2 bad usage, 3 socket error\n");
}

static int64_t xfer_reach_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *xfer_reach_errno_name(int e)
{
	static char other[16];

	switch (e) {
	case 0:             return "0";
	case ECONNREFUSED:  return "ECONNREFUSED";
	case ETIMEDOUT:     return "ETIMEDOUT";
	case EHOSTUNREACH:  return "EHOSTUNREACH";
	case ENETUNREACH:   return "ENETUNREACH";
	case EADDRINUSE:    return "EADDRINUSE";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EACCES:        return "EACCES";
	case EPERM:         return "EPERM";
	case ECONNRESET:    return "ECONNRESET";
	case EPIPE:         return "EPIPE";
	case EINVAL:        return "EINVAL";
	case EMFILE:        return "EMFILE";
	case ENOMEM:        return "ENOMEM";
	default:
		snprintf(other, sizeof(other), "E%d", e);
		return other;
	}
}

static int xfer_reach_token_ok(const char *t)
{
	size_t i, n = strlen(t);

	if (n == 0 || n > REACH_TOKEN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'z') || t[i] == '-'))
			return 0;
	return 1;
}

/* "A.B.C.D:PORT", port 1..65535. */
static int xfer_reach_parse_addr(const char *s, struct xfer_reach_opts *o)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port == 0 || port > 65535)
		return -1;
	memset(&o->addr, 0, sizeof(o->addr));
	o->addr.sin_family = AF_INET;
	o->addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &o->addr.sin_addr) != 1)
		return -1;
	snprintf(o->addr_text, sizeof(o->addr_text), "%s:%lu", host, port);
	return 0;
}

static int xfer_reach_parse(int argc, char **argv, struct xfer_reach_opts *o)
{
	int i, have_addr = 0;

	memset(o, 0, sizeof(*o));
	o->listen = !strcmp(argv[1], "listen");
	o->timeout_s = o->listen ? 30 : 3;
	for (i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (!v)
			return -1;
		if (!strcmp(argv[i], "--tcp") || !strcmp(argv[i], "--udp")) {
			o->udp = !strcmp(argv[i], "--udp");
			if (have_addr++ || xfer_reach_parse_addr(v, o) < 0)
				return -1;
		} else if (!strcmp(argv[i], "--token")) {
			if (!xfer_reach_token_ok(v) || o->n_tokens >= (o->listen ? REACH_MAX_TOKENS : 1))
				return -1;
			o->token_len[o->n_tokens] = strlen(v);
			o->tokens[o->n_tokens++] = v;
		} else if (!strcmp(argv[i], "--timeout")) {
			long t = strtol(v, &end, 10);

			if (*end || t < 1 || t > 3600)
				return -1;
			o->timeout_s = (int)t;
		} else {
			return -1;
		}
		i++;
	}
	return have_addr && o->n_tokens ? 0 : -1;
}

static void xfer_reach_fmt_peer(const struct sockaddr_in *sa, char *buf, size_t len)
{
	char host[INET_ADDRSTRLEN] = "?";

	inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host));
	snprintf(buf, len, "%s:%u", host, ntohs(sa->sin_port));
}

/* Index of the token BUF[0..N) (one trailing newline ignored), or -1. */
static int xfer_reach_match(const struct xfer_reach_opts *o, const char *buf, size_t n)
{
	size_t i;

	if (n && buf[n - 1] == '\n')
		n--;
	for (i = 0; i < o->n_tokens; i++)
		if (n == o->token_len[i] && !memcmp(buf, o->tokens[i], n))
			return (int)i;
	return -1;
}

struct xfer_reach_events {
	unsigned printed, dropped;
};

static void xfer_reach_event(struct xfer_reach_events *ev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void xfer_reach_event(struct xfer_reach_events *ev, const char *fmt, ...)
{
	va_list ap;

	if (ev->printed >= REACH_MAX_EVENTS) {
		ev->dropped++;
		return;
	}
	ev->printed++;
	fputs("reach-listen ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* A tcp connection said its piece (or gave up): judge it, echo a token, close. */
static void xfer_reach_conn_done(const struct xfer_reach_opts *o, struct xfer_reach_conn *c,
				 struct xfer_reach_events *ev)
{
	int t = xfer_reach_match(o, c->buf, c->len);

	if (t >= 0) {
		char echo[REACH_TOKEN_MAX + 2];
		int n = snprintf(echo, sizeof(echo), "%s\n", o->tokens[t]);
		int ok = write(c->fd, echo, (size_t)n) == n;

		xfer_reach_event(ev, "token from=%s token=%s echo=%d", c->peer, o->tokens[t], ok);
	} else if (c->len) {
		xfer_reach_event(ev, "bytes from=%s len=%zu", c->peer, c->len);
	}
	close(c->fd);
	c->fd = -1;
}

static void xfer_reach_on_signal(int sig)
{
	(void)sig;
	xfer_reach_stop = 1;
}

static int xfer_reach_listen(const struct xfer_reach_opts *o)
{
	struct xfer_reach_conn conns[REACH_MAX_CONNS];
	struct xfer_reach_events ev = { 0, 0 };
	struct sigaction sa;
	int64_t end_ms;
	int lfd, one = 1, code = 0;
	size_t i;
	const char *op = "socket";

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = xfer_reach_on_signal;   /* no SA_RESTART: poll() must return */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < REACH_MAX_CONNS; i++)
		conns[i].fd = -1;
	lfd = socket(AF_INET, (o->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (lfd >= 0 && !o->udp)
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd >= 0 && (op = "bind", bind(lfd, (const struct sockaddr *)&o->addr, sizeof(o->addr)) < 0))
		goto fail;
	if (lfd >= 0 && !o->udp && (op = "listen", listen(lfd, REACH_MAX_CONNS) < 0))
		goto fail;
	if (lfd < 0)
		goto fail;
	printf("reach-listen listening proto=%s addr=%s\n", o->udp ? "udp" : "tcp", o->addr_text);
	fflush(stdout);
	end_ms = xfer_reach_now_ms() + (int64_t)o->timeout_s * 1000;
	while (!xfer_reach_stop) {
		struct pollfd pfd[1 + REACH_MAX_CONNS];
		int64_t now = xfer_reach_now_ms(), wait = end_ms - now;
		int n;

		if (wait <= 0)
			break;
		if (wait > 200)
			wait = 200;   /* a SIGTERM between the check and poll() waits no longer */
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < REACH_MAX_CONNS; i++) {
			pfd[1 + i].fd = conns[i].fd;
			pfd[1 + i].events = POLLIN;
			pfd[1 + i].revents = 0;
			if (conns[i].fd >= 0 && conns[i].deadline_ms - now < wait)
				wait = conns[i].deadline_ms - now > 0 ? conns[i].deadline_ms - now : 0;
		}
		n = poll(pfd, 1 + REACH_MAX_CONNS, (int)wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			op = "poll";
			goto fail;
		}
		now = xfer_reach_now_ms();
		if (pfd[0].revents & POLLIN) {
			struct sockaddr_in peer;
			socklen_t pl = sizeof(peer);
			char from[24];

			memset(&peer, 0, sizeof(peer));
			if (o->udp) {
				char buf[2048];
				ssize_t r = recvfrom(lfd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&peer, &pl);

				if (r >= 0) {
					size_t got = (size_t)r < sizeof(buf) ? (size_t)r : sizeof(buf);
					int t = xfer_reach_match(o, buf, got);

					xfer_reach_fmt_peer(&peer, from, sizeof(from));
					if (t >= 0) {
						char echo[REACH_TOKEN_MAX + 2];
						int len = snprintf(echo, sizeof(echo), "%s\n", o->tokens[t]);
						int ok = sendto(lfd, echo, (size_t)len, 0, (struct sockaddr *)&peer,
								pl) == len;

						xfer_reach_event(&ev, "token from=%s token=%s echo=%d", from,
							    o->tokens[t], ok);
					} else {
						xfer_reach_event(&ev, "bytes from=%s len=%zd", from, r);
					}
				}
			} else {
				int cfd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);

				if (cfd >= 0) {
					xfer_reach_fmt_peer(&peer, from, sizeof(from));
					xfer_reach_event(&ev, "conn from=%s", from);
					for (i = 0; i < REACH_MAX_CONNS && conns[i].fd >= 0; i++)
						;
					if (i == REACH_MAX_CONNS) {
						ev.dropped++;
						close(cfd);
					} else {
						conns[i].fd = cfd;
						conns[i].len = 0;
						conns[i].deadline_ms = now + REACH_CONN_MS;
						memcpy(conns[i].peer, from, sizeof(from));
					}
				}
			}
		}
		for (i = 0; i < REACH_MAX_CONNS; i++) {
			struct xfer_reach_conn *c = &conns[i];

			if (c->fd < 0)
				continue;
			if (pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = read(c->fd, c->buf + c->len, REACH_TOKEN_MAX - c->len);

				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (r > 0)
					c->len += (size_t)r;
				if (r <= 0 || c->len == REACH_TOKEN_MAX || memchr(c->buf, '\n', c->len))
					xfer_reach_conn_done(o, c, &ev);
			} else if (now >= c->deadline_ms) {
				xfer_reach_conn_done(o, c, &ev);
			}
		}
	}
	goto out;
fail:
	printf("reach-listen error op=%s errno=%s\n", op, xfer_reach_errno_name(errno));
	code = 3;
out:
	for (i = 0; i < REACH_MAX_CONNS; i++)
		if (conns[i].fd >= 0)
			xfer_reach_conn_done(o, &conns[i], &ev);
	if (lfd >= 0)
		close(lfd);
	if (!code)
		printf("reach-listen end events=%u dropped=%u\n", ev.printed, ev.dropped);
	fflush(stdout);
	return code;
}

static const char *xfer_reach_connect_word(int e, int udp)
{
	switch (e) {
	case 0:            return udp ? "sent" : "handshake";
	case ECONNREFUSED: return "refused";
	case ETIMEDOUT:    return "timeout";
	case EHOSTUNREACH:
	case ENETUNREACH:  return "unreachable";
	default:           return "error";
	}
}

/* Wait until FD has EVENTS or END_MS; 1 ready, 0 timed out, -1 error. */
static int xfer_reach_wait(int fd, short events, int64_t end_ms)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t wait = end_ms - xfer_reach_now_ms();
		int n;

		if (wait <= 0)
			return 0;
		n = poll(&p, 1, (int)wait);
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -1 : n > 0;
	}
}

/* What came back on FD before END_MS: "token", "other" or "none". */
static const char *xfer_reach_read_echo(const struct xfer_reach_opts *o, int fd, int64_t end_ms, int *err)
{
	char buf[REACH_TOKEN_MAX + 1];
	size_t len = 0;

	while (len < REACH_TOKEN_MAX && !memchr(buf, '\n', len)) {
		ssize_t r;

		if (xfer_reach_wait(fd, POLLIN, end_ms) <= 0)
			break;
		r = recv(fd, buf + len, REACH_TOKEN_MAX - len, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			*err = errno;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (o->udp)
			break;   /* one datagram is one answer */
	}
	if (!len)
		return "none";
	return xfer_reach_match(o, buf, len) == 0 ? "token" : "other";
}

static int xfer_reach_probe(const struct xfer_reach_opts *o)
{
	char msg[REACH_TOKEN_MAX + 2];
	int n = snprintf(msg, sizeof(msg), "%s\n", o->tokens[0]);
	int64_t end_ms = xfer_reach_now_ms() + (int64_t)o->timeout_s * 1000;
	const char *echo = "none";
	int fd, err = 0, sent = 0, code = 0;

	fd = socket(AF_INET, (o->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err = errno;
		code = 3;
		goto out;
	}
	if (o->udp) {
		int one = 1;

		/* without it a udp socket hears only port unreachable, not a router's
		 * net/host unreachable */
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	}
	if (connect(fd, (const struct sockaddr *)&o->addr, sizeof(o->addr)) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto out;
		}
		/* tcp handshake under way */
		int ready = xfer_reach_wait(fd, POLLOUT, end_ms);
		socklen_t el = sizeof(err);

		if (ready == 0) {
			err = ETIMEDOUT;
			goto out;
		}
		if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err)
			goto out;
	}
	if (!o->udp) {
		sent = send(fd, msg, (size_t)n, MSG_NOSIGNAL) == n;
		echo = xfer_reach_read_echo(o, fd, end_ms, &err);
		err = 0;   /* the handshake is what the connect word reports */
		goto out;
	}
	/* udp: a connected socket hears ICMP port unreachable as ECONNREFUSED */
	for (int i = 0; i < 3 && xfer_reach_now_ms() < end_ms; i++) {
		int64_t slice = xfer_reach_now_ms() + (int64_t)o->timeout_s * 1000 / 3;

		if (send(fd, msg, (size_t)n, 0) != n) {
			err = errno;
			break;
		}
		sent++;
		echo = xfer_reach_read_echo(o, fd, slice < end_ms ? slice : end_ms, &err);
		if (err || strcmp(echo, "none"))
			break;
	}
out:
	printf("reach-probe result proto=%s to=%s connect=%s echo=%s errno=%s sent=%d\n",
	       o->udp ? "udp" : "tcp", o->addr_text, xfer_reach_connect_word(err, o->udp), echo,
	       xfer_reach_errno_name(err), sent);
	fflush(stdout);
	if (fd >= 0)
		close(fd);
	return code;
}

int xfer_reach_main(int argc, char **argv)
{
	struct xfer_reach_opts o;

	if (argc < 2 || xfer_reach_parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage:\n");
		xfer_reach_usage();
		return 2;
	}
	return o.listen ? xfer_reach_listen(&o) : xfer_reach_probe(&o);
}
