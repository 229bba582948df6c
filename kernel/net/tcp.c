// SPDX-License-Identifier: MIT
// TCP (RFC 9293, 1122, 6298), small but real: passive and active open, MSS,
// a receive window (the free space of a 32 KiB buffer), in-order delivery
// (an out-of-order segment is dropped, counted and answered with a duplicate
// ACK), retransmission on timeout with exponential backoff (go-back-N from
// the oldest unacknowledged byte), fast retransmit and NewReno recovery
// (tcp_cc.c), a persist timer for zero windows, full and half close,
// TIME_WAIT (tcp_timewait.c), keep-alive probes and RST for segments nobody
// expects. Buffers come when a connection first sends or receives data and go
// as soon as it cannot use them any more; all of it is charged to a bounded
// budget (ring.c). Segments are sent at once (no Nagle, no delayed ACK).
#include <errno.h>
#include <string.h>
#include "sock.h"
#include "netsock.h"
#include "clock.h"
#include "arch.h"

#define TCP_BUF        32768
#define OUR_MSS        1460
#define RTO_INIT_NS    1000000000ull
#define RTO_MIN_NS     200000000ull
#define RTO_MAX_NS     8000000000ull
#define PERSIST_MAX_NS 8000000000ull
#define PERSIST_PROBES 16                 // unanswered window probes before giving up
#define MAX_RETRIES    8
#define SYNACK_RETRIES 3
#define TIME_WAIT_NS   1000000000ull     // 2 MSL, shortened: a lab's virtual wire
#define ORPHAN_FIN_NS  10000000000ull    // FIN_WAIT_2 without an app: give up after this
#define KA_IDLE_NS     30000000000ull
#define KA_INTVL_NS    5000000000ull
#define KA_PROBES      4

struct seg {
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win, mss;
    const uint8_t *data;
    uint32_t len;
};

static bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

static uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static uint32_t new_iss(void) { return (uint32_t)(rdtsc() * 2654435761u); }

// Before the buffers exist (handshake) the window offered is the buffer to come.
static uint16_t rcv_window(const struct sock *s) { return (uint16_t)(s->rcv.buf ? ring_space(&s->rcv) : TCP_BUF); }

// ---- output ------------------------------------------------------------------------
// Builds and sends one segment; `len` payload bytes come from the send buffer
// at offset `off` from snd_una. Returns false when no buffer was free.
static bool send_segment(struct sock *s, uint32_t seq, uint8_t flags, uint32_t off, uint32_t len)
{
    struct pkt *p = pkt_alloc_tx();
    if (!p)
        return false;
    if (len)
        ring_copy_out(&s->snd, off, pkt_put(p, len), len);
    unsigned optlen = (flags & TH_SYN) ? 4 : 0;
    struct tcp_hdr *h = (struct tcp_hdr *)pkt_push(p, sizeof *h + optlen);
    uint16_t win = rcv_window(s);
    *h = (struct tcp_hdr){
        .sport = hton16(s->lport), .dport = hton16(s->rport), .seq = hton32(seq),
        .ack = hton32((flags & TH_ACK) ? s->rcv_nxt : 0), .off = (uint8_t)((sizeof *h + optlen) / 4 << 4),
        .flags = flags, .win = hton16(win),
    };
    if (optlen) {
        uint8_t *o = (uint8_t *)(h + 1);
        o[0] = 2, o[1] = 4, o[2] = OUR_MSS >> 8, o[3] = OUR_MSS & 0xff;
    }
    if (flags & TH_ACK)
        s->rcv_adv = s->rcv_nxt + win;
    uint16_t tlen = (uint16_t)p->len;
    h->csum = csum_fold(csum_add(csum_pseudo(hton32(net_cfg.ip), hton32(s->rip), IPPROTO_TCP_, tlen), h, tlen));
    ip_output(p, IPPROTO_TCP_, s->rip);
    return true;
}

static void send_ack(struct sock *s) { send_segment(s, s->snd_nxt, TH_ACK, 0, 0); }

// A RST answering segment g that reached no connection (RFC 793, "Reset Generation").
static void send_reset(const struct pkt *p, const struct tcp_hdr *h, const struct seg *g)
{
    struct sock tmp = { .lport = ntoh16(h->dport), .rport = ntoh16(h->sport), .rip = p->src_ip };
    net_stats.tcp_resets_sent++;
    if (g->flags & TH_ACK) {
        send_segment(&tmp, g->ack, TH_RST, 0, 0);
    } else {
        tmp.rcv_nxt = g->seq + g->len + !!(g->flags & TH_SYN) + !!(g->flags & TH_FIN);
        send_segment(&tmp, 0, TH_RST | TH_ACK, 0, 0);
    }
}

static void arm_rtx(struct sock *s)
{
    if (!s->rtx_at)
        s->rtx_at = clock_monotonic_ns() + s->rto_ns;
}

static bool sends_data(const struct sock *s)
{
    return s->state == TCP_ESTABLISHED || s->state == TCP_CLOSE_WAIT || s->state == TCP_FIN_WAIT_1 ||
           s->state == TCP_LAST_ACK || s->state == TCP_CLOSING;
}

static uint64_t persist_interval(const struct sock *s)
{
    uint64_t t = (s->rto_ns < RTO_MIN_NS ? RTO_MIN_NS : s->rto_ns) << s->persist_shift;
    return t > PERSIST_MAX_NS ? PERSIST_MAX_NS : t;
}

// RFC 9293 3.8.6.1: while the peer's window is zero and data waits, the
// persist timer probes it (never a retransmission, never a failure while the
// peer answers); what was in flight went into a closed window, so sending
// resumes at SND.UNA once it opens.
static void update_persist(struct sock *s)
{
    if (s->snd_wnd != 0 || s->snd.len == 0 || !sends_data(s)) {
        s->persist_at = 0;
        s->persist_shift = 0;
        return;
    }
    if (s->persist_at)
        return;
    s->snd_nxt = s->snd_una;
    s->fin_sent = false;                                 // the FIN goes again after the data
    s->rtx_at = 0;
    s->rtt_start = 0;
    s->persist_at = clock_monotonic_ns() + persist_interval(s);
}

// The segment at SND.UNA again: fast retransmit, or a partial ACK in recovery.
static void resend_first(struct sock *s)
{
    uint32_t len = min32(s->snd.len, s->mss);
    if (len)
        send_segment(s, s->snd_una, TH_ACK, 0, len);
    else if (s->fin_sent)
        send_segment(s, s->snd_una, TH_FIN | TH_ACK, 0, 0);
    s->rtt_start = 0;                                    // Karn: no sample from a resent segment
    net_stats.tcp_fast_retransmits++;
}

// The send buffer goes once it is empty and the app can write no more.
static void maybe_free_snd(struct sock *s)
{
    if (s->snd.buf && s->snd.len == 0 && (s->fin_queued || s->state == TCP_CLOSED))
        ring_free(&s->snd);
}

// Sends what the window allows of the send buffer, then the FIN if queued.
static void tcp_output(struct sock *s)
{
    if (!sends_data(s))
        return;
    uint32_t off = s->snd_nxt - s->snd_una;
    uint32_t wnd = min32(s->snd_wnd, s->cwnd);
    while (!s->fin_sent && off < s->snd.len && off < wnd) {
        uint32_t len = s->snd.len - off;
        if (len > s->mss) len = s->mss;
        if (len > wnd - off) len = wnd - off;
        uint8_t flags = TH_ACK | (off + len == s->snd.len ? TH_PSH : 0);
        if (!send_segment(s, s->snd_una + off, flags, off, len))
            break;
        if (!s->rtt_start) {
            s->rtt_start = clock_monotonic_ns();
            s->rtt_seq = s->snd_una + off + len;
        }
        off += len;
        s->snd_nxt = s->snd_una + off;
        if (seq_lt(s->snd_max, s->snd_nxt))
            s->snd_max = s->snd_nxt;
        arm_rtx(s);
    }
    if (s->fin_queued && !s->fin_sent && off == s->snd.len &&
        send_segment(s, s->snd_una + off, TH_FIN | TH_ACK, 0, 0)) {
        s->fin_sent = true;
        s->snd_nxt = s->snd_una + off + 1;
        s->snd_max = s->snd_nxt;
        if (s->state == TCP_CLOSE_WAIT)
            s->state = TCP_LAST_ACK;
        else if (s->state == TCP_ESTABLISHED)
            s->state = TCP_FIN_WAIT_1;
        arm_rtx(s);
    }
    update_persist(s);
}

// ---- state changes -------------------------------------------------------------------------
static void set_closed(struct sock *s)
{
    if (s->state != TCP_CLOSED && s->state != TCP_LISTEN)
        net_stats.tcp_active--;
    s->state = TCP_CLOSED;
    s->rtx_at = 0;
    s->persist_at = 0;
    ring_free(&s->snd);
    if (s->app_closed)
        ring_free(&s->rcv);                              // else the app may still read it
    sock_hash_remove(s);
    channel_close(s);
    sock_wake(s);
}

static void unlink_child(struct sock *s)
{
    struct sock *l = s->parent;
    if (!l)
        return;
    for (struct sock **pp = &l->acceptq, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->qnext)
        if (*pp == s) {
            *pp = s->qnext;
            if (l->acceptq_tail == s)
                l->acceptq_tail = prev;
            l->qlen--;
            break;
        }
    if (s->state == TCP_SYN_RCVD)
        l->halfopen--;
    s->parent = NULL;
}

// Ends the connection now: the app (if any) sees err. Sockets are never freed
// here but by the timer (tcp_tick) or ns_close, so a caller's pointer stays good.
static void tcp_abort(struct sock *s, int err, bool send_rst)
{
    if (send_rst && s->state != TCP_CLOSED && s->state != TCP_LISTEN && s->state != TCP_SYN_SENT) {
        send_segment(s, s->snd_nxt, TH_RST | TH_ACK, 0, 0);
        net_stats.tcp_resets_sent++;
    }
    unlink_child(s);
    s->error = err;
    set_closed(s);
}

// The handshake is done. Buffers come later, with the first data each way.
static bool become_established(struct sock *s, const struct seg *g)
{
    s->state = TCP_ESTABLISHED;
    s->snd_una = g->ack;
    s->snd_wnd = g->win;
    s->rtx_at = 0;
    s->retries = 0;
    s->last_heard_ns = clock_monotonic_ns();
    cc_init(s);
    net_stats.tcp_conns++;
    if (net_cfg.channels)
        channel_open(s);                                 // an established connection is a flow
    sock_wake(s);
    return true;
}

static bool setup_conn(struct sock *s)
{
    s->iss = new_iss();
    s->snd_una = s->iss;
    s->snd_nxt = s->snd_max = s->iss + 1;
    s->rto_ns = RTO_INIT_NS;
    s->mss = 536;
    net_stats.tcp_active++;
    return true;
}

// ---- input ------------------------------------------------------------------------------
// Parses the header and options into g; false when the segment is malformed.
static bool parse(struct pkt *p, struct seg *g)
{
    struct tcp_hdr *h = (struct tcp_hdr *)p->l4;
    unsigned off = p->l4_len >= sizeof *h ? (h->off >> 4) * 4u : 0;
    if (off < sizeof *h || off > p->l4_len) {
        net_stats.drop_tcp_hdr++;
        return false;
    }
    uint16_t len = (uint16_t)p->l4_len;
    if (csum_fold(csum_add(csum_pseudo(hton32(p->src_ip), hton32(p->dst_ip), IPPROTO_TCP_, len), h, len))) {
        net_stats.drop_tcp_csum++;
        return false;
    }
    *g = (struct seg){ ntoh32(h->seq), ntoh32(h->ack), h->flags, ntoh16(h->win), 536, p->l4 + off, p->l4_len - off };
    for (const uint8_t *o = p->l4 + sizeof *h, *end = p->l4 + off; o < end;) {
        if (*o == 0)
            break;
        if (*o == 1) {
            o++;
            continue;
        }
        if (o + 1 >= end || o[1] < 2 || o + o[1] > end) {
            net_stats.drop_tcp_hdr++;                    // an option runs past the header
            return false;
        }
        if (o[0] == 2 && o[1] == 4)
            g->mss = (uint16_t)(o[2] << 8 | o[3]);
        o += o[1];
    }
    if (g->mss < 64) g->mss = 64;
    if (g->mss > OUR_MSS) g->mss = OUR_MSS;
    return true;
}

static void evict_oldest_halfopen(struct sock *l)
{
    struct sock *oldest = NULL;
    for (struct sock *c = sock_list(); c; c = c->next)     // newest first: the last match is oldest
        if (c->parent == l && c->state == TCP_SYN_RCVD)
            oldest = c;
    if (oldest) {
        net_stats.drop_tcp_backlog++;
        tcp_abort(oldest, ECONNRESET, false);
    }
}

static void passive_open(struct sock *l, struct pkt *p, const struct tcp_hdr *h, const struct seg *g)
{
    if (l->qlen >= l->backlog) {
        net_stats.drop_tcp_backlog++;                     // the app is behind: the client retries
        return;
    }
    if (l->halfopen >= l->backlog)
        evict_oldest_halfopen(l);                         // a SYN flood cannot lock clients out
    struct sock *c = sock_alloc(NS_STREAM);
    if (!c || !setup_conn(c)) {
        net_stats.drop_nomem++;
        if (c) {
            c->app_closed = true;
            sock_free_if_done(c);
        }
        return;
    }
    c->app_closed = true;                                 // owned by the listener until accept()
    c->lip = p->dst_ip, c->lport = ntoh16(h->dport), c->rip = p->src_ip, c->rport = ntoh16(h->sport);
    c->parent = l;
    c->keepalive = l->keepalive;
    c->state = TCP_SYN_RCVD;
    c->irs = g->seq;
    c->rcv_nxt = g->seq + 1;
    c->mss = g->mss;
    c->snd_wnd = g->win;
    l->halfopen++;
    sock_hash_insert(c);
    send_segment(c, c->iss, TH_SYN | TH_ACK, 0, 0);
    arm_rtx(c);
}

// The handshake's last ACK: the child joins its listener's accept queue.
static bool complete_passive(struct sock *s, const struct seg *g)
{
    struct sock *l = s->parent;
    if (!(g->flags & TH_ACK) || g->ack != s->iss + 1 || !l || l->state != TCP_LISTEN)
        return false;
    if (!become_established(s, g))
        return false;                                    // (tcp_abort fixed the counts)
    l->halfopen--;
    s->qnext = NULL;
    if (l->acceptq_tail)
        l->acceptq_tail->qnext = s;
    else
        l->acceptq = s;
    l->acceptq_tail = s;
    l->qlen++;
    sock_wake(l);
    return true;
}

static void syn_sent_input(struct sock *s, const struct seg *g)
{
    bool ack_ok = (g->flags & TH_ACK) && g->ack == s->iss + 1;
    if ((g->flags & TH_ACK) && !ack_ok)
        return;
    if (g->flags & TH_RST) {
        if (ack_ok)
            tcp_abort(s, ECONNREFUSED, false);
        return;
    }
    if (!(g->flags & TH_SYN) || !ack_ok)
        return;                                          // no simultaneous open
    s->irs = g->seq;
    s->rcv_nxt = g->seq + 1;
    s->mss = g->mss;
    if (become_established(s, g))
        send_ack(s);
}

// An ACK in a synchronized state: frees acknowledged bytes, moves the closing states on.
static void process_ack(struct sock *s, const struct seg *g)
{
    if (seq_lt(s->snd_max, g->ack)) {
        send_ack(s);                                     // acknowledges what we never sent
        return;
    }
    bool same_window = g->win == s->snd_wnd;
    if (seq_le(s->snd_una, g->ack))
        s->snd_wnd = g->win;
    if (g->ack == s->snd_una) {
        // RFC 5681's duplicate ACK: nothing new, data outstanding, the window open and unmoved
        if (!g->len && !(g->flags & (TH_SYN | TH_FIN)) && same_window && g->win &&
            s->snd_una != s->snd_max && !s->persist_at && cc_dupack(s))
            resend_first(s);
        update_persist(s);
        return;
    }
    if (seq_lt(g->ack, s->snd_una))
        return;
    uint32_t acked = g->ack - s->snd_una;
    bool fin_acked = s->fin_queued && acked > s->snd.len;     // the FIN is the one byte past the data
    if (fin_acked)
        s->fin_sent = true;
    ring_drop(&s->snd, acked - fin_acked);
    s->snd_una = g->ack;
    if (seq_lt(s->snd_nxt, s->snd_una))
        s->snd_nxt = s->snd_una;
    if (s->rtt_start && seq_le(s->rtt_seq, g->ack)) {
        uint64_t rtt = clock_monotonic_ns() - s->rtt_start;
        s->srtt_ns = s->srtt_ns ? (7 * s->srtt_ns + rtt) / 8 : rtt;
        s->rtt_start = 0;
    }
    s->retries = 0;
    s->rto_ns = s->srtt_ns * 2 < RTO_MIN_NS ? RTO_MIN_NS : s->srtt_ns * 2;
    s->rtx_at = s->snd_una == s->snd_max ? 0 : clock_monotonic_ns() + s->rto_ns;
    if (cc_ack(s, acked))
        resend_first(s);                                 // a partial ACK: the next hole
    update_persist(s);
    maybe_free_snd(s);
    if (fin_acked) {
        if (s->state == TCP_FIN_WAIT_1) {
            s->state = TCP_FIN_WAIT_2;
            s->tw_until = clock_monotonic_ns() + ORPHAN_FIN_NS;
        } else if (s->state == TCP_CLOSING) {
            s->state = TCP_TIME_WAIT;
            s->tw_until = clock_monotonic_ns() + TIME_WAIT_NS;
        } else if (s->state == TCP_LAST_ACK) {
            set_closed(s);
        }
    }
    sock_wake(s);
}

// In-order data goes to the receive buffer; anything else is answered with an ACK.
static void process_data(struct sock *s, struct seg *g)
{
    bool ack = false;
    if (g->len && seq_lt(g->seq, s->rcv_nxt)) {          // starts with bytes we have
        uint32_t dup = s->rcv_nxt - g->seq;
        uint32_t skip = dup < g->len ? dup : g->len;
        g->data += skip, g->len -= skip, g->seq += skip;
        ack = true;
    }
    if (g->seq != s->rcv_nxt) {
        if (seq_lt(s->rcv_nxt, g->seq) && (g->len || (g->flags & TH_FIN)))
            net_stats.drop_tcp_ooo++;                    // a hole before it (a resent FIN is old, not this)
        else if ((g->flags & TH_FIN) && s->state == TCP_TIME_WAIT)
            s->tw_until = clock_monotonic_ns() + TIME_WAIT_NS;    // our last ACK was lost
        send_ack(s);                                     // duplicate ACK: "I still want rcv_nxt"
        return;
    }
    bool orphan = s->app_closed && !s->parent;
    bool keep = g->len && s->state <= TCP_FIN_WAIT_2 && !s->rd_shut && !orphan;
    if (keep && !s->rcv.buf && !ring_init(&s->rcv, TCP_BUF)) {
        net_stats.drop_nomem++;                          // no ACK: the peer sends it again
        return;
    }
    if (keep) {
        uint32_t n = ring_write(&s->rcv, g->data, g->len);
        s->rcv_nxt += n;
        if (n < g->len)
            g->flags &= (uint8_t)~TH_FIN;                // the FIN lies past what fitted
        ack = true;
        sock_wake(s);
    } else if (g->len) {
        s->rcv_nxt += g->len;                            // the app will never read it: swallow
        ack = true;
    }
    if ((g->flags & TH_FIN) && !s->fin_rcvd) {
        s->rcv_nxt++;
        s->fin_rcvd = true;
        ack = true;
        if (s->state == TCP_ESTABLISHED)
            s->state = TCP_CLOSE_WAIT;
        else if (s->state == TCP_FIN_WAIT_1)
            s->state = TCP_CLOSING;
        else if (s->state == TCP_FIN_WAIT_2) {
            s->state = TCP_TIME_WAIT;
            s->tw_until = clock_monotonic_ns() + TIME_WAIT_NS;
        }
        sock_wake(s);
    }
    if (ack)
        send_ack(s);
}

static void synchronized_input(struct sock *s, struct seg *g)
{
    if (g->flags & TH_RST) {
        uint32_t wnd = rcv_window(s);
        if (g->seq == s->rcv_nxt || (seq_le(s->rcv_nxt, g->seq) && seq_lt(g->seq, s->rcv_nxt + wnd + 1)))
            tcp_abort(s, s->state == TCP_CLOSE_WAIT || s->state == TCP_ESTABLISHED ? ECONNRESET : EPIPE, false);
        return;
    }
    if (g->flags & TH_SYN) {
        send_ack(s);                                     // a stray SYN: challenge ACK (RFC 5961)
        return;
    }
    if (!(g->flags & TH_ACK))
        return;
    s->last_heard_ns = clock_monotonic_ns();
    s->ka_probes = 0;
    s->persist_probes = 0;
    process_ack(s, g);
    if (s->state != TCP_CLOSED)
        process_data(s, g);
    if (s->state != TCP_CLOSED)
        tcp_output(s);
}

// A segment for a connection in the TIME_WAIT table. RST is ignored (RFC
// 1337); a SYN past what we received starts a new connection (false: the
// caller goes on to the listener); anything else is answered with an ACK.
static bool timewait_input(struct tw_entry *t, const struct seg *g)
{
    if (g->flags & TH_RST)
        return true;
    if ((g->flags & (TH_SYN | TH_ACK)) == TH_SYN && seq_lt(t->rcv_nxt, g->seq)) {
        tw_remove(t);
        return false;
    }
    struct sock tmp = { .lip = t->lip, .lport = t->lport, .rip = t->rip, .rport = t->rport,
                        .rcv_nxt = t->rcv_nxt };
    send_segment(&tmp, t->snd_nxt, TH_ACK, 0, 0);
    return true;
}

void tcp_input(struct pkt *p)
{
    struct stage_mark m = stage_switch(ST_TCP);
    stage_count(ST_TCP);
    struct tcp_hdr *h = (struct tcp_hdr *)p->l4;
    struct seg g;
    if (!parse(p, &g))
        goto out;
    struct sock *s = sock_find_tcp(p->dst_ip, ntoh16(h->dport), p->src_ip, ntoh16(h->sport));
    struct tw_entry *t = s ? NULL : tw_find(p->dst_ip, ntoh16(h->dport), p->src_ip, ntoh16(h->sport));
    if (t && timewait_input(t, &g))
        goto out;
    if (!s) {
        struct sock *l = sock_find_listener(p->dst_ip, ntoh16(h->dport));
        if (l && (g.flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN)
            passive_open(l, p, h, &g);
        else if (!(g.flags & TH_RST)) {
            net_stats.drop_tcp_noconn++;
            send_reset(p, h, &g);
        }
        goto out;
    }
    switch (s->state) {
    case TCP_SYN_SENT:
        syn_sent_input(s, &g);
        break;
    case TCP_SYN_RCVD:
        if (g.flags & TH_RST)
            tcp_abort(s, ECONNRESET, false);
        else if ((g.flags & TH_SYN) && g.seq == s->irs)
            send_segment(s, s->iss, TH_SYN | TH_ACK, 0, 0);   // our SYN-ACK was lost
        else if (complete_passive(s, &g))
            synchronized_input(s, &g);
        else if (g.flags & TH_ACK)
            send_reset(p, h, &g);
        break;
    default:
        synchronized_input(s, &g);
    }
out:
    pkt_free(p);
    stage_restore(m);
}

// ---- timers -------------------------------------------------------------------------------
static void retransmit(struct sock *s, uint64_t now)
{
    unsigned limit = s->state == TCP_SYN_RCVD ? SYNACK_RETRIES : MAX_RETRIES;
    if (++s->retries > limit) {
        tcp_abort(s, ETIMEDOUT, true);
        return;
    }
    net_stats.tcp_retransmits++;
    if (s->state >= TCP_ESTABLISHED)
        cc_timeout(s, s->retries == 1);
    s->rto_ns = s->rto_ns * 2 > RTO_MAX_NS ? RTO_MAX_NS : s->rto_ns * 2;
    s->rtx_at = now + s->rto_ns;
    s->rtt_start = 0;                                     // Karn: no sample from a resent segment
    if (s->state == TCP_SYN_SENT) {
        send_segment(s, s->iss, TH_SYN, 0, 0);
    } else if (s->state == TCP_SYN_RCVD) {
        send_segment(s, s->iss, TH_SYN | TH_ACK, 0, 0);
    } else if (s->snd.len) {                              // go back to the oldest byte
        uint32_t len = min32(s->snd.len, s->mss);
        send_segment(s, s->snd_una, TH_ACK | TH_PSH, 0, len);
        s->snd_nxt = s->snd_una + len;
        if (seq_lt(s->snd_max, s->snd_nxt))
            s->snd_max = s->snd_nxt;
        if (s->fin_sent && s->snd_nxt != s->snd_max)
            s->fin_sent = false;                          // the FIN goes again after the data
    } else if (s->fin_sent) {
        send_segment(s, s->snd_una, TH_FIN | TH_ACK, 0, 0);
    }
}

// One byte at SND.UNA into the closed window; the peer answers with its window.
static void persist_probe(struct sock *s, uint64_t now)
{
    if (++s->persist_probes > PERSIST_PROBES) {
        tcp_abort(s, ETIMEDOUT, true);                   // the peer stopped answering at all
        return;
    }
    net_stats.tcp_persist_probes++;
    send_segment(s, s->snd_una, TH_ACK, 0, 1);
    if (seq_lt(s->snd_max, s->snd_una + 1))
        s->snd_max = s->snd_una + 1;                     // so an ACK of the byte is acceptable
    if (s->persist_shift < 8)
        s->persist_shift++;
    s->persist_at = now + persist_interval(s);
}

static void keepalive(struct sock *s, uint64_t now)
{
    if (!s->keepalive || s->state != TCP_ESTABLISHED || now < s->last_heard_ns + KA_IDLE_NS +
                                                                 s->ka_probes * KA_INTVL_NS)
        return;
    if (++s->ka_probes > KA_PROBES) {
        tcp_abort(s, ETIMEDOUT, true);
        return;
    }
    send_segment(s, s->snd_una - 1, TH_ACK, 0, 0);       // an old byte: the peer must ACK
}

void tcp_tick(uint64_t now)
{
    tw_expire(now);
    struct sock *next;
    for (struct sock *s = sock_list(); s; s = next) {
        next = s->next;                                   // s may be freed below
        if (s->type != NS_STREAM || s->state == TCP_LISTEN)
            continue;
        if (s->chan && channel_pending(s))
            channel_drain(s);                             // ACKs may be waiting on the channel
        if (s->state == TCP_TIME_WAIT && s->app_closed) {
            tw_enter(s, s->tw_until);                     // the socket goes, the four-tuple stays
            set_closed(s);
            sock_free_if_done(s);
        } else if (s->state == TCP_CLOSED) {
            sock_free_if_done(s);                         // the one place the stack frees
        } else if ((s->state == TCP_TIME_WAIT || (s->state == TCP_FIN_WAIT_2 && s->app_closed)) &&
                   now >= s->tw_until) {
            set_closed(s);
        } else if (s->rtx_at && now >= s->rtx_at) {
            retransmit(s, now);
        } else if (s->persist_at && now >= s->persist_at) {
            persist_probe(s, now);
        } else {
            keepalive(s, now);
        }
    }
}

// ---- calls from sock.c ------------------------------------------------------------------------
int tcp_listen(struct sock *s, int backlog)
{
    if (s->state != TCP_CLOSED && s->state != TCP_LISTEN)
        return -EINVAL;
    s->state = TCP_LISTEN;
    s->backlog = backlog < 1 ? 1 : backlog > 128 ? 128 : backlog;
    return 0;
}

int tcp_connect(struct sock *s, uint32_t ip, uint16_t port)
{
    if (!setup_conn(s))
        return -ENOMEM;
    s->lip = net_cfg.ip;
    s->rip = ip;
    s->rport = port;
    s->state = TCP_SYN_SENT;
    sock_hash_insert(s);
    send_segment(s, s->iss, TH_SYN, 0, 0);
    arm_rtx(s);
    return 0;
}

long tcp_send(struct sock *s, const uint8_t *buf, size_t n)
{
    if (!s->snd.buf && !ring_init(&s->snd, TCP_BUF)) {
        net_stats.drop_nomem++;
        return -ENOBUFS;
    }
    struct stage_mark m = stage_begin(CTX_THREAD, ST_TX);
    uint32_t q = ring_write(&s->snd, buf, n > TCP_BUF ? TCP_BUF : (uint32_t)n);
    tcp_output(s);
    stage_end(m);
    return q;
}

long tcp_recv(struct sock *s, uint8_t *buf, size_t n, bool peek)
{
    uint32_t r = ring_read(&s->rcv, buf, n > TCP_BUF ? TCP_BUF : (uint32_t)n, peek);
    if (r)
        stage_count(ST_COPY);
    uint32_t edge = s->rcv_nxt + ring_space(&s->rcv);
    if (r && !peek && s->state >= TCP_ESTABLISHED && s->state != TCP_TIME_WAIT &&
        (s->rcv_adv == s->rcv_nxt || edge - s->rcv_adv >= 2u * s->mss))
        send_ack(s);                                     // tell the peer the window opened
    return r;
}

void tcp_shutdown_write(struct sock *s)
{
    if (s->state == TCP_SYN_SENT || s->state == TCP_LISTEN) {
        set_closed(s);
        return;
    }
    s->fin_queued = true;
    tcp_output(s);
    maybe_free_snd(s);
}

void tcp_app_close(struct sock *s)
{
    if (s->state == TCP_LISTEN) {
        struct sock *next;
        for (struct sock *c = sock_list(); c; c = next) {
            next = c->next;
            if (c->parent == s)
                tcp_abort(c, ECONNRESET, true);
        }
        set_closed(s);
    } else if (s->state == TCP_SYN_SENT || s->state == TCP_CLOSED) {
        set_closed(s);
    } else if ((s->state == TCP_ESTABLISHED || s->state == TCP_CLOSE_WAIT) && s->rcv.len) {
        tcp_abort(s, 0, true);                           // unread data: RST, as Linux does
    } else {
        ring_free(&s->rcv);                              // nobody reads any more
        if (!s->fin_queued) {
            s->fin_queued = true;
            tcp_output(s);
            if (s->state == TCP_FIN_WAIT_2)
                s->tw_until = clock_monotonic_ns() + ORPHAN_FIN_NS;
        }
        maybe_free_snd(s);
    }
}

bool tcp_can_free(struct sock *s) { return s->state == TCP_CLOSED && !s->parent; }

void tcp_keepalive_set(struct sock *s, bool on)
{
    s->keepalive = on;
    s->ka_probes = 0;
    s->last_heard_ns = clock_monotonic_ns();
}
