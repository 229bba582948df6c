// SPDX-License-Identifier: MIT
// The local APIC: end-of-interrupt and the one-shot timer that drives the
// scheduler. The legacy PIC is masked; everything arrives through the LAPIC.
// The timer is one-shot ("tickless"): the scheduler arms it for the next
// event, so an idle guest sleeps in hlt instead of waking 100 times a second.
#include "arch.h"
#include "cpu.h"
#include "memlayout.h"

enum {
    LAPIC_ID = 0x20, LAPIC_EOI = 0xb0, LAPIC_SVR = 0xf0,
    LAPIC_LVT_TIMER = 0x320, LAPIC_TIMER_INIT = 0x380, LAPIC_TIMER_CUR = 0x390,
    LAPIC_TIMER_DIV = 0x3e0,
};
#define LVT_MASKED (1u << 16)
#define TIMER_DIVIDE_BY_16 0x3

static volatile uint32_t *lapic = (uint32_t *)LAPIC_BASE;
static uint64_t lapic_timer_hz;                // counts per second after the divider

static uint32_t lapic_read(unsigned reg) { return lapic[reg / 4]; }
static void lapic_write(unsigned reg, uint32_t v) { lapic[reg / 4] = v; }

void lapic_init(void)
{
    outb(0x21, 0xff);                          // mask both 8259 PICs
    outb(0xa1, 0xff);
    uint64_t base = rdmsr(MSR_APIC_BASE);
    wrmsr(MSR_APIC_BASE, base | (1 << 11));    // global enable
    lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
    lapic_write(LAPIC_TIMER_DIV, TIMER_DIVIDE_BY_16);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
}

void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

// Used by the calibration in tsc.c: start the timer counting down, masked.
void lapic_timer_start_free_running(void)
{
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
    lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
}
uint32_t lapic_timer_current(void) { return lapic_read(LAPIC_TIMER_CUR); }
void lapic_timer_set_hz(uint64_t hz) { lapic_timer_hz = hz; }

void timer_arm_ns(uint64_t delta_ns)
{
    if (delta_ns == 0) {
        lapic_write(LAPIC_TIMER_INIT, 0);
        return;
    }
    unsigned __int128 counts = (unsigned __int128)delta_ns * lapic_timer_hz / 1000000000u;
    uint32_t init = counts == 0 ? 1 : counts > 0xffffffffu ? 0xffffffffu : (uint32_t)counts;
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR);   // one-shot, unmasked
    lapic_write(LAPIC_TIMER_INIT, init);
}

uint64_t arch_rdtsc(void) { return rdtsc(); }

void arch_idle(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }

void arch_halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}
