/* SPDX-License-Identifier: MIT */
/* roles_internal.h: helpers shared by the role implementations in roles/ only. */
#ifndef UVMLAB_ROLES_INTERNAL_H
#define UVMLAB_ROLES_INTERNAL_H

#include <stddef.h>

struct lab;

#define ROLES_NFT "/usr/sbin/nft"
#define ROLES_EXEC_MS 30000

/* printf into BUF (LEN bytes) at *OFF; -ENOSPC once it does not fit (and
 * stays so: *OFF is then LEN). 0 otherwise. */
int roles_cat(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Run ARGV in VM; 0 when it exited 0, else -EIO with its output in the lab's
 * error, or the transport's negative errno. */
int roles_exec(struct lab *lab, const char *vm, const char *const *argv);

/* Load RULES into VM's nftables (written to a file first: exec has no stdin). */
int roles_nft(struct lab *lab, const char *vm, const char *rules);

/* IPv4 forwarding in VM on (ON=1) or off, with IPv6 forwarding off too. */
int roles_sysctl_forward(struct lab *lab, const char *vm, int on);

#endif
