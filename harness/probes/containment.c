/* SPDX-License-Identifier: MIT */
/* containment.c: the lab's address ranges, and the judge of frames at its egress. */
#include "probes/containment.h"

#include <string.h>

struct containment_range {
	uint8_t prefix[16];
	uint8_t len;  /* bits */
	enum containment_class cls;
};

static const struct containment_range containment_v4[] = {
	{ { 198, 18 }, 15, CONTAINMENT_LAB },
	{ { 192, 0, 2 }, 24, CONTAINMENT_TESTNET },
	{ { 198, 51, 100 }, 24, CONTAINMENT_TESTNET },
	{ { 203, 0, 113 }, 24, CONTAINMENT_TESTNET },
	{ { 0, 0, 0, 0 }, 32, CONTAINMENT_LINK },
	{ { 255, 255, 255, 255 }, 32, CONTAINMENT_LINK },
	{ { 224, 0, 0 }, 24, CONTAINMENT_LINK },
	{ { 169, 254 }, 16, CONTAINMENT_LINK },
};

static const struct containment_range containment_v6[] = {
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, CONTAINMENT_TESTNET },
	{ { 0 }, 128, CONTAINMENT_LINK },
	{ { 0xfe, 0x80 }, 10, CONTAINMENT_LINK },
	{ { 0xff, 0x02 }, 16, CONTAINMENT_LINK },
};

static int containment_match(const uint8_t *addr, const struct containment_range *r)
{
	unsigned int full = r->len / 8, rest = r->len % 8;

	if (memcmp(addr, r->prefix, full))
		return 0;
	return !rest || ((addr[full] ^ r->prefix[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

enum containment_class containment_addr_class(uint8_t family, const uint8_t addr[16])
{
	const struct containment_range *t;
	size_t n, i;

	if (family == FLOW_FAMILY_IPV4 || family == FLOW_FAMILY_ARP) {
		t = containment_v4;
		n = sizeof(containment_v4) / sizeof(containment_v4[0]);
	} else if (family == FLOW_FAMILY_IPV6) {
		t = containment_v6;
		n = sizeof(containment_v6) / sizeof(containment_v6[0]);
	} else {
		return CONTAINMENT_OUTSIDE;
	}
	for (i = 0; i < n; i++)
		if (containment_match(addr, &t[i]))
			return t[i].cls;
	return CONTAINMENT_OUTSIDE;
}

int containment_outside(uint8_t family, const uint8_t src[16], const uint8_t dst[16])
{
	if (family == FLOW_FAMILY_NONE)
		return 0;
	return containment_addr_class(family, src) == CONTAINMENT_OUTSIDE ||
	       containment_addr_class(family, dst) == CONTAINMENT_OUTSIDE;
}

const char *containment_class_name(enum containment_class c)
{
	switch (c) {
	case CONTAINMENT_LAB:     return "lab";
	case CONTAINMENT_TESTNET: return "internet";
	case CONTAINMENT_LINK:    return "link-local";
	default:                  return "outside";
	}
}
