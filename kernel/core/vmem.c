// SPDX-License-Identifier: MIT
// Virtual ranges of the app area. A bump pointer hands out fresh ranges; freed
// ranges go on a short list and are reused first-fit (split when larger), which
// is enough for stacks and mmap in a single-application kernel.
#include "vmem.h"
#include "arch.h"
#include "memlayout.h"

#define MAX_FREE_RANGES 128
static struct { uintptr_t start; size_t len; } free_ranges[MAX_FREE_RANGES];
static unsigned nfree;
static uintptr_t bump = VMEM_START;

static size_t round_pages(size_t n) { return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); }

static uintptr_t take(size_t total)
{
    for (unsigned i = 0; i < nfree; i++) {
        if (free_ranges[i].len < total)
            continue;
        uintptr_t start = free_ranges[i].start;
        free_ranges[i].start += total;
        free_ranges[i].len -= total;
        if (free_ranges[i].len == 0)
            free_ranges[i] = free_ranges[--nfree];
        return start;
    }
    if (bump + total > APP_AREA_START + APP_AREA_SIZE)
        return 0;
    uintptr_t start = bump;
    bump += total;
    return start;
}

uintptr_t vmem_reserve(size_t len, size_t guard)
{
    size_t total = round_pages(len) + round_pages(guard);
    int irq = irq_save();
    uintptr_t start = take(total);
    irq_restore(irq);
    return start ? start + round_pages(guard) : 0;
}

void vmem_release(uintptr_t start, size_t len, size_t guard)
{
    int irq = irq_save();
    if (nfree < MAX_FREE_RANGES) {             // else the range leaks: harmless
        free_ranges[nfree].start = start - round_pages(guard);
        free_ranges[nfree].len = round_pages(len) + round_pages(guard);
        nfree++;
    }
    irq_restore(irq);
}

void *vmem_map(size_t len, int prot)
{
    len = round_pages(len);
    uintptr_t va = vmem_reserve(len, 0);
    if (!va)
        return NULL;
    if (paging_map_anon(va, len, prot, true) < 0) {
        vmem_release(va, len, 0);
        return NULL;
    }
    return (void *)va;
}

void vmem_unmap(void *start, size_t len)
{
    len = round_pages(len);
    paging_unmap((uintptr_t)start, len, true);
    vmem_release((uintptr_t)start, len, 0);
}
