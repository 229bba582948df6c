// SPDX-License-Identifier: MIT
// Physical page allocator: a bitmap with one bit per 4 KiB frame below 4 GiB
// (set = free). Allocation is next-fit from where the last one ended, or from
// the lowest frame freed since, whichever is lower; runs of
// several frames are found by scanning bits, skipping full 64-frame words.
#include <stdbool.h>
#include "page_alloc.h"
#include "memlayout.h"
#include "arch.h"

#define MAX_FRAMES (DIRECT_MAP_END / PAGE_SIZE)
static uint64_t free_map[MAX_FRAMES / 64];
static size_t frames_total, frames_free, highest_frame, next_fit;

static bool is_free(size_t f) { return free_map[f / 64] >> (f % 64) & 1; }
static void set_free(size_t f) { free_map[f / 64] |= 1UL << (f % 64); }
static void set_used(size_t f) { free_map[f / 64] &= ~(1UL << (f % 64)); }

// Whole 64-frame words at a time: this runs at boot, whose cost is measured.
void page_alloc_add_free(uint64_t start, uint64_t end)
{
    if (end > DIRECT_MAP_END)
        end = DIRECT_MAP_END;
    size_t f = (start + PAGE_SIZE - 1) / PAGE_SIZE, last = end / PAGE_SIZE;
    if (f >= last)
        return;
    if (last > highest_frame)
        highest_frame = last;
    while (f < last) {
        size_t bit = f % 64, n = 64 - bit < last - f ? 64 - bit : last - f;
        uint64_t mask = (n == 64 ? ~0UL : ((1UL << n) - 1)) << bit;
        size_t added = (size_t)__builtin_popcountll(mask & ~free_map[f / 64]);
        free_map[f / 64] |= mask;
        frames_total += added;
        frames_free += added;
        f += n;
    }
}

void page_alloc_reserve(uint64_t start, uint64_t end)
{
    if (end > DIRECT_MAP_END)
        end = DIRECT_MAP_END;
    for (size_t f = start / PAGE_SIZE; f < (end + PAGE_SIZE - 1) / PAGE_SIZE; f++) {
        if (is_free(f)) {
            set_used(f);
            frames_total--;
            frames_free--;
        }
    }
}

// First run of n free frames at or after `from`, aligned; highest_frame if none.
static size_t find_run(size_t from, size_t n, size_t align)
{
    size_t f = (from + align - 1) & ~(align - 1);
    while (f + n <= highest_frame) {
        if (free_map[f / 64] == 0 && f % 64 == 0) {
            f += 64;
            continue;
        }
        size_t len = 0;
        while (len < n && is_free(f + len))
            len++;
        if (len == n)
            return f;
        f = (f + len + 1 + align - 1) & ~(align - 1);
    }
    return highest_frame;
}

static void (*oom_handler)(size_t n);

void page_alloc_set_oom_handler(void (*handler)(size_t n)) { oom_handler = handler; }

static uintptr_t try_alloc(size_t n, size_t align_pages);

uintptr_t page_alloc_aligned(size_t n, size_t align_pages)
{
    if (n == 0 || align_pages == 0 || (align_pages & (align_pages - 1)))
        return 0;
    uintptr_t addr = try_alloc(n, align_pages);
    if (!addr && oom_handler) {
        oom_handler(n);
        addr = try_alloc(n, align_pages);
    }
    return addr;
}

static uintptr_t try_alloc(size_t n, size_t align_pages)
{
    int irq = irq_save();
    size_t f = find_run(next_fit, n, align_pages);
    if (f == highest_frame)
        f = find_run(0, n, align_pages);
    uintptr_t addr = 0;
    if (f != highest_frame) {
        for (size_t i = 0; i < n; i++)
            set_used(f + i);
        frames_free -= n;
        next_fit = f + n;
        addr = f * PAGE_SIZE;
    }
    irq_restore(irq);
    return addr;
}

uintptr_t page_alloc(size_t n) { return page_alloc_aligned(n, 1); }

uintptr_t page_alloc_zeroed(size_t n)
{
    uintptr_t p = page_alloc(n);
    if (p) {                                   // 8 bytes per store: boot zeroes a lot
        void *d = (void *)p;
        size_t words = n * PAGE_SIZE / 8;
        __asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(0UL) : "memory");
    }
    return p;
}

void page_free(uintptr_t addr, size_t n)
{
    int irq = irq_save();
    for (size_t f = addr / PAGE_SIZE; f < addr / PAGE_SIZE + n; f++) {
        if (!is_free(f)) {
            set_free(f);
            frames_free++;
        }
    }
    // Reuse freed frames first: they are warm in the caches and already backed
    // by host memory, while frames never touched cost the host nothing yet
    // (which is also what makes a balloon inflation give back real memory).
    if (addr / PAGE_SIZE < next_fit)
        next_fit = addr / PAGE_SIZE;
    irq_restore(irq);
}

void page_get_stats(struct page_stats *out)
{
    out->total = frames_total;
    out->free = frames_free;
}

size_t page_frame_limit(void) { return highest_frame; }
