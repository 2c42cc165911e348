/* SPDX-License-Identifier: MIT */
/* test_vhost_user_mem.c: memory table mapping and bounds of both address translations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>

#include "vhost/vhost_user_mem.c"

static void test_translate_bounds(void **state)
{
	struct vhost_user_mem mem = { .n = 0 };
	uint8_t buf[4096], buf2[64];

	assert_int_equal(vhost_user_mem_add(&mem, 0x1000, 0x7000, buf, sizeof(buf)), 0);
	assert_int_equal(vhost_user_mem_add(&mem, 0x100000, 0x9000, buf2, sizeof(buf2)), 0);
	assert_ptr_equal(vhost_user_mem_gpa(&mem, 0x1000, 4096), buf);
	assert_ptr_equal(vhost_user_mem_gpa(&mem, 0x1fff, 1), buf + 4095);
	assert_null(vhost_user_mem_gpa(&mem, 0x1fff, 2));      /* crosses the end */
	assert_null(vhost_user_mem_gpa(&mem, 0x2000, 0));      /* just past it */
	assert_null(vhost_user_mem_gpa(&mem, 0xfff, 1));       /* just before it */
	assert_null(vhost_user_mem_gpa(&mem, 0x1000, UINT64_MAX));
	assert_null(vhost_user_mem_gpa(&mem, UINT64_MAX, 2));
	assert_ptr_equal(vhost_user_mem_gpa(&mem, 0x100010, 8), buf2 + 16);
	assert_ptr_equal(vhost_user_mem_uva(&mem, 0x7010, 16), buf + 16);
	assert_null(vhost_user_mem_uva(&mem, 0x1010, 16));     /* a gpa is not a uva */
	assert_ptr_equal(vhost_user_mem_uva(&mem, 0x9000, 64), buf2);
	assert_null(vhost_user_mem_uva(&mem, 0x9000, 65));
	vhost_user_mem_clear(&mem);
	assert_null(vhost_user_mem_gpa(&mem, 0x1000, 1));
	vhost_user_mem_clear(NULL);
}

static void test_add_rejects(void **state)
{
	struct vhost_user_mem mem = { .n = 0 };
	uint8_t buf[16];
	uint32_t i;

	assert_int_equal(vhost_user_mem_add(&mem, UINT64_MAX - 4, 0, buf, 16), -EINVAL);
	assert_int_equal(vhost_user_mem_add(&mem, 0, UINT64_MAX - 4, buf, 16), -EINVAL);
	assert_int_equal(vhost_user_mem_add(&mem, 0, 0, buf, 0), -EINVAL);
	assert_int_equal(vhost_user_mem_add(&mem, 0, 0, NULL, 16), -EINVAL);
	for (i = 0; i < VHOST_USER_MAX_REGIONS; i++)
		assert_int_equal(vhost_user_mem_add(&mem, i * 16, i * 16, buf, 16), 0);
	assert_int_equal(vhost_user_mem_add(&mem, 0x1000, 0x1000, buf, 16), -ENOSPC);
}

static void test_set_from_memfd(void **state)
{
	struct vhost_user_mem mem = { .n = 0 };
	struct vhost_user_msg m;
	uint8_t *p, back[4];
	int fd = memfd_create("guest", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 3 * 4096), 0);
	memset(&m, 0, sizeof(m));
	m.request = VHOST_USER_SET_MEM_TABLE;
	m.p.mem.nregions = 1;
	m.p.mem.regions[0].guest_phys_addr = 0x40000;
	m.p.mem.regions[0].memory_size = 2 * 4096;
	m.p.mem.regions[0].userspace_addr = 0x7f0000001000;
	m.p.mem.regions[0].flags_padding = 4096; /* mmap_offset */
	m.fds[0] = fd;
	m.nfds = 1;
	assert_int_equal(vhost_user_mem_set(&mem, &m), 0);
	p = vhost_user_mem_gpa(&mem, 0x40000, 4);
	assert_non_null(p);
	memcpy(p, "abcd", 4);
	assert_int_equal(pread(fd, back, 4, 4096), 4); /* offset applied */
	assert_memory_equal(back, "abcd", 4);
	assert_ptr_equal(vhost_user_mem_uva(&mem, 0x7f0000001000, 4), p);
	assert_null(vhost_user_mem_gpa(&mem, 0x40000 + 2 * 4096, 1));

	/* One fd per region, no more, no less: a mismatch empties the table. */
	m.nfds = 0;
	assert_int_equal(vhost_user_mem_set(&mem, &m), -EINVAL);
	assert_int_equal(mem.n, 0);
	m.nfds = 1;
	m.p.mem.regions[0].memory_size = UINT64_MAX;
	assert_int_equal(vhost_user_mem_set(&mem, &m), -EINVAL);
	m.p.mem.regions[0].memory_size = 4096;
	m.p.mem.regions[0].flags_padding = UINT64_MAX - 10;
	assert_int_equal(vhost_user_mem_set(&mem, &m), -EINVAL);
	vhost_user_mem_clear(&mem);
	close(fd);
}

/* A region larger than its fd would be mapped and then fault (SIGBUS) on
 * the first access past the end: the whole daemon would die. Refused. */
static void test_set_rejects_short_fd(void **state)
{
	struct vhost_user_mem mem = { .n = 0 };
	struct vhost_user_msg m;
	int fd = memfd_create("short", MFD_CLOEXEC), pfd[2];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	memset(&m, 0, sizeof(m));
	m.request = VHOST_USER_SET_MEM_TABLE;
	m.p.mem.nregions = 1;
	m.p.mem.regions[0].guest_phys_addr = 0;
	m.p.mem.regions[0].memory_size = 2 * 4096;
	m.p.mem.regions[0].userspace_addr = 0x7f0000000000;
	m.fds[0] = fd;
	m.nfds = 1;
	assert_int_equal(vhost_user_mem_set(&mem, &m), -EINVAL);
	assert_int_equal(mem.n, 0);
	/* the offset counts too: 4096 + 1 bytes do not fit in 4096 */
	m.p.mem.regions[0].memory_size = 1;
	m.p.mem.regions[0].flags_padding = 4096;
	assert_int_equal(vhost_user_mem_set(&mem, &m), -EINVAL);
	/* exactly the fd's size is fine */
	m.p.mem.regions[0].memory_size = 4096;
	m.p.mem.regions[0].flags_padding = 0;
	assert_int_equal(vhost_user_mem_set(&mem, &m), 0);
	vhost_user_mem_clear(&mem);
	/* something that is not a file of memory at all */
	assert_int_equal(pipe(pfd), 0);
	m.fds[0] = pfd[0];
	assert_int_equal(vhost_user_mem_set(&mem, &m), -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_translate_bounds),
		cmocka_unit_test(test_add_rejects),
		cmocka_unit_test(test_set_from_memfd),
		cmocka_unit_test(test_set_rejects_short_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
