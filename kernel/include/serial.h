// SPDX-License-Identifier: MIT
// 8250/16550 UARTs. COM1 is the console, COM2 the machine channel. Output is
// polled; COM1's input may interrupt (serial_enable_rx_irq).
#pragma once
#include <stdint.h>
#include <stdbool.h>

#define COM1 0x3f8
#define COM2 0x2f8

void serial_init(uint16_t port);
void serial_putc(uint16_t port, char c);
// Returns true and stores a byte if one has arrived.
bool serial_try_getc(uint16_t port, char *c);
// Asks the UART to interrupt when a byte arrives (IER bit 0). The line stays
// up until every received byte has been read.
void serial_enable_rx_irq(uint16_t port);
