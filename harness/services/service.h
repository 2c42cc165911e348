/* SPDX-License-Identifier: MIT */
/* service.h: host-side helpers a scenario asks for (backend daemons, fixtures), as plug-ins.
 *
 * A service is one `const struct service_ops` with designated initializers,
 * listed in services.c's registry. The lab core calls its hooks at fixed
 * points of a run and knows nothing else of it; adding a service is one new
 * file plus one registry entry.
 *
 * Life of a run, as the lab core drives it:
 *   lab_create()   state_size bytes are zeroed for every registered service,
 *                  then init(lab, state); wanted(plan) is asked once.
 *   lab_prepare()  once the run's network namespace exists and before the
 *                  first VM: start() of every wanted service, in registry
 *                  order (a later service may rely on an earlier one).
 *   each VM start  vm_argv() may add to the VM's QEMU spec; vm_taps() runs
 *                  once the VM's taps exist and before QEMU starts.
 *   state.json     netns_fd() names a network namespace the service owns:
 *                  the reaper of a killed run may kill what runs there.
 *   roles          wait() blocks (bounded) until the service is usable,
 *                  keeping the lab's event loop running (lab_poll()).
 *   lab_verify_alive()  health() after the checks.
 *   lab_down()     stop() of every wanted service, in reverse order, after
 *                  the VMs stopped and before the namespace goes.
 *   lab_destroy()  destroy(state): free what init() or start() allocated.
 * Every hook but name and wanted may be NULL. Hooks get the lab and the
 * service's own state block; they return 0 or a negative errno with
 * lab_error() set (lab_set_err()), with the service named in the message.
 * stop() must be safe after a failed or missing start().
 *
 * To add a service: services/lab_NAME.c defining
 * `const struct service_ops lab_NAME_service` (its state struct private to
 * that file, reached through lab_service_state()); its extern and whatever
 * roles or checks may ask of it in lab_services.h; one entry in services.c
 * (mind the start order); the file in harness/harness.mk. Nothing in lab/
 * or qemu/ changes: a backend daemon adds its QEMU device in vm_argv()
 * (qemu_argv_spec_vhost_user()).
 */
#ifndef UVMLAB_SERVICE_H
#define UVMLAB_SERVICE_H

#include <stddef.h>

#include "lab/lab_plugin.h"
#include "plan/plan.h"
#include "qemu/qemu_argv.h"

struct service_ops {
	const char *name;          /* for messages: "vsock backend", "fake internet" */
	size_t state_size;         /* bytes of per-lab state, 0 for none */
	int (*wanted)(const struct plan *plan);
	void (*init)(struct lab *lab, void *state);
	int (*start)(struct lab *lab, void *state);
	int (*wait)(struct lab *lab, void *state, int timeout_s);
	int (*vm_argv)(struct lab *lab, void *state, struct lab_vm *vm, struct qemu_vm_spec *spec);
	int (*vm_taps)(struct lab *lab, void *state, struct lab_vm *vm);
	/* -1 when it has none (yet) */
	int (*netns_fd)(const struct lab *lab, const void *state);
	/* 0 alive; -EPIPE gone; -ETIMEDOUT or another errno: not answering */
	int (*health)(struct lab *lab, void *state);
	void (*stop)(struct lab *lab, void *state);
	void (*destroy)(void *state);
};

/* The registry: every service uvmlab knows, in start order. *N gets the
 * count. The array and its entries are static. */
const struct service_ops *const *services_registry(size_t *n);

/* wait() of the service called NAME in LAB: 0 when it is not wanted or has
 * no wait hook; else what wait() returned. -ENOENT for an unknown NAME. */
int services_wait(struct lab *lab, const char *name, int timeout_s);

#endif
