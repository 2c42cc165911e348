# SPDX-License-Identifier: MIT
# agent_client.mk: fuzz the host client's frame reading (it #includes agent_client.c).
fuzz_agent_client_DEPS := harness/proto/agent_proto.c
