/* SPDX-License-Identifier: MIT */
/* fuzz_agent_proto.c: decode an agent frame and walk its attributes as either side would. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/agent_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_attr_view a, f;
	uint32_t type, len, off = 0, u32;
	uint64_t u64;
	char s[64];
	int rc, check;

	if (size < AGENT_HDR_LEN || agent_hdr_decode(data, &type, &len) < 0)
		return 0;
	/* The header may claim more than we have; decode what is there, as a
	 * reader with a short buffer would, without trusting LEN. */
	if (len > size - AGENT_HDR_LEN)
		len = (uint32_t)(size - AGENT_HDR_LEN);
	/* Copy to an exact-size heap buffer so ASan sees any overread. */
	uint8_t *p = malloc(len ? len : 1);
	if (!p)
		return 0;
	memcpy(p, data + AGENT_HDR_LEN, len);
	check = agent_payload_check(p, len);
	while ((rc = agent_attr_next(p, len, &off, &a)) == 1) {
		if (off > len || a.val < p || a.val + a.len > p + len)
			abort();
		agent_attr_u32(&a, &u32);
		agent_attr_u64(&a, &u64);
		if (agent_attr_str(&a, s, sizeof(s)) == 0 && strlen(s) != a.len)
			abort();
		if (agent_attr_find(p, len, a.tag, &f) != 1)
			abort();
	}
	/* Walking and checking must agree on whether the payload is sound. */
	if ((rc == 0) != (check == 0))
		abort();
	free(p);
	return 0;
}
