/* SPDX-License-Identifier: MIT */
/* initrd_pad.h: grow an initramfs by appending a second cpio archive of padding.
 *
 * The kernel unpacks concatenated newc archives, so BASE followed by an archive
 * holding one file /pad.bin of MIB MiB boots like BASE, only bigger: the
 * initramfs-size axis of the boot benchmarks. The padding is pseudo-random
 * (incompressible) but deterministic, so runs stay comparable.
 */
#ifndef UVMLAB_INITRD_PAD_H
#define UVMLAB_INITRD_PAD_H

#include <stdint.h>

/* Write BASE + padding archive to OUT (replaced atomically). MIB 1..1024.
 * 0 or negative errno (-EINVAL if BASE's length is not a multiple of 4, which
 * no newc archive has). */
int initrd_pad_write(const char *base, const char *out, uint32_t mib);

#endif
