// SPDX-License-Identifier: MIT
// Net channels (Van Jacobson, 2006; OSv's design): in channels mode the driver
// does not run the stack. It only classifies each frame by a hash of its
// flow tuple - an established TCP connection (its remote address and both
// ports) or a bound UDP port - and pushes it onto that flow's ring, a
// single-producer (the interrupt) / single-consumer (the socket's thread)
// queue. The protocol work runs later, in the thread that reads the socket,
// so the data is still in its cache when the app copies it. Frames of no
// flow (ARP, ICMP, SYNs, unknown ports, anything odd) take the classic path.
#include <string.h>
#include "sock.h"
#include "heap.h"
#include "netsock.h"

#define FLOW_BUCKETS 128
#define CHAN_SLOTS   256                 // a power of two

struct chan {
    struct chan *hnext;
    struct sock *sock;
    uint8_t proto;
    uint16_t lport, rport;
    uint32_t rip;
    uint32_t head, tail;                 // consumer, producer: free-running counters
    struct pkt *ring[CHAN_SLOTS];
};

static struct chan *flows[FLOW_BUCKETS];

static unsigned flow_hash(uint8_t proto, uint16_t lport, uint32_t rip, uint16_t rport)
{
    uint32_t h = (rip * 2654435761u) ^ ((uint32_t)lport << 16 | rport) ^ proto;
    return (h ^ h >> 15) % FLOW_BUCKETS;
}

static struct chan *flow_find(uint8_t proto, uint16_t lport, uint32_t rip, uint16_t rport)
{
    for (struct chan *c = flows[flow_hash(proto, lport, rip, rport)]; c; c = c->hnext)
        if (c->lport == lport && c->rport == rport && c->rip == rip && c->proto == proto)
            return c;
    return NULL;
}

// Reads the flow tuple of an IPv4 TCP or UDP frame for us. Only bounds are
// checked (checksums and the rest are the stack's job, later).
static struct chan *lookup_frame(const struct pkt *p)
{
    if (p->len < sizeof(struct eth_hdr) + sizeof(struct ip_hdr) + 4)
        return NULL;
    const struct eth_hdr *e = (const struct eth_hdr *)p->data;
    const struct ip_hdr *ip = (const struct ip_hdr *)(e + 1);
    unsigned ihl = (ip->ver_ihl & 15u) * 4;
    if (e->type != hton16(ETH_P_IP) || ip->ver_ihl >> 4 != 4 || ihl < sizeof *ip ||
        p->len < sizeof *e + ihl + 4 || (ntoh16(ip->frag) & 0x3fff) || ntoh32(ip->dst) != net_cfg.ip)
        return NULL;
    const uint16_t *ports = (const uint16_t *)((const uint8_t *)ip + ihl);
    uint16_t sport = ntoh16(ports[0]), dport = ntoh16(ports[1]);
    if (ip->proto == IPPROTO_TCP_)
        return flow_find(IPPROTO_TCP_, dport, ntoh32(ip->src), sport);
    if (ip->proto == IPPROTO_UDP_)
        return flow_find(IPPROTO_UDP_, dport, 0, 0);
    return NULL;
}

// The protocol work for one frame that waited on a channel.
static void process(struct pkt *p, int ctx)
{
    struct stage_mark m = stage_begin(ctx, ST_ETH_IP);
    if (ctx == CTX_THREAD)
        net_stats.rx_channel++;
    else
        net_stats.rx_classic++;
    ether_input(p);
    stage_end(m);
}

// Runs every queued frame of c in the current context (s->chan is re-read
// each time: processing a frame may close the channel).
static void drain_in(struct sock *s, int ctx)
{
    struct chan *c;
    while ((c = s->chan) && c->head != c->tail) {
        struct pkt *p = c->ring[c->head % CHAN_SLOTS];
        c->head++;
        process(p, ctx);
    }
}

bool channel_classify(struct pkt *p)
{
    struct chan *c = lookup_frame(p);
    if (!c)
        return false;
    if (c->tail - c->head == CHAN_SLOTS) {
        // The consumer fell behind: run its backlog here, in order, then this frame.
        net_stats.rx_channel_overflow++;
        drain_in(c->sock, CTX_IRQ);
        return false;
    }
    c->ring[c->tail % CHAN_SLOTS] = p;
    __asm__ volatile("" ::: "memory");   // the slot before the index the consumer reads
    c->tail++;
    sock_wake(c->sock);
    return true;
}

void channel_drain(struct sock *s) { drain_in(s, CTX_THREAD); }

bool channel_pending(struct sock *s) { return s->chan && s->chan->head != s->chan->tail; }

int channel_open(struct sock *s)
{
    if (s->chan)
        return 0;
    struct chan *c = kcalloc(1, sizeof *c);
    if (!c)
        return -1;
    c->sock = s;
    c->proto = s->type == NS_STREAM ? IPPROTO_TCP_ : IPPROTO_UDP_;
    c->lport = s->lport;
    if (s->type == NS_STREAM)
        c->rip = s->rip, c->rport = s->rport;
    unsigned h = flow_hash(c->proto, c->lport, c->rip, c->rport);
    c->hnext = flows[h];
    flows[h] = c;
    s->chan = c;
    return 0;
}

void channel_close(struct sock *s)
{
    struct chan *c = s->chan;
    if (!c)
        return;
    unsigned h = flow_hash(c->proto, c->lport, c->rip, c->rport);
    for (struct chan **pp = &flows[h]; *pp; pp = &(*pp)->hnext)
        if (*pp == c) {
            *pp = c->hnext;
            break;
        }
    s->chan = NULL;
    while (c->head != c->tail)
        pkt_free(c->ring[c->head++ % CHAN_SLOTS]);
    kfree(c);
}
