// SPDX-License-Identifier: MIT
// What does a "system call" cost? Times getpid() and a 1-byte write() to
// /dev/null over N iterations (argv[1], default 100000) with the TSC, minus
// an empty loop timed the same way. Under QEMU -icount shift=0, ticks are
// guest instructions. Output lines are "name value" for scripts.
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <fcntl.h>
#include <unistd.h>

static volatile long sink;   // keeps every result alive

// lfence on both sides: rdtsc is not ordered with the code around it.
static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t time_empty(long n)
{
    uint64_t t0 = tsc();
    for (long i = 0; i < n; i++)
        sink = i;
    return tsc() - t0;
}

// getpid() called directly: through the PLT on the unikernel, a real system
// call on Linux (glibc stopped caching the pid in 2.25).
static uint64_t time_getpid(long n)
{
    uint64_t t0 = tsc();
    for (long i = 0; i < n; i++)
        sink = getpid();
    return tsc() - t0;
}

static uint64_t time_write(long n, int fd)
{
    char byte = 'x';
    uint64_t t0 = tsc();
    for (long i = 0; i < n; i++)
        sink = write(fd, &byte, 1);
    return tsc() - t0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    if (n <= 0) {
        fprintf(stderr, "usage: syscall_bench [ITERATIONS > 0]\n");
        return 2;
    }
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) {
        perror("open /dev/null");
        return 1;
    }
    // Warm up caches, TLB and (on Linux) lazy binding before measuring.
    time_empty(1000);
    time_getpid(1000);
    time_write(1000, fd);

    double loop = (double)time_empty(n) / n;
    double getpid_cost = (double)time_getpid(n) / n - loop;
    double write_cost = (double)time_write(n, fd) / n - loop;
    close(fd);

    printf("iterations %ld\n", n);
    printf("loop_ticks_per_iter %.2f\n", loop);
    printf("getpid_ticks_per_call %.2f\n", getpid_cost);
    printf("write_ticks_per_call %.2f\n", write_cost);
    return 0;
}
