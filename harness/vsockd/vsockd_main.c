/* SPDX-License-Identifier: MIT */
/* vsockd_main.c: uvmlab-vsockd, one vhost-user-vsock backend process for many VMs. */
#include "vhost/vhost_user.h"
#include "vsockd/vsock_backend.h"

#include <errno.h>
#include <grp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile sig_atomic_t vsockd_stop;

static void vsockd_on_signal(int sig)
{
	(void)sig;
	vsockd_stop = 1;
}

static void vsockd_usage(FILE *f)
{
	fprintf(f,
		"usage: uvmlab-vsockd [--user UID:GID] --vm NAME,CID,VHOST_SOCK,HOST_SOCK [--vm ...]\n"
		"                     [--allow NAME1:NAME2 ...]\n"
		"\n"
		"Serves virtio-vsock to QEMU's vhost-user-vsock-device for every --vm:\n"
		"  VHOST_SOCK  we listen; QEMU: -chardev socket,id=vs0,path=VHOST_SOCK\n"
		"              -device vhost-user-vsock-device,chardev=vs0 (shared memory needed:\n"
		"              -object memory-backend-memfd,id=mem,size=M,share=on -machine ...,memory-backend=mem)\n"
		"  HOST_SOCK   host side: connect, write \"CONNECT <port>\\n\", read \"OK <port>\\n\";\n"
		"              guest connections to CID 2 port P go to HOST_SOCK_P\n"
		"  --allow A:B lets VMs A and B connect to each other by CID (default: deny, RST)\n"
		"  --user U:G  once every socket is bound, drop to uid U and gid G (no supplementary\n"
		"              groups, no capabilities); HOST_SOCK_P must then be connectable by U or G\n"
		"SIGTERM or SIGINT: close everything, remove our sockets, exit 0.\n"
		"exit: 0 clean stop, 2 bad usage, 3 could not set up\n");
}

/* Exactly what the serving loop uses (from strace of `uvmlab run
 * scenarios/vsock.yaml`): vhost-user messages with their memfds (recvmsg),
 * mapping and unmapping guest memory, epoll, the host sockets (accept,
 * connect to HOST_SOCK_P), and unlink of our sockets at stop. No open, no
 * exec, no new namespaces, no ptrace. */
static const char *const vsockd_syscalls[] = {
	"read", "readv", "write", "writev", "recvfrom", "recvmsg", "sendto", "sendmsg",
	"epoll_pwait", "epoll_wait", "epoll_ctl", "accept4", "socket", "connect", "shutdown",
	"setsockopt", "getsockopt", "close", "mmap", "munmap", "madvise", "brk", "newfstatat",
	"fstat", "fcntl", "unlink", "unlinkat", "futex", "rt_sigreturn", "rt_sigprocmask",
	"restart_syscall", "clock_gettime", "exit", "exit_group",
};

/* A denied syscall traps: one line in vsockd.log naming it, then exit 3
 * (uvmlab reports the backend crashed). Async-signal-safe only. */
static void vsockd_on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[96];
	int n;

	(void)sig;
	(void)uc;
	n = snprintf(line, sizeof(line), "uvmlab-vsockd: seccomp: syscall %d denied, exiting\n",
		     si->si_syscall);
	if (n > 0)
		(void)!write(STDERR_FILENO, line, (size_t)n);
	_exit(3);
}

/* Confine the process once every socket is bound: no_new_privs, then the
 * allow-list above; anything else raises SIGSYS. 0 or negative errno. */
static int vsockd_confine(void)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	size_t i;
	int ret = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = vsockd_on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	for (i = 0; !ret && i < sizeof(vsockd_syscalls) / sizeof(vsockd_syscalls[0]); i++) {
		int nr = seccomp_syscall_resolve_name(vsockd_syscalls[i]);

		if (nr != __NR_SCMP_ERROR)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

/* Root is needed only to bind sockets in folders the VMs own: drop to
 * UID:GID for good (all three ids of each, no groups), which also empties
 * every capability set. Before the filter: it allows none of these calls. */
static int vsockd_drop(const char *spec)
{
	unsigned long uid, gid;
	pid_t parent = getppid();
	int sig = 0;
	char *end;

	errno = 0;
	uid = strtoul(spec, &end, 10);
	if (errno || end == spec || *end != ':')
		return -EINVAL;
	spec = end + 1;
	gid = strtoul(spec, &end, 10);
	if (errno || end == spec || *end || !uid || !gid || uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1)
		return -EINVAL;
	prctl(PR_GET_PDEATHSIG, &sig);
	if (setgroups(0, NULL) < 0 || setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0 ||
	    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
		return -errno;
	/* the uid change cleared the death signal uvmlab armed: arm it again */
	if (sig && (prctl(PR_SET_PDEATHSIG, sig) < 0 || getppid() != parent))
		return -ESRCH;
	return 0;
}

/* "NAME,CID,VHOST_SOCK,HOST_SOCK" split in place. */
static int vsockd_parse_vm(char *arg, struct vsock_backend_vm_spec *s)
{
	char *f[4], *end, *save = NULL, *tok;
	unsigned long long cid;
	int n = 0;

	for (tok = strtok_r(arg, ",", &save); tok && n < 4; tok = strtok_r(NULL, ",", &save))
		f[n++] = tok;
	if (n != 4 || tok)
		return -EINVAL;
	errno = 0;
	cid = strtoull(f[1], &end, 0);
	if (errno || *end || end == f[1])
		return -EINVAL;
	s->name = f[0];
	s->cid = cid;
	s->vhost_sock = f[2];
	s->host_sock = f[3];
	return 0;
}

int main(int argc, char **argv)
{
	struct vsock_backend *b = NULL;
	struct epoll_event evs[64];
	struct sigaction sa;
	sigset_t mask, old;
	int epfd = -1, i, n, ret, code = 3, nvm = 0;
	const char *user = NULL;
	uid_t uid;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		vsockd_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vsockd_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Signals only interrupt epoll_pwait, so the stop flag is never missed. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &old);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || vsock_backend_create(epfd, &b) < 0) {
		fprintf(stderr, "uvmlab-vsockd: setup: %s\n", strerror(errno));
		goto out;
	}
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--vm") && i + 1 < argc) {
			struct vsock_backend_vm_spec s;
			char *copy = argv[++i];

			if (vsockd_parse_vm(copy, &s) < 0) {
				fprintf(stderr, "uvmlab-vsockd: --vm wants NAME,CID,VHOST_SOCK,HOST_SOCK\n");
				code = 2;
				goto out;
			}
			ret = vsock_backend_add_vm(b, &s);
			if (ret < 0) {
				fprintf(stderr, "uvmlab-vsockd: vm \"%s\" (cid %llu): %s\n", s.name,
					(unsigned long long)s.cid, strerror(-ret));
				code = ret == -EINVAL || ret == -EEXIST ? 2 : 3;
				goto out;
			}
			nvm++;
		} else if (!strcmp(argv[i], "--user") && i + 1 < argc) {
			user = argv[++i];
		} else if (!strcmp(argv[i], "--allow") && i + 1 < argc) {
			char *a = argv[++i], *colon = strchr(a, ':');

			if (!colon) {
				fprintf(stderr, "uvmlab-vsockd: --allow wants NAME1:NAME2\n");
				code = 2;
				goto out;
			}
			*colon = '\0';
			if (vsock_backend_allow(b, a, colon + 1) < 0) {
				fprintf(stderr, "uvmlab-vsockd: --allow %s:%s: no such vm (give --vm first)\n",
					a, colon + 1);
				code = 2;
				goto out;
			}
		} else {
			vsockd_usage(stderr);
			code = 2;
			goto out;
		}
	}
	if (!nvm) {
		vsockd_usage(stderr);
		code = 2;
		goto out;
	}
	if (user) {
		ret = vsockd_drop(user);
		if (ret < 0) {
			fprintf(stderr, "uvmlab-vsockd: --user %s: %s\n", user,
				ret == -EINVAL ? "wants UID:GID, both nonzero" : strerror(-ret));
			code = ret == -EINVAL ? 2 : 3;
			goto out;
		}
	}
	uid = getuid(); /* the filter allows no getuid */
	ret = vsockd_confine();
	if (ret < 0) {
		fprintf(stderr, "uvmlab-vsockd: seccomp: %s\n", strerror(-ret));
		goto out;
	}
	fprintf(stderr, "uvmlab-vsockd: serving %d vm(s) as uid %u, seccomp allow-list of %zu syscalls\n",
		nvm, (unsigned)uid, sizeof(vsockd_syscalls) / sizeof(vsockd_syscalls[0]));
	while (!vsockd_stop) {
		n = epoll_pwait(epfd, evs, 64, -1, &old);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "uvmlab-vsockd: epoll: %s\n", strerror(errno));
			goto out;
		}
		for (i = 0; i < n; i++) {
			struct vhost_user_watch *w = evs[i].data.ptr;

			w->fn(w->ctx, evs[i].events);
		}
		vsock_backend_reap(b);
	}
	fprintf(stderr, "uvmlab-vsockd: stopping\n");
	code = 0;
out:
	vsock_backend_destroy(b);
	if (epfd >= 0)
		close(epfd);
	return code;
}
