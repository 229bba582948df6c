// SPDX-License-Identifier: MIT
// PCI configuration space (mechanism #1, ports 0xcf8/0xcfc) and the table of
// devices found on bus 0 at boot. Machines without PCI (microvm) have none.
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct pci_device {
    uint8_t bus, slot, func;
    uint16_t vendor, device;
    uint8_t class_code, subclass, irq_line;
    uint32_t bar[6];
};

int pci_probe(void);                               // returns the number of devices
const struct pci_device *pci_find(uint16_t vendor, uint16_t device, int index);
uint32_t pci_read32(const struct pci_device *d, uint8_t offset);
void pci_write32(const struct pci_device *d, uint8_t offset, uint32_t value);
uint16_t pci_read16(const struct pci_device *d, uint8_t offset);
void pci_write16(const struct pci_device *d, uint8_t offset, uint16_t value);
// Turns on I/O and memory decoding and bus mastering (DMA) for d.
void pci_enable(const struct pci_device *d);
// Programs MSI-X table entry `entry` to raise `vector` and enables MSI-X.
// Returns false when the device has no MSI-X capability.
bool pci_enable_msix(const struct pci_device *d, unsigned entry, unsigned vector);
// The I/O port base of BAR n, or 0 if it is not an I/O BAR.
uint16_t pci_io_bar(const struct pci_device *d, int n);
