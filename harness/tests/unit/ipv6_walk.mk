# SPDX-License-Identifier: MIT
# ipv6_walk.mk: the shared IPv6 extension-header walk is a header of pure functions.
test_ipv6_walk_DEPS :=
