// SPDX-License-Identifier: MIT
// Memory reclaim: what the kernel does before it fails an allocation. When
// the page allocator finds no free run it asks its shrinkers, in the order
// they registered, to free pages, and tries once more (page_alloc.h's OOM
// handler). Two shrinkers exist: the virtio balloon (takes pages back from
// the host, DEFLATE_ON_OOM) and the heap balloon (takes pages from the app's
// managed heap). OSv calls the same idea a "shrinker".
#pragma once
#include <stddef.h>

// Frees up to `want` pages (more is fine) and returns how many it freed.
// Runs in the allocating thread, never in an interrupt handler; it may block
// briefly (the heap balloon waits for the app's heap to reach a safe point).
typedef size_t (*shrinker_fn)(size_t want);

// Adds a shrinker to the end of the chain (at most 4). The first call makes
// the chain the page allocator's OOM handler.
void reclaim_register(const char *name, shrinker_fn fn);
// Runs the chain for n pages; returns the pages freed. Also what page_alloc
// calls when it runs short.
size_t reclaim_pages(size_t n);
