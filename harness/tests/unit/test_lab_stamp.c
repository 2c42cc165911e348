/* SPDX-License-Identifier: MIT */
/* test_lab_stamp.c: arrivals are stamped when they happen, not when the loop reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <cmocka.h>

#include "lab/lab_stamp.c"

#define MS 1000000ull

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The loop is busy for 200 ms after the byte came: the stamp is the byte's. */
static void test_stamp_is_the_arrival(void **state)
{
	struct lab_stamper s;
	struct lab_stamp_ring ring;
	int sv[2];
	uint64_t sent, t, now;
	char c;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(lab_stamper_start(&s), 0);
	assert_int_equal(lab_stamper_watch(&s, sv[1], &ring), 0);
	nap_ms(20);
	sent = util_mono_ns();
	assert_int_equal(write(sv[0], "I", 1), 1);
	nap_ms(200);
	assert_int_equal(read(sv[1], &c, 1), 1);
	now = util_mono_ns();
	t = lab_stamp_take(&s, &ring, now);
	assert_true(t >= sent);
	assert_true(t - sent < 50 * MS);
	assert_true(now - t > 150 * MS);
	/* nothing more arrived: the loop's own time */
	assert_true(lab_stamp_take(&s, &ring, now + 1) == now + 1);
	lab_stamper_stop(&s);
	close(sv[0]);
	close(sv[1]);
}

/* Two arrivals read in one go are taken in order. */
static void test_two_arrivals_in_order(void **state)
{
	struct lab_stamper s;
	struct lab_stamp_ring ring;
	int sv[2];
	uint64_t s1, s2, t1, t2, now;
	char buf[4];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(lab_stamper_start(&s), 0);
	assert_int_equal(lab_stamper_watch(&s, sv[1], &ring), 0);
	s1 = util_mono_ns();
	assert_int_equal(write(sv[0], "I", 1), 1);
	nap_ms(100);
	s2 = util_mono_ns();
	assert_int_equal(write(sv[0], "R", 1), 1);
	nap_ms(100);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 2);
	now = util_mono_ns();
	t1 = lab_stamp_take(&s, &ring, now);
	t2 = lab_stamp_take(&s, &ring, now);
	assert_true(t1 >= s1 && t1 - s1 < 50 * MS);
	assert_true(t2 >= s2 && t2 - s2 < 50 * MS);
	lab_stamper_stop(&s);
	close(sv[0]);
	close(sv[1]);
}

/* A listening socket is stamped when the connection arrives. */
static void test_listener_stamps_the_connection(void **state)
{
	struct lab_stamper s;
	struct lab_stamp_ring ring;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l, c;
	uint64_t sent, t;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/uvmlab-stamp-%d.sock", (int)getpid());
	unlink(sa.sun_path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(l >= 0 && c >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(lab_stamper_start(&s), 0);
	assert_int_equal(lab_stamper_watch(&s, l, &ring), 0);
	sent = util_mono_ns();
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	nap_ms(150);
	t = lab_stamp_take(&s, &ring, util_mono_ns());
	assert_true(t >= sent && t - sent < 50 * MS);
	lab_stamper_stop(&s);
	close(c);
	close(l);
	unlink(sa.sun_path);
}

/* Forgotten descriptors are not stamped; a stopped stamper stamps nothing. */
static void test_forget_and_stopped(void **state)
{
	struct lab_stamper s;
	struct lab_stamp_ring ring;
	int sv[2];
	char c;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(lab_stamper_start(&s), 0);
	assert_int_equal(lab_stamper_watch(&s, sv[1], &ring), 0);
	lab_stamper_forget(&s, sv[1]);
	assert_int_equal(write(sv[0], "x", 1), 1);
	nap_ms(50);
	assert_int_equal(read(sv[1], &c, 1), 1);
	assert_true(lab_stamp_take(&s, &ring, 12345) == 12345);
	lab_stamper_stop(&s);
	lab_stamper_stop(&s); /* twice is fine */
	assert_int_equal(lab_stamper_watch(&s, sv[1], &ring), 0);
	assert_true(lab_stamp_take(&s, &ring, 777) == 777);
	close(sv[0]);
	close(sv[1]);
}

/* A stamp the thread wrote after the loop had already used its own time for
 * that byte is stale: the next byte does not inherit it. */
static void test_stale_stamp_is_skipped(void **state)
{
	struct lab_stamper s = { .running = 1 };
	struct lab_stamp_ring ring = { 0 };

	(void)state;
	pthread_mutex_init(&s.lock, NULL);
	/* byte 1 consumed before its stamp existed */
	assert_true(lab_stamp_take(&s, &ring, 100) == 100);
	ring.t[0] = 90;   /* its late stamp */
	ring.t[1] = 150;  /* byte 2's */
	ring.head = 2;
	assert_true(lab_stamp_take(&s, &ring, 200) == 150);
	/* a stamp from the future (clock read before it) is not used */
	ring.t[2] = 500;
	ring.head = 3;
	assert_true(lab_stamp_take(&s, &ring, 300) == 300);
	pthread_mutex_destroy(&s.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp_is_the_arrival),
		cmocka_unit_test(test_two_arrivals_in_order),
		cmocka_unit_test(test_listener_stamps_the_connection),
		cmocka_unit_test(test_forget_and_stopped),
		cmocka_unit_test(test_stale_stamp_is_skipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
