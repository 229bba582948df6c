// SPDX-License-Identifier: MIT
// ARP for IPv4 over Ethernet: answers requests for our address, learns the
// sender of every ARP packet addressed to us, and keeps a small cache whose
// entries expire after a minute. A packet to an unresolved neighbour waits in
// its entry (one per neighbour) while a request goes out, re-sent each second.
#include <string.h>
#include "net.h"
#include "clock.h"

#define ARP_ENTRIES 16
#define ARP_TTL_NS  60000000000ull
#define ARP_RETRY_NS 1000000000ull

struct arp_entry {
    uint32_t ip;                  // host order; 0 = free
    uint8_t mac[6];
    bool resolved;
    uint64_t expires, next_request;
    struct pkt *waiting;
};
static struct arp_entry cache[ARP_ENTRIES];
static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct arp_entry *lookup(uint32_t ip)
{
    for (int i = 0; i < ARP_ENTRIES; i++)
        if (cache[i].ip == ip)
            return &cache[i];
    return NULL;
}

// A free entry, or the one that expires first (its waiting packet is dropped).
static struct arp_entry *claim(uint32_t ip)
{
    struct arp_entry *victim = &cache[0];
    for (int i = 0; i < ARP_ENTRIES; i++) {
        if (cache[i].ip == 0) {
            victim = &cache[i];
            break;
        }
        if (cache[i].expires < victim->expires)
            victim = &cache[i];
    }
    if (victim->waiting) {
        net_stats.drop_arp_pending++;
        pkt_free(victim->waiting);
    }
    *victim = (struct arp_entry){ .ip = ip };
    return victim;
}

static void send_arp(uint16_t op, const uint8_t tha[6], uint32_t tpa, const uint8_t *eth_dst)
{
    struct pkt *p = pkt_alloc_tx();
    if (!p)
        return;
    struct arp_pkt *a = (struct arp_pkt *)pkt_push(p, sizeof *a);
    *a = (struct arp_pkt){ hton16(1), hton16(ETH_P_IP), 6, 4, hton16(op), { 0 }, hton32(net_cfg.ip),
                           { 0 }, hton32(tpa) };
    memcpy(a->sha, net_cfg.mac, 6);
    memcpy(a->tha, tha, 6);
    ether_output(p, eth_dst, ETH_P_ARP);
}

static void learn(uint32_t ip, const uint8_t mac[6])
{
    struct arp_entry *e = lookup(ip);
    if (!e)
        e = claim(ip);
    memcpy(e->mac, mac, 6);
    e->resolved = true;
    e->expires = clock_monotonic_ns() + ARP_TTL_NS;
    if (e->waiting) {
        struct pkt *p = e->waiting;
        e->waiting = NULL;
        ether_output(p, e->mac, ETH_P_IP);
    }
}

void arp_input(struct pkt *p)
{
    struct stage_mark m = stage_switch(ST_ICMP_ARP);
    stage_count(ST_ICMP_ARP);
    struct arp_pkt *a = (struct arp_pkt *)p->data;
    if (p->len < sizeof *a || a->htype != hton16(1) || a->ptype != hton16(ETH_P_IP) || a->hlen != 6 ||
        a->plen != 4 || (a->op != hton16(1) && a->op != hton16(2))) {
        net_stats.drop_arp++;
        goto out;
    }
    uint32_t spa = ntoh32(a->spa), tpa = ntoh32(a->tpa);
    if (tpa != net_cfg.ip || spa == 0 || spa == 0xffffffffu || (a->sha[0] & 1)) {
        net_stats.drop_arp++;                          // not for us, or a nonsense sender
        goto out;
    }
    uint8_t sha[6];
    memcpy(sha, a->sha, 6);
    learn(spa, sha);
    if (a->op == hton16(1)) {
        net_stats.arp_replies++;
        send_arp(2, sha, spa, sha);
    }
out:
    pkt_free(p);
    stage_restore(m);
}

int arp_output(struct pkt *p, uint32_t next_hop)
{
    struct arp_entry *e = lookup(next_hop);
    uint64_t now = clock_monotonic_ns();
    if (e && e->resolved && e->expires > now)
        return ether_output(p, e->mac, ETH_P_IP);
    if (!e)
        e = claim(next_hop);
    if (e->resolved || e->expires == 0) {              // new, or its answer went stale
        e->resolved = false;
        e->expires = now + 3 * ARP_RETRY_NS;           // give up on it after that
        e->next_request = 0;
    }
    if (e->waiting) {
        net_stats.drop_arp_pending++;
        pkt_free(e->waiting);
    }
    e->waiting = p;
    if (now >= e->next_request) {
        e->next_request = now + ARP_RETRY_NS;
        net_stats.arp_requests++;
        send_arp(1, (const uint8_t[6]){ 0 }, next_hop, broadcast);
    }
    return 0;
}

unsigned arp_waiting(void)
{
    unsigned n = 0;
    for (int i = 0; i < ARP_ENTRIES; i++)
        n += cache[i].waiting != NULL;
    return n;
}

// Unresolved entries ask again each second and give up (dropping the waiting
// packet) after three seconds.
void arp_tick(uint64_t now)
{
    for (int i = 0; i < ARP_ENTRIES; i++) {
        struct arp_entry *e = &cache[i];
        if (e->ip == 0 || e->resolved)
            continue;
        if (now > e->expires) {
            if (e->waiting) {
                net_stats.drop_arp_pending++;
                pkt_free(e->waiting);
            }
            *e = (struct arp_entry){ 0 };
        } else if (now >= e->next_request) {
            e->next_request = now + ARP_RETRY_NS;
            net_stats.arp_requests++;
            send_arp(1, (const uint8_t[6]){ 0 }, e->ip, broadcast);
        }
    }
}
