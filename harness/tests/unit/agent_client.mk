# SPDX-License-Identifier: MIT
# agent_client.mk: the client test #includes agent_client.c and links the codec.
test_agent_client_DEPS := harness/proto/agent_proto.c
