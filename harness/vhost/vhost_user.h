/* SPDX-License-Identifier: MIT */
/* vhost_user.h: a small vhost-user device library (framing, guest memory, device state). */
#ifndef UVMLAB_VHOST_USER_H
#define UVMLAB_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vhost_types.h>

#include "vhost/virtq.h"

/* ---------------------------------------------------------------- messages */

enum {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
};

#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_VERSION_MASK 0x3u
#define VHOST_USER_REPLY 0x4u
#define VHOST_USER_NEED_REPLY 0x8u

#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_CONFIG 9

/* Feature bits that are not in every UAPI header we build against. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

#define VHOST_USER_HDR_SIZE 12u
/* Without CONFIGURE_MEM_SLOTS QEMU passes at most 8 regions (one fd each). */
#define VHOST_USER_MAX_FDS 8u
#define VHOST_USER_MAX_REGIONS 8u
#define VHOST_USER_MAX_CONFIG 256u
/* Largest payload we accept: the config message (12 + 256). Anything larger is
 * a request we do not implement, so it is refused rather than buffered. */
#define VHOST_USER_MAX_PAYLOAD 512u
#define VHOST_USER_VRING_IDX_MASK 0xffu
#define VHOST_USER_VRING_NOFD (1u << 8)

struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_MAX_CONFIG];
};

struct vhost_user_mem_table {
	uint32_t nregions;
	uint32_t padding;
	/* vhost-user keeps mmap_offset where the kernel ABI has flags_padding. */
	struct vhost_memory_region regions[VHOST_USER_MAX_REGIONS];
};

/* One decoded message. Payload fields are valid per request (see
 * vhost_user_msg_parse); fds are owned by the message until taken. */
struct vhost_user_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	union {
		uint64_t u64;
		struct vhost_vring_state state;
		struct vhost_vring_addr addr;
		struct vhost_user_mem_table mem;
		struct vhost_user_config config;
		uint8_t raw[VHOST_USER_MAX_PAYLOAD];
	} p;
	int fds[VHOST_USER_MAX_FDS];
	uint32_t nfds;
};

/* Decode and validate one message from HDR (12 bytes) and PAYLOAD (the size
 * the header names, PAYLOAD_LEN bytes available). Checks the version bits,
 * the payload size each known request needs, region counts and config sizes.
 * Unknown requests are accepted with their raw payload (the device decides).
 * Does not touch m->fds/m->nfds. Returns 0 or -EBADMSG/-EMSGSIZE. */
int vhost_user_msg_parse(struct vhost_user_msg *m, const uint8_t *hdr,
			 const uint8_t *payload, size_t payload_len);

/* Receive one message from SOCK (blocking; the caller bounds waits with
 * SO_RCVTIMEO), with any SCM_RIGHTS fds. Returns 0, -ECONNRESET on orderly
 * close, or a negative errno; on error every received fd is closed. */
int vhost_user_msg_recv(int sock, struct vhost_user_msg *m);

/* Send a reply to REQUEST with PAYLOAD (LEN bytes, at most
 * VHOST_USER_MAX_PAYLOAD). Returns 0 or a negative errno. */
int vhost_user_msg_reply(int sock, uint32_t request, const void *payload, size_t len);

/* Close every fd still owned by M (those not taken with vhost_user_msg_take_fd). */
void vhost_user_msg_close_fds(struct vhost_user_msg *m);

/* Take ownership of fd I of M (the caller closes it); -1 when absent. */
int vhost_user_msg_take_fd(struct vhost_user_msg *m, uint32_t i);

/* ---------------------------------------------------------------- memory */

struct vhost_user_mem_region {
	uint64_t gpa;     /* guest-physical base */
	uint64_t size;
	uint64_t uva;     /* QEMU's virtual address of the same bytes */
	uint8_t *host;    /* our mapping of the region's first byte */
	void *map;        /* what to munmap (NULL: borrowed, e.g. tests) */
	size_t map_len;
};

struct vhost_user_mem {
	struct vhost_user_mem_region r[VHOST_USER_MAX_REGIONS];
	uint32_t n;
};

/* Replace MEM's regions with those of a SET_MEM_TABLE message, mapping one fd
 * per region (the message keeps the fds; mmap holds its own reference).
 * On failure MEM is left empty. Returns 0 or a negative errno. */
int vhost_user_mem_set(struct vhost_user_mem *mem, const struct vhost_user_msg *m);

/* Add a borrowed region (tests, fuzzers): HOST must stay valid while used.
 * Returns 0, -ENOSPC when full or -EINVAL for an empty/overflowing range. */
int vhost_user_mem_add(struct vhost_user_mem *mem, uint64_t gpa, uint64_t uva,
		       void *host, uint64_t size);

/* Unmap everything; MEM is empty afterwards. Accepts NULL. */
void vhost_user_mem_clear(struct vhost_user_mem *mem);

/* Host pointer for LEN bytes at guest-physical GPA, or NULL unless the whole
 * range lies in one region (LEN 0 still needs GPA inside a region). */
void *vhost_user_mem_gpa(const struct vhost_user_mem *mem, uint64_t gpa, uint64_t len);

/* Host pointer for LEN bytes at QEMU virtual address UVA, or NULL as above. */
void *vhost_user_mem_uva(const struct vhost_user_mem *mem, uint64_t uva, uint64_t len);

/* ---------------------------------------------------------------- device */

#define VHOST_USER_MAX_QUEUES 8u

struct vhost_user_dev;

/* epoll plumbing shared by every backend: epoll data.ptr points at a watch,
 * the loop calls fn(ctx, events). */
typedef void (*vhost_user_event_fn)(void *ctx, uint32_t events);
struct vhost_user_watch {
	vhost_user_event_fn fn;
	void *ctx;
};

/* What a device type plugs in. All callbacks are optional except kick. */
struct vhost_user_dev_ops {
	uint64_t features;        /* device feature bits (VERSION_1 etc. are added) */
	uint32_t nqueues;         /* rings the backend serves */
	/* Fill up to LEN bytes of config space at OFFSET; return 0 or -errno.
	 * Offering it turns on the CONFIG protocol feature. */
	int (*get_config)(void *opaque, uint32_t offset, uint8_t *buf, uint32_t len);
	/* Ring QIDX was kicked or became ready; process it. A negative return
	 * means the guest misbehaved: the device is dropped. */
	int (*kick)(void *opaque, uint32_t qidx);
	/* The vhost-user connection ended (orderly or dropped). */
	void (*disconnected)(void *opaque);
};

struct vhost_user_vring {
	struct virtq vq;
	uint64_t desc_uva, avail_uva, used_uva;
	bool have_addr;
	bool started;  /* kick fd set, not stopped by GET_VRING_BASE */
	bool enabled;  /* SET_VRING_ENABLE(1), or no PROTOCOL_FEATURES */
	int kick_fd, call_fd;
	struct vhost_user_watch kick_watch;
	struct vhost_user_dev *dev;
	uint32_t idx;
};

struct vhost_user_dev {
	const struct vhost_user_dev_ops *ops;
	void *opaque;
	const char *name;          /* for log lines; borrowed */
	int epfd;
	int sock;
	struct vhost_user_watch sock_watch;
	uint64_t acked_features;
	uint64_t acked_protocol;
	struct vhost_user_mem mem;
	struct vhost_user_vring vr[VHOST_USER_MAX_QUEUES];
	bool dead;
};

/* Create a device serving the connected vhost-user socket SOCK (taken over:
 * closed by destroy). SOCK and, later, kick fds are added to EPFD with a
 * vhost_user_watch as data.ptr; EPFD < 0 is allowed for tests. NAME labels
 * log lines. Returns 0 and *out, or a negative errno (SOCK is closed). */
int vhost_user_dev_create(int sock, int epfd, const struct vhost_user_dev_ops *ops,
			  void *opaque, const char *name, struct vhost_user_dev **out);

/* Close every fd, unmap guest memory, free. Does not call ops->disconnected.
 * Accepts NULL. */
void vhost_user_dev_destroy(struct vhost_user_dev *dev);

/* Handle one decoded message (takes the fds it keeps, closes the rest).
 * Replies go to dev->sock. Returns 0, or a negative errno when the device must
 * be dropped. Exposed for tests and fuzzers; the event loop uses it too. */
int vhost_user_dev_dispatch(struct vhost_user_dev *dev, struct vhost_user_msg *m);

/* Ring QIDX if it is started and enabled (and has memory), else NULL. */
struct virtq *vhost_user_dev_vq(struct vhost_user_dev *dev, uint32_t qidx);

/* Tell the guest about used buffers on QIDX if its notification settings
 * ask for it (EVENT_IDX or NO_INTERRUPT). Returns 0 or a negative errno. */
int vhost_user_dev_notify(struct vhost_user_dev *dev, uint32_t qidx);

#endif
