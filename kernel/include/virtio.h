// SPDX-License-Identifier: MIT
// Virtio over PCI, legacy interface (virtio 1.0 spec, section 4.1.4.8): the
// device's registers sit in I/O BAR 0, each virtqueue is one physically
// contiguous area (descriptors, available ring, used ring). Interrupts come
// as MSI-X messages straight to the local APIC.
//
// Call order for a driver:
//   virtio_init(dev, pci, wanted_features)     reset, acknowledge, negotiate
//   virtq_setup(dev, n, q) for each queue        allocate and hand to the device
//   virtio_set_vectors(dev, handler, ctx)        one interrupt for queues and config
//   virtio_driver_ok(dev)                        the device may now use the queues
// then virtq_add + virtq_kick to give buffers, virtq_get_used to take them back.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch.h"
#include "pci.h"

#define VIRTIO_VENDOR 0x1af4
enum virtio_legacy_device_id {         // transitional device ids (virtio spec 4.1.2.3)
    VIRTIO_ID_NET = 0x1000, VIRTIO_ID_BLOCK = 0x1001, VIRTIO_ID_BALLOON = 0x1002,
};

#define VIRTQ_DESC_F_NEXT  1
#define VIRTQ_DESC_F_WRITE 2

struct virtq_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct virtq_avail { uint16_t flags, idx, ring[]; };
struct virtq_used_elem { uint32_t id, len; };
struct virtq_used { uint16_t flags, idx; struct virtq_used_elem ring[]; };

struct virtio_dev;
struct virtq {
    struct virtio_dev *dev;
    uint16_t index, size;
    struct virtq_desc *desc;
    volatile struct virtq_avail *avail;
    volatile struct virtq_used *used;
    uint16_t free_head, num_free, last_used;
    void **cookies;                    // per head descriptor: what the driver gave
};

struct virtio_dev {
    const struct pci_device *pci;
    uint16_t io;                       // I/O BAR 0
    uint16_t config;                   // offset of the device-specific config
    uint32_t features;                 // negotiated
    unsigned vector;                   // MSI-X vector, 0 when polling
};

// A buffer of a chain: device-readable ("out") or device-writable ("in").
struct virtq_buf { void *addr; uint32_t len; bool device_writes; };

// Returns 0, or -1 if the device is unusable (then it is left reset).
int virtio_init(struct virtio_dev *d, const struct pci_device *p, uint32_t wanted_features);
int virtq_setup(struct virtio_dev *d, uint16_t index, struct virtq *q);
// One MSI-X vector for every queue and config change; false if no MSI-X
// (the driver must then poll). The handler runs in interrupt context.
bool virtio_set_vectors(struct virtio_dev *d, irq_handler handler, void *ctx, unsigned nqueues);
void virtio_driver_ok(struct virtio_dev *d);
// Reads and clears the interrupt status: bit 0 queue, bit 1 config changed.
uint8_t virtio_isr(struct virtio_dev *d);

// Adds a chain of n buffers; returns false when the ring lacks descriptors.
bool virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned n, void *cookie);
void virtq_kick(struct virtq *q);
// The cookie of the next chain the device finished, or NULL; *len: bytes written.
void *virtq_get_used(struct virtq *q, uint32_t *len);

uint8_t virtio_config_read8(struct virtio_dev *d, unsigned off);
uint16_t virtio_config_read16(struct virtio_dev *d, unsigned off);
uint32_t virtio_config_read32(struct virtio_dev *d, unsigned off);
void virtio_config_write32(struct virtio_dev *d, unsigned off, uint32_t v);
