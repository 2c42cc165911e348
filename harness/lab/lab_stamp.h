/* SPDX-License-Identifier: MIT */
/* lab_stamp.h: when bytes arrived, stamped by a thread of its own (private to lab/).
 *
 * The lab's event loop reads QMP, console, marker and agent channels one
 * after the other, and some of that work blocks (a QMP handshake, an agent
 * HELLO): a greeting from a second VM that arrives meanwhile would be stamped
 * when the loop gets to it, tens of milliseconds late. The stamper is a
 * thread that only waits on the same descriptors (edge-triggered epoll, never
 * reading them) and writes the CLOCK_MONOTONIC time of each arrival into a
 * small ring; the event loop takes the stamps in order as it consumes the
 * bytes. The lab watches a connection from its accept on (QEMU connects
 * tens of milliseconds before its QMP greeting and seconds before its
 * console output); bytes already waiting then are stamped at that moment,
 * which lab_vm.c reports as such (boot.phases_stamped_late).
 *
 * One arrival is one edge: two writes that land before the thread wakes give
 * one stamp, and the byte after them falls back to the consumer's own time.
 */
#ifndef UVMLAB_LAB_STAMP_H
#define UVMLAB_LAB_STAMP_H

#include <pthread.h>
#include <stdint.h>

#define LAB_STAMP_RING 8

/* Arrival times of one descriptor, first LAB_STAMP_RING of them. */
struct lab_stamp_ring {
	uint64_t t[LAB_STAMP_RING];
	unsigned int head;  /* written by the stamper (under its lock) */
	unsigned int tail;  /* the consumer's */
	uint64_t last;      /* the consumer's last time taken */
};

struct lab_stamp_reg {
	int fd;                       /* -1: free */
	uint32_t gen;
	struct lab_stamp_ring *ring;
};

struct lab_stamper {
	pthread_t thread;
	pthread_mutex_t lock;
	int epfd, wake[2];
	int running;
	struct lab_stamp_reg *regs;
	size_t n_regs;
};

/* Start the thread. 0 or negative errno. */
int lab_stamper_start(struct lab_stamper *s);
/* Stop and join it, forget every descriptor. Safe on a stamper never started. */
void lab_stamper_stop(struct lab_stamper *s);
/* Stamp FD's arrivals into RING (emptied first). 0 or negative errno; a
 * stamper that is not running accepts and stamps nothing. */
int lab_stamper_watch(struct lab_stamper *s, int fd, struct lab_stamp_ring *ring);
/* Stop stamping FD (before closing it). */
void lab_stamper_forget(struct lab_stamper *s, int fd);
/* The next arrival time of RING not yet taken, else NOW. A stamp no later
 * than the last time taken belongs to bytes already consumed (the loop read
 * them before the thread woke) and is skipped. */
uint64_t lab_stamp_take(struct lab_stamper *s, struct lab_stamp_ring *ring, uint64_t now);

#endif
