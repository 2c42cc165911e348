/* SPDX-License-Identifier: MIT */
/* agent_boot.c: PID 1 chores before networking: mounts, boot markers, kernel modules. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#endif

#define AGENT_BOOT_MODLIST_MAX 65536

static int agent_boot_mount(const char *src, const char *dir, const char *fs,
			    unsigned long flags, const char *opts)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	/* EBUSY: the kernel (CONFIG_DEVTMPFS_MOUNT) or a previous attempt got there first. */
	if (mount(src, dir, fs, flags, opts) < 0 && errno != EBUSY)
		return -errno;
	return 0;
}

int agent_boot_mount_proc(void)
{
	return agent_boot_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

int agent_boot_mount_rest(int log_fd)
{
	static const struct {
		const char *src, *dir, *fs;
		unsigned long flags;
		const char *opts;
	} m[] = {
		{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
		{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
		{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
		{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	};
	size_t i;
	int fd, rc;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		rc = agent_boot_mount(m[i].src, m[i].dir, m[i].fs, m[i].flags, m[i].opts);
		if (rc < 0)
			agent_log_msg(log_fd, "mount %s: %s", m[i].dir, strerror(-rc));
	}
	/* Commands we start must find 0-2 open, or their pipes would land there. */
	for (i = 0; i < 3; i++) {
		if (fcntl((int)i, F_GETFD) >= 0)
			continue;
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0 && fd != (int)i) {
			dup2(fd, (int)i);
			close(fd);
		}
	}
	fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	return fd >= 0 ? fd : log_fd;
}

int agent_boot_marker(uint32_t port, uint8_t byte)
{
	if (port == 0)
		return 0;
#if defined(__x86_64__) || defined(__i386__)
	if (port > 0xffff || ioperm(port, 1, 1) < 0)
		return port > 0xffff ? -EINVAL : -errno;
	outb(byte, (unsigned short)port);
	return 0;
#else
	return -EOPNOTSUPP;
#endif
}

static int agent_boot_module(const char *path)
{
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
		rc = -errno;
	close(fd);
	return rc;
}

int agent_boot_modules(const char *path, int log_fd)
{
	char *list, *line, *save = NULL;
	ssize_t n, len = 0;
	int fd, rc, failed = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* No list is a valid image: everything is built in. */
		if (errno != ENOENT)
			agent_log_msg(log_fd, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? 0 : 1;
	}
	/* The lab kernel has no module loader (CONFIG_MODULES off, everything
	 * built in): one line instead of an ENOSYS per listed module. */
	if (access("/proc/modules", F_OK) < 0 && errno == ENOENT) {
		close(fd);
		agent_log_msg(log_fd, "kernel without loadable modules: %s skipped (built in)", path);
		return 0;
	}
	list = malloc(AGENT_BOOT_MODLIST_MAX + 1);
	if (!list) {
		close(fd);
		return 1;
	}
	while (len < AGENT_BOOT_MODLIST_MAX &&
	       (n = read(fd, list + len, (size_t)(AGENT_BOOT_MODLIST_MAX - len))) > 0)
		len += n;
	close(fd);
	list[len] = 0;
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, " \t\r")] = 0;
		if (line[0] == 0 || line[0] == '#')
			continue;
		rc = agent_boot_module(line);
		if (rc < 0) {
			agent_log_msg(log_fd, "module %s: %s", line, strerror(-rc));
			failed++;
		}
	}
	free(list);
	return failed;
}
