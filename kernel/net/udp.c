// SPDX-License-Identifier: MIT
// UDP: checks length and checksum (a zero checksum means "none", as RFC 768
// allows), then queues the datagram on the socket bound to its port, at most
// UDP_QUEUE of them; a full queue or an unbound port drops and counts.
// Output always carries a checksum.
#include <string.h>
#include <errno.h>
#include "sock.h"

#define UDP_QUEUE 128

void udp_input(struct pkt *p)
{
    struct stage_mark m = stage_switch(ST_UDP);
    stage_count(ST_UDP);
    struct udp_hdr *h = (struct udp_hdr *)p->l4;
    unsigned ulen = p->l4_len >= sizeof *h ? ntoh16(h->len) : 0;
    if (ulen < sizeof *h || ulen > p->l4_len) {
        net_stats.drop_udp_hdr++;
        goto drop;
    }
    if (h->csum && csum_fold(csum_add(csum_pseudo(hton32(p->src_ip), hton32(p->dst_ip), IPPROTO_UDP_,
                                                  (uint16_t)ulen), h, ulen)) != 0) {
        net_stats.drop_udp_csum++;
        goto drop;
    }
    struct sock *s = sock_find_udp(p->dst_ip, ntoh16(h->dport));
    if (!s) {
        net_stats.drop_udp_noport++;
        goto drop;
    }
    if (s->rxq_len >= UDP_QUEUE) {
        net_stats.drop_udp_full++;
        goto drop;
    }
    p->src_port = ntoh16(h->sport);
    p->data = p->l4 + sizeof *h;
    p->len = ulen - sizeof *h;
    p->next = NULL;
    if (s->rxq_tail)
        s->rxq_tail->next = p;
    else
        s->rxq_head = p;
    s->rxq_tail = p;
    s->rxq_len++;
    sock_wake(s);
    stage_restore(m);
    return;
drop:
    pkt_free(p);
    stage_restore(m);
}

int udp_send(struct sock *s, const uint8_t *buf, size_t n, uint32_t ip, uint16_t port)
{
    struct stage_mark m = stage_begin(CTX_THREAD, ST_TX);
    struct pkt *p = pkt_alloc_tx();
    if (!p) {
        stage_end(m);
        return -ENOBUFS;
    }
    memcpy(pkt_put(p, (unsigned)n), buf, n);
    struct udp_hdr *h = (struct udp_hdr *)pkt_push(p, sizeof *h);
    uint16_t len = (uint16_t)p->len;
    *h = (struct udp_hdr){ hton16(s->lport), hton16(port), hton16(len), 0 };
    h->csum = csum_fold(csum_add(csum_pseudo(hton32(net_cfg.ip), hton32(ip), IPPROTO_UDP_, len), h, len));
    if (h->csum == 0)
        h->csum = 0xffff;
    ip_output(p, IPPROTO_UDP_, ip);
    stage_end(m);
    return 0;
}

void udp_flush(struct sock *s)
{
    while (s->rxq_head) {
        struct pkt *p = s->rxq_head;
        s->rxq_head = p->next;
        pkt_free(p);
    }
    s->rxq_tail = NULL;
    s->rxq_len = 0;
}
