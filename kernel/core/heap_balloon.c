// SPDX-License-Identifier: MIT
// The heap balloon (see heap_balloon.h). One kernel thread does all the work:
// it calls the app's callbacks, unmaps the pages the app handed over (their
// frames go back to the page allocator) and, once memory is plentiful again,
// maps fresh pages back and returns them. Threads that are short of memory
// (the reclaim chain, the virtio balloon) post a request and wait for it.
// The ranges held form a stack: the last one taken is the first returned,
// from its low end, which suits a heap that stacks balloon objects
// downwards from its top.
#include "heap_balloon.h"
#include "arch.h"
#include "balloon.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "kernel_hog.h"
#include "memlayout.h"
#include "metrics.h"
#include "page_alloc.h"
#include "reclaim.h"
#include "thread.h"
#include "sync.h"

#define CHUNK_PAGES      1024              // ask the app for at least 4 MiB at a time
#define MAX_GIVE_PAGES   16384             // give back at most 64 MiB a round
#define SPARE_PAGES      2048              // give back only while 8 MiB stay free...
#define HOLD_NS          1000000000u       // ...and 1 s after the last inflation
#define BACKOFF_NS       1000000000u       // after a refusal, leave the heap alone 1 s
#define OOM_WAIT_NS      2000000000u       // an allocation waits at most 2 s for the app
#define POLL_NS          100000000u
#define UNREGISTER_NS    5000000000ull      // how long unregistering may wait for memory
#define MAX_RANGES       256

struct range { uintptr_t start; size_t pages; };

static struct {
    struct heap_balloon_ops ops;
    volatile bool registered, leaving;
    struct range held[MAX_RANGES];
    unsigned nheld;
    size_t wanted;                         // pages asked for, not yet served
    uint64_t asked, served;                // request generations
    uint64_t freed;                        // pages freed by inflations, ever
    uint64_t last_inflate_ns, last_refusal_ns;
    struct wait_queue waiters;             // threads waiting for `served`
    struct thread *worker;
    volatile bool work;
    struct heap_balloon_stats s;
} hb;

static size_t pages_held(void) { return hb.s.balloon_bytes / PAGE_SIZE; }

static uint64_t free_pages(void)
{
    struct page_stats ps;
    page_get_stats(&ps);
    return ps.free;
}

// The memory picture after each change: one "heap_balloon" event on COM2.
static void announce(const char *action, uint64_t bytes)
{
    struct balloon_stats vb;
    balloon_get_stats(&vb);
    struct event e;
    event_begin(&e, "heap_balloon");
    event_str(&e, "action", action);
    event_u64(&e, "bytes", bytes);
    event_u64(&e, "balloon_bytes", hb.s.balloon_bytes);
    event_u64(&e, "heap_bytes", hb.s.app.heap_bytes);
    event_u64(&e, "used_bytes", hb.s.app.used_bytes);
    event_u64(&e, "live_bytes", hb.s.app.live_bytes);
    event_u64(&e, "collections", hb.s.app.collections);
    event_u64(&e, "pages_free", free_pages());
    event_u64(&e, "kernel_hog_pages", kernel_hog_pages());
    event_u64(&e, "host_balloon_pages", vb.balloon_pages);
    event_u64(&e, "tsc", rdtsc());
    event_send(&e);
}

static void metrics(struct event *e)
{
    event_u64(e, "heap_balloon_bytes", hb.s.balloon_bytes);
    event_u64(e, "app_heap_bytes", hb.s.app.heap_bytes);
    event_u64(e, "app_used_bytes", hb.s.app.used_bytes);
    event_u64(e, "app_live_bytes", hb.s.app.live_bytes);
    event_u64(e, "app_collections", hb.s.app.collections);
}

static void kick_worker(void)
{
    hb.work = true;
    if (hb.worker)
        thread_wake(hb.worker);
}

static void wait_for_work(uint64_t timeout_ns)
{
    int irq = irq_save();
    uint64_t deadline = clock_monotonic_ns() + timeout_ns;
    while (!hb.work && clock_monotonic_ns() < deadline)
        thread_block_until(deadline);
    hb.work = false;
    irq_restore(irq);
}

// What the app handed over must be whole pages of the app area, mapped.
static bool plausible(void *start, size_t bytes)
{
    uintptr_t va = (uintptr_t)start;
    return bytes && !((va | bytes) & (PAGE_SIZE - 1)) && va >= APP_AREA_START &&
           va + bytes <= APP_AREA_START + APP_AREA_SIZE && paging_is_mapped(va, bytes);
}

// One balloon object from the app: unmap it and free its frames. Returns the
// pages gained, 0 when the heap had nothing to spare.
static size_t take_one(size_t pages)
{
    size_t got = 0;
    void *start = hb.ops.inflate(hb.ops.ctx, pages * PAGE_SIZE, &got);
    if (!start || !got)
        return 0;
    if (!plausible(start, got)) {
        kprintf("heap balloon: the app lent %p + %zu bytes: not whole mapped pages; "
                "handed back\n", start, got);
        hb.ops.deflate(hb.ops.ctx, start, got);
        return 0;
    }
    paging_unmap((uintptr_t)start, got, true);
    hb.held[hb.nheld++] = (struct range){ (uintptr_t)start, got / PAGE_SIZE };
    hb.s.balloon_bytes += got;
    hb.s.inflations++;
    return got / PAGE_SIZE;
}

static void inflate(size_t pages)
{
    uint64_t now = clock_monotonic_ns();
    if (hb.last_refusal_ns && now - hb.last_refusal_ns < BACKOFF_NS)
        return;
    size_t gained = 0, n;
    while (gained < pages && hb.nheld < MAX_RANGES && (n = take_one(pages - gained)) > 0)
        gained += n;
    int irq = irq_save();
    hb.freed += gained;
    irq_restore(irq);
    if (gained < pages) {
        hb.s.refusals++;
        hb.last_refusal_ns = now;
    }
    if (gained)
        hb.last_inflate_ns = clock_monotonic_ns();
    announce(gained ? "inflate" : "refused", gained * PAGE_SIZE);
}

// Maps up to `pages` back, newest range first, and hands them to the app.
static void deflate(size_t pages)
{
    size_t returned = 0;
    while (returned < pages && hb.nheld > 0) {
        struct range *r = &hb.held[hb.nheld - 1];
        size_t n = pages - returned < r->pages ? pages - returned : r->pages;
        if (paging_map_anon(r->start, n * PAGE_SIZE, PROT_R | PROT_W, true) < 0)
            break;                                   // memory is short after all
        hb.ops.deflate(hb.ops.ctx, (void *)r->start, n * PAGE_SIZE);
        r->start += n * PAGE_SIZE;
        r->pages -= n;
        if (r->pages == 0)
            hb.nheld--;
        hb.s.balloon_bytes -= n * PAGE_SIZE;
        hb.s.deflations++;
        returned += n;
    }
    if (returned) {
        hb.last_refusal_ns = 0;                      // the heap has room again
        announce("deflate", returned * PAGE_SIZE);
    }
}

// Pressure is over: plenty free, no recent inflation, the host not waiting.
static bool pressure_is_over(void)
{
    struct balloon_stats vb;
    balloon_get_stats(&vb);
    bool host_waits = vb.present && vb.target_pages > vb.balloon_pages;
    return pages_held() > 0 && !host_waits && free_pages() > SPARE_PAGES + CHUNK_PAGES &&
           clock_monotonic_ns() - hb.last_inflate_ns > HOLD_NS;
}

// How much to give back now: what is free beyond the spare and one chunk
// (so that the next small allocation does not ask again), 64 MiB at most.
static size_t plenty(void)
{
    uint64_t free = free_pages(), keep = SPARE_PAGES + CHUNK_PAGES;
    size_t n = free > keep ? free - keep : 0;
    n = n < CHUNK_PAGES ? CHUNK_PAGES : n;
    return n < MAX_GIVE_PAGES ? n : MAX_GIVE_PAGES;
}

// Takes the pending request: its size and the generation it covers.
static size_t take_request(uint64_t *gen)
{
    int irq = irq_save();
    size_t want = hb.wanted;
    hb.wanted = 0;
    *gen = hb.asked;
    irq_restore(irq);
    return want;
}

static void finish_request(uint64_t gen)
{
    int irq = irq_save();
    hb.served = gen;
    struct thread *t;
    while ((t = waitq_pop(&hb.waiters)))
        thread_wake(t);
    irq_restore(irq);
}

static void worker(void *unused)
{
    (void)unused;
    for (;;) {
        wait_for_work(POLL_NS);
        uint64_t gen;
        size_t want = take_request(&gen);
        if (hb.leaving)
            deflate(pages_held());
        else if (want)
            inflate(want < CHUNK_PAGES ? CHUNK_PAGES : want);
        else if (pressure_is_over())
            deflate(plenty());
        finish_request(gen);
    }
}

size_t heap_balloon_reclaim(size_t pages, uint64_t timeout_ns)
{
    if (!hb.registered || hb.leaving || thread_current() == hb.worker)
        return 0;
    int irq = irq_save();
    uint64_t before = hb.freed;
    hb.wanted += pages;
    uint64_t gen = ++hb.asked;
    kick_worker();
    uint64_t deadline = clock_monotonic_ns() + timeout_ns;
    while (hb.served < gen && clock_monotonic_ns() < deadline) {
        struct thread *self = thread_current();
        waitq_push(&hb.waiters, self);
        if (!thread_block_until(deadline))
            waitq_remove(&hb.waiters, self);
    }
    size_t freed = hb.freed - before;
    irq_restore(irq);
    return freed;
}

static size_t shrink_app_heap(size_t want) { return heap_balloon_reclaim(want, OOM_WAIT_NS); }

static bool start_worker(void)
{
    hb.worker = thread_create(worker, NULL, 0, "heapballoon");
    if (!hb.worker)
        return false;
    thread_detach(hb.worker);
    thread_make_daemon(hb.worker);
    reclaim_register("heap-balloon", shrink_app_heap);
    metrics_register(metrics);
    return true;
}

int heap_balloon_register(const struct heap_balloon_ops *ops)
{
    if (!ops || !ops->inflate || !ops->deflate || hb.registered || hb.leaving)
        return -1;
    if (!hb.worker && !start_worker())
        return -1;
    hb.ops = *ops;
    hb.last_refusal_ns = 0;
    hb.registered = hb.s.registered = true;
    announce("register", 0);
    return 0;
}

int heap_balloon_unregister(void)
{
    if (!hb.registered)
        return 0;
    hb.leaving = true;
    uint64_t deadline = clock_monotonic_ns() + UNREGISTER_NS;
    while (pages_held() > 0 && clock_monotonic_ns() < deadline) {
        kick_worker();
        thread_sleep_ns(POLL_NS / 10);
    }
    hb.leaving = false;
    if (pages_held() > 0)
        return -1;                                   // no memory to map them back yet
    hb.registered = hb.s.registered = false;
    announce("unregister", 0);
    return 0;
}

void heap_balloon_report(const struct heap_report *r)
{
    hb.s.app = *r;
    announce("report", 0);
}

void heap_balloon_get_stats(struct heap_balloon_stats *out) { *out = hb.s; }
