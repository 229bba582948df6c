// SPDX-License-Identifier: MIT
// PCI configuration space (mechanism #1, ports 0xcf8/0xcfc) and the table of
// devices found on bus 0 at boot. Machines without PCI (microvm) have none.
#pragma once
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
