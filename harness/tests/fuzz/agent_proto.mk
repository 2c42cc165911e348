# SPDX-License-Identifier: MIT
# agent_proto.mk: fuzz the agent frame decoder.
fuzz_agent_proto_DEPS := harness/proto/agent_proto.c
