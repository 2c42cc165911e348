/* SPDX-License-Identifier: MIT */
/* vhost_user_mem.c: guest memory table, mmap, bounds-checked address translation. */
#include "vhost/vhost_user.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

void vhost_user_mem_clear(struct vhost_user_mem *mem)
{
	uint32_t i;

	if (!mem)
		return;
	for (i = 0; i < mem->n && i < VHOST_USER_MAX_REGIONS; i++)
		if (mem->r[i].map)
			munmap(mem->r[i].map, mem->r[i].map_len);
	memset(mem, 0, sizeof(*mem));
}

/* A region must not wrap either address space: every later check relies on
 * base + size being representable. */
static bool vhost_user_mem_range_ok(uint64_t base, uint64_t size)
{
	return size > 0 && base + size > base;
}

int vhost_user_mem_add(struct vhost_user_mem *mem, uint64_t gpa, uint64_t uva,
		       void *host, uint64_t size)
{
	struct vhost_user_mem_region *r;

	if (mem->n >= VHOST_USER_MAX_REGIONS)
		return -ENOSPC;
	if (!host || !vhost_user_mem_range_ok(gpa, size) || !vhost_user_mem_range_ok(uva, size))
		return -EINVAL;
	r = &mem->r[mem->n++];
	memset(r, 0, sizeof(*r));
	r->gpa = gpa;
	r->uva = uva;
	r->size = size;
	r->host = host;
	return 0;
}

int vhost_user_mem_set(struct vhost_user_mem *mem, const struct vhost_user_msg *m)
{
	const struct vhost_user_mem_table *t = &m->p.mem;
	struct vhost_user_mem fresh;
	uint32_t i;
	int ret = 0;

	memset(&fresh, 0, sizeof(fresh));
	if (t->nregions == 0 || t->nregions > VHOST_USER_MAX_REGIONS || m->nfds != t->nregions) {
		ret = -EINVAL;
		goto fail;
	}
	for (i = 0; i < t->nregions; i++) {
		const struct vhost_memory_region *src = &t->regions[i];
		uint64_t off = src->flags_padding; /* mmap_offset in vhost-user */
		uint64_t len = src->memory_size + off;
		struct vhost_user_mem_region *r = &fresh.r[i];
		struct stat st;
		void *p;

		if (!vhost_user_mem_range_ok(src->guest_phys_addr, src->memory_size) ||
		    !vhost_user_mem_range_ok(src->userspace_addr, src->memory_size) ||
		    len < off || len > SIZE_MAX || m->fds[i] < 0) {
			ret = -EINVAL;
			goto fail;
		}
		/* A mapping past the end of the file faults on first touch
		 * (SIGBUS), which would end the daemon for every VM it serves. */
		if (fstat(m->fds[i], &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
		    (uint64_t)st.st_size < len) {
			ret = -EINVAL;
			goto fail;
		}
		p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fds[i], 0);
		if (p == MAP_FAILED) {
			ret = -errno;
			goto fail;
		}
		r->map = p;
		r->map_len = (size_t)len;
		r->host = (uint8_t *)p + off;
		r->gpa = src->guest_phys_addr;
		r->uva = src->userspace_addr;
		r->size = src->memory_size;
		fresh.n = i + 1;
	}
	vhost_user_mem_clear(mem);
	*mem = fresh;
	return 0;
fail:
	vhost_user_mem_clear(&fresh);
	vhost_user_mem_clear(mem);
	return ret;
}

static void *vhost_user_mem_lookup(const struct vhost_user_mem *mem, bool by_gpa,
				   uint64_t addr, uint64_t len)
{
	uint32_t i;

	for (i = 0; i < mem->n && i < VHOST_USER_MAX_REGIONS; i++) {
		const struct vhost_user_mem_region *r = &mem->r[i];
		uint64_t base = by_gpa ? r->gpa : r->uva;
		uint64_t off;

		if (addr < base || addr - base >= r->size)
			continue;
		off = addr - base;
		/* Written so that no sum can wrap: len must fit in what is left. */
		if (len > r->size - off)
			return NULL;
		return r->host + off;
	}
	return NULL;
}

void *vhost_user_mem_gpa(const struct vhost_user_mem *mem, uint64_t gpa, uint64_t len)
{
	return vhost_user_mem_lookup(mem, true, gpa, len);
}

void *vhost_user_mem_uva(const struct vhost_user_mem *mem, uint64_t uva, uint64_t len)
{
	return vhost_user_mem_lookup(mem, false, uva, len);
}
