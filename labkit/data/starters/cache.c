// SPDX-License-Identifier: MIT
// A cache that lends memory to the kernel (lesson 04, exercise 3). The lesson's first cell
// copies this file to work/cache.c; you write its inflate() in work/cache_inflate.c.
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unikernel.h>

#define PAGE      4096ul
#define SLAB      (4ul << 20)                 // the cache's unit: 4 MiB
#define MAX_SLABS 64

static unsigned char *base;                   // nslabs slabs, one after the other
static unsigned nslabs;
static int lent[MAX_SLABS];                   // 1: the kernel has this slab's pages
static unsigned back[MAX_SLABS];              // pages of a lent slab mapped again
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned char *slab(unsigned i) { return base + (size_t)i * SLAB; }
static void fill(unsigned i) { memset(slab(i), 0x41 + (int)(i % 26), SLAB); }

static int intact(unsigned i)
{
    for (size_t off = 0; off < SLAB; off += PAGE)
        if (slab(i)[off] != 0x41 + i % 26)
            return 0;
    return 1;
}

// inflate(), the function you write: the exercise's cell writes it to cache_inflate.c.
#include "cache_inflate.c"

// Called by the kernel when [start, start + bytes) is mapped again (zeroed pages, maybe part
// of a slab): a slab whose pages are all back is refilled and cached again.
static void deflate(void *ctx, void *start, size_t bytes)
{
    (void)ctx;
    pthread_mutex_lock(&lock);
    for (size_t off = 0; off < bytes; off += PAGE) {
        unsigned i = (unsigned)(((unsigned char *)start + off - base) / SLAB);
        if (++back[i] == SLAB / PAGE) {
            back[i] = 0;
            lent[i] = 0;
            fill(i);
        }
    }
    pthread_mutex_unlock(&lock);
}

int main(void)
{
    struct uk_memory_info m;
    uk_memory_info(&m);
    nslabs = (unsigned)((m.free_bytes - (16ul << 20)) / SLAB);
    nslabs = nslabs > MAX_SLABS ? MAX_SLABS : nslabs;
    base = mmap(NULL, nslabs * SLAB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return 1;
    for (unsigned i = 0; i < nslabs; i++)
        fill(i);
    struct uk_heap_balloon b = { inflate, deflate, NULL };
    if (uk_heap_balloon_register(&b) < 0)
        return 1;
    printf("ready: %u slabs of 4 MiB\n", nslabs);
    for (;;) {                                // check what the cache holds, every 200 ms
        struct timespec t = { 0, 200000000 };
        nanosleep(&t, NULL);
        unsigned checked = 0, out = 0;
        pthread_mutex_lock(&lock);
        for (unsigned i = 0; i < nslabs; i++) {
            if (lent[i]) {
                out++;
                continue;
            }
            if (!intact(i))
                printf("CORRUPT slab %u\n", i);
            checked++;
        }
        pthread_mutex_unlock(&lock);
        printf("checked %u slabs, %u lent\n", checked, out);
    }
}
