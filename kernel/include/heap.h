// SPDX-License-Identifier: MIT
// Kernel heap: general-purpose allocation for the kernel and, through libc's
// malloc family, for the app. Small blocks come from per-size-class slabs,
// large ones from whole pages. Every function is thread-safe.
#pragma once
#include <stddef.h>
#include <stdint.h>

// Returns NULL when memory is exhausted; never panics.
void *kmalloc(size_t size);
void *kcalloc(size_t count, size_t size);
// krealloc(NULL, n) == kmalloc(n); krealloc(p, 0) frees p and returns NULL.
void *krealloc(void *ptr, size_t size);
// align must be a power of two; the block is freed with kfree.
void *kmalloc_aligned(size_t align, size_t size);
void kfree(void *ptr);
// Usable size of a block returned by the functions above.
size_t kmalloc_usable_size(void *ptr);

struct heap_stats {
    uint64_t bytes_in_use;   // sum of usable sizes of live blocks
    uint64_t blocks_in_use;
    uint64_t pages_held;     // pages the heap took from the page allocator
};
void heap_get_stats(struct heap_stats *out);
void heap_init(void);
