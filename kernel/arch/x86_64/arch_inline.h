// SPDX-License-Identifier: MIT
// The few architecture operations the portable kernel needs inline, because
// they sit on hot paths or inside timed regions: interrupt masking and the
// cycle counter. arch.h includes this; nothing in core/ or net/ includes it
// directly, and nothing else from arch/ leaks through it.
#pragma once
#include <stdint.h>

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t read_rflags(void)
{
    uint64_t f;
    __asm__ volatile("pushfq; popq %0" : "=r"(f));
    return f;
}
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
#define RFLAGS_IF (1UL << 9)

// Disable interrupts and return whether they were on; pair with irq_restore.
static inline int irq_save(void)
{
    int on = (read_rflags() & RFLAGS_IF) != 0;
    irq_disable();
    return on;
}
static inline void irq_restore(int on) { if (on) irq_enable(); }
