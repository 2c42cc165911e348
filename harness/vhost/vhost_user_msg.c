/* SPDX-License-Identifier: MIT */
/* vhost_user_msg.c: vhost-user message framing and validation, fds via SCM_RIGHTS. */
#include "vhost/vhost_user.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t vhost_user_msg_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

int vhost_user_msg_parse(struct vhost_user_msg *m, const uint8_t *hdr,
			 const uint8_t *payload, size_t payload_len)
{
	uint32_t need = 0;
	bool exact = true;

	m->request = vhost_user_msg_get32(hdr);
	m->flags = vhost_user_msg_get32(hdr + 4);
	m->size = vhost_user_msg_get32(hdr + 8);
	if ((m->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		return -EBADMSG;
	if (m->size > VHOST_USER_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (payload_len < m->size)
		return -EBADMSG;
	memset(&m->p, 0, sizeof(m->p));
	memcpy(m->p.raw, payload, m->size);

	switch (m->request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_SET_OWNER:
	case VHOST_USER_RESET_OWNER:
		/* No payload, but QEMU has been seen sending a zero u64; accept both. */
		exact = false;
		break;
	case VHOST_USER_SET_FEATURES:
	case VHOST_USER_SET_PROTOCOL_FEATURES:
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		need = sizeof(uint64_t);
		break;
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
		need = sizeof(struct vhost_vring_state);
		break;
	case VHOST_USER_SET_VRING_ADDR:
		need = sizeof(struct vhost_vring_addr);
		break;
	case VHOST_USER_SET_MEM_TABLE:
		if (m->size < 8)
			return -EBADMSG;
		if (m->p.mem.nregions == 0 || m->p.mem.nregions > VHOST_USER_MAX_REGIONS)
			return -EBADMSG;
		need = 8 + m->p.mem.nregions * (uint32_t)sizeof(struct vhost_memory_region);
		break;
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		if (m->size < 12)
			return -EBADMSG;
		if (m->p.config.size > VHOST_USER_MAX_CONFIG ||
		    m->p.config.offset > VHOST_USER_MAX_CONFIG ||
		    m->p.config.offset + m->p.config.size > VHOST_USER_MAX_CONFIG)
			return -EBADMSG;
		need = 12 + m->p.config.size;
		break;
	default:
		exact = false;
		break;
	}
	if (exact && m->size != need)
		return -EBADMSG;
	return 0;
}

void vhost_user_msg_close_fds(struct vhost_user_msg *m)
{
	uint32_t i;

	for (i = 0; i < m->nfds && i < VHOST_USER_MAX_FDS; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
}

int vhost_user_msg_take_fd(struct vhost_user_msg *m, uint32_t i)
{
	int fd;

	if (i >= m->nfds || i >= VHOST_USER_MAX_FDS)
		return -1;
	fd = m->fds[i];
	m->fds[i] = -1;
	return fd;
}

/* Read exactly LEN bytes; the socket's SO_RCVTIMEO bounds the wait. */
static int vhost_user_msg_read_full(int sock, uint8_t *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = recv(sock, buf + off, len - off, 0);
		if (n == 0)
			return -EBADMSG;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

int vhost_user_msg_recv(int sock, struct vhost_user_msg *m)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	uint8_t hdr[VHOST_USER_HDR_SIZE], payload[VHOST_USER_MAX_PAYLOAD];
	struct iovec iov = { .iov_base = hdr, .iov_len = sizeof(hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	uint32_t size, i, n;
	ssize_t got;
	int ret;

	m->nfds = 0;
	for (i = 0; i < VHOST_USER_MAX_FDS; i++)
		m->fds[i] = -1;
	do {
		got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	if (got == 0)
		return -ECONNRESET;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (uint32_t)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nfds < VHOST_USER_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
	ret = -EBADMSG;
	if (mh.msg_flags & MSG_CTRUNC)
		goto fail;
	if ((size_t)got < sizeof(hdr)) {
		ret = vhost_user_msg_read_full(sock, hdr + got, sizeof(hdr) - (size_t)got);
		if (ret < 0)
			goto fail;
	}
	size = vhost_user_msg_get32(hdr + 8);
	ret = -EMSGSIZE;
	if (size > VHOST_USER_MAX_PAYLOAD)
		goto fail;
	ret = vhost_user_msg_read_full(sock, payload, size);
	if (ret < 0)
		goto fail;
	ret = vhost_user_msg_parse(m, hdr, payload, size);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	vhost_user_msg_close_fds(m);
	return ret;
}

int vhost_user_msg_reply(int sock, uint32_t request, const void *payload, size_t len)
{
	uint8_t buf[VHOST_USER_HDR_SIZE + VHOST_USER_MAX_PAYLOAD];
	uint32_t flags = VHOST_USER_VERSION | VHOST_USER_REPLY, size = (uint32_t)len;
	size_t off = 0, total;
	ssize_t n;

	if (len > VHOST_USER_MAX_PAYLOAD)
		return -EMSGSIZE;
	memcpy(buf, &request, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &size, 4);
	if (len)
		memcpy(buf + VHOST_USER_HDR_SIZE, payload, len);
	total = VHOST_USER_HDR_SIZE + len;
	while (off < total) {
		n = send(sock, buf + off, total - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}
