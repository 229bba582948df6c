// SPDX-License-Identifier: MIT
// PCI bus 0 enumeration through configuration mechanism #1. Each device is
// recorded for the drivers that probe later (and logged on COM1 with log=verbose).
#include <stdbool.h>
#include "pci.h"
#include "arch.h"
#include <string.h>
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "../arch/x86_64/cpu.h"

#define MAX_DEVICES 32
static struct pci_device devices[MAX_DEVICES];
static int ndevices;

static uint32_t config_address(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off)
{
    return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)slot << 11 | (uint32_t)func << 8 | (off & 0xfc);
}

static uint32_t read_config(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off)
{
    outl(0xcf8, config_address(bus, slot, func, off));
    return inl(0xcfc);
}

uint32_t pci_read32(const struct pci_device *d, uint8_t off) { return read_config(d->bus, d->slot, d->func, off); }

void pci_write32(const struct pci_device *d, uint8_t off, uint32_t v)
{
    outl(0xcf8, config_address(d->bus, d->slot, d->func, off));
    outl(0xcfc, v);
}

static const char *class_name(uint8_t c)
{
    static const char *const names[] = { "unclassified", "storage", "network", "display", "multimedia",
                                         "memory", "bridge", "communication", "system", "input" };
    return c < sizeof names / sizeof names[0] ? names[c] : "other";
}

static void record(uint8_t slot, uint8_t func, uint32_t id)
{
    if (ndevices == MAX_DEVICES)
        return;
    struct pci_device *d = &devices[ndevices++];
    *d = (struct pci_device){ .bus = 0, .slot = slot, .func = func, .vendor = id & 0xffff, .device = id >> 16 };
    uint32_t cls = read_config(0, slot, func, 0x08);
    d->class_code = cls >> 24;
    d->subclass = cls >> 16;
    d->irq_line = read_config(0, slot, func, 0x3c) & 0xff;
    for (int i = 0; i < 6; i++)
        d->bar[i] = read_config(0, slot, func, 0x10 + 4 * i);
    const char *log = kernel_option("log");
    if (log && strcmp(log, "verbose") == 0)
        kprintf("pci 00:%02x.%x %04x:%04x %s\n", slot, func, d->vendor, d->device, class_name(d->class_code));
}

int pci_probe(void)
{
    for (uint8_t slot = 0; slot < 32; slot++) {
        uint32_t id = read_config(0, slot, 0, 0);
        if ((id & 0xffff) == 0xffff)
            continue;
        record(slot, 0, id);
        bool multifunction = read_config(0, slot, 0, 0x0c) >> 16 & 0x80;
        for (uint8_t func = 1; multifunction && func < 8; func++) {
            id = read_config(0, slot, func, 0);
            if ((id & 0xffff) != 0xffff)
                record(slot, func, id);
        }
    }
    return ndevices;
}

const struct pci_device *pci_find(uint16_t vendor, uint16_t device, int index)
{
    for (int i = 0; i < ndevices; i++)
        if (devices[i].vendor == vendor && devices[i].device == device && index-- == 0)
            return &devices[i];
    return 0;
}

uint16_t pci_read16(const struct pci_device *d, uint8_t off)
{
    return (uint16_t)(pci_read32(d, off & ~3) >> ((off & 2) * 8));
}

void pci_write16(const struct pci_device *d, uint8_t off, uint16_t v)
{
    uint32_t word = pci_read32(d, off & ~3);
    unsigned shift = (off & 2) * 8;
    pci_write32(d, off & ~3, (word & ~(0xffffu << shift)) | (uint32_t)v << shift);
}

void pci_enable(const struct pci_device *d)
{
    pci_write16(d, 0x04, pci_read16(d, 0x04) | 0x7);   // I/O, memory, bus master
}

uint16_t pci_io_bar(const struct pci_device *d, int n)
{
    return (d->bar[n] & 1) ? (uint16_t)(d->bar[n] & ~3u) : 0;
}

// Walks the capability list for `id`; returns its config offset or 0.
static uint8_t find_capability(const struct pci_device *d, uint8_t id)
{
    if (!(pci_read16(d, 0x06) & 0x10))
        return 0;
    uint8_t ptr = pci_read32(d, 0x34) & 0xfc;
    for (int guard = 0; ptr && guard < 48; guard++) {
        uint32_t header = pci_read32(d, ptr);
        if ((header & 0xff) == id)
            return ptr;
        ptr = (header >> 8) & 0xfc;
    }
    return 0;
}

bool pci_enable_msix(const struct pci_device *d, unsigned entry, unsigned vector)
{
    uint8_t cap = find_capability(d, 0x11);
    if (!cap)
        return false;
    uint32_t table = pci_read32(d, cap + 4);
    int bir = table & 7;
    uint64_t bar = d->bar[bir] & ~0xfULL;
    if ((d->bar[bir] & 0x6) == 0x4)                      // 64-bit memory BAR
        bar |= (uint64_t)d->bar[bir + 1] << 32;
    volatile uint32_t *e = (volatile uint32_t *)(uintptr_t)(bar + (table & ~7u) + 16 * entry);
    uint64_t address;
    uint32_t data;
    arch_msi_message(vector, &address, &data);
    e[0] = (uint32_t)address;
    e[1] = (uint32_t)(address >> 32);
    e[2] = data;
    e[3] = 0;                                            // unmasked
    pci_write16(d, cap + 2, (pci_read16(d, cap + 2) | 0x8000) & ~0x4000);   // enable, unmask all
    return true;
}
