// SPDX-License-Identifier: MIT
// The kernel memory hog (see kernel_hog.h). Held pages form a list threaded
// through their own first word, so the hog needs no memory of its own. Each
// page is written once: the host must then really back it, as it would a
// network buffer the device had filled.
#include <stdbool.h>
#include <stdint.h>
#include "kernel_hog.h"
#include "metrics.h"
#include "page_alloc.h"
#include "sync.h"

static struct kmutex lock;
static uintptr_t *list;                // first page; each page holds the next
static size_t held;
static bool registered;

static void metrics(struct event *e) { event_u64(e, "kernel_hog_pages", held); }

static int grow(void)
{
    uintptr_t page = page_alloc(1);
    if (!page)
        return -1;
    uintptr_t *p = (uintptr_t *)page;
    p[0] = (uintptr_t)list;
    p[1] = 0x686f67686f67686fULL;      // "hoghogho": written, so resident on the host
    list = p;
    held++;
    return 0;
}

static void shrink(void)
{
    uintptr_t *p = list;
    list = (uintptr_t *)p[0];
    held--;
    page_free((uintptr_t)p, 1);
}

size_t kernel_hog_set(size_t pages)
{
    kmutex_lock(&lock);
    if (!registered) {
        registered = true;
        metrics_register(metrics);
    }
    while (held < pages && grow() == 0)
        ;
    while (held > pages)
        shrink();
    size_t now = held;
    kmutex_unlock(&lock);
    return now;
}

size_t kernel_hog_pages(void) { return held; }
