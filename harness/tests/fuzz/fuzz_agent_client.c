/* SPDX-License-Identifier: MIT */
/* fuzz_agent_client.c: feed hostile guest bytes to the host client's frame reader and parsers. */
#include <signal.h>

#include "lab/agent_client.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_client_frame f;
	struct agent_exec_result res;
	struct agent_hello h;
	struct agent_conn *c = NULL;
	char err[32];
	int sv[2], i;

	/* Stay well inside the socket buffer so the write cannot block. */
	if (size > 65536)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (size && write(sv[1], data, size) != (ssize_t)size)
		abort();
	close(sv[1]);
	if (agent_client_wrap(sv[0], &c) < 0) {
		close(sv[0]);
		return 0;
	}
	/* Every frame in the stream goes through every parser, as any of
	 * them may be the one waiting when a guest misbehaves. */
	for (i = 0; i < 64; i++) {
		if (agent_client_read_frame(c, agent_client_now_ms() + 1000, &f) < 0)
			break;
		if (f.payload[f.len] != 0)
			abort();
		agent_client_parse_hello(f.payload, f.len, &h);
		if (strnlen(h.vm, sizeof(h.vm)) == sizeof(h.vm) ||
		    strnlen(h.kernel, sizeof(h.kernel)) == sizeof(h.kernel))
			abort();
		memset(&res, 0, sizeof(res));
		if (agent_client_parse_exec(f.payload, f.len, &res) == 0 &&
		    (!res.out || !res.err || res.out[res.out_len] || res.err[res.err_len]))
			abort();
		agent_exec_result_release(&res);
		agent_client_parse_error(f.payload, f.len, err, sizeof(err));
		agent_client_frame_release(&f);
	}
	agent_conn_close(c);
	return 0;
}
