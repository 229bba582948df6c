// SPDX-License-Identifier: MIT
// The socket object shared by udp.c, tcp.c, channel.c and sock.c: one struct
// for both protocols, with the TCP control block inside. Private to net/.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "sync.h"
#include "net.h"

enum tcp_state {
    TCP_CLOSED, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RCVD, TCP_ESTABLISHED, TCP_FIN_WAIT_1,
    TCP_FIN_WAIT_2, TCP_CLOSING, TCP_TIME_WAIT, TCP_CLOSE_WAIT, TCP_LAST_ACK,
};

// A byte ring: the TCP send buffer (unacknowledged and unsent bytes, the first
// at snd_una) and the receive buffer (in-order bytes the app has not read).
struct ring { uint8_t *buf; uint32_t size, head, len; };

struct chan;

struct sock {
    int type;                               // NS_STREAM or NS_DGRAM
    uint32_t lip, rip;                      // host byte order; 0 = any
    uint16_t lport, rport;
    struct sock *next;                      // all sockets (sock.c)
    struct sock *hnext;                     // hash chain of connected TCP sockets
    struct wait_queue waiters;              // threads blocked on this socket
    bool app_closed;                        // ns_close done: the stack owns it
    bool bound;                             // owns lport (bind, listen, connect)
    bool rd_shut, wr_shut;
    int error;                              // pending error (positive errno), reported once
    uint64_t rcv_timeout_ns, snd_timeout_ns;
    struct chan *chan;                      // net channel, when classified

    // UDP: received datagrams (payload at p->data, p->len bytes)
    struct pkt *rxq_head, *rxq_tail;
    unsigned rxq_len;

    // TCP
    enum tcp_state state;
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd;
    uint32_t irs, rcv_nxt, rcv_adv;         // rcv_adv: right edge last advertised
    uint16_t mss;                           // largest segment the peer takes
    struct ring snd, rcv;
    bool fin_rcvd, fin_queued, fin_sent;
    uint64_t rto_ns, rtx_at, srtt_ns, rtt_start;
    uint32_t rtt_seq;
    unsigned retries;
    // congestion control (RFC 5681, NewReno as in RFC 6582), in bytes
    uint32_t cwnd, ssthresh, recover;
    unsigned dupacks;
    bool in_recovery;
    // the persist timer (RFC 9293 3.8.6.1): probes a zero window, never a retry
    uint64_t persist_at;
    unsigned persist_shift, persist_probes;
    bool keepalive;
    uint64_t last_heard_ns, tw_until;
    unsigned ka_probes;
    // listening sockets: connections waiting for accept()
    struct sock *parent;                    // a child not accepted yet
    struct sock *acceptq, *acceptq_tail, *qnext;
    int backlog, qlen, halfopen;
};

struct sock *sock_alloc(int type);
struct sock *sock_list(void);              // all sockets, through ->next
void sock_free_if_done(struct sock *s);     // frees s when neither app nor stack needs it
void sock_wake(struct sock *s);             // wakes s's waiters and every poll()
// Waits (interrupts off) for sock_wake or deadline; false on timeout.
bool sock_wait(struct sock *s, uint64_t deadline_ns);
void sock_hash_insert(struct sock *s);      // connected TCP
void sock_hash_remove(struct sock *s);
struct sock *sock_find_tcp(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport);
struct sock *sock_find_listener(uint32_t lip, uint16_t lport);
struct sock *sock_find_udp(uint32_t lip, uint16_t lport);
uint16_t sock_ephemeral_port(int type);
bool sock_port_used(int type, uint16_t port);

// tcp.c, for sock.c
int  tcp_listen(struct sock *s, int backlog);
int  tcp_connect(struct sock *s, uint32_t ip, uint16_t port);
long tcp_send(struct sock *s, const uint8_t *buf, size_t n);   // bytes queued (0: full)
long tcp_recv(struct sock *s, uint8_t *buf, size_t n, bool peek);  // 0 with nothing queued
void tcp_shutdown_write(struct sock *s);
void tcp_app_close(struct sock *s);
bool tcp_can_free(struct sock *s);
void tcp_keepalive_set(struct sock *s, bool on);
// tcp_cc.c, for tcp.c
void cc_init(struct sock *s);
bool cc_ack(struct sock *s, uint32_t acked);
bool cc_dupack(struct sock *s);
void cc_timeout(struct sock *s, bool first);
// udp.c, for sock.c
int  udp_send(struct sock *s, const uint8_t *buf, size_t n, uint32_t ip, uint16_t port);
void udp_flush(struct sock *s);

// ring.c. Every ring of a connection is charged to the TCP memory budget
// (net_stats.tcp_mem, at most tcp_mem_limit() bytes): ring_init fails past it.
bool ring_init(struct ring *r, uint32_t size);
void ring_free(struct ring *r);
bool tcp_mem_charge(uint64_t bytes);       // false (nothing charged) past the limit
void tcp_mem_uncharge(uint64_t bytes);

// tcp_timewait.c: connections in TIME_WAIT without their socket. An entry is
// the four-tuple and the two sequence numbers an answer needs; the table is
// bounded (TW_MAX) and, when full, the oldest entry makes room.
struct tw_entry {
    uint32_t lip, rip, snd_nxt, rcv_nxt;
    uint16_t lport, rport;
    int32_t hnext;                          // hash chain (index, -1 ends)
    uint64_t until;
};
void tw_enter(const struct sock *s, uint64_t until);
struct tw_entry *tw_find(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport);
void tw_remove(struct tw_entry *t);
void tw_expire(uint64_t now);

uint32_t ring_write(struct ring *r, const uint8_t *src, uint32_t n);
uint32_t ring_read(struct ring *r, uint8_t *dst, uint32_t n, bool peek);
void ring_copy_out(const struct ring *r, uint32_t off, uint8_t *dst, uint32_t n);
void ring_drop(struct ring *r, uint32_t n);
static inline uint32_t ring_space(const struct ring *r) { return r->size - r->len; }
