/* SPDX-License-Identifier: MIT */
/* agent_proto.c: encoder and bounds-checked decoder of agent frames (host and guest). */
#include "proto/agent_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Byte-wise so the codec is correct on any host endianness and never does an
 * unaligned load from a payload pointer. */
static void agent_proto_le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t agent_proto_le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t agent_proto_le16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static int agent_proto_reserve(struct agent_buf *b, size_t extra)
{
	size_t want = b->len + extra;
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *p;

	if (want <= b->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int agent_buf_start(struct agent_buf *b, uint32_t type)
{
	int rc;

	b->len = 0;
	rc = agent_proto_reserve(b, AGENT_HDR_LEN);
	if (rc < 0)
		return rc;
	agent_proto_le32_put(b->data, type);
	agent_proto_le32_put(b->data + 4, 0);
	b->len = AGENT_HDR_LEN;
	return 0;
}

int agent_buf_put(struct agent_buf *b, uint16_t tag, const void *val, uint32_t len)
{
	size_t payload;
	int rc;

	if (b->len < AGENT_HDR_LEN)
		return -EINVAL;
	payload = b->len - AGENT_HDR_LEN;
	if ((uint64_t)payload + AGENT_ATTR_HDR_LEN + len > AGENT_MAX_PAYLOAD)
		return -E2BIG;
	rc = agent_proto_reserve(b, AGENT_ATTR_HDR_LEN + (size_t)len);
	if (rc < 0)
		return rc;
	b->data[b->len] = (uint8_t)tag;
	b->data[b->len + 1] = (uint8_t)(tag >> 8);
	b->data[b->len + 2] = 0;
	b->data[b->len + 3] = 0;
	agent_proto_le32_put(b->data + b->len + 4, len);
	if (len)
		memcpy(b->data + b->len + AGENT_ATTR_HDR_LEN, val, len);
	b->len += AGENT_ATTR_HDR_LEN + (size_t)len;
	return 0;
}

int agent_buf_put_u32(struct agent_buf *b, uint16_t tag, uint32_t v)
{
	uint8_t le[4];

	agent_proto_le32_put(le, v);
	return agent_buf_put(b, tag, le, sizeof(le));
}

int agent_buf_put_u64(struct agent_buf *b, uint16_t tag, uint64_t v)
{
	uint8_t le[8];

	agent_proto_le32_put(le, (uint32_t)v);
	agent_proto_le32_put(le + 4, (uint32_t)(v >> 32));
	return agent_buf_put(b, tag, le, sizeof(le));
}

int agent_buf_put_str(struct agent_buf *b, uint16_t tag, const char *s)
{
	size_t n = strlen(s);

	if (n > AGENT_MAX_PAYLOAD)
		return -E2BIG;
	return agent_buf_put(b, tag, s, (uint32_t)n);
}

void agent_buf_finish(struct agent_buf *b)
{
	if (b->len >= AGENT_HDR_LEN)
		agent_proto_le32_put(b->data + 4, (uint32_t)(b->len - AGENT_HDR_LEN));
}

void agent_buf_release(struct agent_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int agent_hdr_decode(const uint8_t hdr[AGENT_HDR_LEN], uint32_t *type, uint32_t *len)
{
	uint32_t t = agent_proto_le32_get(hdr);
	uint32_t l = agent_proto_le32_get(hdr + 4);

	if (t == 0 || t > AGENT_MSG_TYPE_MAX || l > AGENT_MAX_PAYLOAD)
		return -EPROTO;
	*type = t;
	*len = l;
	return 0;
}

int agent_attr_next(const uint8_t *payload, uint32_t len, uint32_t *off,
		    struct agent_attr_view *out)
{
	uint32_t o = *off;
	uint32_t vlen;

	if (o == len)
		return 0;
	/* Subtraction form so no sum can wrap. */
	if (o > len || len - o < AGENT_ATTR_HDR_LEN)
		return -EPROTO;
	if (payload[o + 2] != 0 || payload[o + 3] != 0)
		return -EPROTO;
	vlen = agent_proto_le32_get(payload + o + 4);
	if (vlen > len - o - AGENT_ATTR_HDR_LEN)
		return -EPROTO;
	out->tag = agent_proto_le16_get(payload + o);
	out->len = vlen;
	out->val = payload + o + AGENT_ATTR_HDR_LEN;
	*off = o + AGENT_ATTR_HDR_LEN + vlen;
	return 1;
}

int agent_payload_check(const uint8_t *payload, uint32_t len)
{
	struct agent_attr_view a;
	uint32_t off = 0;
	int rc;

	while ((rc = agent_attr_next(payload, len, &off, &a)) == 1)
		;
	return rc;
}

int agent_attr_find(const uint8_t *payload, uint32_t len, uint16_t tag,
		    struct agent_attr_view *out)
{
	struct agent_attr_view a;
	uint32_t off = 0;
	int rc;

	while ((rc = agent_attr_next(payload, len, &off, &a)) == 1) {
		if (a.tag == tag) {
			*out = a;
			return 1;
		}
	}
	return rc;
}

int agent_attr_u32(const struct agent_attr_view *a, uint32_t *v)
{
	if (a->len != 4)
		return -EPROTO;
	*v = agent_proto_le32_get(a->val);
	return 0;
}

int agent_attr_u64(const struct agent_attr_view *a, uint64_t *v)
{
	if (a->len != 8)
		return -EPROTO;
	*v = (uint64_t)agent_proto_le32_get(a->val) |
	     (uint64_t)agent_proto_le32_get(a->val + 4) << 32;
	return 0;
}

int agent_attr_str(const struct agent_attr_view *a, char *buf, size_t cap)
{
	if (a->len && memchr(a->val, 0, a->len))
		return -EPROTO;
	if (cap == 0 || a->len > cap - 1)
		return -ENAMETOOLONG;
	if (a->len)
		memcpy(buf, a->val, a->len);
	buf[a->len] = '\0';
	return 0;
}
