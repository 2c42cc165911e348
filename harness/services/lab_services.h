/* SPDX-License-Identifier: MIT */
/* lab_services.h: the host services uvmlab ships, and what roles, checks and benchmarks may ask of them.
 *
 * Each service is a struct service_ops (service.h) in its own file, listed
 * in services.c. The functions below read a service's state in a lab; they
 * are safe whether or not the scenario wanted the service (they then return
 * "", 0 or NULL as documented) and never block unless they say so.
 */
#ifndef UVMLAB_LAB_SERVICES_H
#define UVMLAB_LAB_SERVICES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lab/lab_plugin.h"
#include "services/service.h"

extern const struct service_ops lab_vsock_service;    /* lab_vsock.c */
extern const struct service_ops lab_internet_service; /* lab_internet.c */
extern const struct service_ops lab_tor_service;      /* lab_tor.c */

/* --- vsock backend (uvmlab-vsockd), lab_vsock.c --------------------------- */

/* VM NAME's hybrid vsock host socket (connect, "CONNECT PORT"; listen on
 * PATH_PORT), or NULL when there is no VM NAME. Known from lab_create() on. */
const char *lab_vm_vsock_host(const struct lab *lab, const char *name);
/* uvmlab-vsockd's pid while it runs, else 0 (benchmarks read its CPU time). */
pid_t lab_vsock_pid(const struct lab *lab);
/* Is the vsock carrier up: uvmlab-vsockd alive, not stopped, and its event
 * loop answering on a host socket within 2 s? 0 (also when the scenario has
 * no vsock), -EPIPE when it died, -ETIMEDOUT or another negative errno when
 * it does not answer; lab_error() names the daemon, e.g. "vsock backend
 * uvmlab-vsockd (pid 412) died: killed by signal 9 (see ...)". */
int lab_vsock_health(struct lab *lab);

/* --- fake internet, lab_internet.c --------------------------------------- */

/* RESULTS/internet.log, the web/DNS fixture's JSON lines; "" when it does
 * not run. */
const char *lab_internet_log(const struct lab *lab);
/* The web/DNS fixture's pid while it runs, else 0. */
pid_t lab_internet_web_pid(const struct lab *lab);
/* Where the fixture scripts live (set once the service started, else ""). */
const char *lab_internet_fixtures_dir(const struct lab *lab);
/* Run ARGV in the internet's namespace in the background, output appended
 * to OUT_PATH, dying with us. 0 with *PID, -ENOTCONN before the service
 * started, or negative errno. */
int lab_internet_spawn(struct lab *lab, const char *const *argv, const char *out_path, pid_t *pid);
/* lab_internet_spawn(), then wait for it up to TIMEOUT_MS (killed after).
 * Its exit code, or negative errno. */
int lab_internet_run(struct lab *lab, const char *const *argv, const char *out_path, int timeout_ms);

/* --- private Tor network, lab_tor.c ------------------------------------- */

/* RUNDIR/tor once the network was generated (client.torrc, network.json
 * are there), else "". */
const char *lab_tor_dir(const struct lab *lab);
/* The exits' addresses (host order) into *EXITS; returns how many (0 before
 * the network was generated). */
size_t lab_tor_exits(const struct lab *lab, const uint32_t **exits);
/* Wait for the network's bootstrap (bounded by TIMEOUT_S), keeping the lab's
 * event loop running. 0 (also when not wanted), -EINTR on a stop signal,
 * -ETIMEDOUT or negative errno (lab_error() set). */
int lab_tor_wait(struct lab *lab, int timeout_s);

#endif
