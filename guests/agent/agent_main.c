/* SPDX-License-Identifier: MIT */
/* agent_main.c: uvmlab-agent, PID 1 of every lab VM: boot the guest, then serve the host. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <unistd.h>

#define AGENT_MAIN_MODULES "/etc/uvmlab/modules"
#define AGENT_MAIN_WAIT_MS 5000

static void agent_main_poweroff(void *arg)
{
	int *log_fd = arg;

	sync();
	reboot(RB_POWER_OFF);
	/* Only reached when the kernel refused; keep serving instead of panicking. */
	agent_log_msg(*log_fd, "poweroff: %s", strerror(errno));
}

static const struct agent_serve_ops agent_main_ops = {
	.poweroff = agent_main_poweroff,
};

static void agent_main_cmdline(struct agent_cmdline *cl)
{
	char text[4096];
	ssize_t n = -1;
	int fd;

	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, text, sizeof(text));
		close(fd);
	}
	agent_cmdline_parse(text, n > 0 ? (size_t)n : 0, cl);
}

int main(int argc, char **argv)
{
	struct agent_serve s = { .ops = &agent_main_ops, .log_fd = 2 };
	struct agent_cmdline cl;
	struct utsname uts;
	int fd, rc;

	s.boottime_init_ns = agent_log_boottime_ns();
	if (getpid() != 1) {
		/* It mounts over /dev and powers off: never let that happen on a host. */
		fprintf(stderr, "%s: must run as PID 1 inside a uvmlab guest\n",
			argc > 0 ? argv[0] : "uvmlab-agent");
		return 2;
	}
	s.ops_arg = &s.log_fd;
	/* PID 1 must survive a host that vanishes mid-write. */
	signal(SIGPIPE, SIG_IGN);
	rc = agent_boot_mount_proc();
	agent_main_cmdline(&cl);
	agent_boot_marker(cl.marker_port, 'I');
	s.log_fd = agent_boot_mount_rest(s.log_fd);
	if (rc < 0)
		agent_log_msg(s.log_fd, "mount /proc: %s", strerror(-rc));
	if (cl.n_bad)
		agent_log_msg(s.log_fd, "ignored %u malformed uvmlab.* cmdline keys", cl.n_bad);
	memcpy(s.vm, cl.vm, sizeof(s.vm));
	memcpy(s.role, cl.role, sizeof(s.role));
	if (uname(&uts) == 0)
		snprintf(s.kernel, sizeof(s.kernel), "%s", uts.release);
	if (cl.vm[0] && sethostname(cl.vm, strlen(cl.vm)) < 0)
		agent_log_msg(s.log_fd, "sethostname: %s", strerror(errno));

	agent_boot_modules(AGENT_MAIN_MODULES, s.log_fd);
	s.phase_ns[0] = agent_log_boottime_ns();
	agent_net_configure(&cl, AGENT_MAIN_WAIT_MS, s.log_fd);
	s.phase_ns[1] = agent_log_boottime_ns();
	/* Without the port nobody can talk to us; keep looking rather than
	 * exit, because PID 1 exiting panics the kernel. */
	while ((fd = agent_port_open(AGENT_MAIN_WAIT_MS, s.log_fd)) < 0)
		agent_serve_reap();
	s.phase_ns[2] = agent_log_boottime_ns();
	s.boottime_ready_ns = agent_log_boottime_ns();
	agent_boot_marker(cl.marker_port, 'R');
	agent_log_msg(s.log_fd, "ready: vm=%s role=%s init=%llu ms ready=%llu ms", s.vm, s.role,
		      (unsigned long long)(s.boottime_init_ns / 1000000),
		      (unsigned long long)(s.boottime_ready_ns / 1000000));
	agent_port_serve_forever(&s, fd);
	return 0;
}
