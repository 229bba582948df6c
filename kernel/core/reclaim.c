// SPDX-License-Identifier: MIT
// The shrinker chain behind page_alloc's OOM handler: each shrinker in turn
// until the pages asked for are free again. The chain is short and fixed
// after boot, so it is read without a lock.
#include "reclaim.h"
#include "console.h"
#include "page_alloc.h"

#define MAX_SHRINKERS 4

static struct { const char *name; shrinker_fn fn; } chain[MAX_SHRINKERS];
static unsigned nchain;

static void on_oom(size_t n) { reclaim_pages(n); }

void reclaim_register(const char *name, shrinker_fn fn)
{
    if (nchain == MAX_SHRINKERS) {
        kprintf("reclaim: no room for shrinker %s\n", name);
        return;
    }
    chain[nchain].name = name;
    chain[nchain].fn = fn;
    if (nchain++ == 0)
        page_alloc_set_oom_handler(on_oom);
}

size_t reclaim_pages(size_t n)
{
    size_t freed = 0;
    for (unsigned i = 0; i < nchain && freed < n; i++)
        freed += chain[i].fn(n - freed);
    return freed;
}
