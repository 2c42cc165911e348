# SPDX-License-Identifier: MIT
# agent_cmdline.mk: the guest agent's cmdline parser (#included) needs nothing else.
test_agent_cmdline_DEPS :=
