/* SPDX-License-Identifier: MIT */
/* lab_vm.c: one VM of a live run: start QEMU, follow its boot phase by phase, stop it. */
#include "lab/lab_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemu/initrd_pad.h"
#include "roles/role.h"
#include "base/util.h"

static const char *const lab_phase_names[LAB_PHASE_COUNT] = {
	[LAB_PHASE_EXEC] = "qemu_exec",
	[LAB_PHASE_QMP] = "qmp_greeting",
	[LAB_PHASE_CONSOLE] = "console_first_byte",
	[LAB_PHASE_INIT] = "init_start",
	[LAB_PHASE_AGENT] = "agent_ready",
};

const char *lab_phase_name(enum lab_phase p)
{
	return p < LAB_PHASE_COUNT ? lab_phase_names[p] : "?";
}

/* The error names files and quotes guest text: escaped here, once, so it
 * stays one line wherever it is printed or recorded. */
void lab_set_err(struct lab *lab, const char *fmt, ...)
{
	char raw[sizeof(lab->err)];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	util_escape(raw, (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1, lab->err, sizeof(lab->err));
}

enum lab_phase lab_vm_last_phase(const struct lab_vm *vm)
{
	int p;

	for (p = LAB_PHASE_COUNT - 1; p > 0; p--)
		if (vm->t[p])
			return (enum lab_phase)p;
	return LAB_PHASE_EXEC;
}

int lab_vm_init(struct lab *lab, struct lab_vm *vm, const struct plan_vm *pvm)
{
	size_t i;

	memset(vm, 0, sizeof(*vm));
	vm->lab = lab;
	vm->pvm = pvm;
	vm->qmp_fd_raw = vm->con_fd = vm->mark_fd = vm->pidfd = vm->console_log_fd = -1;
	for (i = 0; i < 3; i++)
		vm->lfd[i] = -1;
	for (i = 0; i < PLAN_MAX_NICS; i++)
		vm->tap_fds[i] = -1;
	for (i = 0; i < LAB_SRC_COUNT; i++) {
		vm->src[i].vm = vm;
		vm->src[i].kind = (enum lab_src_kind)i;
	}
	if (snprintf(vm->dir, sizeof(vm->dir), "%s/%s", lab->run_dir, pvm->name) >= (int)sizeof(vm->dir))
		return -ENAMETOOLONG;
	snprintf(vm->qmp_path, sizeof(vm->qmp_path), "%s/qmp.sock", vm->dir);
	snprintf(vm->con_path, sizeof(vm->con_path), "%s/console.sock", vm->dir);
	snprintf(vm->mark_path, sizeof(vm->mark_path), "%s/marker.sock", vm->dir);
	snprintf(vm->agent_path, sizeof(vm->agent_path), "%s/agent.sock", vm->dir);
	snprintf(vm->console_log, sizeof(vm->console_log), "%s/%s.console.log", lab->results_dir, pvm->name);
	snprintf(vm->qemu_log, sizeof(vm->qemu_log), "%s/%s.qemu.log", lab->results_dir, pvm->name);
	return 0;
}

/* The channel whose arrivals are phases, stamped by the lab's stamper. */
static struct lab_stamp_ring *lab_vm_ring(struct lab_vm *vm, enum lab_src_kind kind)
{
	switch (kind) {
	/* the accepted connection before the handshake: its first bytes are
	 * the greeting (QEMU connects well before it greets) */
	case LAB_SRC_QMP:        return vm->qmp ? NULL : &vm->st_qmp;
	case LAB_SRC_CON:        return &vm->st_con;
	case LAB_SRC_MARK:       return &vm->st_mark;
	case LAB_SRC_AGENT:      return &vm->st_agent;
	default:                 return NULL;
	}
}

static int lab_vm_watch(struct lab_vm *vm, int fd, enum lab_src_kind kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &vm->src[kind] };
	struct lab_stamp_ring *ring = lab_vm_ring(vm, kind);
	int ret;

	/* stamped first: an arrival between the two calls is not missed */
	if (ring) {
		int pending = 0;

		ret = lab_stamper_watch(&vm->lab->stamper, fd, ring);
		if (ret < 0)
			return ret;
		/* bytes already waiting: their stamp is this moment, not their
		 * arrival; say so in result.json rather than pass it off as exact */
		if (ioctl(fd, FIONREAD, &pending) == 0 && pending > 0)
			vm->stamped_late |= 1u << kind;
	}
	return epoll_ctl(vm->lab->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void lab_vm_unwatch(struct lab_vm *vm, int fd)
{
	if (fd < 0)
		return;
	epoll_ctl(vm->lab->epfd, EPOLL_CTL_DEL, fd, NULL);
	lab_stamper_forget(&vm->lab->stamper, fd);
}

/* When the bytes just read arrived (the stamper's time, else now). */
static uint64_t lab_vm_arrival(struct lab_vm *vm, struct lab_stamp_ring *ring)
{
	return lab_stamp_take(&vm->lab->stamper, ring, util_mono_ns());
}

static void lab_vm_close_fd(struct lab_vm *vm, int *fd)
{
	if (*fd < 0)
		return;
	lab_vm_unwatch(vm, *fd);
	close(*fd);
	*fd = -1;
}

/* In the child between fork and exec: only async-signal-safe calls. The
 * last thing before exec is the time, sent on T0FD (close-on-exec): t0 of
 * the boot phases is the exec, not the fork. */
static void lab_vm_child(struct lab_vm *vm, int logfd, pid_t parent, const int *keep, size_t n_keep,
			 const gid_t *groups, size_t n_groups, int t0fd)
{
	struct timespec ts;
	uint64_t t0;
	size_t i;
	int null;

	/* Die with the supervisor, even on kill -9: nothing may outlive the lab. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	/* Own process group: Ctrl-C reaches uvmlab, which stops VMs in order. */
	setpgid(0, 0);
	null = open("/dev/null", O_RDONLY);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(logfd, STDOUT_FILENO);
	dup2(logfd, STDERR_FILENO);
	for (i = 0; i < vm->pvm->n_nics; i++) {
		int fl = fcntl(vm->tap_fds[i], F_GETFD);

		fcntl(vm->tap_fds[i], F_SETFD, fl & ~FD_CLOEXEC);
	}
	for (i = 0; i < n_keep; i++)
		fcntl(keep[i], F_SETFD, 0);
	/* Last: QEMU (and a bare run's sh) never runs as root; why here and
	 * not QEMU's -runas: see lab_vm_open_images(). */
	if (vm->uid) {
		int err = lab_drop_to(vm->uid, vm->uid, groups, n_groups);

		if (err < 0) {
			dprintf(STDERR_FILENO, "uvmlab: dropping to uid %u: %s\n", vm->uid, strerror(-err));
			_exit(126);
		}
	}
	/* a uid change clears the death signal: arm it again, and make sure the
	 * supervisor did not die meanwhile */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (write(t0fd, &t0, sizeof(t0)) != (ssize_t)sizeof(t0))
		_exit(126);
	if (vm->bare)
		execv(vm->sh_argv[0], vm->sh_argv);
	else
		execvp(vm->argv.v[0], vm->argv.v);
	dprintf(STDERR_FILENO, "uvmlab: exec %s: %s\n", vm->argv.v[0], strerror(errno));
	_exit(127);
}

/* Open this VM's taps in the run's namespace and plug them into their
 * bridges. Opened per start: a tap lives exactly as long as its QEMU. */
static int lab_vm_taps(struct lab_vm *vm)
{
	struct lab *lab = vm->lab;
	size_t k;
	int ret = 0;

	for (k = 0; k < vm->pvm->n_nics && !ret; k++) {
		const struct plan_nic *nic = &vm->pvm->nics[k];

		ret = netns_link_tap_open(lab->nl, nic->tap, &vm->tap_fds[k]);
		if (!ret)
			ret = util_set_cloexec(vm->tap_fds[k], 1);
		if (!ret)
			ret = netns_link_set_master(lab->nl, nic->tap, lab->plan->nets[nic->net].bridge);
		if (!ret)
			ret = netns_link_set_up(lab->nl, nic->tap, 1);
		if (ret < 0) {
			lab_set_err(lab, "vm \"%s\": tap %s: %s", vm->pvm->name, nic->tap, strerror(-ret));
			break;
		}
	}
	/* the taps exist and QEMU does not yet: services that watch them start now */
	return ret < 0 ? ret : lab_service_vm_taps(vm);
}

/* Which kernel file this VM boots: the stock bzImage, or the lab kernel as
 * bzImage or as an uncompressed vmlinux entered through its PVH note. */
void lab_vm_kernel_path(const struct lab_vm *vm, char *buf, size_t len)
{
	const struct scn_vm *sv = vm->pvm->scn;
	int pvh = sv->has_boot ? sv->boot == SCN_BOOT_PVH : sv->kernel == SCN_KERNEL_LAB;

	if (sv->kernel == SCN_KERNEL_LAB)
		snprintf(buf, len, "%s/%s", vm->lab->images_dir, pvh ? "lab-vmlinux" : "lab-bzImage");
	else
		snprintf(buf, len, "%s", vm->lab->kernel);
}

/* Why QEMU drops in the forked child and not with its own -runas: QEMU 7.2
 * installs the -sandbox filter at option parsing and changes uid only at
 * the end of its setup, and elevateprivileges=deny forbids setuid and
 * setgid: `-runas` with our -sandbox dies of SIGSYS (tried). Dropping
 * before exec also means QEMU never runs a line as root. What QEMU opens by
 * path must then be reachable by the VM's uid: its sockets are chowned to
 * it, its folder is its own, and the kernel and initramfs (which may sit in
 * a build folder under a 0700 home) are opened here as root and handed
 * over as /proc/self/fd/N (reopening that link checks only the file's own
 * mode, which the image build makes 0644). */
static int lab_vm_open_images(struct lab_vm *vm, char *kernel, size_t klen, char *initrd, size_t ilen,
			      int fd[2])
{
	char *path[2] = { kernel, initrd };
	size_t len[2] = { klen, ilen };
	int i;

	for (i = 0; i < 2; i++) {
		fd[i] = open(path[i], O_RDONLY | O_CLOEXEC);
		if (fd[i] < 0) {
			int ret = -errno;

			lab_set_err(vm->lab, "vm \"%s\": open %s: %s", vm->pvm->name, path[i], strerror(-ret));
			return ret;
		}
		snprintf(path[i], len[i], "/proc/self/fd/%d", fd[i]);
	}
	return 0;
}

int lab_vm_start(struct lab_vm *vm)
{
	struct lab *lab = vm->lab;
	const struct plan_vm *pvm = vm->pvm;
	struct qemu_vm_spec spec = { 0 };
	char initrd[1200], kernel[1200];
	const char *paths[3] = { vm->qmp_path, vm->con_path, vm->mark_path };
	pid_t pid, parent = getpid();
	int logfd = -1, ret, i, img_fd[2] = { -1, -1 }, t0p[2] = { -1, -1 };
	gid_t groups[1];
	size_t n_groups = 0;
	char *joined;

	ret = util_mkdir_p(vm->dir, 0700);
	if (ret < 0) {
		lab_set_err(lab, "vm \"%s\": mkdir %s: %s", pvm->name, vm->dir, strerror(-ret));
		return ret;
	}
	for (i = 0; i < 3 && !vm->bare; i++) {
		ret = util_unix_listen(paths[i], &vm->lfd[i]);
		if (ret < 0) {
			lab_set_err(lab, "vm \"%s\": listen %s: %s", pvm->name, paths[i], strerror(-ret));
			return ret;
		}
		ret = lab_vm_watch(vm, vm->lfd[i], i == 0 ? LAB_SRC_QMP_LISTEN :
				   i == 1 ? LAB_SRC_CON_LISTEN : LAB_SRC_MARK_LISTEN);
		/* QEMU connects as the VM's uid; nobody else but root may */
		if (!ret && vm->uid && (chown(paths[i], vm->uid, vm->uid) < 0 || chmod(paths[i], 0600) < 0)) {
			ret = -errno;
			lab_set_err(lab, "vm \"%s\": chown %s: %s", pvm->name, paths[i], strerror(-ret));
		}
		if (ret < 0)
			return ret;
	}
	ret = lab_vm_taps(vm);
	if (ret < 0)
		return ret;
	snprintf(initrd, sizeof(initrd), "%s/%s.cpio", lab->images_dir, role_get(pvm->role)->image);
	if (pvm->scn->initramfs_pad_mib) {
		/* The kernel unpacks concatenated archives: base image + padding. */
		char padded[1200];

		snprintf(padded, sizeof(padded), "%s/initrd-padded.cpio", vm->dir);
		ret = initrd_pad_write(initrd, padded, pvm->scn->initramfs_pad_mib);
		if (ret < 0) {
			lab_set_err(lab, "vm \"%s\": padding the initramfs: %s", pvm->name, strerror(-ret));
			return ret;
		}
		snprintf(initrd, sizeof(initrd), "%s", padded);
		if (vm->uid && chown(padded, vm->uid, vm->uid) < 0) {
			ret = -errno;
			lab_set_err(lab, "vm \"%s\": chown %s: %s", pvm->name, padded, strerror(-ret));
			return ret;
		}
	}
	lab_vm_kernel_path(vm, kernel, sizeof(kernel));
	if (vm->uid) {
		ret = lab_vm_open_images(vm, kernel, sizeof(kernel), initrd, sizeof(initrd), img_fd);
		if (ret < 0)
			goto cleanup;
		if (lab->accel_ops && lab->accel_ops->id == QEMU_ACCEL_KVM) {
			struct stat st;

			/* the one device QEMU opens itself: through its group */
			if (stat("/dev/kvm", &st) == 0 && st.st_gid)
				groups[n_groups++] = st.st_gid;
		}
	}
	spec.vm = pvm;
	spec.plan = lab->plan;
	spec.machine = qemu_machine_get(pvm->machine);
	spec.accel = lab->accel_ops;
	spec.qemu_bin = lab->opts.qemu_bin;
	spec.kernel = kernel;
	spec.console = pvm->scn->console == SCN_CONSOLE_ON;
	spec.bare = vm->bare;
	spec.initrd = initrd;
	spec.qmp_sock = vm->qmp_path;
	spec.console_sock = vm->con_path;
	spec.marker_sock = vm->mark_path;
	if (vm->bare) {
		unlink(vm->con_path);
		unlink(vm->mark_path);
	}
	spec.agent_sock = vm->agent_path;
	spec.tsc_khz = lab->tsc_khz;
	for (i = 0; i < (int)pvm->n_nics; i++)
		spec.tap_fds[i] = vm->tap_fds[i];
	ret = lab_service_vm_argv(vm, &spec);
	if (ret < 0)
		goto cleanup;
	ret = qemu_cmdline_build(&spec, vm->cmdline, sizeof(vm->cmdline));
	if (!ret)
		ret = qemu_argv_build(&spec, &vm->argv);
	if (ret < 0) {
		lab_set_err(lab, "vm \"%s\": building the QEMU command line: %s", pvm->name, strerror(-ret));
		goto cleanup;
	}
	if (vm->bare) {
		/* The baseline: the same QEMU started the way a script would. */
		size_t k;

		vm->sh_argv = calloc(vm->argv.n + 5, sizeof(char *));
		if (!vm->sh_argv) {
			ret = -ENOMEM;
			goto cleanup;
		}
		vm->sh_argv[0] = "/bin/sh";
		vm->sh_argv[1] = "-c";
		vm->sh_argv[2] = "exec \"$@\"";
		vm->sh_argv[3] = "sh";
		for (k = 0; k < vm->argv.n; k++)
			vm->sh_argv[4 + k] = vm->argv.v[k];
	}
	/* In the run's own results folder: a fresh file each boot (a benchmark
	 * boots one VM many times), created exclusively, never through a link. */
	unlink(vm->console_log);
	unlink(vm->qemu_log);
	vm->console_log_fd = util_open_new(vm->console_log, 0);
	vm->con_kept = vm->con_dropped = 0;
	vm->con_cut = vm->con_err = 0;
	vm->con_nl = 1;
	vm->con_max = lab->plan->scn->console_log_max ? lab->plan->scn->console_log_max :
		      SCN_CONSOLE_LOG_MAX;
	logfd = util_open_new(vm->qemu_log, 0);
	if (vm->console_log_fd < 0 || logfd < 0) {
		ret = vm->console_log_fd < 0 ? vm->console_log_fd : logfd;
		if (vm->console_log_fd < 0)
			vm->console_log_fd = -1;
		if (logfd < 0)
			logfd = -1;
		lab_set_err(lab, "vm \"%s\": opening logs in %s: %s", pvm->name, lab->results_dir, strerror(-ret));
		goto cleanup;
	}
	joined = qemu_argv_join(&vm->argv);
	if (joined) {
		dprintf(logfd, "# %s\n", joined);
		free(joined);
	}
	if (pipe2(t0p, O_CLOEXEC) < 0) {
		ret = -errno;
		lab_set_err(lab, "vm \"%s\": pipe: %s", pvm->name, strerror(-ret));
		goto cleanup;
	}
	vm->t[LAB_PHASE_EXEC] = util_mono_ns();
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		lab_set_err(lab, "vm \"%s\": fork: %s", pvm->name, strerror(-ret));
		goto cleanup;
	}
	if (pid == 0)
		lab_vm_child(vm, logfd, parent, img_fd, vm->uid ? 2 : 0, groups, n_groups, t0p[1]);
	close(t0p[1]);
	t0p[1] = -1;
	/* the child's clock just before exec; a child that died before it
	 * leaves the fork's time (and its exit is reported as usual) */
	{
		uint64_t t0 = 0;
		ssize_t n;

		do
			n = read(t0p[0], &t0, sizeof(t0));
		while (n < 0 && errno == EINTR);
		if (n == (ssize_t)sizeof(t0) && t0 >= vm->t[LAB_PHASE_EXEC])
			vm->t[LAB_PHASE_EXEC] = t0;
	}
	vm->pid = pid;
	vm->last_pid = pid;
	vm->starttime = util_proc_starttime(pid);
	vm->state = LAB_VM_BOOTING;
	vm->deadline = vm->t[LAB_PHASE_EXEC] + (uint64_t)lab->boot_timeout_s * 1000000000ull;
	/* Our copies of the taps are no longer needed: QEMU holds them now, and
	 * the taps vanish with it. */
	for (i = 0; i < (int)pvm->n_nics; i++) {
		close(vm->tap_fds[i]);
		vm->tap_fds[i] = -1;
	}
	vm->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (vm->pidfd < 0) {
		ret = -errno;
		lab_set_err(lab, "vm \"%s\": pidfd_open: %s", pvm->name, strerror(-ret));
		goto cleanup;
	}
	ret = lab_vm_watch(vm, vm->pidfd, LAB_SRC_PIDFD);
cleanup:
	if (t0p[0] >= 0)
		close(t0p[0]);
	if (t0p[1] >= 0)
		close(t0p[1]);
	if (logfd >= 0)
		close(logfd);
	for (i = 0; i < 2; i++)
		if (img_fd[i] >= 0)
			close(img_fd[i]);
	return ret;
}

/* Write what the cap and an earlier error allow of BUF to the console log;
 * count the rest as dropped. A failed write (a full disk) is said once and
 * recorded (con_err), never silent. */
static void lab_vm_console_keep(struct lab_vm *vm, const char *buf, size_t n)
{
	uint64_t room = vm->con_kept < vm->con_max ? vm->con_max - vm->con_kept : 0;
	size_t take = n < room ? n : (size_t)room, off = 0;

	if (take < n)
		vm->con_cut = 1;
	if (vm->console_log_fd < 0)
		take = 0;
	while (off < take) {
		ssize_t w = write(vm->console_log_fd, buf + off, take - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			vm->con_err = w < 0 ? errno : ENOSPC;
			/* progress now; the run's last word (result.json's
			 * console_log_error, or the one error line of a run whose
			 * result could not be written) says it for the record */
			util_progress("vm \"%s\": writing %s: %s; the rest of its console is dropped",
				      vm->pvm->name, vm->console_log, strerror(vm->con_err));
			close(vm->console_log_fd);
			vm->console_log_fd = -1;
			break;
		}
		off += (size_t)w;
	}
	vm->con_kept += off;
	vm->con_dropped += n - off;
	if (off)
		vm->con_nl = buf[off - 1] == '\n';
}

/* The log's last line once the VM is gone: how much the cap left out. */
static void lab_vm_console_notice(struct lab_vm *vm)
{
	if (vm->console_log_fd < 0 || !vm->con_cut)
		return;
	if (dprintf(vm->console_log_fd, "%s[uvmlab] console log cut at %" PRIu64 " bytes; %" PRIu64
		    " more bytes dropped\n", vm->con_nl ? "" : "\n", vm->con_kept, vm->con_dropped) < 0) {
		vm->con_err = errno;
		util_err("vm \"%s\": writing %s: %s", vm->pvm->name, vm->console_log,
			 strerror(vm->con_err));
	}
}

/* Keep the console log and remember the last complete line: when a boot
 * hangs, that line is what the user needs to see. Past the cap the console
 * is still read to the end (the guest must not block on a full socket) and
 * the last line still followed. */
static void lab_vm_console_bytes(struct lab_vm *vm, const char *buf, size_t n)
{
	size_t i;

	lab_vm_console_keep(vm, buf, n);
	for (i = 0; i < n; i++) {
		char c = buf[i];

		if (c == '\n') {
			while (vm->partial_len && vm->partial[vm->partial_len - 1] == '\r')
				vm->partial_len--;
			if (vm->partial_len) {
				memcpy(vm->last_line, vm->partial, vm->partial_len);
				vm->last_line[vm->partial_len] = '\0';
			}
			vm->partial_len = 0;
		} else if (vm->partial_len + 1 < sizeof(vm->partial)) {
			/* keep it printable: the line ends up in one-line errors */
			vm->partial[vm->partial_len++] = (c >= 32 && c < 127) ? c : '?';
		}
	}
}

static int lab_vm_fail(struct lab_vm *vm, int err, const char *what)
{
	struct lab *lab = vm->lab;

	vm->state = LAB_VM_FAILED;
	lab_set_err(lab, "vm \"%s\": %s; last phase reached: %s%s%s%s (console: %s)",
		    vm->pvm->name, what, lab_phase_name(lab_vm_last_phase(vm)),
		    vm->last_line[0] ? "; last console line: \"" : "", vm->last_line,
		    vm->last_line[0] ? "\"" : "", vm->console_log);
	return err;
}

static int lab_vm_on_exit(struct lab_vm *vm)
{
	char what[1300];
	int st = 0;

	if (waitpid(vm->pid, &st, WNOHANG) <= 0)
		return 0;
	vm->exit_status = st;
	lab_vm_close_fd(vm, &vm->pidfd);
	if (vm->state == LAB_VM_BOOTING || vm->state == LAB_VM_READY) {
		/* for `uvmlab status`: died, not stopped by us */
		if (WIFEXITED(st))
			snprintf(vm->died, sizeof(vm->died), "exited with status %d", WEXITSTATUS(st));
		else
			snprintf(vm->died, sizeof(vm->died), "killed by signal %d", WTERMSIG(st));
		vm->lab->state_dirty = 1;
		if (WIFEXITED(st))
			snprintf(what, sizeof(what), "QEMU exited with status %d (see %s)",
				 WEXITSTATUS(st), vm->qemu_log);
		else
			snprintf(what, sizeof(what), "QEMU killed by signal %d", WTERMSIG(st));
		vm->pid = 0;
		return lab_vm_fail(vm, -ECHILD, what);
	}
	vm->state = LAB_VM_EXITED;
	vm->pid = 0;
	return 0;
}

int lab_vm_event(struct lab_src *src, uint32_t events)
{
	struct lab_vm *vm = src->vm;
	struct lab *lab = vm->lab;
	char buf[65536];
	ssize_t n;
	int ret, fd;

	switch (src->kind) {
	case LAB_SRC_QMP_LISTEN:
	case LAB_SRC_CON_LISTEN:
	case LAB_SRC_MARK_LISTEN: {
		int idx = src->kind == LAB_SRC_QMP_LISTEN ? 0 : src->kind == LAB_SRC_CON_LISTEN ? 1 : 2;

		ret = util_unix_accept(vm->lfd[idx], &fd);
		if (ret < 0)
			return ret == -EAGAIN ? 0 : ret;
		/* One connection each: QEMU's. The listener is done. */
		lab_vm_close_fd(vm, &vm->lfd[idx]);
		if (idx == 0) {
			vm->qmp_fd_raw = fd;
			return lab_vm_watch(vm, fd, LAB_SRC_QMP);
		} else if (idx == 1) {
			vm->con_fd = fd;
			return lab_vm_watch(vm, fd, LAB_SRC_CON);
		}
		vm->mark_fd = fd;
		return lab_vm_watch(vm, fd, LAB_SRC_MARK);
	}
	case LAB_SRC_QMP:
		if (!vm->qmp) {
			/* The greeting is waiting: stamp it, then negotiate. */
			if (!vm->t[LAB_PHASE_QMP])
				vm->t[LAB_PHASE_QMP] = lab_vm_arrival(vm, &vm->st_qmp);
			lab_vm_unwatch(vm, vm->qmp_fd_raw);
			fcntl(vm->qmp_fd_raw, F_SETFL, fcntl(vm->qmp_fd_raw, F_GETFL) & ~O_NONBLOCK);
			ret = qmp_client_open_fd(vm->qmp_fd_raw, &vm->qmp);
			if (ret < 0)
				return lab_vm_fail(vm, ret, "QMP client");
			vm->qmp_fd_raw = -1;
			ret = qmp_client_handshake(vm->qmp, 5000, &vm->qemu_version[0],
						   &vm->qemu_version[1], &vm->qemu_version[2]);
			if (ret < 0)
				return lab_vm_fail(vm, ret, "QMP handshake failed");
			return lab_vm_watch(vm, qmp_client_fd(vm->qmp), LAB_SRC_QMP);
		}
		ret = qmp_client_pump(vm->qmp);
		if (ret < 0) {
			lab_vm_unwatch(vm, qmp_client_fd(vm->qmp));
			qmp_client_destroy(vm->qmp);
			vm->qmp = NULL;
		} else {
			char name[64];
			json_t *data = NULL;

			/* Events are not used yet beyond draining the queue. */
			while (qmp_client_next_event(vm->qmp, name, sizeof(name), &data) == 1)
				json_decref(data);
		}
		return 0;
	case LAB_SRC_CON:
		n = read(vm->con_fd, buf, sizeof(buf));
		if (n > 0) {
			if (!vm->t[LAB_PHASE_CONSOLE])
				vm->t[LAB_PHASE_CONSOLE] = lab_vm_arrival(vm, &vm->st_con);
			lab_vm_console_bytes(vm, buf, (size_t)n);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			lab_vm_close_fd(vm, &vm->con_fd);
		}
		return 0;
	case LAB_SRC_MARK:
		n = read(vm->mark_fd, buf, sizeof(buf));
		if (n > 0) {
			ssize_t i;

			/* one marker byte is one write by QEMU: one arrival each */
			for (i = 0; i < n; i++) {
				uint64_t at = lab_vm_arrival(vm, &vm->st_mark);

				if (buf[i] == 'I' && !vm->t[LAB_PHASE_INIT])
					vm->t[LAB_PHASE_INIT] = at;
				else if (buf[i] == 'R' && !vm->t_ready_marker)
					vm->t_ready_marker = at;
			}
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			lab_vm_close_fd(vm, &vm->mark_fd);
		}
		return 0;
	case LAB_SRC_AGENT:
		if (vm->state != LAB_VM_BOOTING)
			return 0;
		ret = agent_conn_read_hello(vm->agent, 5000, &vm->hello);
		if (ret < 0) {
			char what[128];

			snprintf(what, sizeof(what), "no valid HELLO from the guest agent (%s)", strerror(-ret));
			return lab_vm_fail(vm, ret, what);
		}
		vm->t[LAB_PHASE_AGENT] = lab_vm_arrival(vm, &vm->st_agent);
		lab_vm_unwatch(vm, agent_conn_fd(vm->agent));
		util_proc_cpu_ms(vm->pid, &vm->cpu_user_ms, &vm->cpu_sys_ms);
		vm->state = LAB_VM_READY;
		util_progress("vm %s ready in %.2f s", vm->pvm->name,
			      (double)(vm->t[LAB_PHASE_AGENT] - vm->t[LAB_PHASE_EXEC]) / 1e9);
		return 0;
	case LAB_SRC_PIDFD:
		(void)events;
		return lab_vm_on_exit(vm);
	default:
		return 0;
	}
	(void)lab;
}

int lab_vm_tick(struct lab_vm *vm, uint64_t now)
{
	char what[128];
	int ret;

	if (vm->state != LAB_VM_BOOTING)
		return 0;
	/* The agent socket is QEMU's listener, created before QMP
	 * greets us; connect once QMP is up. HELLO arrives when the guest's
	 * agent opens its port. */
	if (vm->qmp && !vm->agent) {
		ret = agent_conn_open(vm->agent_path, 0, &vm->agent);
		if (ret == 0) {
			ret = lab_vm_watch(vm, agent_conn_fd(vm->agent), LAB_SRC_AGENT);
			if (ret < 0)
				return lab_vm_fail(vm, ret, "epoll");
		}
	}
	if (now >= vm->deadline) {
		snprintf(what, sizeof(what), "boot timed out after %u s",
			 vm->lab->boot_timeout_s);
		return lab_vm_fail(vm, -ETIMEDOUT, what);
	}
	return 0;
}

static int lab_vm_wait_exit(struct lab_vm *vm, int timeout_ms)
{
	struct pollfd p = { .fd = vm->pidfd, .events = POLLIN };

	if (vm->pidfd < 0)
		return 0;
	if (poll(&p, 1, timeout_ms) == 1)
		return 1;
	return 0;
}

void lab_vm_stop(struct lab_vm *vm)
{
	int st;

	if (vm->pid <= 0)
		return;
	if (vm->qmp) {
		char err[128];

		qmp_client_execute(vm->qmp, "quit", NULL, 1000, NULL, err, sizeof(err));
		lab_vm_wait_exit(vm, 3000);
	}
	if (waitpid(vm->pid, &st, WNOHANG) == 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, &st, 0);
	}
	vm->exit_status = st;
	vm->pid = 0;
	if (vm->state != LAB_VM_FAILED)
		vm->state = LAB_VM_EXITED;
}

void lab_vm_close(struct lab_vm *vm)
{
	size_t i;

	if (vm->agent) {
		lab_vm_unwatch(vm, agent_conn_fd(vm->agent));
		agent_conn_close(vm->agent);
		vm->agent = NULL;
	}
	if (vm->qmp) {
		lab_vm_unwatch(vm, qmp_client_fd(vm->qmp));
		qmp_client_destroy(vm->qmp);
		vm->qmp = NULL;
	}
	for (i = 0; i < 3; i++)
		lab_vm_close_fd(vm, &vm->lfd[i]);
	lab_vm_close_fd(vm, &vm->qmp_fd_raw);
	lab_vm_close_fd(vm, &vm->con_fd);
	lab_vm_close_fd(vm, &vm->mark_fd);
	lab_vm_close_fd(vm, &vm->pidfd);
	lab_vm_console_notice(vm);
	lab_vm_close_fd(vm, &vm->console_log_fd);
	for (i = 0; i < PLAN_MAX_NICS; i++)
		if (vm->tap_fds[i] >= 0) {
			close(vm->tap_fds[i]);
			vm->tap_fds[i] = -1;
		}
	qemu_argv_release(&vm->argv);
	free(vm->sh_argv);
	vm->sh_argv = NULL;
}

void lab_vm_reset(struct lab_vm *vm)
{
	lab_vm_stop(vm);
	lab_vm_close(vm);
	memset(vm->t, 0, sizeof(vm->t));
	memset(&vm->hello, 0, sizeof(vm->hello));
	vm->t_ready_marker = 0;
	vm->stamped_late = 0;
	lab_vm_reset_role(vm);
	vm->cpu_user_ms = vm->cpu_sys_ms = 0;
	vm->last_line[0] = '\0';
	vm->partial_len = 0;
	vm->died[0] = '\0';
	vm->state = LAB_VM_PENDING;
}

void lab_vm_reset_role(struct lab_vm *vm)
{
	vm->t_role = vm->t_filter = 0;
	vm->probe_started = vm->filter_applied = 0;
	vm->n_marks = 0;
	free(vm->filter_ruleset);
	vm->filter_ruleset = NULL;
	if (vm->role_state && vm->role_state_free)
		vm->role_state_free(vm->role_state);
	vm->role_state = NULL;
	vm->role_state_free = NULL;
}

static double lab_vm_ms(uint64_t t, uint64_t t0)
{
	return t ? (double)(t - t0) / 1e6 : -1.0;
}

json_t *lab_vm_json(const struct lab_vm *vm)
{
	const struct plan_vm *pvm = vm->pvm;
	const struct plan *plan = vm->lab->plan;
	json_t *o = json_object(), *nics = json_array(), *argv = json_array();
	json_t *boot = json_object(), *phases = json_object(), *guest = json_object();
	uint64_t t0 = vm->t[LAB_PHASE_EXEC];
	char mac[18], addr[16];
	size_t i;
	int p;

	for (i = 0; i < pvm->n_nics; i++) {
		plan_fmt_mac(pvm->nics[i].mac, mac);
		plan_fmt_addr(pvm->nics[i].addr, addr);
		json_array_append_new(nics, json_pack("{s:s,s:s,s:s,s:i,s:s}",
			"network", plan->nets[pvm->nics[i].net].name, "mac", mac,
			"addr", addr, "prefix", pvm->nics[i].prefix, "tap", pvm->nics[i].tap));
	}
	for (i = 0; i < vm->argv.n; i++)
		json_array_append_new(argv, json_string(vm->argv.v[i]));
	/* Milliseconds since QEMU exec on the host clock; -1 = not reached. */
	for (p = LAB_PHASE_QMP; p < LAB_PHASE_COUNT; p++)
		json_object_set_new(phases, lab_phase_name((enum lab_phase)p),
				    json_real(lab_vm_ms(vm->t[p], t0)));
	/* Role services (roles/) end the timeline where they ran; elsewhere
	 * the agent's own duties (addresses, forwarding) are the services. */
	json_object_set_new(phases, "services_ready",
			    json_real(lab_vm_ms(vm->t_role ? vm->t_role : vm->t[LAB_PHASE_AGENT], t0)));
	/* the steps roles stamped, and how long each took until services_ready */
	for (i = 0; i < vm->n_marks; i++) {
		const struct lab_vm_mark *m = &vm->marks[i];

		json_object_set_new(phases, m->phase, json_real(lab_vm_ms(m->t, t0)));
		if (m->span_key && vm->t_role)
			json_object_set_new(o, m->span_key, json_real((double)(vm->t_role - m->t) / 1e6));
	}
	json_object_set_new(phases, "ready_marker", json_real(lab_vm_ms(vm->t_ready_marker, t0)));
	json_object_set_new(boot, "phases_ms", phases);
	json_object_set_new(boot, "last_phase", json_string(lab_phase_name(lab_vm_last_phase(vm))));
	json_object_set_new(boot, "qemu_exec_mono_ns", json_integer((json_int_t)t0));
	if (vm->stamped_late) {
		/* channels whose first bytes were already waiting when uvmlab began
		 * to watch them: those phases are upper bounds */
		json_t *late = json_array();

		if (vm->stamped_late & (1u << LAB_SRC_QMP))
			json_array_append_new(late, json_string("qmp_greeting"));
		if (vm->stamped_late & (1u << LAB_SRC_CON))
			json_array_append_new(late, json_string("console_first_byte"));
		if (vm->stamped_late & (1u << LAB_SRC_MARK))
			json_array_append_new(late, json_string("init_start"));
		if (vm->stamped_late & (1u << LAB_SRC_AGENT))
			json_array_append_new(late, json_string("agent_ready"));
		json_object_set_new(boot, "phases_stamped_late", late);
	}
	if (vm->hello.version) {
		json_object_set_new(guest, "boottime_init_ms", json_real((double)vm->hello.boottime_init_ns / 1e6));
		json_object_set_new(guest, "boottime_ready_ms", json_real((double)vm->hello.boottime_ready_ns / 1e6));
		json_object_set_new(guest, "after_modules_ms", json_real((double)vm->hello.phase_ns[0] / 1e6));
		json_object_set_new(guest, "after_net_ms", json_real((double)vm->hello.phase_ns[1] / 1e6));
		json_object_set_new(guest, "after_port_ms", json_real((double)vm->hello.phase_ns[2] / 1e6));
		json_object_set_new(guest, "kernel", json_string(vm->hello.kernel));
	}
	json_object_set_new(boot, "guest", guest);
	json_object_set_new(boot, "qemu_cpu_ms", json_pack("{s:I,s:I}",
		"user", (json_int_t)vm->cpu_user_ms, "sys", (json_int_t)vm->cpu_sys_ms));
	json_object_set_new(o, "name", json_string(pvm->name));
	json_object_set_new(o, "role", json_string(scn_role_name(pvm->role)));
	json_object_set_new(o, "machine", json_string(scn_machine_name(pvm->machine)));
	json_object_set_new(o, "memory_mib", json_integer(pvm->memory_mib));
	json_object_set_new(o, "vcpus", json_integer(pvm->vcpus));
	json_object_set_new(o, "cid", json_integer(pvm->cid));
	/* what the last health check found beats what the boot reached */
	json_object_set_new(o, "state", json_string(lab_health_name(vm->health) ?:
		vm->state == LAB_VM_READY ? "ready" :
		vm->state == LAB_VM_FAILED ? "failed" : vm->state == LAB_VM_EXITED ? "exited" :
		vm->state == LAB_VM_BOOTING ? "booting" : "not started"));
	if (lab_health_name(vm->health))
		json_object_set_new(o, "state_reason", json_string(vm->health_why));
	json_object_set_new(o, "nics", nics);
	json_object_set_new(o, "kernel_cmdline", json_string(vm->cmdline));
	json_object_set_new(o, "argv", argv);
	json_object_set_new(o, "boot", boot);
	json_object_set_new(o, "console_log", json_string(vm->console_log));
	/* what of the console was kept: the cap, and a write that failed */
	json_object_set_new(o, "console_log_max", json_integer((json_int_t)vm->con_max));
	json_object_set_new(o, "console_log_kept", json_integer((json_int_t)vm->con_kept));
	json_object_set_new(o, "console_log_cut", json_boolean(vm->con_cut));
	json_object_set_new(o, "console_log_dropped", json_integer((json_int_t)vm->con_dropped));
	json_object_set_new(o, "console_log_error", vm->con_err ? json_string(strerror(vm->con_err)) :
			    json_null());
	if (pvm->scn->has_filter)
		/* ruleset: what the router's kernel held once applied (null: never applied) */
		json_object_set_new(o, "filter", json_pack("{s:s,s:I,s:o,s:o}",
			"default", scn_filter_action_name(pvm->scn->filter.dflt),
			"rules", (json_int_t)pvm->scn->filter.n_rules,
			"ruleset", vm->filter_ruleset ? json_string(vm->filter_ruleset) : json_null(),
			"applied_ms", json_real(lab_vm_ms(vm->t_filter, t0))));
	return o;
}
