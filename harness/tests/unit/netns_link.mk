# SPDX-License-Identifier: MIT
# netns_link.mk: the netns_link test #includes netns_link.c and needs no other module.
test_netns_link_DEPS :=
