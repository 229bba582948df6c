// SPDX-License-Identifier: MIT
// The clock: the TSC counts time, calibrated once at boot against the PIT
// (1.193182 MHz, a fixed reference on every PC). The LAPIC timer is calibrated
// in the same window. The window is short (180 PIT ticks, ~150 us) because
// under -icount shift=0 every nanosecond of guest time costs one instruction
// of the boot budget; 180 ticks still gives ~0.6% precision.
// The wall clock is read once from the CMOS RTC.
#include <time.h>
#include "arch.h"
#include "clock.h"
#include "console.h"
#include "cpu.h"

#define PIT_HZ 1193182u
#define CALIBRATION_PIT_TICKS 180

void lapic_timer_start_free_running(void);
uint32_t lapic_timer_current(void);
void lapic_timer_set_hz(uint64_t hz);

static uint64_t tsc_hz;
static uint64_t ns_per_tsc_q32;                // nanoseconds per TSC tick, 32.32 fixed point
static uint64_t epoch_ns_at_boot;

static uint16_t pit_read(void)
{
    outb(0x43, 0x00);                          // latch channel 0
    uint8_t lo = inb(0x40);
    uint8_t hi = inb(0x40);
    return (uint16_t)(lo | hi << 8);
}

// Returns false when the PIT does not count (no PIT on this machine).
static bool calibrate(uint64_t *tsc_out, uint64_t *lapic_out)
{
    outb(0x43, 0x34);                          // channel 0, lo/hi byte, mode 2
    outb(0x40, 0);
    outb(0x40, 0);                             // period 65536 ticks
    lapic_timer_start_free_running();

    uint16_t start = pit_read();
    uint64_t t0 = rdtsc();
    uint32_t l0 = lapic_timer_current();
    uint16_t elapsed = 0;
    for (long spins = 0; elapsed < CALIBRATION_PIT_TICKS; spins++) {
        if (spins > 5000000)
            return false;
        elapsed = (uint16_t)(start - pit_read());
    }
    uint64_t t1 = rdtsc();
    uint32_t l1 = lapic_timer_current();
    *tsc_out = (t1 - t0) * PIT_HZ / elapsed;
    *lapic_out = (uint64_t)(l0 - l1) * PIT_HZ / elapsed;
    return true;
}

static unsigned cmos(unsigned reg)
{
    outb(0x70, (uint8_t)reg);
    return inb(0x71);
}

static uint64_t rtc_read_epoch(void)
{
    for (int i = 0; i < 100000 && (cmos(0x0a) & 0x80); i++)   // update in progress
        cpu_relax();
    unsigned sec = cmos(0), min = cmos(2), hour = cmos(4), day = cmos(7), mon = cmos(8), year = cmos(9);
    unsigned b = cmos(0x0b);
    if (!(b & 0x04)) {                         // BCD
#define BCD(x) (((x) & 0x0f) + ((x) >> 4) * 10)
        sec = BCD(sec); min = BCD(min); hour = BCD(hour & 0x7f) | (hour & 0x80);
        day = BCD(day); mon = BCD(mon); year = BCD(year);
#undef BCD
    }
    if (!(b & 0x02) && (hour & 0x80))          // 12-hour clock, PM
        hour = ((hour & 0x7f) + 12) % 24;
    if (mon < 1 || mon > 12 || day < 1 || day > 31)
        return 0;
    struct tm tm = { .tm_sec = (int)sec, .tm_min = (int)min, .tm_hour = (int)hour,
                     .tm_mday = (int)day, .tm_mon = (int)mon - 1, .tm_year = 100 + (int)year };
    return (uint64_t)timegm(&tm);
}

void clock_init(void)
{
    uint64_t lapic_hz;
    if (!calibrate(&tsc_hz, &lapic_hz)) {
        kprintf("clock: the PIT does not count; assuming a 1 GHz TSC and QEMU's 62.5 MHz APIC timer\n");
        tsc_hz = 1000000000u;
        lapic_hz = 62500000u;
    }
    ns_per_tsc_q32 = (uint64_t)(((unsigned __int128)1000000000u << 32) / tsc_hz);
    lapic_timer_set_hz(lapic_hz);
    epoch_ns_at_boot = rtc_read_epoch() * 1000000000u;
}

uint64_t clock_tsc_hz(void) { return tsc_hz; }

uint64_t clock_monotonic_ns(void)
{
    return (uint64_t)(((unsigned __int128)(rdtsc() - boot_tsc) * ns_per_tsc_q32) >> 32);
}

uint64_t clock_realtime_ns(void) { return epoch_ns_at_boot + clock_monotonic_ns(); }

uint64_t clock_ns_to_tsc(uint64_t ns) { return (uint64_t)((unsigned __int128)ns * tsc_hz / 1000000000u); }
