/* SPDX-License-Identifier: MIT */
/* vsock_backend.h: virtio-vsock device logic for many VMs behind vhost-user. */
#ifndef UVMLAB_VSOCK_BACKEND_H
#define UVMLAB_VSOCK_BACKEND_H

#include <stdint.h>

#define VSOCK_BACKEND_MAX_VMS 64u
/* Receive buffer we advertise per host connection (credit, virtio 5.10.6.3). */
#define VSOCK_BACKEND_BUF_ALLOC (256u * 1024)
/* Bytes queued toward one VM (control packets and sibling data) before the
 * offending sibling connection is reset: a guest that never posts rx buffers
 * must not make the daemon grow. */
#define VSOCK_BACKEND_QUEUE_MAX (4u << 20)
#define VSOCK_BACKEND_MAX_CONNS 1024u

struct vsock_backend;

/* What the command line says about one VM. Strings are copied. */
struct vsock_backend_vm_spec {
	const char *name;       /* label for --allow and log lines */
	uint64_t cid;           /* guest CID (3 .. 0xfffffffe) */
	const char *vhost_sock; /* we listen here for QEMU's vhost-user chardev; NULL: none (tests) */
	const char *host_sock;  /* hybrid host socket: "CONNECT <port>\n"; "<path>_<port>" for
				 * guest-initiated connections; NULL: none (tests) */
};

/* Create an empty backend whose fds are registered with EPFD (data.ptr is a
 * struct vhost_user_watch; the caller's loop calls watch->fn). Returns 0 and
 * *out, or a negative errno. */
int vsock_backend_create(int epfd, struct vsock_backend **out);

/* Add a VM: validates the CID (unique, not reserved), the name (unique) and
 * the socket paths, replaces stale sockets at those paths and listens.
 * Returns 0, -EINVAL, -EEXIST, -ENOSPC or a socket error. */
int vsock_backend_add_vm(struct vsock_backend *b, const struct vsock_backend_vm_spec *spec);

/* Allow connections between the VMs named A and B (either side may connect).
 * Sibling traffic is denied unless allowed. Returns 0 or -ENOENT. */
int vsock_backend_allow(struct vsock_backend *b, const char *a, const char *b_name);

/* Free what the last batch of events retired (dropped devices, closed
 * connections). Call after handling every epoll_wait batch, never from
 * inside a watch callback. */
void vsock_backend_reap(struct vsock_backend *b);

/* Close every socket and device, remove the socket files we created, free.
 * Accepts NULL. */
void vsock_backend_destroy(struct vsock_backend *b);

#endif
