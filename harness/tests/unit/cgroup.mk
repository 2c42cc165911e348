# SPDX-License-Identifier: MIT
# cgroup.mk: test_cgroup #includes cgroup.c; it reads files through base/util.c.
test_cgroup_DEPS := harness/base/util.c
