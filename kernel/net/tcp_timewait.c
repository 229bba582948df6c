// SPDX-License-Identifier: MIT
// TIME_WAIT without sockets. A connection closed by this side waits 2 MSL so
// that a late retransmission of the peer's FIN is answered with an ACK, not a
// RST; all that takes is the four-tuple and the two sequence numbers. Entries
// live in a fixed array used as a FIFO (they all wait the same time, so the
// oldest is always at the head) with a hash on the four-tuple for lookup.
// When the table is full the oldest entry leaves early, counted
// (tcp_timewait_evicted): memory for TIME_WAIT never grows.
#include "sock.h"

#define TW_MAX   4096
#define TW_HASH  1024

static struct tw_entry table[TW_MAX];
static int32_t buckets[TW_HASH];            // index + 1 of the first entry; 0: none
static unsigned head, count, live;           // oldest slot, slots in use, entries not holes

static unsigned tw_hash(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    uint32_t h = lip ^ rip * 2654435761u ^ ((uint32_t)lport << 16 | rport) * 40503u;
    return (h ^ h >> 13) % TW_HASH;
}

static void unlink_entry(struct tw_entry *t)
{
    int32_t idx = (int32_t)(t - table);
    for (int32_t *pp = &buckets[tw_hash(t->lip, t->lport, t->rip, t->rport)]; *pp; pp = &table[*pp - 1].hnext)
        if (*pp - 1 == idx) {
            *pp = t->hnext;
            break;
        }
    t->until = 0;                                // a hole until the FIFO passes it
    live--;
}

// Takes the oldest slot (a hole or an entry) off the FIFO.
static void pop_head(void)
{
    struct tw_entry *t = &table[head];
    if (t->until)
        unlink_entry(t);
    head = (head + 1) % TW_MAX;
    count--;
}

void tw_enter(const struct sock *s, uint64_t until)
{
    if (count == TW_MAX) {
        if (table[head].until)
            net_stats.tcp_timewait_evicted++;
        pop_head();
    }
    unsigned i = (head + count) % TW_MAX;
    unsigned h = tw_hash(s->lip, s->lport, s->rip, s->rport);
    table[i] = (struct tw_entry){ s->lip, s->rip, s->snd_nxt, s->rcv_nxt, s->lport, s->rport,
                                  buckets[h], until };
    buckets[h] = (int32_t)i + 1;
    count++;
    live++;
}

struct tw_entry *tw_find(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    for (int32_t i = buckets[tw_hash(lip, lport, rip, rport)]; i; i = table[i - 1].hnext) {
        struct tw_entry *t = &table[i - 1];
        if (t->lport == lport && t->rport == rport && t->rip == rip && t->lip == lip)
            return t;
    }
    return NULL;
}

void tw_remove(struct tw_entry *t) { unlink_entry(t); }

void tw_expire(uint64_t now)
{
    while (count && (!table[head].until || table[head].until <= now))
        pop_head();
}

unsigned tw_count(void) { return live; }
