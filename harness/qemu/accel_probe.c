/* SPDX-License-Identifier: MIT */
/* accel_probe.c: choose KVM or TCG by booting a probe guest under KVM. */
#include "qemu/accel_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "base/util.h"

#define ACCEL_PROBE_DEFAULT_MS 5000

static void accel_probe_child(char **argv, pid_t parent)
{
	int null = open("/dev/null", O_RDWR);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	setpgid(0, 0);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	execvp(argv[0], argv);
	_exit(127);
}

int accel_probe_kvm_boots(const struct accel_probe_cfg *cfg, char *why, size_t len)
{
	const struct qemu_accel_ops *kvm = qemu_accel_get(QEMU_ACCEL_KVM);
	struct qemu_argv a = { 0 };
	char sock[512];
	int budget = cfg->timeout_ms > 0 ? cfg->timeout_ms : ACCEL_PROBE_DEFAULT_MS;
	int lfd = -1, cfd = -1, ret = 0, st;
	uint64_t t0, deadline;
	pid_t pid = -1, parent;

	snprintf(sock, sizeof(sock), "%s/kvm-probe.%d.sock", cfg->cache_dir, (int)getpid());
	ret = util_mkdir_p(cfg->cache_dir, 0700);
	if (!ret)
		ret = util_unix_listen(sock, &lfd);
	if (ret < 0) {
		snprintf(why, len, "probe socket %s: %s", sock, strerror(-ret));
		return ret;
	}
	ret = qemu_argv_add(&a, "%s", cfg->qemu_bin);
	if (!ret)
		ret = qemu_argv_add(&a, "-sandbox");
	if (!ret)
		ret = qemu_argv_add(&a, "%s", QEMU_SANDBOX_ARG);
	if (!ret)
		ret = qemu_argv_add(&a, "-machine");
	if (!ret)
		ret = qemu_argv_add(&a, "microvm,rtc=on");
	if (!ret)
		ret = kvm->add_args(&a);
	/* The lab's own kernel and agent: the question is whether *our* guests
	 * boot under this KVM, not whether some guest could. */
	const char *rest[] = { "-m", "128", "-nodefaults", "-no-user-config", "-display", "none",
			       "-no-reboot", "-kernel", cfg->kernel, "-initrd", cfg->initrd };
	for (size_t i = 0; !ret && i < sizeof(rest) / sizeof(rest[0]); i++)
		ret = qemu_argv_add(&a, "%s", rest[i]);
	if (!ret)
		ret = qemu_argv_add(&a, "-append");
	if (!ret)
		ret = qemu_argv_add(&a, "console=ttyS0 panic=-1 uvmlab.vm=probe uvmlab.role=app "
				    "uvmlab.marker=0x%x", QEMU_MARKER_PORT);
	if (!ret)
		ret = qemu_argv_add(&a, "-device");
	if (!ret)
		ret = qemu_argv_add(&a, "isa-debugcon,iobase=0x%x,chardev=marker", QEMU_MARKER_PORT);
	if (!ret)
		ret = qemu_argv_add(&a, "-chardev");
	if (!ret)
		ret = qemu_argv_add(&a, "socket,id=marker,path=%s,server=off", sock);
	if (ret < 0)
		goto cleanup;
	t0 = util_mono_ns();
	deadline = t0 + (uint64_t)budget * 1000000ull;
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto cleanup;
	}
	if (pid == 0)
		accel_probe_child(a.v, parent);
	ret = 0;
	for (;;) {
		uint64_t now = util_mono_ns();
		struct pollfd p = { .fd = cfd >= 0 ? cfd : lfd, .events = POLLIN };
		char buf[64];
		ssize_t n;

		if (now >= deadline) {
			snprintf(why, len, "a probe guest did not reach init under KVM within %d ms "
				 "(stock kernels hang on PVM hosts)", budget);
			break;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			pid = -1;
			snprintf(why, len, "QEMU with -accel kvm exited (status %d) before the probe "
				 "guest reached init", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			break;
		}
		if (poll(&p, 1, (int)((deadline - now) / 1000000ull) + 1) <= 0)
			continue;
		if (cfd < 0) {
			if (util_unix_accept(lfd, &cfd) < 0)
				cfd = -1;
			continue;
		}
		n = read(cfd, buf, sizeof(buf));
		if (n > 0 && memchr(buf, 'I', (size_t)n)) {
			snprintf(why, len, "a probe guest reached init under KVM in %.0f ms",
				 (double)(util_mono_ns() - t0) / 1e6);
			ret = 1;
			break;
		}
		if (n == 0) {
			close(cfd);
			cfd = -1;
		}
	}
cleanup:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	unlink(sock);
	qemu_argv_release(&a);
	return ret;
}

static void accel_probe_boot_id(char *buf, size_t len)
{
	char *s = NULL;

	buf[0] = '\0';
	if (util_read_file("/proc/sys/kernel/random/boot_id", 128, &s, NULL) == 0) {
		s[strcspn(s, "\n")] = '\0';
		util_strlcpy(buf, s, len);
	}
	free(s);
}

int accel_probe_choose(enum scn_accel requested, const struct accel_probe_cfg *cfg,
		       struct accel_choice *out)
{
	char cache[600], boot_id[64], why[200], ksum[65] = "";
	json_error_t jerr;
	json_t *c;
	int fd, ok;

	memset(out, 0, sizeof(*out));
	out->requested = requested;
	if (requested == SCN_ACCEL_TCG) {
		out->id = QEMU_ACCEL_TCG;
		snprintf(out->reason, sizeof(out->reason), "tcg requested");
		return 0;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		out->id = QEMU_ACCEL_TCG;
		snprintf(out->reason, sizeof(out->reason), "/dev/kvm: %s", strerror(e));
		return requested == SCN_ACCEL_KVM ? -ENODEV : 0;
	}
	close(fd);
	if (requested == SCN_ACCEL_KVM) {
		out->id = QEMU_ACCEL_KVM;
		snprintf(out->reason, sizeof(out->reason), "kvm requested (not probed)");
		return 0;
	}
	/* auto: trust a verdict from this host boot, else probe and remember. */
	accel_probe_boot_id(boot_id, sizeof(boot_id));
	util_sha256_file(cfg->kernel, ksum);
	snprintf(cache, sizeof(cache), "%s/accel-probe.json", cfg->cache_dir);
	c = json_load_file(cache, 0, &jerr);
	if (c && boot_id[0] &&
	    !strcmp(json_string_value(json_object_get(c, "boot_id")) ?: "", boot_id) &&
	    !strcmp(json_string_value(json_object_get(c, "kernel_sha256")) ?: "", ksum) &&
	    json_is_string(json_object_get(c, "reason"))) {
		out->id = json_is_true(json_object_get(c, "kvm")) ? QEMU_ACCEL_KVM : QEMU_ACCEL_TCG;
		out->cached = 1;
		snprintf(out->reason, sizeof(out->reason), "auto: %s (verdict cached for this host boot)",
			 json_string_value(json_object_get(c, "reason")));
		json_decref(c);
		return 0;
	}
	json_decref(c);
	util_progress("probing whether guests boot under KVM (at most %d ms)",
		      cfg->timeout_ms > 0 ? cfg->timeout_ms : ACCEL_PROBE_DEFAULT_MS);
	ok = accel_probe_kvm_boots(cfg, why, sizeof(why));
	if (ok < 0) {
		out->id = QEMU_ACCEL_TCG;
		snprintf(out->reason, sizeof(out->reason), "auto: KVM probe could not run (%s)", why);
		return 0;
	}
	out->id = ok ? QEMU_ACCEL_KVM : QEMU_ACCEL_TCG;
	snprintf(out->reason, sizeof(out->reason), "auto: %s", why);
	if (boot_id[0]) {
		c = json_pack("{s:s,s:s,s:b,s:s}", "boot_id", boot_id, "kernel_sha256", ksum,
			      "kvm", ok, "reason", why);
		if (c) {
			char *s = json_dumps(c, JSON_SORT_KEYS);

			if (s)
				util_write_file(cache, s, strlen(s));
			free(s);
			json_decref(c);
		}
	}
	return 0;
}
