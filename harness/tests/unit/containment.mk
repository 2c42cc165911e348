# SPDX-License-Identifier: MIT
# containment.mk: the egress judge is pure; the test #includes it and needs nothing else.
test_containment_DEPS :=
