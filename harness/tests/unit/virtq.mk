# SPDX-License-Identifier: MIT
# virtq.mk: the test #includes virtq.c; descriptors are translated by vhost_user_mem.c.
test_virtq_DEPS := harness/vhost/vhost_user_mem.c
