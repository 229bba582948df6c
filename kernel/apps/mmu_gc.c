// SPDX-License-Identifier: MIT
// Which pages of a garbage-collected heap did the program write since the
// last collection? A generational GC must know, to find old objects that now
// point to young ones. Two ways to find out, compared on the same writes:
//   cards: a software write barrier marks a byte per 4 KiB "card" on every
//          pointer store (what the JVM does: extra instructions in the app);
//   mmu:   the CPU already sets the dirty bit of a page's PTE on the first
//          write; the collector reads and clears those bits (free in the app,
//          a page-table walk in the collector). On the unikernel the app may
//          do that itself (uk_dirty_pages); on Linux the same source uses the
//          kernel's soft-dirty bits through /proc (system calls and a file).
// Prints "name value" lines; under -icount shift=0, ticks are instructions.
// Usage: mmu_gc [pages [writes]]   (defaults 256 and 100)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __unikernel__
#include <unikernel.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

#define PAGE 4096u

static inline uint64_t ticks(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

// The mutator: `writes` pointer stores to pseudo-random slots of the heap.
// The slot sequence is a fixed LCG, so both runs write the same places.
static void mutate(void **heap, size_t slots, size_t writes, uint8_t *cards)
{
    uint64_t x = 12345;
    for (size_t i = 0; i < writes; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t s = (x >> 33) % slots;
        heap[s] = &heap[(s + 1) % slots];
        if (cards)                             // the write barrier
            cards[(s * sizeof(void *)) / PAGE] = 1;
    }
}

#ifdef __unikernel__
static int dirty_pages(void *heap, size_t len, uint8_t *bits, int clear)
{
    return uk_dirty_pages(heap, len, bits, clear) < 0 ? -1 : 0;
}
#else
// Linux: writing "4" to clear_refs clears the soft-dirty bits; bit 55 of each
// pagemap entry reads them.
static int dirty_pages(void *heap, size_t len, uint8_t *bits, int clear)
{
    size_t pages = len / PAGE;
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0)
        return -1;
    for (size_t i = 0; i < pages; i++) {
        uint64_t entry = 0;
        off_t off = (off_t)(((uintptr_t)heap / PAGE + i) * sizeof entry);
        if (pread(fd, &entry, sizeof entry, off) != (ssize_t)sizeof entry)
            entry = 0;
        if (entry >> 55 & 1)
            bits[i / 8] |= (uint8_t)(1u << (i % 8));
        else
            bits[i / 8] &= (uint8_t)~(1u << (i % 8));
    }
    close(fd);
    if (clear) {
        int c = open("/proc/self/clear_refs", O_WRONLY);
        if (c < 0 || write(c, "4", 1) != 1)
            return -1;
        close(c);
    }
    return 0;
}
#endif

int main(int argc, char **argv)
{
    size_t pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
    size_t writes = argc > 2 ? strtoul(argv[2], NULL, 0) : 100;
    size_t len = pages * PAGE, slots = len / sizeof(void *);
    void **heap = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *cards = calloc(pages, 1), *bits = calloc(pages / 8 + 1, 1);
    if (heap == MAP_FAILED || !cards || !bits) {
        perror("mmu_gc: allocation");
        return 1;
    }
    memset(heap, 0, len);                      // touch every page once: all resident

    uint64_t t0 = ticks();
    mutate(heap, slots, writes, NULL);
    uint64_t plain = ticks() - t0;
    t0 = ticks();
    mutate(heap, slots, writes, cards);
    uint64_t barrier = ticks() - t0;

    // The MMU run: clear the dirty bits, run the plain mutator, read them back.
    if (dirty_pages(heap, len, bits, 1) < 0) {
        perror("mmu_gc: dirty bits");
        return 1;
    }
    mutate(heap, slots, writes, NULL);
    t0 = ticks();
    int rc = dirty_pages(heap, len, bits, 0);
    uint64_t scan = ticks() - t0;

    size_t dirty_mmu = 0, dirty_cards = 0, differ = 0;
    for (size_t i = 0; i < pages; i++) {
        int m = bits[i / 8] >> (i % 8) & 1;
        dirty_mmu += (size_t)m;
        dirty_cards += cards[i];
        differ += (size_t)(m != cards[i]);
    }
    printf("pages %zu\nwrites %zu\n", pages, writes);
    printf("dirty_cards %zu\ndirty_mmu %zu\npages_that_differ %zu\n", dirty_cards, dirty_mmu, differ);
    printf("mutator_plain_ticks %llu\nmutator_barrier_ticks %llu\n", (unsigned long long)plain,
           (unsigned long long)barrier);
    printf("barrier_ticks_per_write %.2f\n", (double)(barrier - plain) / (double)writes);
    printf("mmu_scan_ticks %llu\n", (unsigned long long)scan);
#ifndef __unikernel__
    if (rc == 0 && dirty_mmu == 0 && dirty_cards > 0) {
        printf("UNSUPPORTED: this Linux kernel reports no soft-dirty pages (CONFIG_MEM_SOFT_DIRTY)\n");
        return 77;
    }
#endif
    if (rc < 0 || differ != 0) {
        printf("FAILURE: the dirty bits and the card table disagree\n");
        return 1;
    }
    printf("SUCCESS\n");
    return 0;
}
