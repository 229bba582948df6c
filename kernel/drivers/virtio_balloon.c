// SPDX-License-Identifier: MIT
// virtio-balloon (virtio spec 5.5). The host writes a target number of 4 KiB
// pages into the config space; a driver thread moves toward it in batches of
// up to 256 page frame numbers: inflating allocates pages and tells the host
// their PFNs on the inflate queue (the host then drops their backing memory),
// deflating tells it on the deflate queue and frees them. The driver never
// touches a page while the host has it: the list of held pages lives apart.
// Statistics go to the host on the stats queue whenever it hands the buffer
// back. With DEFLATE_ON_OOM, the page allocator's OOM handler takes pages
// back at once (legal: MUST_TELL_HOST is not negotiated) and the thread
// reports them afterwards.
#include <string.h>
#include "balloon.h"
#include "console.h"
#include "clock.h"
#include "heap.h"
#include "metrics.h"
#include "page_alloc.h"
#include "thread.h"
#include "virtio.h"
#include "memlayout.h"
#include "../arch/x86_64/cpu.h"

#define F_MUST_TELL_HOST  (1u << 0)
#define F_STATS_VQ        (1u << 1)
#define F_DEFLATE_ON_OOM  (1u << 2)
#define BATCH             256
#define RESERVE_PAGES     1024          // never inflate below 4 MiB of free memory
#define RETRY_NS          200000000u    // try again after a short inflation
#define POLL_NS           100000000u    // without MSI-X, look at the target this often
enum { CFG_NUM_PAGES = 0, CFG_ACTUAL = 4 };
enum { Q_INFLATE, Q_DEFLATE, Q_STATS };
enum stat_tag { TAG_SWAP_IN = 0, TAG_SWAP_OUT, TAG_MAJFLT, TAG_MINFLT, TAG_MEMFREE, TAG_MEMTOT, TAG_AVAIL, TAG_CACHES };

struct __attribute__((packed)) stat { uint16_t tag; uint64_t value; };

static struct {
    struct virtio_dev dev;
    struct virtq q[3];
    bool present, deflate_on_oom, has_stats;
    uint32_t *held;                      // PFNs the host has
    size_t nheld, cap;
    uint32_t batch[BATCH];
    uint32_t unreported[BATCH];          // taken back on OOM, host not told yet
    unsigned nunreported;
    struct stat stats[8];
    struct thread *worker;
    volatile bool work;
    uint64_t oom_deflated, inflations, deflations;
} b;

static void kick_worker(void)
{
    b.work = true;
    if (b.worker)
        thread_wake(b.worker);
}

static void interrupt(struct trap_frame *f, void *ctx)
{
    (void)f, (void)ctx;
    virtio_isr(&b.dev);                  // reading it acknowledges
    lapic_eoi();
    kick_worker();
}

// Sleeps until the interrupt handler or the OOM handler has news, or timeout.
static void wait_for_work(uint64_t timeout_ns)
{
    int irq = irq_save();
    uint64_t deadline = clock_monotonic_ns() + timeout_ns;
    while (!b.work && clock_monotonic_ns() < deadline)
        thread_block_until(deadline);
    b.work = false;
    irq_restore(irq);
}

// Hands n PFNs to the host on queue q and waits until it has read them.
static void send_pfns(struct virtq *q, const uint32_t *pfns, unsigned n)
{
    struct virtq_buf buf = { (void *)pfns, n * 4u, false };
    if (!virtq_add(q, &buf, 1, (void *)pfns))
        return;
    virtq_kick(q);
    while (!virtq_get_used(q, NULL))
        wait_for_work(10000000);
}

static bool remember(uint32_t pfn)
{
    if (b.nheld == b.cap) {
        size_t cap = b.cap ? b.cap * 2 : 4096;
        uint32_t *grown = krealloc(b.held, cap * sizeof *grown);
        if (!grown)
            return false;
        b.held = grown;
        b.cap = cap;
    }
    b.held[b.nheld++] = pfn;
    return true;
}

static unsigned inflate(unsigned want)
{
    unsigned n = 0;
    struct page_stats ps;
    while (n < want) {
        page_get_stats(&ps);
        if (ps.free <= RESERVE_PAGES)
            break;
        uintptr_t page = page_alloc(1);
        if (!page)
            break;
        if (!remember((uint32_t)(page / PAGE_SIZE))) {
            page_free(page, 1);
            break;
        }
        b.batch[n++] = (uint32_t)(page / PAGE_SIZE);
    }
    if (n) {
        send_pfns(&b.q[Q_INFLATE], b.batch, n);
        b.inflations++;
    }
    return n;
}

static void deflate(unsigned want)
{
    unsigned n = 0;
    int irq = irq_save();
    while (n < want && b.nheld > 0)
        b.batch[n++] = b.held[--b.nheld];
    irq_restore(irq);
    if (!n)
        return;
    send_pfns(&b.q[Q_DEFLATE], b.batch, n);          // tell first, then reuse
    for (unsigned i = 0; i < n; i++)
        page_free((uintptr_t)b.batch[i] * PAGE_SIZE, 1);
    b.deflations++;
}

// Pages the OOM handler already took back: tell the host now.
static void report_oom_deflations(void)
{
    int irq = irq_save();
    unsigned n = b.nunreported;
    memcpy(b.batch, b.unreported, n * sizeof *b.batch);
    b.nunreported = 0;
    irq_restore(irq);
    if (n)
        send_pfns(&b.q[Q_DEFLATE], b.batch, n);
}

static void fill_stats(void)
{
    struct page_stats ps;
    page_get_stats(&ps);
    uint64_t values[8] = { 0, 0, 0, 0, ps.free * PAGE_SIZE, ps.total * PAGE_SIZE, ps.free * PAGE_SIZE, 0 };
    for (int i = 0; i < 8; i++)
        b.stats[i] = (struct stat){ (uint16_t)i, values[i] };
}

static void give_stats(void)
{
    fill_stats();
    struct virtq_buf buf = { b.stats, sizeof b.stats, false };
    if (virtq_add(&b.q[Q_STATS], &buf, 1, b.stats))
        virtq_kick(&b.q[Q_STATS]);
}

static void worker(void *unused)
{
    (void)unused;
    for (;;) {
        if (b.has_stats && virtq_get_used(&b.q[Q_STATS], NULL))
            give_stats();                              // the host asked for fresh numbers
        report_oom_deflations();
        uint32_t target = virtio_config_read32(&b.dev, CFG_NUM_PAGES);
        bool short_of_memory = false;
        if (target > b.nheld) {
            unsigned want = target - b.nheld > BATCH ? BATCH : target - (unsigned)b.nheld;
            short_of_memory = inflate(want) < want;
        } else if (target < b.nheld) {
            deflate(b.nheld - target > BATCH ? BATCH : (unsigned)(b.nheld - target));
        }
        virtio_config_write32(&b.dev, CFG_ACTUAL, (uint32_t)b.nheld);
        if (target != b.nheld && !short_of_memory)
            continue;                                  // next batch straight away
        wait_for_work(short_of_memory ? RETRY_NS : b.dev.vector ? UINT64_MAX / 2 : POLL_NS);
    }
}

// DEFLATE_ON_OOM: give back at least n pages (and a batch's worth) right now.
static void on_oom(size_t n)
{
    int irq = irq_save();
    size_t want = n > 64 ? n : 64;
    size_t taken = 0;
    while (taken < want && b.nheld > 0 && b.nunreported < BATCH) {
        uint32_t pfn = b.held[--b.nheld];
        b.unreported[b.nunreported++] = pfn;
        page_free((uintptr_t)pfn * PAGE_SIZE, 1);
        taken++;
    }
    b.oom_deflated += taken;
    irq_restore(irq);
    if (taken) {
        kprintf("balloon: memory ran short: took %zu pages back from the host\n", taken);
        kick_worker();
    }
}

static void metrics(struct event *e)
{
    event_u64(e, "balloon_pages", b.nheld);
    event_u64(e, "balloon_target", virtio_config_read32(&b.dev, CFG_NUM_PAGES));
    event_u64(e, "balloon_oom_pages", b.oom_deflated);
}

bool balloon_init(void)
{
    const struct pci_device *p = pci_find(VIRTIO_VENDOR, VIRTIO_ID_BALLOON, 0);
    if (!p || virtio_init(&b.dev, p, F_STATS_VQ | F_DEFLATE_ON_OOM) < 0)
        return false;
    b.has_stats = b.dev.features & F_STATS_VQ;
    b.deflate_on_oom = b.dev.features & F_DEFLATE_ON_OOM;
    unsigned nq = b.has_stats ? 3 : 2;
    for (unsigned i = 0; i < nq; i++)
        if (virtq_setup(&b.dev, (uint16_t)i, &b.q[i]) < 0)
            return false;
    if (!virtio_set_vectors(&b.dev, interrupt, NULL, nq))
        kprintf("balloon: no MSI-X; polling\n");
    virtio_driver_ok(&b.dev);
    if (b.has_stats)
        give_stats();
    b.present = true;
    b.worker = thread_create(worker, NULL, 0, "balloon");
    thread_detach(b.worker);
    thread_make_daemon(b.worker);
    if (b.deflate_on_oom)
        page_alloc_set_oom_handler(on_oom);
    metrics_register(metrics);
    kprintf("balloon: virtio-balloon ready (stats %s, deflate-on-oom %s)\n",
            b.has_stats ? "on" : "off", b.deflate_on_oom ? "on" : "off");
    return true;
}

void balloon_get_stats(struct balloon_stats *out)
{
    *out = (struct balloon_stats){
        .present = b.present, .balloon_pages = (uint32_t)b.nheld,
        .target_pages = b.present ? virtio_config_read32(&b.dev, CFG_NUM_PAGES) : 0,
        .oom_deflated_pages = b.oom_deflated, .inflations = b.inflations, .deflations = b.deflations,
    };
}
