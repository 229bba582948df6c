// SPDX-License-Identifier: MIT
// Physical page allocator: one bit per 4 KiB frame of RAM below 4 GiB.
// Because RAM is identity-mapped, a frame's physical address is also a
// usable pointer. Thread-safe (interrupts are held off while it works).
#pragma once
#include <stdint.h>
#include <stddef.h>

// Marks [start, end) free / in use. Called while the boot memory map is read.
void page_alloc_add_free(uint64_t start, uint64_t end);
void page_alloc_reserve(uint64_t start, uint64_t end);
// n contiguous frames aligned to align_pages (a power of two, >= 1).
// Returns their physical address, or 0 when no such run is free.
uintptr_t page_alloc_aligned(size_t n, size_t align_pages);
uintptr_t page_alloc(size_t n);
uintptr_t page_alloc_zeroed(size_t n);
void page_free(uintptr_t addr, size_t n);

struct page_stats { uint64_t total, free; };
void page_get_stats(struct page_stats *out);
// One past the highest frame number that can ever be allocated.
size_t page_frame_limit(void);

// Called (without locks held) when an allocation of n pages finds no run;
// it may free pages, after which the allocation is tried once more. The
// balloon driver registers one: deflate before failing (DEFLATE_ON_OOM).
void page_alloc_set_oom_handler(void (*handler)(size_t n));
