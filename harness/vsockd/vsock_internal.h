/* SPDX-License-Identifier: MIT */
/* vsock_internal.h: state and cross-file functions of the vsock backend; private to vsockd/. */
#ifndef UVMLAB_VSOCK_INTERNAL_H
#define UVMLAB_VSOCK_INTERNAL_H

/*
 * The backend is cut by concern, all sharing the structures below:
 *   vsock_backend.c  VM table, vhost-user device glue, lifecycle (public API)
 *   vsock_tx.c       the guest's tx ring: one packet at a time, dispatched by CID
 *   vsock_conn.c     connections to host Unix sockets (state machine, credit)
 *   vsock_link.c     connections between two guests (allow matrix, credit)
 *   vsock_rx.c       the queue toward a guest and filling its rx ring
 * Everything runs on the daemon's one epoll thread; no function here locks.
 * Header fields (struct virtio_vsock_hdr) are little-endian as on the wire.
 */

#include "vsockd/vsock_backend.h"
#include "vhost/vhost_user.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>
#include <linux/virtio_vsock.h>

#define VSOCK_HOST_CID 2u
#define VSOCK_RXQ 0u
#define VSOCK_TXQ 1u
#define VSOCK_HDR ((uint32_t)sizeof(struct virtio_vsock_hdr))
/* Linux never sends more per packet (VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VSOCK_MAX_PAYLOAD (64u * 1024)
#define VSOCK_LINE_MAX 64u
#define VSOCK_FIRST_HOST_PORT 49152u

/* A packet waiting for rx buffers; sent piecewise when buffers are small. */
struct vsock_pkt {
	struct vsock_pkt *next;
	struct virtio_vsock_hdr hdr;
	uint32_t len, off;
	uint8_t data[];
};

enum vsock_conn_state {
	VSOCK_CONN_LINE,        /* host connected, reading "CONNECT <port>\n" */
	VSOCK_CONN_CONNECTING,  /* REQUEST sent to the guest */
	VSOCK_CONN_ESTABLISHED,
	VSOCK_CONN_CLOSING,     /* guest is done; flush what we hold, then close */
	VSOCK_CONN_DEAD,        /* freed by vsock_backend_reap */
};

/* A guest connection whose other end is a Unix socket on the host. */
struct vsock_conn {
	struct vsock_conn *next;
	struct vsock_vm *vm;
	enum vsock_conn_state state;
	uint32_t guest_port, host_port;
	int fd;
	uint32_t events;
	struct vhost_user_watch watch;
	char line[VSOCK_LINE_MAX];
	uint32_t line_len;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt; /* toward the guest */
	uint32_t fwd_cnt, fwd_sent;                    /* from the guest */
	uint8_t *buf;                                  /* guest bytes the host has not taken */
	uint32_t buf_len;
	bool host_eof, guest_no_send, guest_no_recv, rx_blocked;
	bool unwatched; /* host hung up: out of epoll, pumped from kicks */
};

/* Two guests talking; we forward and hold each side to the other's credit. */
struct vsock_link {
	struct vsock_link *next;
	struct vsock_vm *vm[2];
	uint32_t port[2];
	uint32_t buf_alloc[2], fwd_cnt[2], tx_cnt[2];
};

struct vsock_vm {
	struct vsock_backend *b;
	uint32_t index;
	char name[64];
	uint64_t cid;
	char vhost_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int vhost_lfd, host_lfd;
	struct vhost_user_watch vhost_lwatch, host_lwatch;
	struct vhost_user_dev *dev;
	bool dev_dead;
	struct vsock_conn *conns;
	uint32_t nconns;
	struct vsock_pkt *q_head, *q_tail;
	uint64_t q_bytes;
	uint32_t next_port;
	uint64_t spoofed;
};

struct vsock_backend {
	int epfd;
	struct vsock_vm *vms[VSOCK_BACKEND_MAX_VMS];
	uint32_t nvms;
	uint8_t allow[VSOCK_BACKEND_MAX_VMS][VSOCK_BACKEND_MAX_VMS];
	struct vsock_link *links;
	uint8_t scratch[VSOCK_MAX_PAYLOAD];
};

/* ---------------------------------------------------------------- vsock_backend.c */

/* Log one line "vsockd: vm "NAME": ..." to stderr. */
void vsock_backend_log(const struct vsock_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* True when VM (may be NULL) has a live vhost-user device to talk to. */
bool vsock_backend_running(const struct vsock_vm *vm);

/* Mark VM's device for removal, logging WHY once; vsock_backend_reap()
 * after this batch of events frees it. */
void vsock_backend_drop(struct vsock_vm *vm, const char *why);

/* The VM whose guest CID is CID, or NULL. */
struct vsock_vm *vsock_backend_vm_by_cid(struct vsock_backend *b, uint64_t cid);

/* ---------------------------------------------------------------- vsock_tx.c */

/* Handle one guest packet: header H (as read from the ring) and LEN payload
 * bytes at DATA. Spoofed source CIDs are dropped, unknown destinations get an
 * RST. Returns 0, or negative when the guest broke flow control and must be
 * dropped. */
int vsock_tx_packet(struct vsock_vm *vm, const struct virtio_vsock_hdr *h,
		    const uint8_t *data, uint32_t len);

/* Drain up to a budget of packets from VM's tx ring. Returns 1 when more may
 * be waiting (call again), 0 when the ring is empty, negative when the device
 * was dropped (already marked). */
int vsock_tx_ring(struct vsock_vm *vm);

/* ---------------------------------------------------------------- vsock_conn.c */

/* Credit the guest leaves us on C: bytes we may still send it. */
uint32_t vsock_conn_credit(const struct vsock_conn *c);

/* Fill *H as a packet from the host side (CID 2) of C, carrying our credit. */
void vsock_conn_hdr(const struct vsock_conn *c, uint16_t op, uint32_t flags,
		    struct virtio_vsock_hdr *h);

/* Queue a control packet OP (REQUEST, RESPONSE, RST, ...) toward C's guest. */
void vsock_conn_ctl(struct vsock_conn *c, uint16_t op, uint32_t flags);

/* Bring C's epoll interest in line with its state, buffer and credit. */
void vsock_conn_rearm(struct vsock_conn *c);

/* Close C's socket and free its buffer; C stays listed as DEAD until
 * vsock_backend_reap(). Safe to call twice. */
void vsock_conn_kill(struct vsock_conn *c);

/* Watch callback of VM's host listening socket (ctx is the struct vsock_vm). */
void vsock_conn_accept(void *ctx, uint32_t events);

/* A guest packet addressed to CID 2. Returns 0, or -EPROTO when the guest
 * sent beyond the credit we gave. */
int vsock_conn_packet(struct vsock_vm *vm, const struct virtio_vsock_hdr *h,
		      const uint8_t *data, uint32_t len);

/* ---------------------------------------------------------------- vsock_link.c */

/* A guest packet from VM to sibling PEER: opened only when the pair is
 * allowed, forwarded within the receiver's credit. Returns 0, or -EPROTO
 * when VM sent beyond PEER's credit. */
int vsock_link_packet(struct vsock_vm *vm, struct vsock_vm *peer,
		      const struct virtio_vsock_hdr *h, const uint8_t *data, uint32_t len);

/* Queue an RST to both running ends of L, then free it. */
void vsock_link_reset(struct vsock_backend *b, struct vsock_link *l);

/* Unlist L from B and free it. */
void vsock_link_free(struct vsock_backend *b, struct vsock_link *l);

/* ---------------------------------------------------------------- vsock_rx.c */

/* Queue a packet toward VM: header HDR (its len is set to LEN) and LEN bytes
 * of DATA, copied. Returns 0, -ENOBUFS past VSOCK_BACKEND_QUEUE_MAX, or
 * -ENOMEM. */
int vsock_rx_enqueue(struct vsock_vm *vm, const struct virtio_vsock_hdr *hdr,
		     const void *data, uint32_t len);

/* Free every packet queued toward VM. */
void vsock_rx_queue_free(struct vsock_vm *vm);

/* Queue an RST toward VM's port DST_PORT from SRC_CID:SRC_PORT (host byte
 * order). Best effort: a full queue drops it. */
void vsock_rx_rst(struct vsock_vm *vm, uint64_t src_cid, uint32_t src_port, uint32_t dst_port);

/* Queue an RST answering guest packet IN (ends swapped); never for an RST.
 * Best effort, as vsock_rx_rst(). */
void vsock_rx_reply_rst(struct vsock_vm *vm, const struct virtio_vsock_hdr *in);

/* Fill VM's rx ring: queued packets first, then host bytes of connection C
 * (NULL: none) within its credit; notify the guest if anything was pushed.
 * Marks C rx_blocked when the guest has no buffers. */
void vsock_rx_fill(struct vsock_vm *vm, struct vsock_conn *c);

#endif
