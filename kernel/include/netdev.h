// SPDX-License-Identifier: MIT
// A network device as the stack sees it: an ops table plus one registration
// (as Unikraft's uknetdev). Call order: the driver fills a struct netdev and
// calls netdev_register() once the device can send and receive; from then on
// it hands every received frame to net_rx() (interrupt context, ownership of
// the packet passes to the stack) and the stack sends through ops->xmit.
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct pkt;
struct netdev;

struct netdev_ops {
    // Queues p for sending and takes ownership of it (frees it once sent or
    // dropped). Returns 0, or -1 when the device and its backlog had no room
    // (p was freed).
    int (*xmit)(struct netdev *dev, struct pkt *p);
};

struct netdev_counters {
    uint64_t rx_frames, tx_frames, rx_bytes, tx_bytes;
    uint64_t rx_drops;        // frames the device gave us that we could not keep
    uint64_t tx_drops;        // frames neither the ring nor its backlog had room for
    uint64_t rx_refill_fail;  // buffers we could not post (out of memory)
    uint64_t irqs;
};

struct netdev {
    const char *name;
    uint8_t mac[6];
    const struct netdev_ops *ops;
    struct netdev_counters c;
    unsigned rx_posted;       // receive buffers the device holds now
    unsigned tx_inflight;     // frames given to the device, not yet sent
    unsigned tx_backlog;      // frames waiting for room in the device's send ring
    unsigned ring_size;
};

// The stack adopts dev (there is one NIC; a second registration is ignored).
void netdev_register(struct netdev *dev);
// A received Ethernet frame, from the driver's interrupt handler.
void net_rx(struct netdev *dev, struct pkt *p);
// Finds and starts the virtio-net device; false when there is none.
bool virtio_net_init(void);
// Waits up to timeout_ns for the send ring and backlog to empty; returns the
// frames still unsent (app exit counts them as lost).
unsigned virtio_net_drain_tx(uint64_t timeout_ns);
