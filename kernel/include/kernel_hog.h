// SPDX-License-Identifier: MIT
// A kernel memory hog for the lab: the kernel holds a chosen number of pages,
// standing in for its own appetite (network buffers, caches). The pages come
// from page_alloc one at a time, so when memory runs short the reclaim chain
// runs exactly as it would for any kernel allocation.
#pragma once
#include <stddef.h>

// Grows or shrinks the hog to `pages`; returns the pages it holds afterwards
// (fewer than asked when memory ran out even after reclaim). Thread context.
size_t kernel_hog_set(size_t pages);
size_t kernel_hog_pages(void);
