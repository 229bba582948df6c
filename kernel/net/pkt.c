// SPDX-License-Identifier: MIT
// Packet buffers: one kmalloc block per frame (the heap's 2 KiB slab class),
// so allocation is a free-list pop and is safe in interrupt context. A NULL
// return is counted as a drop by whoever asked.
#include <stddef.h>
#include "net.h"
#include "heap.h"

_Static_assert(sizeof(struct pkt) <= 2048, "a packet must fit the 2 KiB slab class");

struct pkt *pkt_alloc(void)
{
    struct pkt *p = kmalloc(sizeof *p);
    if (!p) {
        net_stats.drop_nomem++;
        return NULL;
    }
    p->next = NULL;
    p->data = p->buf;
    p->len = 0;
    p->l4 = NULL;
    p->l4_len = 0;
    return p;
}

struct pkt *pkt_alloc_tx(void)
{
    struct pkt *p = pkt_alloc();
    if (p)
        p->data = p->buf + NET_HEADROOM;
    return p;
}

void pkt_free(struct pkt *p)
{
    kfree(p);
}
