// SPDX-License-Identifier: MIT
// The I/O APIC (Intel 82093AA): routes the legacy ISA interrupt lines to LAPIC
// vectors. Only the console uses it (COM1's receive interrupt, ISA IRQ 4);
// virtio devices interrupt through MSI-X and need no routing. Registers are
// reached through an index (IOREGSEL) and a window (IOWIN) at 0xfec00000,
// which the identity map covers uncached.
#include <stdbool.h>
#include <stdint.h>
#include "arch.h"
#include "memlayout.h"

#define IOAPIC_BASE    0xfec00000UL
#define IOREGSEL       0x00
#define IOWIN          0x10
#define REG_VERSION    0x01
#define REG_REDIR(pin) (0x10 + 2 * (pin))

static volatile uint32_t *const ioapic = (volatile uint32_t *)IOAPIC_BASE;

static uint32_t ioapic_read(unsigned reg)
{
    ioapic[IOREGSEL / 4] = reg;
    return ioapic[IOWIN / 4];
}

static void ioapic_write(unsigned reg, uint32_t v)
{
    ioapic[IOREGSEL / 4] = reg;
    ioapic[IOWIN / 4] = v;
}

bool ioapic_route(unsigned pin, unsigned vector)
{
    uint32_t version = ioapic_read(REG_VERSION);
    unsigned pins = ((version >> 16) & 0xff) + 1;
    if (version == 0xffffffffu || pin >= pins)
        return false;                          // no I/O APIC there (or no such pin)
    ioapic_write(REG_REDIR(pin) + 1, 0);       // destination: LAPIC 0, physical mode
    ioapic_write(REG_REDIR(pin), vector);      // fixed delivery, edge, active high, unmasked
    return true;
}
