// SPDX-License-Identifier: MIT
// The host build's memory layout (the fuzz shim's stand-in for
// include/memlayout.h). The kernel's app area at 1 TiB lies in the range ASan
// reserves around its shadow memory on x86-64 Linux (the shadow gap), and ASan's
// own allocator sits at 96 TiB, so on the host the image goes to 80 TiB, where
// the shim maps it with mmap.
#pragma once

#define PAGE_SIZE        4096UL
#define PAGE_SHIFT       12
#define APP_BASE         0x500000000000UL
#define APP_IMAGE_MAX    (256UL << 20)
