/* SPDX-License-Identifier: MIT */
/* fuzz_qmp.c: arbitrary bytes through qmp_msg_parse() and the client's line reader. */
#include <stddef.h>
#include <stdint.h>

/* Included, not linked, to reach the static line splitter and ingest path. */
#include "qemu/qmp_client.c"

static void fuzz_qmp_drain(struct qmp_client *c)
{
	char name[16];
	json_t *data;

	while (qmp_client_next_event(c, name, sizeof(name), &data) == 1) {
		/* whatever was queued must have passed the type checks */
		if (data && !json_is_object(data))
			__builtin_trap();
		json_decref(data);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmp_client *c;
	struct qmp_msg m;
	size_t piece, off;

	if (qmp_msg_parse((const char *)data, size, &m) == 0) {
		if (!m.root || (m.kind == QMP_MSG_EVENT && !m.event) ||
		    (m.kind == QMP_MSG_ERROR && (!m.err_class || !m.err_desc)) ||
		    (m.kind == QMP_MSG_RETURN && !m.data))
			__builtin_trap();
		qmp_msg_release(&m);
	}
	if (size < 2)
		return 0;

	/* First byte: chunking and a small line limit so the overflow path is
	 * reachable within libFuzzer's input sizes. */
	c = qmp_client_alloc(-1);
	if (!c)
		return 0;
	piece = (size_t)(data[0] & 0x3f) + 1;
	if (data[0] & 0x40)
		c->max_line = (size_t)(data[1] & 0x7f) + 1;
	for (off = 2; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		int ret = qmp_client_ingest(c, (const char *)data + off, n);

		if (c->rx_cap > c->max_line || c->ev_count > QMP_CLIENT_EVQ_MAX)
			__builtin_trap();
		if (ret < 0)
			break;
		if (data[0] & 0x80)
			fuzz_qmp_drain(c);
	}
	fuzz_qmp_drain(c);
	qmp_client_destroy(c);
	return 0;
}
