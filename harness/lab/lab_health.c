/* SPDX-License-Identifier: MIT */
/* lab_health.c: is a VM that came up still alive and answering (QEMU, QMP, agent)? */
#include "lab/lab_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"

#define LAB_HEALTH_QMP_MS   2000
#define LAB_HEALTH_AGENT_MS 5000   /* agent_conn_exec() may wait 5 s beyond; 2 s was
                                    * seen to fail a healthy guest on a loaded host */

const char *lab_health_name(enum lab_vm_health h)
{
	switch (h) {
	case LAB_VM_HEALTH_DEAD:   return "dead";
	case LAB_VM_HEALTH_HUNG:   return "hung";
	case LAB_VM_HEALTH_PAUSED: return "paused";
	default:                   return NULL;
	}
}

static enum lab_vm_health lab_health_set(struct lab_vm *vm, enum lab_vm_health h, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum lab_vm_health lab_health_set(struct lab_vm *vm, enum lab_vm_health h, const char *fmt, ...)
{
	va_list ap;

	vm->health = h;
	va_start(ap, fmt);
	vsnprintf(vm->health_why, sizeof(vm->health_why), fmt, ap);
	va_end(ap);
	return h;
}

/* Looks without reaping (WNOWAIT): the event loop or lab_vm_stop() reaps the
 * QEMU as usual, and no other child's status can be taken by mistake. */
static enum lab_vm_health lab_health_process(struct lab_vm *vm)
{
	siginfo_t si;
	char state;
	int st;

	if (vm->pid > 0) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)vm->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid) {
			if (si.si_code == CLD_EXITED)
				return lab_health_set(vm, LAB_VM_HEALTH_DEAD, "QEMU (pid %d) died: exited "
						      "with status %d (see %s)", (int)vm->pid,
						      si.si_status, vm->qemu_log);
			return lab_health_set(vm, LAB_VM_HEALTH_DEAD, "QEMU (pid %d) died: killed by "
					      "signal %d", (int)vm->pid, si.si_status);
		}
		state = util_proc_state(vm->pid);
		if (state == 'T' || state == 't')
			return lab_health_set(vm, LAB_VM_HEALTH_HUNG, "QEMU (pid %d) is stopped "
					      "(process state %c): it answers nothing", (int)vm->pid, state);
		return LAB_VM_HEALTH_ALIVE;
	}
	/* reaped already by the event loop (supervisor) */
	st = vm->exit_status;
	if (WIFSIGNALED(st))
		return lab_health_set(vm, LAB_VM_HEALTH_DEAD, "QEMU (pid %d) died: killed by signal %d",
				      (int)vm->last_pid, WTERMSIG(st));
	return lab_health_set(vm, LAB_VM_HEALTH_DEAD, "QEMU (pid %d) died: exited with status %d "
			      "(see %s)", (int)vm->last_pid, WEXITSTATUS(st), vm->qemu_log);
}

enum lab_vm_health lab_health_vm(struct lab_vm *vm, int process_only)
{
	const char *const argv[] = { "true", NULL };
	struct agent_exec_result r = { 0 };
	json_t *ret = NULL;
	const char *status;
	char err[256] = "";
	int rc;

	vm->health_why[0] = '\0';
	if (lab_health_process(vm) != LAB_VM_HEALTH_ALIVE)
		return vm->health;
	vm->health = LAB_VM_HEALTH_ALIVE;
	if (process_only)
		return vm->health;
	if (!vm->qmp)
		return lab_health_set(vm, LAB_VM_HEALTH_HUNG, "no QMP connection to QEMU (pid %d)",
				      (int)vm->pid);
	rc = qmp_client_execute(vm->qmp, "query-status", NULL, LAB_HEALTH_QMP_MS, &ret, err, sizeof(err));
	if (rc < 0)
		return lab_health_set(vm, LAB_VM_HEALTH_HUNG, "QMP query-status: %s%s%s", strerror(-rc),
				      err[0] ? ": " : "", err);
	status = json_string_value(json_object_get(ret, "status"));
	if (!status || strcmp(status, "running")) {
		lab_health_set(vm, LAB_VM_HEALTH_PAUSED, "QMP query-status: \"%s\", not \"running\"",
			       status ? status : "?");
		json_decref(ret);
		return vm->health;
	}
	json_decref(ret);
	if (!vm->agent)
		return lab_health_set(vm, LAB_VM_HEALTH_HUNG, "the agent did not accept a connection");
	rc = agent_conn_exec(vm->agent, argv, LAB_HEALTH_AGENT_MS, NULL, 0, &r, err, sizeof(err));
	if (rc < 0)
		return lab_health_set(vm, LAB_VM_HEALTH_HUNG, "the agent did not run `true`: %s%s%s",
				      strerror(-rc), err[0] ? ": " : "", err);
	if (r.status || r.timed_out)
		lab_health_set(vm, LAB_VM_HEALTH_HUNG, "the agent's `true` %s %u",
			       r.timed_out ? "timed out, status" : "exited with status", r.status);
	agent_exec_result_release(&r);
	return vm->health;
}

int lab_health_explain(struct lab_vm *vm, int ret)
{
	enum lab_vm_health h = lab_health_vm(vm, 1);

	if (h == LAB_VM_HEALTH_DEAD || h == LAB_VM_HEALTH_HUNG) {
		lab_set_err(vm->lab, "vm \"%s\" is %s: %s", vm->pvm->name, lab_health_name(h),
			    vm->health_why);
		return h == LAB_VM_HEALTH_DEAD ? -ECHILD : ret;
	}
	return ret;
}

int lab_health_require(struct lab *lab, const char *name)
{
	enum lab_vm_health h;
	size_t i;

	for (i = 0; i < lab->n_vms; i++) {
		struct lab_vm *vm = &lab->vms[i];

		if (strcmp(vm->pvm->name, name) || !vm->t[LAB_PHASE_AGENT])
			continue;
		h = lab_health_vm(vm, 1);
		if (h != LAB_VM_HEALTH_DEAD && h != LAB_VM_HEALTH_HUNG)
			return 0;
		lab_set_err(lab, "vm \"%s\" is %s: %s", vm->pvm->name, lab_health_name(h), vm->health_why);
		return h == LAB_VM_HEALTH_DEAD ? -ECHILD : -ETIMEDOUT;
	}
	return 0;
}

/* How VM's QEMU ended, "killed by signal 9" or "exited with status 1";
 * 0 when it has not (yet). Looks without reaping, as above. */
static int lab_health_how(struct lab_vm *vm, char *how, size_t len)
{
	siginfo_t si;
	int st;

	if (vm->pid > 0) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)vm->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || !si.si_pid)
			return 0;
		if (si.si_code == CLD_EXITED)
			snprintf(how, len, "exited with status %d", si.si_status);
		else
			snprintf(how, len, "killed by signal %d", si.si_status);
		return 1;
	}
	if (!vm->last_pid)
		return 0;
	st = vm->exit_status;
	if (WIFSIGNALED(st))
		snprintf(how, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(how, len, "exited with status %d", WEXITSTATUS(st));
	return 1;
}

int lab_health_dead_during(struct lab *lab, const char *what, int wait_ms)
{
	struct pollfd p[64];
	char how[64];
	size_t i, n = 0;

	/* the agent's socket closes a moment before its QEMU is a zombie:
	 * give a dying one that moment */
	for (i = 0; i < lab->n_vms && n < UTIL_ARRAY_SIZE(p); i++)
		if (lab->vms[i].t[LAB_PHASE_AGENT] && lab->vms[i].pid > 0 && lab->vms[i].pidfd >= 0)
			p[n++] = (struct pollfd){ .fd = lab->vms[i].pidfd, .events = POLLIN };
	if (n && wait_ms > 0)
		poll(p, n, wait_ms);
	for (i = 0; i < lab->n_vms; i++) {
		struct lab_vm *vm = &lab->vms[i];

		if (!vm->t[LAB_PHASE_AGENT] || vm->state == LAB_VM_EXITED ||
		    !lab_health_how(vm, how, sizeof(how)))
			continue;
		lab_health_vm(vm, 1); /* health and health_why for result.json */
		lab_set_err(lab, "vm \"%s\": QEMU exited (%s) during %s", vm->pvm->name, how, what);
		return -ECHILD;
	}
	return 0;
}

int lab_verify_alive(struct lab *lab)
{
	char msg[sizeof(lab->err)];
	size_t i, off = 0;
	int ret = 0;

	msg[0] = '\0';
	for (i = 0; i < lab->n_vms; i++) {
		struct lab_vm *vm = &lab->vms[i];
		enum lab_vm_health h;

		/* only VMs that came up; one that failed its boot is reported already */
		if (!vm->t[LAB_PHASE_AGENT] || vm->state == LAB_VM_EXITED)
			continue;
		h = lab_health_vm(vm, 0);
		if (h == LAB_VM_HEALTH_ALIVE)
			continue;
		if (off < sizeof(msg))
			off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%svm \"%s\" is %s after "
						"the checks: %s", off ? "; " : "", vm->pvm->name,
						lab_health_name(h), vm->health_why);
		if (h == LAB_VM_HEALTH_DEAD)
			ret = -ECHILD;
		else if (!ret)
			ret = -ETIMEDOUT;
	}
	/* and the host services the checks ran over (a backend daemon) */
	if (lab_service_health(lab, msg, sizeof(msg), &off) < 0)
		ret = -EPIPE;
	if (ret)
		lab_set_err(lab, "%s", msg);
	return ret;
}

int lab_test_fault_after_checks(struct lab *lab)
{
	const char *spec = getenv("UVMLAB_TEST_FAULT_AFTER_CHECKS");
	const char *colon;
	size_t i, n;
	int sig;

	if (!spec || !spec[0])
		return 0;
	colon = strchr(spec, ':');
	sig = !colon ? 0 : !strcmp(colon + 1, "KILL") ? SIGKILL : !strcmp(colon + 1, "STOP") ? SIGSTOP : 0;
	if (!sig) {
		lab_set_err(lab, "UVMLAB_TEST_FAULT_AFTER_CHECKS=%s: expected VM:KILL or VM:STOP", spec);
		return -EINVAL;
	}
	n = (size_t)(colon - spec);
	for (i = 0; i < lab->n_vms; i++) {
		struct lab_vm *vm = &lab->vms[i];

		if (strlen(vm->pvm->name) != n || strncmp(vm->pvm->name, spec, n) || vm->pid <= 0)
			continue;
		util_progress("test fault: sending SIG%s to vm %s (QEMU pid %d)", colon + 1,
			      vm->pvm->name, (int)vm->pid);
		if (kill(vm->pid, sig) < 0)
			return -errno;
		if (sig == SIGKILL) {
			/* let it die before anyone looks; lab_vm_stop() reaps it */
			siginfo_t si;

			waitid(P_PID, (id_t)vm->pid, &si, WEXITED | WNOWAIT);
		}
		return 1;
	}
	lab_set_err(lab, "UVMLAB_TEST_FAULT_AFTER_CHECKS=%s: no running vm \"%.*s\"", spec, (int)n, spec);
	return -ENOENT;
}
