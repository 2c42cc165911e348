/* SPDX-License-Identifier: MIT */
/* test_vsock_backend.c: guest packet handling: spoofing, RST, siblings, credit, host sockets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "vsockd/vsock_backend.c"

struct fx {
	struct vsock_backend *b;
	int epfd;
	int peers[3];     /* QEMU's ends of the vhost-user sockets */
	char dir[64];
};

static struct vsock_vm *vm_of(struct fx *f, uint32_t i)
{
	return f->b->vms[i];
}

/* A device with no rings: packets for the guest stay queued, so the test can
 * read them back from vm->q_head. */
static void attach_dev(struct fx *f, uint32_t i)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vhost_user_dev_create(sv[0], -1, &vsock_backend_dev_ops, vm_of(f, i),
					       vm_of(f, i)->name, &vm_of(f, i)->dev), 0);
	f->peers[i] = sv[1];
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vsock_backend_vm_spec s = { .name = "a", .cid = 3 };
	char host[128];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/uvmlab-vsock-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	assert_int_equal(vsock_backend_create(f->epfd, &f->b), 0);
	snprintf(host, sizeof(host), "%s/a.host", f->dir);
	s.host_sock = host;
	assert_int_equal(vsock_backend_add_vm(f->b, &s), 0);
	s.name = "b";
	s.cid = 4;
	s.host_sock = NULL;
	assert_int_equal(vsock_backend_add_vm(f->b, &s), 0);
	s.name = "c";
	s.cid = 5;
	assert_int_equal(vsock_backend_add_vm(f->b, &s), 0);
	assert_int_equal(vsock_backend_allow(f->b, "a", "b"), 0);
	attach_dev(f, 0);
	attach_dev(f, 1);
	attach_dev(f, 2);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	uint32_t i;
	char cmd[128];

	vsock_backend_destroy(f->b);
	for (i = 0; i < 3; i++)
		close(f->peers[i]);
	close(f->epfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct virtio_vsock_hdr hdr(uint64_t src, uint64_t dst, uint32_t sp, uint32_t dp,
				   uint16_t op, uint32_t len)
{
	struct virtio_vsock_hdr h;

	memset(&h, 0, sizeof(h));
	h.src_cid = htole64(src);
	h.dst_cid = htole64(dst);
	h.src_port = htole32(sp);
	h.dst_port = htole32(dp);
	h.len = htole32(len);
	h.type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h.op = htole16(op);
	h.buf_alloc = htole32(65536);
	return h;
}

/* Pop the first packet queued for VM, NULL when none; caller frees. */
static struct vsock_pkt *pop_q(struct vsock_vm *vm)
{
	struct vsock_pkt *p = vm->q_head;

	if (!p)
		return NULL;
	vm->q_head = p->next;
	if (!vm->q_head)
		vm->q_tail = NULL;
	vm->q_bytes -= p->len + VSOCK_HDR;
	return p;
}

static void expect_op(struct vsock_vm *vm, uint16_t op, uint64_t src, uint32_t sp, uint32_t dp)
{
	struct vsock_pkt *p = pop_q(vm);

	assert_non_null(p);
	assert_int_equal(le16toh(p->hdr.op), op);
	assert_int_equal(le64toh(p->hdr.src_cid), src);
	assert_int_equal(le64toh(p->hdr.dst_cid), vm->cid);
	assert_int_equal(le32toh(p->hdr.src_port), sp);
	assert_int_equal(le32toh(p->hdr.dst_port), dp);
	free(p);
}

static void test_spoofed_dropped(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h = hdr(4, 2, 1000, 80, VIRTIO_VSOCK_OP_REQUEST, 0);

	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, NULL, 0), 0);
	assert_null(vm_of(f, 0)->q_head);
	assert_null(vm_of(f, 1)->q_head);
	assert_int_equal(vm_of(f, 0)->spoofed, 1);
}

static void test_unknown_conn_rst(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h = hdr(3, 2, 1000, 80, VIRTIO_VSOCK_OP_RW, 3);

	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, (const uint8_t *)"abc", 3), 0);
	expect_op(vm_of(f, 0), VIRTIO_VSOCK_OP_RST, 2, 80, 1000);
	/* An RST for nothing gets no answer (no RST storms). */
	h = hdr(3, 2, 1000, 80, VIRTIO_VSOCK_OP_RST, 0);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, NULL, 0), 0);
	assert_null(vm_of(f, 0)->q_head);
	/* Unknown destination CID and wrong socket type: RST. */
	h = hdr(3, 77, 1000, 80, VIRTIO_VSOCK_OP_REQUEST, 0);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, NULL, 0), 0);
	expect_op(vm_of(f, 0), VIRTIO_VSOCK_OP_RST, 77, 80, 1000);
	h = hdr(3, 4, 1000, 80, VIRTIO_VSOCK_OP_REQUEST, 0);
	h.type = htole16(2);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, NULL, 0), 0);
	expect_op(vm_of(f, 0), VIRTIO_VSOCK_OP_RST, 4, 80, 1000);
	assert_null(vm_of(f, 1)->q_head);
}

static void test_sibling_allowed_then_exit(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h = hdr(3, 4, 1000, 80, VIRTIO_VSOCK_OP_REQUEST, 0);

	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, NULL, 0), 0);
	expect_op(vm_of(f, 1), VIRTIO_VSOCK_OP_REQUEST, 3, 1000, 80);
	assert_non_null(f->b->links);
	h = hdr(4, 3, 80, 1000, VIRTIO_VSOCK_OP_RESPONSE, 0);
	assert_int_equal(vsock_tx_packet(vm_of(f, 1), &h, NULL, 0), 0);
	expect_op(vm_of(f, 0), VIRTIO_VSOCK_OP_RESPONSE, 4, 80, 1000);
	h = hdr(3, 4, 1000, 80, VIRTIO_VSOCK_OP_RW, 5);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, (const uint8_t *)"hello", 5), 0);
	assert_int_equal(vm_of(f, 1)->q_head->len, 5);
	assert_memory_equal(vm_of(f, 1)->q_head->data, "hello", 5);
	free(pop_q(vm_of(f, 1)));

	/* a's device goes away: b gets an RST for the shared connection. */
	vsock_backend_drop(vm_of(f, 0), "test");
	vsock_backend_reap(f->b);
	assert_null(vm_of(f, 0)->dev);
	assert_null(f->b->links);
	expect_op(vm_of(f, 1), VIRTIO_VSOCK_OP_RST, 3, 1000, 80);
}

static void test_sibling_denied(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h = hdr(5, 4, 1000, 80, VIRTIO_VSOCK_OP_REQUEST, 0);

	assert_int_equal(vsock_tx_packet(vm_of(f, 2), &h, NULL, 0), 0);
	assert_null(vm_of(f, 1)->q_head);
	assert_null(f->b->links);
	expect_op(vm_of(f, 2), VIRTIO_VSOCK_OP_RST, 4, 80, 1000);
	/* Data without a connection does not leak through either. */
	h = hdr(5, 4, 1000, 80, VIRTIO_VSOCK_OP_RW, 1);
	assert_int_equal(vsock_tx_packet(vm_of(f, 2), &h, (const uint8_t *)"x", 1), 0);
	assert_null(vm_of(f, 1)->q_head);
	expect_op(vm_of(f, 2), VIRTIO_VSOCK_OP_RST, 4, 80, 1000);
}

static void test_sibling_credit_abuse(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h = hdr(3, 4, 1000, 80, VIRTIO_VSOCK_OP_REQUEST, 0);
	static uint8_t data[VSOCK_MAX_PAYLOAD];

	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, NULL, 0), 0);
	h = hdr(4, 3, 80, 1000, VIRTIO_VSOCK_OP_RESPONSE, 0);
	h.buf_alloc = htole32(4096); /* b can hold 4 KiB */
	assert_int_equal(vsock_tx_packet(vm_of(f, 1), &h, NULL, 0), 0);
	h = hdr(3, 4, 1000, 80, VIRTIO_VSOCK_OP_RW, 4096);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, data, 4096), 0);
	h = hdr(3, 4, 1000, 80, VIRTIO_VSOCK_OP_RW, 1);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, data, 1), -EPROTO);
	/* Once b reports it consumed the bytes, a may send again. */
	h = hdr(4, 3, 80, 1000, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	h.buf_alloc = htole32(4096);
	h.fwd_cnt = htole32(4096);
	assert_int_equal(vsock_tx_packet(vm_of(f, 1), &h, NULL, 0), 0);
	h = hdr(3, 4, 1000, 80, VIRTIO_VSOCK_OP_RW, 1);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, data, 1), 0);
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void test_guest_to_host(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h = hdr(3, 2, 1000, 6000, VIRTIO_VSOCK_OP_REQUEST, 0);
	static uint8_t data[VSOCK_MAX_PAYLOAD];
	char path[128], got[8];
	int lfd, fd, i, ret = 0;

	/* Nobody listens on port 6000 yet: RST. */
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, NULL, 0), 0);
	expect_op(vm_of(f, 0), VIRTIO_VSOCK_OP_RST, 2, 6000, 1000);

	snprintf(path, sizeof(path), "%s/a.host_6000", f->dir);
	lfd = listen_at(path);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, NULL, 0), 0);
	expect_op(vm_of(f, 0), VIRTIO_VSOCK_OP_RESPONSE, 2, 6000, 1000);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	h = hdr(3, 2, 1000, 6000, VIRTIO_VSOCK_OP_RW, 4);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, (const uint8_t *)"ping", 4), 0);
	assert_int_equal(read(fd, got, sizeof(got)), 4);
	assert_memory_equal(got, "ping", 4);

	/* The host stops reading; a guest ignoring our 256 KiB credit is caught. */
	h = hdr(3, 2, 1000, 6000, VIRTIO_VSOCK_OP_RW, sizeof(data));
	for (i = 0; i < 200 && ret == 0; i++)
		ret = vsock_tx_packet(vm_of(f, 0), &h, data, sizeof(data));
	assert_int_equal(ret, -EPROTO);
	close(fd);
	close(lfd);
}

static void test_guest_close_flushes(void **state)
{
	struct fx *f = *state;
	struct virtio_vsock_hdr h = hdr(3, 2, 1001, 6001, VIRTIO_VSOCK_OP_REQUEST, 0);
	char path[128], got[8];
	int lfd, fd;

	snprintf(path, sizeof(path), "%s/a.host_6001", f->dir);
	lfd = listen_at(path);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, NULL, 0), 0);
	expect_op(vm_of(f, 0), VIRTIO_VSOCK_OP_RESPONSE, 2, 6001, 1001);
	fd = accept(lfd, NULL, NULL);
	h = hdr(3, 2, 1001, 6001, VIRTIO_VSOCK_OP_RW, 3);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, (const uint8_t *)"bye", 3), 0);
	h = hdr(3, 2, 1001, 6001, VIRTIO_VSOCK_OP_SHUTDOWN, 0);
	h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	assert_int_equal(vsock_tx_packet(vm_of(f, 0), &h, NULL, 0), 0);
	expect_op(vm_of(f, 0), VIRTIO_VSOCK_OP_RST, 2, 6001, 1001);
	/* The host reads everything, then EOF. */
	assert_int_equal(read(fd, got, sizeof(got)), 3);
	assert_int_equal(read(fd, got, sizeof(got)), 0);
	close(fd);
	close(lfd);
}

static void test_config_and_add_rejects(void **state)
{
	struct fx *f = *state;
	struct vsock_backend_vm_spec s = { .name = "d", .cid = 4 };
	uint8_t cfg[8];
	uint64_t cid;

	assert_int_equal(vsock_backend_get_config(vm_of(f, 1), 0, cfg, 8), 0);
	memcpy(&cid, cfg, 8);
	assert_int_equal(le64toh(cid), 4);
	assert_int_equal(vsock_backend_get_config(vm_of(f, 1), 4, cfg, 8), -EINVAL);
	assert_int_equal(vsock_backend_add_vm(f->b, &s), -EEXIST); /* cid taken */
	s.cid = 2;
	assert_int_equal(vsock_backend_add_vm(f->b, &s), -EINVAL); /* reserved */
	s.cid = 0xffffffff;
	assert_int_equal(vsock_backend_add_vm(f->b, &s), -EINVAL);
	s.cid = 9;
	s.name = "a";
	assert_int_equal(vsock_backend_add_vm(f->b, &s), -EEXIST);
	assert_int_equal(vsock_backend_allow(f->b, "a", "zz"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_spoofed_dropped),
		T(test_unknown_conn_rst),
		T(test_sibling_allowed_then_exit),
		T(test_sibling_denied),
		T(test_sibling_credit_abuse),
		T(test_guest_to_host),
		T(test_guest_close_flushes),
		T(test_config_and_add_rejects),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
