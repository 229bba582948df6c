// SPDX-License-Identifier: MIT
// ICMP: answers echo requests (ping) with an echo reply carrying the same
// identifier, sequence number and data. Every other message is counted and
// dropped; a malformed one (short, bad checksum) too.
#include <string.h>
#include "net.h"

void icmp_input(struct pkt *p)
{
    struct stage_mark m = stage_switch(ST_ICMP_ARP);
    stage_count(ST_ICMP_ARP);
    struct icmp_hdr *h = (struct icmp_hdr *)p->l4;
    if (p->l4_len < sizeof *h || csum_fold(csum_add(0, p->l4, p->l4_len)) != 0 || h->type != 8 ||
        h->code != 0) {
        net_stats.drop_icmp++;
        pkt_free(p);
        stage_restore(m);
        return;
    }
    struct pkt *r = pkt_alloc_tx();
    if (r) {
        memcpy(pkt_put(r, p->l4_len), p->l4, p->l4_len);
        struct icmp_hdr *rh = (struct icmp_hdr *)r->data;
        rh->type = 0;
        rh->csum = 0;
        rh->csum = csum_fold(csum_add(0, r->data, r->len));
        net_stats.icmp_echo++;
        ip_output(r, IPPROTO_ICMP_, p->src_ip);
    }
    pkt_free(p);
    stage_restore(m);
}
