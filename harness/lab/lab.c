/* SPDX-License-Identifier: MIT */
/* lab.c: a live lab run: namespace, bridges, taps, VMs in dependency order, teardown. */
#include "lab/lab_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "checks/checks.h"
#include "lab/run_state.h"
#include "roles/role.h"
#include "base/util.h"

/* Bound on reattaching to one VM's agent for a control request, so one hung
 * guest cannot hold `check` for the 45 s that 3 unbounded attempts took. */
#define LAB_AGENT_ATTACH_MS 15000

volatile sig_atomic_t lab_stop_flag;

int lab_create(const struct plan *plan, const struct lab_opts *opts, struct lab **out)
{
	struct lab *lab;
	struct timespec ts;
	struct tm tm;
	uint8_t rnd[4] = { 0, 0, 0, 0 };
	char hex[9];
	int fd;
	size_t i;

	lab = calloc(1, sizeof(*lab));
	if (!lab)
		return -ENOMEM;
	lab->plan = plan;
	lab->opts = *opts;
	if (!lab->opts.results_root)
		lab->opts.results_root = "results";
	if (!lab->opts.run_root)
		lab->opts.run_root = RUN_STATE_DEFAULT_ROOT;
	if (!lab->opts.qemu_bin)
		lab->opts.qemu_bin = "qemu-system-x86_64";
	lab->epfd = -1;
	lab->orig_netns = -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(lab->started_at, sizeof(lab->started_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, rnd, sizeof(rnd)) < 0)
			rnd[0] = (uint8_t)getpid();
		close(fd);
	}
	util_hex(rnd, sizeof(rnd), hex);
	snprintf(lab->run_id, sizeof(lab->run_id), "%04d%02d%02d-%02d%02d%02d-%s-%s",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, plan->scn->name, hex);
	snprintf(lab->run_dir, sizeof(lab->run_dir), "%s/%s", lab->opts.run_root, lab->run_id);
	snprintf(lab->results_dir, sizeof(lab->results_dir), "%s/%s", lab->opts.results_root, lab->run_id);
	util_strlcpy(lab->images_dir, opts->images_dir ? opts->images_dir : "build/guests",
		     sizeof(lab->images_dir));
	snprintf(lab->kernel, sizeof(lab->kernel), "%s/vmlinuz", lab->images_dir);
	lab->n_vms = plan->n_vms;
	lab->vms = calloc(plan->n_vms + 1, sizeof(*lab->vms));
	if (!lab->vms) {
		free(lab);
		return -ENOMEM;
	}
	for (i = 0; i < plan->n_vms; i++) {
		int ret = lab_vm_init(lab, &lab->vms[i], &plan->vms[i]);

		if (ret < 0) {
			free(lab->vms);
			free(lab);
			return ret;
		}
	}
	/* after the VMs: a service's init may look at their folders */
	fd = lab_service_create(lab);
	if (fd < 0) {
		lab_service_destroy(lab);
		free(lab->vms);
		free(lab);
		return fd;
	}
	*out = lab;
	return 0;
}

const char *lab_run_id(const struct lab *lab) { return lab->run_id; }
const char *lab_results_dir(const struct lab *lab) { return lab->results_dir; }
const char *lab_error(const struct lab *lab) { return lab->err[0] ? lab->err : "unknown error"; }
const char *lab_started_at(const struct lab *lab) { return lab->started_at; }
uint32_t lab_boot_timeout_s(const struct lab *lab) { return lab->boot_timeout_s; }
void lab_disown(struct lab *lab) { lab->down_done = 1; }

/* The inode of the namespace file PATH. */
static int lab_ns_ino(const char *path, uint64_t *ino)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

static int lab_save_state(struct lab *lab)
{
	json_t *st, *vms, *netns;
	uint64_t ino = 0;
	size_t i;
	int ret;

	vms = json_array();
	for (i = 0; i < lab->n_vms; i++) {
		const struct lab_vm *vm = &lab->vms[i];

		json_t *o = json_pack("{s:s,s:i,s:I,s:s,s:s,s:I}",
			"name", vm->pvm->name, "pid", (int)vm->pid,
			"starttime", (json_int_t)vm->starttime,
			"agent_sock", vm->agent_path, "console_log", vm->console_log,
			"uid", (json_int_t)vm->uid);

		/* how a QEMU that ended on its own ended, for `uvmlab status` */
		if (o && vm->died[0])
			json_object_set_new(o, "died", json_string(vm->died));
		json_array_append_new(vms, o);
	}
	st = json_pack("{s:s,s:s,s:s,s:s,s:{s:i,s:I},s:o}",
		"run_id", lab->run_id, "scenario", lab->plan->scn->path,
		"results_dir", lab->results_dir, "started_at", lab->started_at,
		"supervisor", "pid", (int)getpid(), "starttime", (json_int_t)util_proc_starttime(getpid()),
		"vms", vms);
	if (!st)
		return -ENOMEM;
	json_object_set_new(st, "helper_uid", json_integer((json_int_t)lab->helper_uid));
	/* The reaper kills only what lives in these namespaces. */
	json_object_set_new(st, "netns", netns = json_array());
	if (lab->orig_netns >= 0 && lab_ns_ino("/proc/self/ns/net", &ino) == 0)
		json_array_append_new(netns, json_integer((json_int_t)ino));
	lab_service_netns(lab, netns);
	/* ... and through these cgroups it finds every process of the run */
	json_object_set_new(st, "cgroups", cgroup_run_dirs_json(&lab->cg));
	ret = run_state_save(lab->run_dir, st);
	json_decref(st);
	return ret;
}

/* The run's cgroup, joined by this process before it forks anything: every
 * process of the run is born inside it. A host without usable cgroups only
 * loses the clean kill (one warning); one that cannot apply a requested
 * limit fails the run. */
static int lab_cgroup(struct lab *lab)
{
	const struct scn_limits *lim = &lab->plan->scn->limits;
	struct cgroup_layout layout;
	char err[800] = "";
	int ret;

	ret = cgroup_layout_detect(&layout);
	if (ret < 0)
		snprintf(err, sizeof(err), "cgroup: reading /proc/self/mounts: %s", strerror(-ret));
	else
		ret = cgroup_run_create(&layout, lab->run_id, lim, &lab->cg, err, sizeof(err));
	if (!ret)
		return 0;
	if (lim->has_memory || lim->has_pids || lim->has_cpus) {
		/* a missing controller names its key already */
		lab_set_err(lab, "%s%s", ret == -EOPNOTSUPP ? "" : "lab.limits cannot be applied: ", err);
		return ret;
	}
	util_err("%s: without a cgroup, leftovers are found by command line in the run's namespaces", err);
	return 0;
}

json_t *lab_cgroup_json(const struct lab *lab)
{
	if (!lab->cg.n)
		return json_pack("{s:o,s:o}", "dirs", json_array(), "limits", json_object());
	return json_pack("{s:o,s:o}", "dirs", cgroup_run_dirs_json(&lab->cg),
			 "limits", cgroup_run_limits_json(&lab->cg));
}

static int lab_check_images(struct lab *lab)
{
	char path[1200];
	size_t i;

	for (i = 0; i < lab->n_vms; i++) {
		const struct scn_vm *sv = lab->vms[i].pvm->scn;

		snprintf(path, sizeof(path), "%s/%s.cpio", lab->images_dir,
			 role_get(lab->vms[i].pvm->role)->image);
		if (access(path, R_OK) < 0) {
			lab_set_err(lab, "guest image %s missing: build the images with `make guests`", path);
			return -ENOENT;
		}
		lab_vm_kernel_path(&lab->vms[i], path, sizeof(path));
		if (access(path, R_OK) < 0) {
			if (sv->kernel == SCN_KERNEL_LAB)
				lab_set_err(lab, "vm \"%s\": lab kernel %s missing: build it with `make lab-kernel`"
					    " (or set kernel: stock)", sv->name, path);
			else
				lab_set_err(lab, "vm \"%s\": stock kernel %s missing: build the images with "
					    "`make guests`", sv->name, path);
			return -ENOENT;
		}
	}
	return 0;
}

/* The run's own network namespace: every bridge and tap lives there and
 * nothing of the lab can reach the host's network. */
static int lab_netns(struct lab *lab)
{
	const struct plan *plan = lab->plan;
	size_t i;
	int ret;

	lab->orig_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (lab->orig_netns < 0 || unshare(CLONE_NEWNET) < 0) {
		ret = -errno;
		lab_set_err(lab, "creating the run's network namespace: %s", strerror(-ret));
		return ret;
	}
	/* the lab's own links must not talk to guests over IPv6 (link-local) */
	ret = netns_link_disable_ipv6();
	if (ret < 0) {
		lab_set_err(lab, "turning IPv6 off in the run's namespace: %s", strerror(-ret));
		return ret;
	}
	ret = netns_link_open(&lab->nl);
	if (!ret)
		ret = netns_link_set_up(lab->nl, "lo", 1);
	if (ret < 0) {
		lab_set_err(lab, "netlink in the run's namespace: %s", strerror(-ret));
		return ret;
	}
	for (i = 0; i < plan->n_nets; i++) {
		ret = netns_link_bridge_create(lab->nl, plan->nets[i].bridge);
		if (!ret)
			ret = netns_link_set_up(lab->nl, plan->nets[i].bridge, 1);
		if (ret < 0) {
			lab_set_err(lab, "network \"%s\": bridge %s: %s", plan->nets[i].name,
				    plan->nets[i].bridge, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int lab_deps_ready(const struct lab *lab, const struct plan_vm *pvm)
{
	size_t d;

	for (d = 0; d < pvm->n_deps; d++) {
		const struct lab_vm *dep = &lab->vms[pvm->deps[d]];

		if (dep->state != LAB_VM_READY)
			return 0;
		/* e.g. a router's filter: part of what its dependents rely on */
		if (roles_holds_dependents(dep))
			return 0;
	}
	return 1;
}

/* Start every pending VM whose dependencies are ready; count those not ready. */
static int lab_start_ready(struct lab *lab, size_t *not_ready)
{
	size_t i;
	int ret, started = 0;

	*not_ready = 0;
	for (i = 0; i < lab->n_vms; i++) {
		struct lab_vm *vm = &lab->vms[lab->plan->order[i]];

		if (vm->state == LAB_VM_PENDING && lab_deps_ready(lab, vm->pvm)) {
			util_progress("booting vm %s (%s, %s)", vm->pvm->name,
				      scn_machine_name(vm->pvm->machine), lab->accel_ops->name);
			ret = lab_vm_start(vm);
			if (ret < 0)
				return ret;
			started = 1;
		}
		if (vm->state != LAB_VM_READY)
			(*not_ready)++;
	}
	return started ? lab_save_state(lab) : 0;
}

int lab_poll(struct lab *lab, int timeout_ms)
{
	struct epoll_event ev[32];
	uint64_t now;
	size_t i;
	int n, ret;

	n = epoll_wait(lab->epfd, ev, 32, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	for (i = 0; n > 0 && i < (size_t)n; i++) {
		ret = lab_vm_event(ev[i].data.ptr, ev[i].events);
		if (ret < 0)
			return ret;
	}
	now = util_mono_ns();
	for (i = 0; i < lab->n_vms; i++) {
		ret = lab_vm_tick(&lab->vms[i], now);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int lab_prepare(struct lab *lab)
{
	struct accel_probe_cfg pcfg;
	enum scn_accel want;
	char initrd[1200];
	int ret;

	lab->up_started = 1;
	ret = lab_check_images(lab);
	if (ret < 0)
		return ret;
	/* Both folders are this run's alone: created exclusively, so two runs
	 * (same second, same scenario) can never write into one. */
	ret = util_mkdir_new(lab->results_dir, 0755);
	if (ret < 0) {
		lab_set_err(lab, "results directory %s: %s", lab->results_dir, strerror(-ret));
		return ret;
	}
	ret = util_mkdir_new(lab->run_dir, 0700);
	/* 0711: the VMs' QEMUs (each its own uid) pass through to their own
	 * folders, but cannot list the run's. */
	if (!ret && chmod(lab->run_dir, 0711) < 0)
		ret = -errno;
	if (ret < 0) {
		lab_set_err(lab, "run directory %s: %s", lab->run_dir, strerror(-ret));
		return ret;
	}
	ret = lab_ids_lease(lab);
	if (ret < 0)
		return ret;
	ret = lab_save_state(lab);
	if (ret < 0) {
		lab_set_err(lab, "writing %s/state.json: %s", lab->run_dir, strerror(-ret));
		return ret;
	}
	ret = lab_cgroup(lab);
	if (!ret)
		ret = lab_save_state(lab);
	if (ret < 0)
		return ret;
	/* the default role's image (role id 0): every scenario can boot it */
	snprintf(initrd, sizeof(initrd), "%s/%s.cpio", lab->images_dir, role_get(0)->image);
	pcfg = (struct accel_probe_cfg){ .qemu_bin = lab->opts.qemu_bin, .kernel = lab->kernel,
		.initrd = initrd, .cache_dir = lab->opts.run_root };
	want = lab->opts.accel >= 0 ? (enum scn_accel)lab->opts.accel : lab->plan->scn->accel;
	if (lab->opts.timing_virtual) {
		/* virtual time exists only where QEMU counts instructions */
		if (want == SCN_ACCEL_KVM) {
			lab_set_err(lab, "--timing virtual runs guests under TCG with -icount; the accelerator "
				    "asked for is kvm (drop --accel kvm / accel: kvm)");
			return -EINVAL;
		}
		lab->accel.id = QEMU_ACCEL_TCG_ICOUNT;
		lab->accel.requested = want;
		snprintf(lab->accel.reason, sizeof(lab->accel.reason),
			 "--timing virtual: TCG counting instructions (-icount), guest clocks in virtual time");
		ret = 0;
	} else {
		ret = accel_probe_choose(want, &pcfg, &lab->accel);
	}
	if (ret < 0) {
		lab_set_err(lab, "accelerator: %s", lab->accel.reason);
		return ret;
	}
	lab->accel_ops = qemu_accel_get(lab->accel.id);
	util_progress("accelerator %s: %s", lab->accel_ops->name, lab->accel.reason);
	lab->boot_timeout_s = lab->opts.boot_timeout_s ? lab->opts.boot_timeout_s :
			      lab->plan->boot_timeout_s ? lab->plan->boot_timeout_s :
			      plan_default_boot_timeout_s(lab->accel.id == QEMU_ACCEL_KVM);
	if (lab->accel.id == QEMU_ACCEL_TCG)
		lab->tsc_khz = util_host_tsc_khz();
	else if (lab->accel.id == QEMU_ACCEL_TCG_ICOUNT)
		lab->tsc_khz = QEMU_ICOUNT_TSC_KHZ;
	lab->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lab->epfd < 0) {
		ret = -errno;
		lab_set_err(lab, "epoll: %s", strerror(-ret));
		return ret;
	}
	/* every VM's phases are stamped where the bytes arrive, whatever the
	 * event loop is busy with */
	ret = lab_stamper_start(&lab->stamper);
	if (ret < 0) {
		lab_set_err(lab, "the arrival stamper thread: %s", strerror(-ret));
		return ret;
	}
	ret = lab_netns(lab);
	if (!ret)
		ret = lab_save_state(lab); /* the namespace, before anything runs in it */
	/* Host services before the first VM: QEMU connects to backend daemons'
	 * sockets, and slow fixtures get ready while the VMs boot. */
	if (!ret)
		ret = lab_service_start_all(lab);
	if (!ret)
		ret = lab_save_state(lab);
	return ret;
}

/* A boot fails on what QEMU or the lab saw first (the QMP handshake, the
 * agent's HELLO), which is often a symptom: QEMU could not reach a backend
 * daemon that had died, or QEMU itself was killed while we read from it, or
 * stopped (SIGSTOP) so that the boot could only time out.
 * Name the cause first and keep the symptom after it, on one line. */
static void lab_up_blame(struct lab *lab)
{
	char symptom[sizeof(lab->err)], cause[sizeof(lab->err)];
	const char *rest;
	size_t i, n;
	int tries;

	snprintf(symptom, sizeof(symptom), "%s", lab->err);
	/* a socket reset can reach us a moment before its process is a zombie */
	for (tries = 0; tries < 10; tries++) {
		if (lab_service_dead(lab, 0, cause, sizeof(cause))) {
			lab_set_err(lab, "%.500s; then %.500s", cause, symptom);
			return;
		}
		for (i = 0; i < lab->n_vms; i++) {
			struct lab_vm *vm = &lab->vms[i];

			enum lab_vm_health h;

			/* reaped by the event loop: the symptom is the exit already */
			if (vm->state != LAB_VM_FAILED || vm->pid <= 0)
				continue;
			h = lab_health_vm(vm, 1);
			if (h != LAB_VM_HEALTH_DEAD && h != LAB_VM_HEALTH_HUNG)
				continue;
			if (strstr(symptom, vm->health_why)) {
				snprintf(lab->err, sizeof(lab->err), "%s", symptom);
				return;
			}
			/* the symptom names the VM already: 'vm "a": no valid HELLO ...' */
			n = strlen(vm->pvm->name);
			rest = symptom;
			if (!strncmp(rest, "vm \"", 4) && !strncmp(rest + 4, vm->pvm->name, n) &&
			    !strncmp(rest + 4 + n, "\": ", 3))
				rest += 4 + n + 3;
			lab_set_err(lab, "vm \"%s\": %s; then %.700s", vm->pvm->name, vm->health_why, rest);
			return;
		}
		usleep(20 * 1000);
	}
	/* no death anywhere: a backend that is alive but does not answer is the
	 * best lead left (after the VMs: a killed QEMU breaks its pipe too) */
	if (lab_service_dead(lab, 1, cause, sizeof(cause))) {
		lab_set_err(lab, "%.500s; then %.500s", cause, symptom);
		return;
	}
	snprintf(lab->err, sizeof(lab->err), "%s", symptom);
}

static int lab_up_steps(struct lab *lab)
{
	size_t not_ready = 1;
	int ret;

	ret = lab_prepare(lab);
	if (ret < 0)
		return ret;
	while (not_ready) {
		if (lab_stop_flag) {
			lab_set_err(lab, "interrupted by signal %d (%s)", (int)lab_stop_flag, strsignal((int)lab_stop_flag));
			return -EINTR;
		}
		ret = roles_release_dependents(lab, checks_prepare_vm);
		if (!ret)
			ret = lab_start_ready(lab, &not_ready);
		if (ret < 0 || !not_ready)
			break;
		ret = lab_poll(lab, 50);
		if (ret < 0)
			break;
	}
	if (ret < 0 && ret != -EINTR)
		lab_up_blame(lab);
	if (!ret)
		ret = roles_start_services(lab, checks_prepare_vm);
	if (!ret)
		ret = lab_save_state(lab);
	return ret;
}

int lab_up(struct lab *lab)
{
	const struct scn_limits *lim = &lab->plan->scn->limits;
	int ret = lab_up_steps(lab);
	char why[sizeof(lab->err)];
	uint64_t n;

	/* "fork: Resource temporarily unavailable" or a QEMU killed by signal 9
	 * does not say whose limit it was */
	if (ret < 0 && lim->has_pids && (n = cgroup_run_pids_refused(&lab->cg))) {
		snprintf(why, sizeof(why), "%s", lab_error(lab));
		lab_set_err(lab, "%s (lab.limits.pids %u refused %" PRIu64 " forks: too small for this run)",
			    why, lim->pids, n);
	} else if (ret < 0 && lim->has_memory && (n = cgroup_run_oom_kills(&lab->cg))) {
		snprintf(why, sizeof(why), "%s", lab_error(lab));
		lab_set_err(lab, "%s (lab.limits.memory %" PRIu64 " MiB: the kernel killed %" PRIu64
			    " of the run's processes for memory: too small for this run)",
			    why, lim->memory_bytes >> 20, n);
	}
	return ret;
}

/* Agent connections for a control request: the VMs' agents answer one
 * client at a time, so they are closed again afterwards for `uvmlab exec`. */
static void lab_agents_close(struct lab *lab)
{
	size_t i;

	for (i = 0; i < lab->n_vms; i++) {
		struct lab_vm *vm = &lab->vms[i];

		if (vm->agent) {
			agent_conn_close(vm->agent);
			vm->agent = NULL;
		}
	}
}

static void lab_agents_open(struct lab *lab)
{
	struct agent_hello hello;
	size_t i;

	for (i = 0; i < lab->n_vms; i++) {
		struct lab_vm *vm = &lab->vms[i];
		int ret;

		if (vm->state != LAB_VM_READY || vm->pid <= 0 || vm->agent)
			continue;
		/* a stopped QEMU would hold each attempt to its full timeout */
		if (lab_health_vm(vm, 1) != LAB_VM_HEALTH_ALIVE)
			continue;
		ret = agent_conn_attach(vm->agent_path, 3, 5000, LAB_AGENT_ATTACH_MS, &vm->agent, &hello);
		if (ret < 0)
			util_err("control: vm %s: agent: %s", vm->pvm->name, strerror(-ret));
	}
}

static int lab_control_listen(struct lab *lab)
{
	char path[600];
	int fd = -1, ret;

	snprintf(path, sizeof(path), "%s/%s", lab->run_dir, LAB_CONTROL_SOCK);
	ret = util_unix_listen(path, &fd); /* non-blocking: polled once a second */
	if (ret < 0)
		util_err("control socket %s: %s (uvmlab check will not reach this run)", path,
			 strerror(-ret));
	return ret < 0 ? -1 : fd;
}

int lab_supervise(struct lab *lab, lab_control_fn fn, void *arg)
{
	size_t i, alive;
	int ret, lfd, cfd;

	lab_agents_close(lab);
	lfd = fn ? lab_control_listen(lab) : -1;
	for (;;) {
		if (lab_stop_flag) {
			ret = 0;
			break;
		}
		ret = lab_poll(lab, 1000);
		if (lab->state_dirty) {
			lab->state_dirty = 0;
			if (lab_save_state(lab) < 0)
				util_err("%s: could not record a VM's death in state.json", lab->run_dir);
		}
		if (ret < 0 && ret != -ECHILD)
			break;
		for (alive = 0, i = 0; i < lab->n_vms; i++)
			if (lab->vms[i].pid > 0)
				alive++;
		if (!alive) {
			ret = -ECHILD;
			break;
		}
		/* a blocking client fd: the handler bounds its own reads and writes */
		cfd = lfd >= 0 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
		if (cfd >= 0) {
			lab_agents_open(lab);
			fn(lab, cfd, arg);
			lab_agents_close(lab);
			close(cfd);
		}
	}
	if (lfd >= 0)
		close(lfd);
	return ret;
}

int lab_exec(struct lab *lab, const char *name, const char *const *argv, uint32_t timeout_ms,
	     struct agent_exec_result *res)
{
	char err[256] = "";
	size_t i;
	int ret;

	for (i = 0; i < lab->n_vms; i++) {
		struct lab_vm *vm = &lab->vms[i];

		if (strcmp(vm->pvm->name, name))
			continue;
		if (vm->state != LAB_VM_READY || !vm->agent) {
			lab_set_err(lab, "vm \"%s\" is not ready", name);
			/* one that was up and is gone is named as dead */
			return vm->t[LAB_PHASE_AGENT] ? lab_health_explain(vm, -ENOTCONN) : -ENOTCONN;
		}
		ret = agent_conn_exec(vm->agent, argv, timeout_ms, NULL, 0, res, err, sizeof(err));
		if (ret < 0) {
			lab_set_err(lab, "vm \"%s\": exec %s: %s%s%s", name, argv[0], strerror(-ret),
				    err[0] ? ": " : "", err);
			ret = lab_health_explain(vm, ret);
		}
		return ret;
	}
	lab_set_err(lab, "no vm \"%s\"", name);
	return -ENOENT;
}

const char *lab_images_dir(const struct lab *lab) { return lab->images_dir; }
const char *lab_run_dir(const struct lab *lab) { return lab->run_dir; }

int lab_read_file(struct lab *lab, const char *name, const char *path, uint8_t **data, size_t *len)
{
	size_t i;

	for (i = 0; i < lab->n_vms; i++)
		if (!strcmp(lab->vms[i].pvm->name, name) && lab->vms[i].agent)
			return agent_conn_read_file(lab->vms[i].agent, path, 5000, data, len);
	return -ENOENT;
}

int lab_write_file(struct lab *lab, const char *name, const char *path, uint32_t mode,
		   const void *data, size_t len)
{
	size_t i;
	int ret;

	for (i = 0; i < lab->n_vms; i++) {
		if (strcmp(lab->vms[i].pvm->name, name) || !lab->vms[i].agent)
			continue;
		ret = agent_conn_write_file(lab->vms[i].agent, path, mode, data, len, 10000);
		if (ret < 0)
			lab_set_err(lab, "vm \"%s\": writing %s: %s", name, path, strerror(-ret));
		return ret;
	}
	lab_set_err(lab, "vm \"%s\" is not ready", name);
	return -ENOENT;
}

int lab_vm_pause(struct lab *lab, const char *name, int on)
{
	char err[256] = "";
	size_t i;
	int ret;

	for (i = 0; i < lab->n_vms; i++) {
		if (strcmp(lab->vms[i].pvm->name, name))
			continue;
		if (!lab->vms[i].qmp) {
			lab_set_err(lab, "vm \"%s\": no QMP connection", name);
			return -ENOTCONN;
		}
		ret = qmp_client_execute(lab->vms[i].qmp, on ? "stop" : "cont", NULL, 5000, NULL,
					 err, sizeof(err));
		if (ret < 0)
			lab_set_err(lab, "vm \"%s\": qmp %s: %s%s%s", name, on ? "stop" : "cont",
				    strerror(-ret), err[0] ? ": " : "", err);
		return ret;
	}
	lab_set_err(lab, "no vm \"%s\"", name);
	return -ENOENT;
}

int lab_down(struct lab *lab)
{
	size_t i;

	if (lab->down_done)
		return 0;
	lab->down_done = 1;
	for (i = 0; i < lab->n_vms; i++)
		lab_vm_stop(&lab->vms[i]);
	for (i = 0; i < lab->n_vms; i++)
		lab_vm_close(&lab->vms[i]);
	lab_stamper_stop(&lab->stamper);
	lab_service_stop_all(lab);
	if (lab->nl) {
		for (i = 0; i < lab->plan->n_nets; i++)
			netns_link_delete(lab->nl, lab->plan->nets[i].bridge);
		netns_link_close(lab->nl);
		lab->nl = NULL;
	}
	/* Leave the run's namespace: with no process left in it, the kernel
	 * destroys it and anything still in it. */
	if (lab->orig_netns >= 0) {
		setns(lab->orig_netns, CLONE_NEWNET);
		close(lab->orig_netns);
		lab->orig_netns = -1;
	}
	if (lab->epfd >= 0) {
		close(lab->epfd);
		lab->epfd = -1;
	}
	/* whatever is still in the run's cgroup dies with it, then it goes */
	if (lab->cg.n) {
		int n = cgroup_run_destroy(&lab->cg, 5000);

		if (n < 0)
			util_err("cgroup of run %s: %s", lab->run_id, strerror(-n));
	}
	if (lab->up_started)
		util_rm_rf(lab->run_dir);
	/* only now: no process of the run is left to hold an id */
	lab_ids_unlease(lab);
	return 0;
}

json_t *lab_accel_json(const struct lab *lab)
{
	return json_pack("{s:s,s:s,s:s,s:b,s:I}",
		"name", lab->accel_ops ? lab->accel_ops->name : "none",
		"requested", scn_accel_name(lab->accel.requested),
		"reason", lab->accel.reason, "cached_verdict", lab->accel.cached,
		"tsc_khz", (json_int_t)lab->tsc_khz);
}

json_t *lab_vms_json(const struct lab *lab)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < lab->n_vms; i++)
		json_array_append_new(a, lab_vm_json(&lab->vms[i]));
	return a;
}

json_t *lab_images_json(const struct lab *lab)
{
	char path[1200];
	json_error_t jerr;
	json_t *m;

	snprintf(path, sizeof(path), "%s/manifest.json", lab->images_dir);
	m = json_load_file(path, 0, &jerr);
	return m ? m : json_pack("{s:s}", "error", "no manifest.json beside the images");
}

json_t *lab_host_json(const struct lab *lab)
{
	struct utsname u;
	char *cpu = NULL, *model = NULL, *eol;
	char qver[32] = "";
	json_t *o;
	size_t i;

	uname(&u);
	if (util_read_file("/proc/cpuinfo", 1 << 20, &cpu, NULL) == 0) {
		model = strstr(cpu, "model name");
		if (model && (model = strchr(model, ':'))) {
			model += 2;
			eol = strchr(model, '\n');
			if (eol)
				*eol = '\0';
		}
	}
	for (i = 0; i < lab->n_vms; i++)
		if (lab->vms[i].qemu_version[0]) {
			snprintf(qver, sizeof(qver), "%d.%d.%d", lab->vms[i].qemu_version[0],
				 lab->vms[i].qemu_version[1], lab->vms[i].qemu_version[2]);
			break;
		}
	o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "kernel", u.release, "machine", u.machine,
		      "cpu_model", model ? model : "unknown", "qemu_version", qver,
		      "nproc", (json_int_t)sysconf(_SC_NPROCESSORS_ONLN));
	free(cpu);
	return o;
}

void lab_destroy(struct lab *lab)
{
	if (!lab)
		return;
	lab_down(lab);
	for (size_t i = 0; i < lab->n_vms; i++)
		lab_vm_reset_role(&lab->vms[i]);
	lab_service_destroy(lab);
	free(lab->vms);
	free(lab);
}
