// SPDX-License-Identifier: MIT
// The human console (COM1): kernel log, app stdout/stderr, panic dumps.
#pragma once
#include <stddef.h>

void console_init(void);
// Writes n bytes; "\n" becomes "\r\n" on the wire. Safe from any context.
void console_write(const char *s, size_t n);
// Reads up to n bytes typed on COM1; blocks until at least one arrives.
size_t console_read(char *s, size_t n);
// Once interrupts work (after lapic_init): lets COM1's receive interrupt wake
// a blocked console_read instead of it polling every millisecond.
void console_enable_rx_irq(void);
// Kernel log: printf-style, prefixed with "[kernel] ", to COM1.
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
