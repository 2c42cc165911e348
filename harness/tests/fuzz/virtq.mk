# SPDX-License-Identifier: MIT
# virtq.mk: fuzz_virtq walks fuzzer-made descriptor tables through virtq.c and vhost_user_mem.c.
fuzz_virtq_DEPS := harness/vhost/virtq.c harness/vhost/vhost_user_mem.c
