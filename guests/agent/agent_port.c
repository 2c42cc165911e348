/* SPDX-License-Identifier: MIT */
/* agent_port.c: find the agent's virtio-serial port and serve host connections on it. */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AGENT_PORT_TICK_MS 20

static void agent_port_sleep(void)
{
	struct timespec t = { .tv_nsec = AGENT_PORT_TICK_MS * 1000000L };

	nanosleep(&t, NULL);
}

static int agent_port_try(void)
{
	char path[300], name[64];
	struct dirent *de;
	int rc = -ENOENT, fd;
	ssize_t n;
	DIR *d;

	d = opendir("/sys/class/virtio-ports");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n <= 0)
			continue;
		name[n] = 0;
		name[strcspn(name, "\n")] = 0;
		if (strcmp(name, AGENT_PORT_NAME) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		/* Non-blocking: a write to a port with no host attached would
		 * otherwise block PID 1 until someone connects. */
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		rc = fd >= 0 ? fd : -errno;
		break;
	}
	closedir(d);
	return rc;
}

int agent_port_open(int wait_ms, int log_fd)
{
	int waited = 0, rc;

	/* The sysfs entry and the devtmpfs node appear asynchronously after
	 * virtio_console probes; both are retried until WAIT_MS. */
	while ((rc = agent_port_try()) < 0 && waited < wait_ms) {
		agent_port_sleep();
		waited += AGENT_PORT_TICK_MS;
	}
	if (rc < 0)
		agent_log_msg(log_fd, "virtio port %s: %s", AGENT_PORT_NAME, strerror(-rc));
	return rc;
}

/* After a protocol error the stream cannot be resynchronised, and the guest
 * cannot close the host's socket: discard input until the host hangs up. */
static void agent_port_drain(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t junk[4096];

	for (;;) {
		if (poll(&p, 1, 1000) > 0) {
			if (read(fd, junk, sizeof(junk)) <= 0 && (p.revents & POLLHUP))
				return;
			if (p.revents & POLLHUP && !(p.revents & POLLIN))
				return;
		}
		agent_serve_reap();
	}
}

void agent_port_serve_forever(struct agent_serve *s, int fd)
{
	struct pollfd p = { .fd = fd };
	uint8_t junk[4096];
	int rc;

	for (;;) {
		p.events = POLLIN | POLLOUT;
		p.revents = 0;
		if (poll(&p, 1, 1000) < 0 && errno != EINTR) {
			agent_log_msg(s->log_fd, "poll port: %s", strerror(errno));
			agent_port_sleep();
			continue;
		}
		agent_serve_reap();
		if (p.revents & POLLHUP) {
			/* No host: virtio-serial reports HUP until one connects;
			 * leftovers from the last connection must not reach the next. */
			if (p.revents & POLLIN && read(fd, junk, sizeof(junk)) > 0)
				continue;
			agent_port_sleep();
			continue;
		}
		if (!(p.revents & POLLOUT))
			continue;
		rc = agent_serve_session(s, fd);
		if (rc == 0 || rc == -ECONNRESET)
			continue;
		agent_log_msg(s->log_fd, "session: %s; waiting for the host to reconnect",
			      strerror(-rc));
		agent_port_drain(fd);
	}
}
