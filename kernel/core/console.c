// SPDX-License-Identifier: MIT
// The console on COM1: the app's stdout/stderr and the kernel log. Output is
// written with interrupts held off so lines from different threads do not
// interleave mid-line at the byte level. A reader waits for COM1's receive
// interrupt (ISA IRQ 4 through the I/O APIC); without one it polls every
// millisecond, which keeps an idle guest busy (QEMU at ~7% of a host core).
#include <stdarg.h>
#include <stdio.h>
#include "arch.h"
#include "clock.h"
#include "console.h"
#include "serial.h"
#include "thread.h"

#define COM1_IRQ        4                      // ISA IRQ, I/O APIC pin 4 on pc, q35, microvm
#define RX_SAFETY_NS    100000000ull           // re-check now and then all the same

static bool rx_irq;                            // the receive interrupt is routed
static struct thread *reader;                  // the thread blocked in console_read

static void rx_interrupt(struct trap_frame *f, void *ctx)
{
    (void)f, (void)ctx;
    lapic_eoi();                               // handlers acknowledge their own vector
    // The line stays up until the reader drains the FIFO; the I/O APIC input is
    // edge triggered, so the next byte after that raises a new edge.
    if (reader)
        thread_wake(reader);
}

void console_enable_rx_irq(void)
{
    unsigned vector = irq_alloc_vector();
    if (!vector || !irq_register(vector, rx_interrupt, NULL) || !ioapic_route(COM1_IRQ, vector))
        return;                                // stay with polling
    serial_enable_rx_irq(COM1);
    rx_irq = true;
}

void console_init(void)
{
    serial_init(COM1);
}

void console_write(const char *s, size_t n)
{
    int irq = irq_save();
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            serial_putc(COM1, '\r');
        serial_putc(COM1, s[i]);
    }
    irq_restore(irq);
}

size_t console_read(char *s, size_t n)
{
    size_t got = 0;
    while (got == 0 && n > 0) {
        int irq = irq_save();                  // a byte arriving now must wake us
        while (got < n && serial_try_getc(COM1, &s[got]))
            got++;
        if (got == 0 && rx_irq && !reader) {
            reader = thread_current();
            thread_block_until(clock_monotonic_ns() + RX_SAFETY_NS);
            reader = NULL;
        }
        irq_restore(irq);
        if (got == 0 && (!rx_irq || reader))
            thread_sleep_ns(1000000);          // no interrupt (or another reader): poll
    }
    return got;
}

void kprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    console_write("[kernel] ", 9);
    console_write(buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}
