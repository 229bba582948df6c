// SPDX-License-Identifier: MIT
// TCP congestion control: slow start and congestion avoidance (RFC 5681),
// fast retransmit and fast recovery with NewReno's partial ACKs (RFC 6582).
// All in bytes. tcp.c calls these on every new ACK, duplicate ACK and
// retransmission timeout; they only move cwnd, ssthresh and recover, and say
// when a segment must be sent again. The window last changed is published in
// net_stats (tcp_cwnd, tcp_ssthresh) for the `net` metrics event.
#include "sock.h"

#define IW_SEGS   10                  // initial window, as Linux (RFC 6928)
#define CWND_MAX  (1u << 24)

static uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }
static uint32_t max32(uint32_t a, uint32_t b) { return a > b ? a : b; }
static uint32_t flight(const struct sock *s) { return s->snd_max - s->snd_una; }

static void publish(const struct sock *s)
{
    net_stats.tcp_cwnd = s->cwnd;
    net_stats.tcp_ssthresh = s->ssthresh;
}

void cc_init(struct sock *s)
{
    s->cwnd = IW_SEGS * s->mss;
    s->ssthresh = UINT32_MAX;         // no loss seen yet: slow start until there is one
    s->recover = s->iss;              // RFC 6582: the initial send sequence number
    s->dupacks = 0;
    s->in_recovery = false;
    publish(s);
}

// `acked` new bytes were acknowledged (snd_una has moved). True when this is a
// partial ACK in fast recovery: the segment now at snd_una must go again.
bool cc_ack(struct sock *s, uint32_t acked)
{
    bool resend = false;
    s->dupacks = 0;
    if (s->in_recovery) {
        if ((int32_t)(s->snd_una - s->recover) >= 0) {          // full ACK: recovery ends
            s->cwnd = min32(s->ssthresh, max32(flight(s), s->mss) + s->mss);
            s->in_recovery = false;
        } else {                                                // partial ACK: deflate
            s->cwnd = s->cwnd > acked ? s->cwnd - acked : 0;
            if (acked >= s->mss)
                s->cwnd += s->mss;
            s->cwnd = max32(s->cwnd, s->mss);
            resend = true;
        }
    } else if (s->cwnd < s->ssthresh) {
        s->cwnd += min32(acked, s->mss);                        // slow start
    } else {
        s->cwnd += max32(1, s->mss * s->mss / s->cwnd);         // congestion avoidance
    }
    s->cwnd = min32(s->cwnd, CWND_MAX);
    publish(s);
    return resend;
}

// A duplicate ACK. True on the third one outside recovery: fast retransmit.
bool cc_dupack(struct sock *s)
{
    s->dupacks++;
    if (s->in_recovery) {
        s->cwnd = min32(s->cwnd + s->mss, CWND_MAX);            // a segment has left the network
        publish(s);
        return false;
    }
    // RFC 6582 3.2 step 1: duplicates of data sent before the last recovery start nothing
    if (s->dupacks != 3 || (int32_t)(s->snd_una - s->recover) <= 0)
        return false;
    s->ssthresh = max32(flight(s) / 2, 2 * s->mss);
    s->recover = s->snd_max;
    s->cwnd = s->ssthresh + 3 * s->mss;
    s->in_recovery = true;
    net_stats.tcp_recoveries++;
    publish(s);
    return true;
}

// The retransmission timer fired; `first` for the first timeout of this segment.
void cc_timeout(struct sock *s, bool first)
{
    if (first)
        s->ssthresh = max32(flight(s) / 2, 2 * s->mss);
    s->cwnd = s->mss;                                           // the loss window
    s->recover = s->snd_max;
    s->in_recovery = false;
    s->dupacks = 0;
    publish(s);
}
