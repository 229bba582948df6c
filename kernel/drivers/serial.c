// SPDX-License-Identifier: MIT
// 8250/16550 UART driver: 115200 8N1, FIFOs on. Output is polled (under QEMU
// the transmitter is always ready, so a write costs one port access); input
// may raise the UART's interrupt, which MCR's OUT2 lets out to the ISA line.
#include "serial.h"
#include "../arch/x86_64/cpu.h"

enum { DATA = 0, IER = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5 };
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

void serial_init(uint16_t port)
{
    outb(port + IER, 0x00);
    outb(port + LCR, 0x80);                    // DLAB: set the divisor
    outb(port + DATA, 0x01);                   // 115200 baud
    outb(port + IER, 0x00);
    outb(port + LCR, 0x03);                    // 8 bits, no parity, 1 stop bit
    outb(port + FCR, 0xc5);                    // FIFOs on; keep bytes already received
    outb(port + MCR, 0x0b);
}

void serial_putc(uint16_t port, char c)
{
    for (int spins = 0; spins < 100000 && !(inb(port + LSR) & LSR_THR_EMPTY); spins++)
        cpu_relax();
    outb(port, (uint8_t)c);
}

void serial_enable_rx_irq(uint16_t port) { outb(port + IER, 0x01); }

bool serial_try_getc(uint16_t port, char *c)
{
    if (!(inb(port + LSR) & LSR_DATA_READY))
        return false;
    *c = (char)inb(port);
    return true;
}
