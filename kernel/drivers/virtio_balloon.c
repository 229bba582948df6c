// SPDX-License-Identifier: MIT
// virtio-balloon (virtio spec 5.5). The host writes a target number of 4 KiB
// pages into the config space; a driver thread moves toward it in batches of
// up to 256 page frame numbers: inflating allocates pages and tells the host
// their PFNs on the inflate queue (the host then drops their backing memory),
// deflating tells it on the deflate queue and frees them. The driver never
// touches a page while the host has it: the list of held pages lives apart.
// Statistics go to the host on the stats queue whenever it hands the buffer
// back. With DEFLATE_ON_OOM, the driver is the first shrinker of the reclaim
// chain: an allocation that would fail takes pages back at once (legal:
// MUST_TELL_HOST is not negotiated) and the thread reports them afterwards.
// When the free pool cannot fill the balloon, the driver asks the app's
// managed heap for memory through the heap balloon (heap_balloon.h).
// COM2 gets a "balloon" event when a new target arrives, when it is reached
// and when memory runs short of it, with the guest's own work in TSC ticks
// (waits for the host left out: under -icount, exact instructions).
// A new target wakes the driver by interrupt: an MSI-X vector when QEMU gives
// the device a vector table (virtio-balloon-pci,vectors=2; QEMU 9.2 and later),
// else the device's legacy INTx line through the I/O APIC. Only with neither
// does the thread look at the target every POLL_NS.
#include <string.h>
#include "balloon.h"
#include "console.h"
#include "clock.h"
#include "events.h"
#include "heap.h"
#include "heap_balloon.h"
#include "metrics.h"
#include "page_alloc.h"
#include "reclaim.h"
#include "thread.h"
#include "virtio.h"
#include "memlayout.h"
#include "arch.h"
#include "pci.h"
#include "../arch/x86_64/cpu.h"

#define F_MUST_TELL_HOST  (1u << 0)
#define F_STATS_VQ        (1u << 1)
#define F_DEFLATE_ON_OOM  (1u << 2)
#define BATCH             256
#define RESERVE_PAGES     1024          // never inflate below 4 MiB of free memory
#define RETRY_NS          200000000u    // try again after a short inflation
#define POLL_NS           100000000u    // without an interrupt, look at the target this often
#define OOM_WAITS         64            // an allocation waits at most this many ms for reports
#define APP_WAIT_NS       2000000000u   // wait this long for the app's heap to give memory
enum { CFG_NUM_PAGES = 0, CFG_ACTUAL = 4 };
enum { Q_INFLATE, Q_DEFLATE, Q_STATS };
enum stat_tag { TAG_SWAP_IN = 0, TAG_SWAP_OUT, TAG_MAJFLT, TAG_MINFLT, TAG_MEMFREE, TAG_MEMTOT, TAG_AVAIL, TAG_CACHES };

struct __attribute__((packed)) stat { uint16_t tag; uint64_t value; };

static struct {
    struct virtio_dev dev;
    struct virtq q[3];
    bool present, deflate_on_oom, has_stats;
    const char *wakeup;                  // "MSI-X", "INTx" or "polling"
    uint32_t *held;                      // PFNs the host has
    size_t nheld, cap;
    uint32_t batch[BATCH];
    uint32_t unreported[BATCH];          // taken back on OOM, host not told yet
    unsigned nunreported;
    struct stat stats[8];
    struct thread *worker;
    volatile bool work;
    uint64_t oom_deflated, inflations, deflations;
    uint32_t last_target;
    bool settling, told_short;           // a target not reached yet; "short" sent
    uint64_t work_tsc, wait_tsc, work_mark;   // ticks in inflate/deflate, of them waiting
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
    uint64_t t0 = rdtsc();
    while (!virtq_get_used(q, NULL))
        wait_for_work(10000000);
    b.wait_tsc += rdtsc() - t0;
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

static void announce(const char *action, uint32_t target)
{
    struct event e;
    event_begin(&e, "balloon");
    event_str(&e, "action", action);
    event_u64(&e, "target_pages", target);
    event_u64(&e, "pages", b.nheld);
    event_u64(&e, "work_tsc", b.work_tsc - b.wait_tsc - b.work_mark);
    event_u64(&e, "tsc", rdtsc());
    event_send(&e);
}

// Notes a new target, a reached one, or the first time memory ran short.
static void track(uint32_t target, bool short_of_memory)
{
    if (target != b.last_target) {
        b.last_target = target;
        b.work_mark = b.work_tsc - b.wait_tsc;
        b.settling = true;
        b.told_short = false;
        announce("target", target);
    }
    if (b.settling && b.nheld == target) {
        b.settling = false;
        announce("reached", target);
    } else if (b.settling && short_of_memory && !b.told_short) {
        b.told_short = true;
        announce("short", target);
    }
}

// One step toward the target: a batch in or out. Returns true when the guest
// could not find the memory the host asked for.
static bool step(uint32_t target)
{
    bool short_of_memory = false;
    uint64_t t0 = rdtsc();
    if (target > b.nheld) {
        unsigned want = target - b.nheld > BATCH ? BATCH : target - (unsigned)b.nheld;
        short_of_memory = inflate(want) < want;
    } else if (target < b.nheld) {
        deflate(b.nheld - target > BATCH ? BATCH : (unsigned)(b.nheld - target));
    }
    b.work_tsc += rdtsc() - t0;
    if (short_of_memory && heap_balloon_reclaim(target - b.nheld, APP_WAIT_NS) > 0)
        short_of_memory = false;                   // the app's heap lent some: go on
    return short_of_memory;
}

static void worker(void *unused)
{
    (void)unused;
    for (;;) {
        if (b.has_stats && virtq_get_used(&b.q[Q_STATS], NULL))
            give_stats();                              // the host asked for fresh numbers
        report_oom_deflations();
        uint32_t target = virtio_config_read32(&b.dev, CFG_NUM_PAGES);
        if (target != b.last_target)
            track(target, false);
        bool short_of_memory = step(target);
        virtio_config_write32(&b.dev, CFG_ACTUAL, (uint32_t)b.nheld);
        track(target, short_of_memory);
        if (target != b.nheld && !short_of_memory)
            continue;                                  // next batch straight away
        bool interrupts = b.wakeup[0] != 'p';
        wait_for_work(short_of_memory ? RETRY_NS : interrupts ? UINT64_MAX / 2 : POLL_NS);
    }
}

// DEFLATE_ON_OOM: take at least n pages (and a batch's worth) back right now.
// When the list of pages not yet reported is full, let the thread report them
// (a millisecond at a time, a few times at most).
static size_t on_oom(size_t n)
{
    int irq = irq_save();
    size_t want = n > 64 ? n : 64, taken = 0;
    unsigned waits = thread_current() == b.worker ? OOM_WAITS : 0;
    while (taken < want && b.nheld > 0) {
        if (b.nunreported == BATCH) {
            if (waits++ == OOM_WAITS)
                break;
            kick_worker();
            thread_sleep_ns(1000000);
            continue;
        }
        uint32_t pfn = b.held[--b.nheld];
        b.unreported[b.nunreported++] = pfn;
        page_free((uintptr_t)pfn * PAGE_SIZE, 1);
        taken++;
    }
    bool first = b.oom_deflated == 0;
    b.oom_deflated += taken;
    irq_restore(irq);
    if (taken) {
        if (first)
            kprintf("balloon: memory ran short: taking pages back from the host\n");
        kick_worker();
    }
    return taken;
}

static void metrics(struct event *e)
{
    event_u64(e, "balloon_pages", b.nheld);
    event_u64(e, "balloon_target", virtio_config_read32(&b.dev, CFG_NUM_PAGES));
    event_u64(e, "balloon_oom_pages", b.oom_deflated);
}

// The device's legacy interrupt: the line the firmware assigned (PCI config
// 0x3c), routed edge-triggered to a vector. Reading the ISR in interrupt()
// lowers the line, so the next event is a new edge.
static bool use_intx(void)
{
    unsigned line = b.dev.pci->irq_line;
    if (line == 0 || line >= 16)
        return false;
    unsigned vector = irq_alloc_vector();
    return vector && irq_register(vector, interrupt, NULL) && ioapic_route(line, vector);
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
    b.wakeup = virtio_set_vectors(&b.dev, interrupt, NULL, nq) ? "MSI-X"
             : use_intx() ? "INTx" : "polling";
    virtio_driver_ok(&b.dev);
    if (b.has_stats)
        give_stats();
    b.present = true;
    b.worker = thread_create(worker, NULL, 0, "balloon");
    thread_detach(b.worker);
    thread_make_daemon(b.worker);
    if (b.deflate_on_oom)
        reclaim_register("virtio-balloon", on_oom);
    metrics_register(metrics);
    kprintf("balloon: virtio-balloon ready (stats %s, deflate-on-oom %s, wakeup %s)\n",
            b.has_stats ? "on" : "off", b.deflate_on_oom ? "on" : "off", b.wakeup);
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
