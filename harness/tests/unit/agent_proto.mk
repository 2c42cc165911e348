# SPDX-License-Identifier: MIT
# agent_proto.mk: the codec test #includes agent_proto.c and needs no other module.
test_agent_proto_DEPS :=
