// SPDX-License-Identifier: MIT
// Lab extensions only this kernel has. Include it behind #ifdef __unikernel__
// so the same app still builds against glibc.
#pragma once
#include <stddef.h>

#define UNIKERNEL_VERSION 1

// The MMU's dirty bits of the 4 KiB pages of [addr, addr + length), which
// must be page-aligned memory of the app area (from mmap): page i's bit goes
// to bit i % 8 of bitmap[i / 8] (1: written since last cleared). With clear
// set the bits are reset, so the next call reports only newer writes.
// Returns the number of pages examined, or -1 with errno EINVAL.
// (Implemented in libc/mman.c.)
long uk_dirty_pages(void *addr, size_t length, unsigned char *bitmap, int clear);

// ---- The heap balloon: memory between the kernel and an app's managed heap ----
// (Implemented in libc/heap_balloon.c; the kernel side is core/heap_balloon.c.)
//
// An app that runs its own garbage-collected heap (a JVM, say) is given nearly
// all free memory and registers two callbacks. When the kernel runs short, it
// calls inflate() from its "heapballoon" thread: the heap allocates a balloon
// object of whole pages and returns it; the kernel unmaps those pages and uses
// the memory. When memory is plentiful again the kernel maps fresh zeroed
// pages back and calls deflate(): the balloon object shrinks or is freed.
//
// What the heap must promise about a balloon object, so that its collector
// never touches the unmapped pages: page-aligned; pinned (never moved or
// compacted); pointer-free (never scanned); its header, if any, outside its
// pages; unreachable by the program. Both callbacks should take the heap's
// lock, so they run at a safe point (never during a collection); and the app
// must not call malloc, mmap or pthread_create while holding that lock.
struct uk_heap_balloon {
    // Allocate a balloon object of at most `bytes` (a multiple of 4096); set
    // *got to its size and return its start, or return NULL (*got = 0).
    void *(*inflate)(void *ctx, size_t bytes, size_t *got);
    // [start, start + bytes) is mapped again: the low end, or all, of the
    // balloon object that starts at `start`.
    void (*deflate)(void *ctx, void *start, size_t bytes);
    void *ctx;
};
// Returns 0, or -1 with errno EBUSY (a heap is registered) or EINVAL.
int uk_heap_balloon_register(const struct uk_heap_balloon *balloon);
// Maps every page back (calling deflate) and forgets the heap. Returns 0, or
// -1 with errno EAGAIN when memory stayed too short to map them back.
int uk_heap_balloon_unregister(void);

// The heap's counters, shown on COM2 ("heap_balloon" events); call it after
// each collection and from the callbacks.
struct uk_heap_report {
    unsigned long heap_bytes;     // the heap's size, balloon objects excluded
    unsigned long used_bytes;     // allocated, live or not yet collected
    unsigned long live_bytes;     // found live by the last collection
    unsigned long collections;
};
void uk_heap_report(const struct uk_heap_report *report);

// Memory as the kernel sees it, in bytes.
struct uk_memory_info {
    unsigned long total_bytes;          // RAM the page allocator manages
    unsigned long free_bytes;           // free now
    unsigned long host_balloon_bytes;   // given to the host (virtio-balloon)
    unsigned long heap_balloon_bytes;   // taken from the app's heap
    unsigned long kernel_hog_bytes;     // held by the kernel memory hog
};
void uk_memory_info(struct uk_memory_info *info);

// The lab's kernel memory hog: the kernel holds `bytes` (rounded up to pages)
// as if for its own buffers, taking pages one at a time, so memory pressure
// runs the same reclaim path (host balloon first, then the heap balloon) as
// any kernel allocation would. 0 releases it all. Returns the bytes held
// afterwards: fewer than asked when even reclaim could not find the memory.
unsigned long uk_kernel_hog(unsigned long bytes);
