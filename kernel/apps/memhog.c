// SPDX-License-Identifier: MIT
// memhog: takes memory and gives it back on command, for the virtio-balloon
// tests and lesson 04. Memory comes from anonymous mmap and every page is
// written, so it is really resident: in the guest, and in QEMU on the host.
// Usage: memhog [MIB]
//   First maps, writes and unmaps MIB MiB (default 0): the host has then
//   backed that memory and the guest has it free again. Prints "ready", then
//   reads one command a line from stdin:
//     alloc MIB   map and write MIB MiB more: "alloc MIB ok" or "alloc MIB failed"
//     free        unmap all of it: "free ok"
//     stats       memory as the kernel sees it, "name value" lines, then "end"
//     quit        "SUCCESS", exit status 0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __unikernel__
#include <unikernel.h>
#endif

#define MIB        (1ul << 20)
#define MAX_BLOCKS 256

static struct { void *start; size_t len; } blocks[MAX_BLOCKS];
static unsigned nblocks;

// Maps and writes `mib` MiB; returns NULL when memory ran out.
static void *take(size_t mib)
{
    void *p = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, 0x5a, mib * MIB);
    return p;
}

static void alloc_cmd(size_t mib)
{
    void *p = nblocks < MAX_BLOCKS && mib ? take(mib) : NULL;
    if (p) {
        blocks[nblocks].start = p;
        blocks[nblocks++].len = mib * MIB;
    }
    printf("alloc %zu %s\n", mib, p ? "ok" : "failed");
}

static void free_cmd(void)
{
    while (nblocks > 0) {
        nblocks--;
        munmap(blocks[nblocks].start, blocks[nblocks].len);
    }
    printf("free ok\n");
}

static void stats_cmd(void)
{
    size_t held = 0;
    for (unsigned i = 0; i < nblocks; i++)
        held += blocks[i].len;
    printf("held_bytes %zu\n", held);
#ifdef __unikernel__
    struct uk_memory_info m;
    uk_memory_info(&m);
    printf("total_bytes %lu\nfree_bytes %lu\nhost_balloon_bytes %lu\n", m.total_bytes,
           m.free_bytes, m.host_balloon_bytes);
#else
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    unsigned long kib;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemTotal: %lu", &kib) == 1)
            printf("total_bytes %lu\n", kib * 1024);
        else if (sscanf(line, "MemFree: %lu", &kib) == 1)
            printf("free_bytes %lu\n", kib * 1024);
    }
    if (f)
        fclose(f);
#endif
    printf("end\n");
}

int main(int argc, char **argv)
{
    size_t warm = argc > 1 ? strtoul(argv[1], NULL, 0) : 0;
    if (warm) {
        void *p = take(warm);
        if (!p) {
            printf("memhog: could not touch %zu MiB\n", warm);
            return 1;
        }
        munmap(p, warm * MIB);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    char line[64];
    size_t mib;
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "alloc %zu", &mib) == 1)
            alloc_cmd(mib);
        else if (strncmp(line, "free", 4) == 0)
            free_cmd();
        else if (strncmp(line, "stats", 5) == 0)
            stats_cmd();
        else if (strncmp(line, "quit", 4) == 0)
            break;
        else if (line[0] != '\n')
            printf("unknown command: %s", line);
    }
    printf("SUCCESS\n");
    return 0;
}
