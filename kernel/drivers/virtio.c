// SPDX-License-Identifier: MIT
// The common part of every virtio driver: device status handshake, feature
// negotiation and split virtqueues, over the legacy PCI interface. Memory the
// device reads or writes is given by physical address, which here is the same
// as the virtual one (RAM is identity-mapped).
#include <string.h>
#include "virtio.h"
#include "console.h"
#include "heap.h"
#include "page_alloc.h"
#include "memlayout.h"
#include "../arch/x86_64/cpu.h"

enum {                                 // legacy register offsets in I/O BAR 0
    REG_DEVICE_FEATURES = 0x00, REG_GUEST_FEATURES = 0x04, REG_QUEUE_PFN = 0x08,
    REG_QUEUE_SIZE = 0x0c, REG_QUEUE_SELECT = 0x0e, REG_QUEUE_NOTIFY = 0x10,
    REG_STATUS = 0x12, REG_ISR = 0x13, REG_CONFIG_VECTOR = 0x14, REG_QUEUE_VECTOR = 0x16,
};
enum { STATUS_ACK = 1, STATUS_DRIVER = 2, STATUS_DRIVER_OK = 4, STATUS_FAILED = 128 };
#define NO_VECTOR 0xffff

int virtio_init(struct virtio_dev *d, const struct pci_device *p, uint32_t wanted)
{
    *d = (struct virtio_dev){ .pci = p, .io = pci_io_bar(p, 0), .config = 0x14 };
    if (!d->io)
        return -1;
    pci_enable(p);
    outb(d->io + REG_STATUS, 0);                           // reset
    outb(d->io + REG_STATUS, STATUS_ACK);
    outb(d->io + REG_STATUS, STATUS_ACK | STATUS_DRIVER);
    d->features = inl(d->io + REG_DEVICE_FEATURES) & wanted;
    outl(d->io + REG_GUEST_FEATURES, d->features);
    return 0;
}

// Legacy layout: descriptors, then the available ring, then (4 KiB aligned) the used ring.
static size_t ring_bytes(uint16_t n)
{
    size_t first = (16u * n + 6u + 2u * n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    return first + ((6u + 8u * n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1));
}

int virtq_setup(struct virtio_dev *d, uint16_t index, struct virtq *q)
{
    outw(d->io + REG_QUEUE_SELECT, index);
    uint16_t n = inw(d->io + REG_QUEUE_SIZE);
    if (n == 0)
        return -1;
    size_t bytes = ring_bytes(n);
    uintptr_t mem = page_alloc_zeroed(bytes / PAGE_SIZE);
    void **cookies = kcalloc(n, sizeof *cookies);
    if (!mem || !cookies) {
        if (mem)
            page_free(mem, bytes / PAGE_SIZE);
        kfree(cookies);
        return -1;
    }
    *q = (struct virtq){ .dev = d, .index = index, .size = n, .cookies = cookies, .num_free = n };
    q->desc = (struct virtq_desc *)mem;
    q->avail = (struct virtq_avail *)(mem + 16u * n);
    q->used = (struct virtq_used *)(mem + ((16u * n + 6u + 2u * n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)));
    for (uint16_t i = 0; i + 1 < n; i++)
        q->desc[i].next = i + 1;
    outl(d->io + REG_QUEUE_PFN, (uint32_t)(mem >> 12));
    return 0;
}

bool virtio_set_vectors(struct virtio_dev *d, irq_handler handler, void *ctx, unsigned nqueues)
{
    unsigned vector = irq_alloc_vector();
    if (!vector || !pci_enable_msix(d->pci, 0, vector) || !irq_register(vector, handler, ctx))
        return false;
    d->vector = vector;
    d->config = 0x18;                                      // MSI-X on: config moves by 4
    outw(d->io + REG_CONFIG_VECTOR, 0);
    for (unsigned i = 0; i < nqueues; i++) {
        outw(d->io + REG_QUEUE_SELECT, (uint16_t)i);
        outw(d->io + REG_QUEUE_VECTOR, 0);                 // MSI-X table entry 0
    }
    return inw(d->io + REG_CONFIG_VECTOR) != NO_VECTOR;
}

void virtio_driver_ok(struct virtio_dev *d)
{
    outb(d->io + REG_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_DRIVER_OK);
}

uint8_t virtio_isr(struct virtio_dev *d) { return inb(d->io + REG_ISR); }

bool virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned n, void *cookie)
{
    int irq = irq_save();
    if (n == 0 || n > q->num_free) {
        irq_restore(irq);
        return false;
    }
    uint16_t head = q->free_head, i = head;
    for (unsigned k = 0; k < n; k++) {
        q->desc[i].addr = (uintptr_t)bufs[k].addr;
        q->desc[i].len = bufs[k].len;
        q->desc[i].flags = (bufs[k].device_writes ? VIRTQ_DESC_F_WRITE : 0) | (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
        i = q->desc[i].next;
    }
    q->free_head = i;
    q->num_free -= (uint16_t)n;
    q->cookies[head] = cookie;
    q->avail->ring[q->avail->idx % q->size] = head;
    __asm__ volatile("" ::: "memory");                   // ring entry before index (x86: stores in order)
    q->avail->idx++;
    irq_restore(irq);
    return true;
}

void virtq_kick(struct virtq *q)
{
    __asm__ volatile("mfence" ::: "memory");
    outw(q->dev->io + REG_QUEUE_NOTIFY, q->index);
}

void *virtq_get_used(struct virtq *q, uint32_t *len)
{
    int irq = irq_save();
    if (q->last_used == q->used->idx) {
        irq_restore(irq);
        return NULL;
    }
    __asm__ volatile("" ::: "memory");
    struct virtq_used_elem e = q->used->ring[q->last_used % q->size];
    q->last_used++;
    uint16_t head = (uint16_t)e.id, i = head, n = 1;
    while (q->desc[i].flags & VIRTQ_DESC_F_NEXT) {        // return the chain to the free list
        i = q->desc[i].next;
        n++;
    }
    q->desc[i].next = q->free_head;
    q->free_head = head;
    q->num_free += n;
    void *cookie = q->cookies[head];
    q->cookies[head] = NULL;
    if (len)
        *len = e.len;
    irq_restore(irq);
    return cookie;
}

uint8_t virtio_config_read8(struct virtio_dev *d, unsigned off) { return inb(d->io + d->config + off); }
uint16_t virtio_config_read16(struct virtio_dev *d, unsigned off) { return inw(d->io + d->config + off); }
uint32_t virtio_config_read32(struct virtio_dev *d, unsigned off) { return inl(d->io + d->config + off); }
void virtio_config_write32(struct virtio_dev *d, unsigned off, uint32_t v) { outl(d->io + d->config + off, v); }
