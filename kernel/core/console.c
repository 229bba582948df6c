// SPDX-License-Identifier: MIT
// The console on COM1: the app's stdout/stderr and the kernel log. Output is
// written with interrupts held off so lines from different threads do not
// interleave mid-line at the byte level.
#include <stdarg.h>
#include <stdio.h>
#include "console.h"
#include "serial.h"
#include "thread.h"
#include "../arch/x86_64/cpu.h"

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
        while (got < n && serial_try_getc(COM1, &s[got]))
            got++;
        if (got == 0)
            thread_sleep_ns(1000000);          // poll every millisecond
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
