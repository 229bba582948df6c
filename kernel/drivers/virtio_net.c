// SPDX-License-Identifier: MIT
// virtio-net (virtio spec 5.1) over the legacy PCI interface: queue 0 receives,
// queue 1 transmits, one MSI-X vector for both. Every receive descriptor holds
// one packet buffer (10-byte virtio-net header, then the frame); the interrupt
// handler hands each filled buffer to the stack and posts a fresh one, so the
// ring stays full. Sent buffers are reclaimed on the next send or interrupt.
// When the host stops taking frames (its end of the wire is slow to read), the
// send ring fills; frames then wait in a bounded backlog, as in a Linux qdisc,
// and the device interrupts on each completion until the backlog has drained,
// so a reply is late rather than lost.
#include <string.h>
#include "netdev.h"
#include "net.h"
#include "arch.h"
#include "clock.h"
#include "console.h"
#include "metrics.h"
#include "virtio.h"
#include "../arch/x86_64/cpu.h"

#define F_MAC        (1u << 5)
#define F_ANY_LAYOUT (1u << 27)
#define VNET_HDR     10                 // legacy header without MRG_RXBUF
#define CFG_MAC      0
#define TX_BACKLOG_MAX 256              // frames waiting for a free send slot
#define AVAIL_NO_INTERRUPT 1            // virtq avail flag: no interrupt when used
enum { Q_RX, Q_TX };

static struct {
    struct virtio_dev dev;
    struct virtq q[2];
    struct netdev nd;
    struct pkt *backlog_head, *backlog_tail;
} vn;

// Gives the device one empty buffer; false when memory or ring slots ran out.
static bool post_rx_buffer(void)
{
    struct pkt *p = pkt_alloc();
    if (!p) {
        vn.nd.c.rx_refill_fail++;
        return false;
    }
    struct virtq_buf b = { p->buf, VNET_HDR + ETH_FRAME_MAX + 4, true };
    if (!virtq_add(&vn.q[Q_RX], &b, 1, p)) {
        pkt_free(p);
        return false;
    }
    vn.nd.rx_posted++;
    return true;
}

static void refill_rx(void)
{
    bool posted = false;
    while (vn.q[Q_RX].num_free > 0 && post_rx_buffer())
        posted = true;
    if (posted)
        virtq_kick(&vn.q[Q_RX]);
}

static void reclaim_tx(void)
{
    struct pkt *p;
    while ((p = virtq_get_used(&vn.q[Q_TX], NULL))) {
        vn.nd.tx_inflight--;
        pkt_free(p);
    }
}

// Gives one frame (virtio-net header already pushed) to the device; the caller
// made sure the ring has a free slot.
static void post_tx(struct pkt *p)
{
    struct virtq_buf b = { p->data, p->len, false };
    virtq_add(&vn.q[Q_TX], &b, 1, p);
    vn.nd.tx_inflight++;
    vn.nd.c.tx_frames++;
    vn.nd.c.tx_bytes += p->len - VNET_HDR;
}

// Moves waiting frames into the send ring while it has room. While some still
// wait, the device interrupts on every completion; enabling that is re-checked
// against the ring so a completion in between is not missed. Interrupts off.
static void drain_backlog(void)
{
    struct virtq *q = &vn.q[Q_TX];
    for (;;) {
        bool posted = false;
        reclaim_tx();
        while (vn.backlog_head && q->num_free > 0) {
            struct pkt *p = vn.backlog_head;
            vn.backlog_head = p->next;
            p->next = NULL;
            vn.nd.tx_backlog--;
            post_tx(p);
            posted = true;
        }
        if (!vn.backlog_head)
            vn.backlog_tail = NULL;
        if (posted)
            virtq_kick(q);
        if (!vn.backlog_head) {
            q->avail->flags = AVAIL_NO_INTERRUPT;
            return;
        }
        if (q->avail->flags == 0)
            return;                          // already armed: the next completion drains
        q->avail->flags = 0;
        __asm__ volatile("mfence" ::: "memory");     // armed before we look at the ring again
    }
}

// Takes every filled receive buffer off the ring and gives it to the stack.
static void receive_all(void)
{
    uint32_t len;
    struct pkt *p;
    while ((p = virtq_get_used(&vn.q[Q_RX], &len))) {
        vn.nd.rx_posted--;
        if (len <= VNET_HDR || len > VNET_HDR + ETH_FRAME_MAX + 4) {
            vn.nd.c.rx_drops++;
            pkt_free(p);
            continue;
        }
        p->data = p->buf + VNET_HDR;
        p->len = len - VNET_HDR;
        vn.nd.c.rx_frames++;
        vn.nd.c.rx_bytes += p->len;
        net_rx(&vn.nd, p);
    }
}

static void interrupt(struct trap_frame *f, void *ctx)
{
    (void)f, (void)ctx;
    virtio_isr(&vn.dev);                     // reading acknowledges
    lapic_eoi();                             // a frame arriving from now on interrupts again
    vn.nd.c.irqs++;
    struct stage_mark m = stage_begin(CTX_IRQ, ST_DRIVER);
    receive_all();
    refill_rx();
    if (vn.backlog_head)
        drain_backlog();                     // frames wait: completions interrupt until they go
    else
        reclaim_tx();
    stage_end(m);
}

static int xmit(struct netdev *nd, struct pkt *p)
{
    int irq = irq_save();
    uint8_t *hdr = pkt_push(p, VNET_HDR);
    memset(hdr, 0, VNET_HDR);
    reclaim_tx();
    int r = 0;
    if (!vn.backlog_head && vn.q[Q_TX].num_free > 0) {
        post_tx(p);
        virtq_kick(&vn.q[Q_TX]);
    } else if (nd->tx_backlog < TX_BACKLOG_MAX) {
        p->next = NULL;                      // in order, behind the frames already waiting
        if (vn.backlog_tail)
            vn.backlog_tail->next = p;
        else
            vn.backlog_head = p;
        vn.backlog_tail = p;
        nd->tx_backlog++;
        drain_backlog();
    } else {
        nd->c.tx_drops++;
        pkt_free(p);
        r = -1;
    }
    irq_restore(irq);
    return r;
}

static const struct netdev_ops ops = { .xmit = xmit };

// At exit: frames still in the send ring or its backlog would die with the
// machine, so wait (polling, bounded) until the device has taken them all.
// Returns how many were still unsent when the time ran out (0 without a NIC).
unsigned virtio_net_drain_tx(uint64_t timeout_ns)
{
    if (!vn.nd.ops)
        return 0;
    int irq = irq_save();
    uint64_t deadline = clock_monotonic_ns() + timeout_ns;
    for (;;) {
        drain_backlog();
        reclaim_tx();
        if ((vn.nd.tx_inflight == 0 && !vn.backlog_head) || clock_monotonic_ns() >= deadline)
            break;
        __asm__ volatile("pause");
    }
    unsigned left = vn.nd.tx_inflight + vn.nd.tx_backlog;
    irq_restore(irq);
    return left;
}

static void metrics(struct event *e)
{
    event_u64(e, "net_rx_frames", vn.nd.c.rx_frames);
    event_u64(e, "net_tx_frames", vn.nd.c.tx_frames);
    event_u64(e, "net_rx_posted", vn.nd.rx_posted);
    event_u64(e, "net_tx_inflight", vn.nd.tx_inflight);
    event_u64(e, "net_tx_backlog", vn.nd.tx_backlog);
}

bool virtio_net_init(void)
{
    const struct pci_device *p = pci_find(VIRTIO_VENDOR, VIRTIO_ID_NET, 0);
    if (!p || virtio_init(&vn.dev, p, F_MAC | F_ANY_LAYOUT) < 0)
        return false;
    if (virtq_setup(&vn.dev, Q_RX, &vn.q[Q_RX]) < 0 || virtq_setup(&vn.dev, Q_TX, &vn.q[Q_TX]) < 0) {
        kprintf("virtio-net: cannot set up the queues\n");
        return false;
    }
    if (!virtio_set_vectors(&vn.dev, interrupt, NULL, 2)) {
        kprintf("virtio-net: no MSI-X vector; the device is not used\n");
        return false;
    }
    for (int i = 0; i < 6; i++)
        vn.nd.mac[i] = (vn.dev.features & F_MAC) ? virtio_config_read8(&vn.dev, CFG_MAC + i)
                                                 : (uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }[i];
    vn.nd.name = "virtio-net";
    vn.nd.ops = &ops;
    vn.nd.ring_size = vn.q[Q_RX].size;
    refill_rx();
    virtio_driver_ok(&vn.dev);
    virtq_kick(&vn.q[Q_RX]);                 // the buffers posted before DRIVER_OK
    vn.q[Q_TX].avail->flags = AVAIL_NO_INTERRUPT;    // no interrupt per sent frame: reclaimed lazily
    metrics_register(metrics);
    netdev_register(&vn.nd);
    return true;
}
