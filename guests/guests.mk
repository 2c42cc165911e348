# SPDX-License-Identifier: MIT
# guests.mk: guest images (placeholder until the image builder lands).
.PHONY: guests
guests:
