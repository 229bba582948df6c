// SPDX-License-Identifier: MIT
// IPv4: checks every header (version, length, checksum, total length against
// the frame) and hands packets addressed to us up by protocol. Fragments are
// not reassembled: they are dropped and counted. Output fills the header,
// routes (on-link, or through the gateway) and resolves the next hop by ARP.
#include "net.h"

static uint16_t next_id;

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *b = data;
    for (; len >= 2; b += 2, len -= 2)
        sum += (uint32_t)b[0] << 8 | b[1];
    if (len)
        sum += (uint32_t)b[0] << 8;
    return sum;
}

// The folded ones'-complement sum, complemented, in network byte order.
uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return hton16((uint16_t)~sum);
}

uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    uint32_t sum = csum_add(0, &src, 4);
    sum = csum_add(sum, &dst, 4);
    return sum + proto + len;
}

void ip_input(struct pkt *p)
{
    stage_count(ST_ETH_IP);
    struct ip_hdr *h = (struct ip_hdr *)p->data;
    unsigned ihl = p->len >= sizeof *h ? (h->ver_ihl & 15u) * 4 : 0;
    if (p->len < sizeof *h || h->ver_ihl >> 4 != 4 || ihl < sizeof *h || ihl > p->len) {
        net_stats.drop_ip_hdr++;
        goto drop;
    }
    if (csum_fold(csum_add(0, h, ihl)) != 0) {
        net_stats.drop_ip_csum++;
        goto drop;
    }
    unsigned total = ntoh16(h->total_len);
    if (total < ihl || total > p->len) {
        net_stats.drop_ip_len++;
        goto drop;
    }
    if (ntoh16(h->frag) & 0x3fff) {                 // more fragments, or an offset
        net_stats.drop_frag++;
        goto drop;
    }
    if (ntoh32(h->dst) != net_cfg.ip) {
        net_stats.drop_not_us++;
        goto drop;
    }
    p->len = total;                                  // trims Ethernet padding
    p->src_ip = ntoh32(h->src);
    p->dst_ip = ntoh32(h->dst);
    p->l4 = p->data + ihl;
    p->l4_len = total - ihl;
    switch (h->proto) {
    case IPPROTO_ICMP_: icmp_input(p); return;
    case IPPROTO_UDP_: udp_input(p); return;
    case IPPROTO_TCP_: tcp_input(p); return;
    default: net_stats.drop_proto++; goto drop;
    }
drop:
    pkt_free(p);
}

int ip_output(struct pkt *p, uint8_t proto, uint32_t dst)
{
    if (p->len + sizeof(struct ip_hdr) > ETH_MTU) {
        pkt_free(p);
        return -1;
    }
    struct ip_hdr *h = (struct ip_hdr *)pkt_push(p, sizeof *h);
    *h = (struct ip_hdr){
        .ver_ihl = 0x45, .total_len = hton16((uint16_t)p->len), .id = hton16(next_id++),
        .frag = hton16(0x4000), .ttl = 64, .proto = proto,             // don't fragment
        .src = hton32(net_cfg.ip), .dst = hton32(dst),
    };
    h->csum = csum_fold(csum_add(0, h, sizeof *h));
    uint32_t hop = (dst & net_cfg.mask) == (net_cfg.ip & net_cfg.mask) ? dst : net_cfg.gw;
    return arp_output(p, hop);
}
