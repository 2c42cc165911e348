# SPDX-License-Identifier: MIT
# agent_serve.mk: the agent's serve loop (#included) runs real commands and is
# driven by the real host client over a socketpair.
test_agent_serve_DEPS := guests/agent/agent_exec.c guests/agent/agent_log.c \
                         harness/proto/agent_proto.c harness/lab/agent_client.c
