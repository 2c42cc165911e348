/* SPDX-License-Identifier: MIT */
/* initrd_pad.c: grow an initramfs by appending a second cpio archive of padding. */
#include "qemu/initrd_pad.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int initrd_pad_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* One newc header + name, padded to 4 bytes. */
static int initrd_pad_header(int fd, uint32_t ino, uint32_t mode, uint32_t size, const char *name)
{
	char hdr[256];
	size_t namesize = strlen(name) + 1;
	int n = snprintf(hdr, sizeof(hdr),
			 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s",
			 ino, mode, 0u, 0u, 1u, 0u, size, 0u, 0u, 0u, 0u, (uint32_t)namesize, 0u, name);

	if (n < 0 || (size_t)n + 4 >= sizeof(hdr))
		return -ENAMETOOLONG;
	hdr[n++] = '\0';
	while (n & 3)
		hdr[n++] = '\0';
	return initrd_pad_all(fd, hdr, (size_t)n);
}

int initrd_pad_write(const char *base, const char *out, uint32_t mib)
{
	char tmp[4200];
	uint8_t *buf = NULL;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct stat st;
	int in = -1, fd = -1, ret = 0;
	uint32_t i;
	ssize_t r;

	if (mib < 1 || mib > 1024)
		return -EINVAL;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", out) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	buf = malloc(1u << 20);
	in = open(base, O_RDONLY | O_CLOEXEC);
	if (!buf || in < 0) {
		ret = buf ? -errno : -ENOMEM;
		goto cleanup;
	}
	if (fstat(in, &st) < 0 || (st.st_size & 3)) {
		ret = st.st_size & 3 ? -EINVAL : -errno;
		goto cleanup;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto cleanup;
	}
	while ((r = read(in, buf, 1u << 20)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto cleanup;
		}
		ret = initrd_pad_all(fd, buf, (size_t)r);
		if (ret < 0)
			goto cleanup;
	}
	ret = initrd_pad_header(fd, 1, 0100644, mib << 20, "pad.bin");
	for (i = 0; !ret && i < mib; i++) {
		size_t k;

		/* xorshift64: incompressible enough, identical every run */
		for (k = 0; k < (1u << 20); k += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(buf + k, &x, 8);
		}
		ret = initrd_pad_all(fd, buf, 1u << 20);
	}
	if (!ret)
		ret = initrd_pad_header(fd, 0, 0, 0, "TRAILER!!!");
	if (!ret && close(fd) < 0)
		ret = -errno;
	fd = -1;
	if (!ret && rename(tmp, out) < 0)
		ret = -errno;
cleanup:
	if (fd >= 0)
		close(fd);
	if (ret)
		unlink(tmp);
	if (in >= 0)
		close(in);
	free(buf);
	return ret;
}
