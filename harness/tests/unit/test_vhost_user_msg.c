/* SPDX-License-Identifier: MIT */
/* test_vhost_user_msg.c: vhost-user framing, size validation and fd passing on a socketpair. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/eventfd.h>

#include "vhost/vhost_user_msg.c"

static void put_hdr(uint8_t *h, uint32_t req, uint32_t flags, uint32_t size)
{
	memcpy(h, &req, 4);
	memcpy(h + 4, &flags, 4);
	memcpy(h + 8, &size, 4);
}

static void test_parse_sizes(void **state)
{
	struct vhost_user_msg m;
	uint8_t h[12], p[VHOST_USER_MAX_PAYLOAD + 16];

	memset(p, 0, sizeof(p));
	put_hdr(h, VHOST_USER_GET_FEATURES, 1, 0);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 0), 0);
	put_hdr(h, VHOST_USER_GET_FEATURES, 2, 0); /* wrong version */
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 0), -EBADMSG);
	put_hdr(h, VHOST_USER_SET_FEATURES, 1, 8);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 8), 0);
	put_hdr(h, VHOST_USER_SET_FEATURES, 1, 4);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 4), -EBADMSG);
	put_hdr(h, VHOST_USER_SET_VRING_NUM, 1, 8);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 8), 0);
	put_hdr(h, VHOST_USER_SET_VRING_NUM, 1, 12);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 12), -EBADMSG);
	put_hdr(h, VHOST_USER_SET_VRING_ADDR, 1, 40);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 40), 0);
	put_hdr(h, VHOST_USER_SET_VRING_ADDR, 1, 40);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 20), -EBADMSG); /* truncated */
	put_hdr(h, 999, 1, VHOST_USER_MAX_PAYLOAD + 1);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, sizeof(p)), -EMSGSIZE);
	put_hdr(h, 999, 1, 3); /* unknown: raw payload, device decides */
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 3), 0);
}

static void test_parse_mem_table(void **state)
{
	struct vhost_user_msg m;
	uint8_t h[12], p[VHOST_USER_MAX_PAYLOAD];
	uint32_t n;

	memset(p, 0, sizeof(p));
	n = 1;
	memcpy(p, &n, 4);
	put_hdr(h, VHOST_USER_SET_MEM_TABLE, 1, 8 + 32);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 40), 0);
	assert_int_equal(m.p.mem.nregions, 1);
	put_hdr(h, VHOST_USER_SET_MEM_TABLE, 1, 8 + 64); /* size says two, count one */
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 72), -EBADMSG);
	n = 0;
	memcpy(p, &n, 4);
	put_hdr(h, VHOST_USER_SET_MEM_TABLE, 1, 8);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 8), -EBADMSG);
	n = 9;
	memcpy(p, &n, 4);
	put_hdr(h, VHOST_USER_SET_MEM_TABLE, 1, 8 + 9 * 32);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 8 + 9 * 32), -EBADMSG);
	put_hdr(h, VHOST_USER_SET_MEM_TABLE, 1, 4);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 4), -EBADMSG);
}

static void test_parse_config(void **state)
{
	struct vhost_user_msg m;
	uint8_t h[12], p[VHOST_USER_MAX_PAYLOAD];
	uint32_t v;

	memset(p, 0, sizeof(p));
	v = 8;
	memcpy(p + 4, &v, 4);
	put_hdr(h, VHOST_USER_GET_CONFIG, 1, 20);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 20), 0);
	put_hdr(h, VHOST_USER_GET_CONFIG, 1, 21);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 21), -EBADMSG);
	v = 300;
	memcpy(p + 4, &v, 4);
	put_hdr(h, VHOST_USER_GET_CONFIG, 1, 12 + 300);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 312), -EBADMSG);
	v = 250; /* offset + size beyond the config space */
	memcpy(p, &v, 4);
	v = 8;
	memcpy(p + 4, &v, 4);
	put_hdr(h, VHOST_USER_GET_CONFIG, 1, 20);
	assert_int_equal(vhost_user_msg_parse(&m, h, p, 20), -EBADMSG);
}

static void send_with_fd(int sock, const uint8_t *buf, size_t len, int fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &mh, 0), (ssize_t)len);
}

static void test_recv_fd_and_reply(void **state)
{
	struct vhost_user_msg m;
	uint8_t buf[20], rep[32];
	uint64_t idx = 1, v = 0;
	int sv[2], efd;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	put_hdr(buf, VHOST_USER_SET_VRING_KICK, 1, 8);
	memcpy(buf + 12, &idx, 8);
	send_with_fd(sv[1], buf, sizeof(buf), efd);
	close(efd);
	assert_int_equal(vhost_user_msg_recv(sv[0], &m), 0);
	assert_int_equal(m.request, VHOST_USER_SET_VRING_KICK);
	assert_int_equal(m.nfds, 1);
	efd = vhost_user_msg_take_fd(&m, 0);
	assert_true(efd >= 0);
	assert_int_equal(vhost_user_msg_take_fd(&m, 0), -1);
	assert_int_equal(write(efd, &idx, 8), 8); /* the fd really works */
	assert_int_equal(read(efd, &v, 8), 8);
	close(efd);
	vhost_user_msg_close_fds(&m);

	/* A bad message closes its fds and reports the error. */
	put_hdr(buf, VHOST_USER_SET_VRING_KICK, 0, 8);
	send_with_fd(sv[1], buf, sizeof(buf), sv[1]);
	assert_int_equal(vhost_user_msg_recv(sv[0], &m), -EBADMSG);
	assert_int_equal(m.nfds, 0);

	assert_int_equal(vhost_user_msg_reply(sv[0], VHOST_USER_GET_FEATURES, &idx, 8), 0);
	assert_int_equal(read(sv[1], rep, sizeof(rep)), 20);
	memcpy(&v, rep + 4, 4);
	assert_int_equal((uint32_t)v, VHOST_USER_VERSION | VHOST_USER_REPLY);

	close(sv[1]);
	assert_int_equal(vhost_user_msg_recv(sv[0], &m), -ECONNRESET);
	close(sv[0]);
}

static void test_recv_oversize(void **state)
{
	struct vhost_user_msg m;
	uint8_t buf[12];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	put_hdr(buf, 999, 1, 1u << 30);
	assert_int_equal(write(sv[1], buf, 12), 12);
	assert_int_equal(vhost_user_msg_recv(sv[0], &m), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_sizes),
		cmocka_unit_test(test_parse_mem_table),
		cmocka_unit_test(test_parse_config),
		cmocka_unit_test(test_recv_fd_and_reply),
		cmocka_unit_test(test_recv_oversize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
