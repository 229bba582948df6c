// SPDX-License-Identifier: MIT
// Ethernet II: frames for our MAC or broadcast go up to ARP or IPv4 by
// EtherType; anything else (other hosts' unicast, VLANs, IPv6) is dropped and
// counted. Output prepends the 14-byte header.
#include <string.h>
#include "net.h"

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

void ether_input(struct pkt *p)
{
    if (p->len < sizeof(struct eth_hdr)) {
        net_stats.drop_short++;
        pkt_free(p);
        return;
    }
    struct eth_hdr *h = (struct eth_hdr *)p->data;
    bool for_us = memcmp(h->dst, net_cfg.mac, 6) == 0 || memcmp(h->dst, broadcast, 6) == 0;
    uint16_t type = ntoh16(h->type);
    if (!for_us || (type != ETH_P_IP && type != ETH_P_ARP)) {
        net_stats.drop_ether++;
        pkt_free(p);
        return;
    }
    pkt_pull(p, sizeof *h);
    if (type == ETH_P_ARP)
        arp_input(p);
    else
        ip_input(p);
}

int ether_output(struct pkt *p, const uint8_t dst[6], uint16_t type)
{
    struct eth_hdr *h = (struct eth_hdr *)pkt_push(p, sizeof *h);
    memcpy(h->dst, dst, 6);
    memcpy(h->src, net_cfg.mac, 6);
    h->type = hton16(type);
    return net_output_frame(p);
}
