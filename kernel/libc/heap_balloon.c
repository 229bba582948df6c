// SPDX-License-Identifier: MIT
// The app's side of the heap balloon and the lab's memory counters (see
// unikernel.h): thin calls into core/heap_balloon.c, core/kernel_hog.c and
// the page allocator.
#include <errno.h>
#include <unikernel.h>
#include "balloon.h"
#include "heap_balloon.h"
#include "kernel_hog.h"
#include "memlayout.h"
#include "page_alloc.h"

int uk_heap_balloon_register(const struct uk_heap_balloon *balloon)
{
    if (!balloon || !balloon->inflate || !balloon->deflate) {
        errno = EINVAL;
        return -1;
    }
    struct heap_balloon_ops ops = { balloon->inflate, balloon->deflate, balloon->ctx };
    if (heap_balloon_register(&ops) < 0) {
        errno = EBUSY;
        return -1;
    }
    return 0;
}

int uk_heap_balloon_unregister(void)
{
    if (heap_balloon_unregister() < 0) {
        errno = EAGAIN;
        return -1;
    }
    return 0;
}

void uk_heap_report(const struct uk_heap_report *report)
{
    struct heap_report r = { report->heap_bytes, report->used_bytes, report->live_bytes,
                             report->collections };
    heap_balloon_report(&r);
}

void uk_memory_info(struct uk_memory_info *info)
{
    struct page_stats ps;
    struct balloon_stats vb;
    struct heap_balloon_stats hs;
    page_get_stats(&ps);
    balloon_get_stats(&vb);
    heap_balloon_get_stats(&hs);
    *info = (struct uk_memory_info){
        .total_bytes = ps.total * PAGE_SIZE,
        .free_bytes = ps.free * PAGE_SIZE,
        .host_balloon_bytes = (unsigned long)vb.balloon_pages * PAGE_SIZE,
        .heap_balloon_bytes = hs.balloon_bytes,
        .kernel_hog_bytes = kernel_hog_pages() * PAGE_SIZE,
    };
}

unsigned long uk_kernel_hog(unsigned long bytes)
{
    return kernel_hog_set((bytes + PAGE_SIZE - 1) / PAGE_SIZE) * PAGE_SIZE;
}
