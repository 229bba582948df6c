// SPDX-License-Identifier: MIT
// Builds the periodic COM2 metrics sample from the core counters plus every
// registered source (drivers' counters). The scheduler calls metrics_send
// from the timer interrupt every metrics=MS milliseconds.
#include "metrics.h"
#include "heap.h"
#include "page_alloc.h"
#include "thread.h"
#include "arch.h"

#define MAX_SOURCES 8
static metrics_source sources[MAX_SOURCES];
static unsigned nsources;

void metrics_register(metrics_source source)
{
    if (nsources < MAX_SOURCES)
        sources[nsources++] = source;
}

void metrics_send(uint64_t now_ns)
{
    struct page_stats ps;
    struct heap_stats hs;
    page_get_stats(&ps);
    heap_get_stats(&hs);
    struct event e;
    event_begin(&e, "metrics");
    event_u64(&e, "tsc", rdtsc());
    event_u64(&e, "ns", now_ns);
    event_u64(&e, "pages_free", ps.free);
    event_u64(&e, "pages_used", ps.total - ps.free);
    event_u64(&e, "heap_bytes", hs.bytes_in_use);
    event_u64(&e, "threads", thread_count());
    event_u64(&e, "ticks", sched_ticks());
    event_u64(&e, "switches", sched_switches());
    for (unsigned i = 0; i < nsources; i++)
        sources[i](&e);
    event_send(&e);
}
