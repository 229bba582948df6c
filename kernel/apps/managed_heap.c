// SPDX-License-Identifier: MIT
// managed_heap: a garbage-collected heap, the lab's stand-in for a JVM, that
// lends memory to the kernel through a balloon object (OSv's JVM balloon).
//
// The heap is one mmap region, given nearly all free memory at start, as OSv
// gives the JVM everything. Objects are reached through handles: a table
// outside the heap holds each object's address, size and flags, so objects
// carry no header and the collector moves one by updating one entry.
// Allocation bumps `top` upwards; after every `young` MiB allocated, or when
// `top` meets `limit`, a mark-compact collection marks from the roots and
// slides the live objects down (what early JVMs with handles did; the
// `young` trigger plays the part of a JVM's young generation).
//
//   base                          top                limit                end
//   | objects, live and dead ...  | free ...         | balloon objects ...  |
//
// Balloon objects sit above `limit`, stacked downwards from the top: they are
// what the kernel borrows, and it unmaps their pages. The collector never
// touches them: they are pinned (never slid), pointer-free (never scanned),
// and their headers live in the handle table. That is the whole defence
// against the fault that sank OSv's version, where the JVM's compacting
// collector copied the balloon array and ran into the unmapped pages.
// With `unsafe`, a balloon object is an ordinary object among the others, and
// the next compaction slides it: a page fault in ring 0, which OSv had to
// catch in its page-fault handler.
//
// A mutator thread keeps allocating in the background: chains of records of
// random sizes and contents, each with a checksum, replacing old chains so
// that garbage accrues. Each mutator step holds the heap lock and keeps no
// raw pointer into the heap between steps, so "holding the lock" is a safe
// point: whoever holds it (the mutator, or the kernel's balloon thread in a
// callback) may collect.
//
// Usage: managed_heap [reserve=MIB] [heap=MIB] [live=MIB] [rate=MIB] [young=MIB]
//                     [seconds=N] [unsafe]
//   reserve  memory left to the kernel at start (default 16; unikernel only)
//   heap     heap size (default: all free memory but `reserve`; 96 on Linux)
//   live     live data the mutator keeps (default 24)
//   rate     MiB the mutator allocates per second (default 16)
//   young    collect after this many MiB allocated (default 32)
//   seconds  run this long, check, and exit (default 0: until "quit")
// On Linux each collection gives the heap's free pages back (madvise), so the
// host balloon can take them.
// Commands on stdin, one a line: hog MIB | gc | check | stats | quit.
// Prints "ready" when running, and "name value" lines for stats.
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#ifdef __unikernel__
#include <unikernel.h>
#endif

#define MIB          (1ul << 20)
#define PAGE         4096ul
#define ALIGN        16ul
#define MAX_OBJECTS  (1u << 16)            // handles; 0 is the null handle
#define ROOTS        256
#define CHAIN_MAX    8
#define MAX_BALLOONS 256
#define KEEP_FREE    (8 * MIB)             // never lend below this much free heap

enum { F_MARK = 1, F_PINNED = 2, F_NOSCAN = 4, F_BALLOON = 8 };

// An object's header, kept outside the heap. The first nrefs 32-bit words of
// the object are handles; the checksum covers the bytes after them.
struct object {
    uint8_t *addr;                         // NULL: a free handle
    uint32_t size;
    uint16_t nrefs;
    uint8_t flags;
    uint64_t sum;
};

static struct {
    pthread_mutex_t lock;
    uint8_t *base, *top, *limit, *end;
    struct object obj[MAX_OBJECTS];
    uint32_t order[MAX_OBJECTS];           // objects below `limit`, in address order
    unsigned norder;
    uint32_t free_handles[MAX_OBJECTS];
    unsigned nfree;
    uint32_t balloons[MAX_BALLOONS];       // the balloon objects, newest last
    unsigned nballoons;
    uint32_t root[ROOTS];
    uint8_t chain[ROOTS];                  // length of each root's chain
    uint32_t mark_stack[MAX_OBJECTS];
    uint64_t collections, live_bytes, allocated, alloc_failures, moved_bytes;
    uint64_t allocated_at_collection;      // `allocated` when the last collection ran
    uint64_t lent, returned;               // balloon bytes, in total
    bool unsafe;
} heap;

static struct { size_t reserve, heap, live, rate, young, seconds; } opt = { 16, 0, 24, 16, 32, 0 };

// ---------------------------------------------------------------- helpers
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static size_t round_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }
static size_t refs_bytes(const struct object *o) { return round_up(o->nrefs * 4u, 8); }
static uint32_t *refs(const struct object *o) { return (uint32_t *)o->addr; }

static uint64_t checksum(const struct object *o)
{
    const uint64_t *w = (const uint64_t *)(o->addr + refs_bytes(o));
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < (o->size - refs_bytes(o)) / 8; i++)
        h = (h ^ w[i]) * 0x100000001b3ull;
    return h;
}

static uint32_t new_handle(void) { return heap.nfree ? heap.free_handles[--heap.nfree] : 0; }

static void free_handle(uint32_t h)
{
    heap.obj[h].addr = NULL;
    heap.free_handles[heap.nfree++] = h;
}

static size_t balloon_bytes(void)
{
    size_t n = 0;
    for (unsigned i = 0; i < heap.nballoons; i++)
        n += heap.obj[heap.balloons[i]].size;
    return n;
}

// What the kernel shows on COM2. Lock held.
static void report(void)
{
#ifdef __unikernel__
    struct uk_heap_report r = {
        .heap_bytes = (unsigned long)(heap.end - heap.base) - balloon_bytes(),
        .used_bytes = (unsigned long)(heap.top - heap.base),
        .live_bytes = heap.live_bytes,
        .collections = heap.collections,
    };
    uk_heap_report(&r);
#endif
}

// ---------------------------------------------------------------- the collector
static void mark(uint32_t h, unsigned *sp)
{
    if (h && !(heap.obj[h].flags & F_MARK)) {
        heap.obj[h].flags |= F_MARK;
        heap.mark_stack[(*sp)++] = h;
    }
}

// Marks everything reachable from the roots and the balloon list. A NOSCAN
// object is marked but its contents are never read.
static void mark_all(void)
{
    unsigned sp = 0;
    for (unsigned i = 0; i < ROOTS; i++)
        mark(heap.root[i], &sp);
    for (unsigned i = 0; i < heap.nballoons; i++)
        mark(heap.balloons[i], &sp);
    while (sp > 0) {
        struct object *o = &heap.obj[heap.mark_stack[--sp]];
        if (o->flags & F_NOSCAN)
            continue;
        for (unsigned i = 0; i < o->nrefs; i++)
            mark(refs(o)[i], &sp);
    }
}

// Slides the marked objects below `limit` down to `base`, in address order,
// and frees the handles of the rest. A pinned object stays where it is.
static void compact(void)
{
    uint8_t *cursor = heap.base;
    unsigned kept = 0;
    heap.live_bytes = 0;
    for (unsigned i = 0; i < heap.norder; i++) {
        uint32_t h = heap.order[i];
        struct object *o = &heap.obj[h];
        if (!(o->flags & F_MARK)) {
            free_handle(h);
            continue;
        }
        o->flags &= ~F_MARK;
        if (o->flags & F_PINNED) {
            cursor = o->addr;
        } else if (o->addr != cursor) {
            memmove(cursor, o->addr, o->size);           // `unsafe`: faults on a balloon
            heap.moved_bytes += o->size;
            o->addr = cursor;
        }
        cursor += round_up(o->size, ALIGN);
        heap.live_bytes += o->size;
        heap.order[kept++] = h;
    }
    heap.norder = kept;
    heap.top = cursor;
}

#ifndef __unikernel__
// On Linux, hand the free space a collection left back to the kernel, as a JVM
// uncommits heap after a collection (JEP 346): the pages stay mapped and read
// as zero when touched again. (In the unikernel the heap balloon lends it.)
static void release_free_space(void)
{
    uintptr_t from = round_up((uintptr_t)heap.top, PAGE);
    uintptr_t to = (uintptr_t)heap.limit & ~(PAGE - 1);
    if (to > from)
        madvise((void *)from, to - from, MADV_DONTNEED);
}
#endif

static void collect(void)
{
    mark_all();
    compact();
#ifndef __unikernel__
    release_free_space();
#endif
    for (unsigned i = 0; i < heap.nballoons; i++)
        heap.obj[heap.balloons[i]].flags &= ~F_MARK;
    heap.collections++;
    heap.allocated_at_collection = heap.allocated;
    report();
}

// ---------------------------------------------------------------- allocation
// A fresh object of `size` bytes with nrefs null handles first; 0 when even a
// collection leaves no room. Lock held.
static uint32_t allocate(size_t size, unsigned nrefs)
{
    size = round_up(size, ALIGN);
    bool young_full = heap.allocated - heap.allocated_at_collection >= opt.young * MIB;
    if (heap.top + size > heap.limit || !heap.nfree || young_full)
        collect();
    uint32_t h = heap.top + size <= heap.limit ? new_handle() : 0;
    if (!h) {
        heap.alloc_failures++;
        return 0;
    }
    heap.obj[h] = (struct object){ heap.top, (uint32_t)size, (uint16_t)nrefs, 0, 0 };
    memset(heap.top, 0, refs_bytes(&heap.obj[h]));
    heap.top += size;
    heap.order[heap.norder++] = h;
    heap.allocated += size;
    return h;
}

// ---------------------------------------------------------------- the mutator
static size_t random_size(void)
{
    size_t mean = opt.live * MIB / (ROOTS * (CHAIN_MAX - 2));
    return 64 + rng() % (2 * (mean > 64 ? mean : 64));
}

// Keeps a root's chain at most CHAIN_MAX long: cuts the link after that.
static void trim_chain(unsigned slot)
{
    uint32_t h = heap.root[slot];
    for (unsigned i = 1; i < CHAIN_MAX && h; i++)
        h = refs(&heap.obj[h])[0];
    if (h)
        refs(&heap.obj[h])[0] = 0;
    heap.chain[slot] = CHAIN_MAX;
}

// One step: a new record, filled and summed, at the head of a random chain
// (or replacing the chain, which becomes garbage). Returns its size.
static size_t mutator_step(void)
{
    unsigned slot = (unsigned)(rng() % ROOTS);
    size_t size = random_size();
    pthread_mutex_lock(&heap.lock);
    uint32_t h = allocate(size, 1);
    if (!h) {
        heap.root[slot] = 0;                           // drop a chain and carry on
        heap.chain[slot] = 0;
        pthread_mutex_unlock(&heap.lock);
        return 0;
    }
    struct object *o = &heap.obj[h];
    uint64_t *w = (uint64_t *)(o->addr + refs_bytes(o));
    for (size_t i = 0; i < (o->size - refs_bytes(o)) / 8; i++)
        w[i] = rng();
    o->sum = checksum(o);
    bool fresh = heap.chain[slot] == 0 || rng() % 8 == 0;
    refs(o)[0] = fresh ? 0 : heap.root[slot];
    heap.root[slot] = h;
    heap.chain[slot] = fresh ? 1 : heap.chain[slot] + 1;
    if (heap.chain[slot] > CHAIN_MAX)
        trim_chain(slot);
    size = o->size;
    pthread_mutex_unlock(&heap.lock);
    return size;
}

// Every 250 ms the heap's counters go to COM2, so a plot sees garbage pile up.
static void report_now_and_then(uint64_t *next)
{
    uint64_t now = now_ns();
    if (now < *next)
        return;
    *next = now + 250000000ull;
    pthread_mutex_lock(&heap.lock);
    report();
    pthread_mutex_unlock(&heap.lock);
}

static void *mutator(void *unused)
{
    (void)unused;
    uint64_t start = now_ns(), next_report = 0;
    double done = 0;
    for (;;) {
        report_now_and_then(&next_report);
        done += (double)mutator_step();
        double ahead_ns = done / (double)(opt.rate * MIB) * 1e9 - (double)(now_ns() - start);
        if (ahead_ns > 1e6) {                          // ahead of the rate: sleep it off
            struct timespec t = { 0, ahead_ns < 1e8 ? (long)ahead_ns : 100000000 };
            nanosleep(&t, NULL);
        }
    }
    return NULL;
}

// ---------------------------------------------------------------- the balloon
// How many bytes (whole pages, at most `want`) the heap can lend now, keeping
// KEEP_FREE or half the live data free, whichever is more. Collects first
// when that helps. Lock held.
static size_t room_to_lend(size_t want)
{
    size_t keep = heap.live_bytes / 2 > KEEP_FREE ? heap.live_bytes / 2 : KEEP_FREE;
    uint8_t *from = heap.unsafe ? (uint8_t *)round_up((uintptr_t)heap.top, PAGE) : heap.top;
    if (from + want + keep > heap.limit) {
        collect();
        from = heap.unsafe ? (uint8_t *)round_up((uintptr_t)heap.top, PAGE) : heap.top;
    }
    size_t room = (size_t)(heap.limit - from) > keep ? (size_t)(heap.limit - from) - keep : 0;
    room &= ~(PAGE - 1);
    return want < room ? want : room;
}

// A balloon object of n bytes: pinned at the top of the heap, or (unsafe) an
// ordinary page-aligned object at `top`. Returns its handle, 0 if none left.
static uint32_t place_balloon(size_t n)
{
    uint32_t h = heap.nballoons < MAX_BALLOONS ? new_handle() : 0;
    if (!h)
        return 0;
    if (heap.unsafe) {
        heap.top = (uint8_t *)round_up((uintptr_t)heap.top, PAGE);
        heap.obj[h] = (struct object){ heap.top, (uint32_t)n, 0, F_BALLOON | F_NOSCAN, 0 };
        heap.top += n;
        heap.order[heap.norder++] = h;
    } else {
        heap.limit -= n;
        heap.obj[h] = (struct object){ heap.limit, (uint32_t)n, 0, F_BALLOON | F_PINNED | F_NOSCAN, 0 };
    }
    heap.balloons[heap.nballoons++] = h;
    return h;
}

// Called by the kernel's balloon thread: lend it up to `bytes`.
static void *balloon_inflate(void *ctx, size_t bytes, size_t *got)
{
    (void)ctx;
    pthread_mutex_lock(&heap.lock);
    size_t n = room_to_lend(bytes);
    uint32_t h = n ? place_balloon(n) : 0;
    void *start = h ? heap.obj[h].addr : NULL;
    *got = h ? n : 0;
    heap.lent += *got;
    report();
    pthread_mutex_unlock(&heap.lock);
    return start;
}

static void forget_balloon(unsigned i)
{
    uint32_t h = heap.balloons[i];
    heap.balloons[i] = heap.balloons[--heap.nballoons];
    if (!heap.unsafe)
        free_handle(h);                               // unsafe: now garbage, like any object
}

// Called by the kernel's balloon thread: [start, start + bytes) is ours again.
static void balloon_deflate(void *ctx, void *start, size_t bytes)
{
    (void)ctx;
    pthread_mutex_lock(&heap.lock);
    for (unsigned i = 0; i < heap.nballoons; i++) {
        struct object *o = &heap.obj[heap.balloons[i]];
        if (o->addr != start)
            continue;
        if (bytes >= o->size) {
            forget_balloon(i);
        } else {
            o->addr += bytes;
            o->size -= (uint32_t)bytes;
        }
        heap.returned += bytes;
        break;
    }
    heap.limit = heap.end;
    for (unsigned i = 0; !heap.unsafe && i < heap.nballoons; i++)
        if (heap.obj[heap.balloons[i]].addr < heap.limit)
            heap.limit = heap.obj[heap.balloons[i]].addr;
    report();
    pthread_mutex_unlock(&heap.lock);
}

// ---------------------------------------------------------------- commands
// Walks every chain and recomputes every checksum. Lock held.
static bool check(size_t *objects, size_t *bytes)
{
    *objects = *bytes = 0;
    for (unsigned slot = 0; slot < ROOTS; slot++) {
        unsigned len = 0;
        for (uint32_t h = heap.root[slot]; h; h = refs(&heap.obj[h])[0], len++) {
            struct object *o = &heap.obj[h];
            if (!o->addr || (o->flags & F_BALLOON) || o->addr < heap.base ||
                o->addr + o->size > heap.limit || checksum(o) != o->sum)
                return false;
            ++*objects;
            *bytes += o->size;
        }
        if (len != heap.chain[slot])
            return false;
    }
    for (unsigned i = 0; i < heap.nballoons && !heap.unsafe; i++) {
        struct object *o = &heap.obj[heap.balloons[i]];
        if (o->addr < heap.limit || o->addr + o->size > heap.end || !(o->flags & F_PINNED))
            return false;
    }
    return true;
}

static bool check_cmd(void)
{
    size_t objects, bytes;
    pthread_mutex_lock(&heap.lock);
    bool ok = check(&objects, &bytes);
    uint64_t collections = heap.collections;
    pthread_mutex_unlock(&heap.lock);
    printf("check %s objects %zu bytes %zu collections %llu\n", ok ? "ok" : "FAILED", objects,
           bytes, (unsigned long long)collections);
    return ok;
}

static void stats_cmd(void)
{
    pthread_mutex_lock(&heap.lock);
    unsigned long v[] = {
        (unsigned long)(heap.end - heap.base) - balloon_bytes(), (unsigned long)(heap.top - heap.base),
        heap.live_bytes, balloon_bytes(), heap.nballoons, heap.collections, heap.norder,
        heap.allocated, heap.alloc_failures, heap.moved_bytes, heap.lent, heap.returned,
    };
    pthread_mutex_unlock(&heap.lock);
    const char *names[] = { "heap_bytes", "used_bytes", "live_bytes", "balloon_bytes",
                            "balloon_objects", "collections", "objects", "allocated_bytes",
                            "alloc_failures", "moved_bytes", "lent_bytes", "returned_bytes" };
    for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++)
        printf("%s %lu\n", names[i], v[i]);
#ifdef __unikernel__
    struct uk_memory_info m;
    uk_memory_info(&m);
    printf("kernel_free_bytes %lu\nkernel_hog_bytes %lu\nhost_balloon_bytes %lu\n",
           m.free_bytes, m.kernel_hog_bytes, m.host_balloon_bytes);
#endif
    printf("end\n");
}

static void hog_cmd(unsigned long mib)
{
#ifdef __unikernel__
    unsigned long held = uk_kernel_hog(mib * MIB);
    printf("hog %lu held_bytes %lu\n", mib, held);
#else
    printf("hog %lu: the kernel memory hog exists only on the unikernel\n", mib);
#endif
}

static void gc_cmd(void)
{
    pthread_mutex_lock(&heap.lock);
    collect();
    uint64_t live = heap.live_bytes;
    pthread_mutex_unlock(&heap.lock);
    printf("gc live_bytes %llu\n", (unsigned long long)live);
}

// ---------------------------------------------------------------- start
static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        unsigned long v = 0;
        const char *eq = strchr(argv[i], '=');
        if (eq)
            v = strtoul(eq + 1, NULL, 0);
        if (strcmp(argv[i], "unsafe") == 0)
            heap.unsafe = true;
        else if (strncmp(argv[i], "reserve=", 8) == 0)
            opt.reserve = v;
        else if (strncmp(argv[i], "heap=", 5) == 0)
            opt.heap = v;
        else if (strncmp(argv[i], "live=", 5) == 0)
            opt.live = v;
        else if (strncmp(argv[i], "rate=", 5) == 0)
            opt.rate = v ? v : 1;
        else if (strncmp(argv[i], "young=", 6) == 0)
            opt.young = v ? v : 1;
        else if (strncmp(argv[i], "seconds=", 8) == 0)
            opt.seconds = v;
        else
            fprintf(stderr, "managed_heap: ignoring %s\n", argv[i]);
    }
}

// The heap's size: all free memory but the reserve, as OSv sizes the JVM.
static size_t heap_size(void)
{
    if (opt.heap)
        return opt.heap * MIB;
#ifdef __unikernel__
    struct uk_memory_info m;
    uk_memory_info(&m);
    size_t reserve = opt.reserve * MIB;
    return m.free_bytes > reserve + 32 * MIB ? (m.free_bytes - reserve) & ~(MIB - 1) : 32 * MIB;
#else
    return 96 * MIB;
#endif
}

static int start_heap(void)
{
    size_t size = heap_size();
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    heap.base = heap.top = p;
    heap.limit = heap.end = heap.base + size;
    for (uint32_t h = MAX_OBJECTS - 1; h > 0; h--)
        heap.free_handles[heap.nfree++] = h;
    pthread_mutex_init(&heap.lock, NULL);
#ifdef __unikernel__
    struct uk_heap_balloon b = { balloon_inflate, balloon_deflate, NULL };
    if (uk_heap_balloon_register(&b) < 0)
        return -1;
    report();
#else
    (void)balloon_inflate, (void)balloon_deflate;
#endif
    return 0;
}

static int finish(void)
{
    bool ok = check_cmd();
    stats_cmd();
    printf(ok ? "SUCCESS\n" : "FAILURE: a checksum or a chain is wrong\n");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    parse_args(argc, argv);
    if (start_heap() < 0) {
        perror("managed_heap: heap");
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, mutator, NULL) != 0) {
        perror("managed_heap: mutator");
        return 1;
    }
    printf("ready heap_bytes %zu unsafe %d\n", (size_t)(heap.end - heap.base), heap.unsafe);
    if (opt.seconds) {
        struct timespec t = { (time_t)opt.seconds, 0 };
        nanosleep(&t, NULL);
        return finish();
    }
    char line[64];
    unsigned long n;
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "hog %lu", &n) == 1)
            hog_cmd(n);
        else if (strncmp(line, "gc", 2) == 0)
            gc_cmd();
        else if (strncmp(line, "check", 5) == 0)
            check_cmd();
        else if (strncmp(line, "stats", 5) == 0)
            stats_cmd();
        else if (strncmp(line, "quit", 4) == 0)
            break;
        else if (line[0] != '\n')
            printf("unknown command: %s", line);
    }
    return finish();
}
