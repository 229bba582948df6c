// SPDX-License-Identifier: MIT
// The TCP/IP stack's insides: packet buffers, wire headers, one entry point
// per layer, the configuration and the counters. Every function here runs
// with interrupts held off (the one CPU's "net lock"); the socket layer
// (netsock.h) takes it for the app.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// ---- packet buffers -------------------------------------------------------
// One frame in one kmalloc'd block. Input: data starts at the Ethernet header
// and layers pull their header off the front. Output: data starts at the
// payload, with NET_HEADROOM bytes before it for the layers to push headers.
#define PKT_BUF       1792
#define NET_HEADROOM  128          // virtio-net header + Ethernet + IPv4 + TCP with options
#define ETH_MTU       1500
#define ETH_FRAME_MAX 1514

struct pkt {
    struct pkt *next;              // queues (socket, channel, ARP hold)
    uint8_t *data;
    unsigned len;
    uint32_t src_ip;               // filled by ip_input for the layers above
    uint32_t dst_ip;
    uint16_t src_port;             // UDP datagrams queued on a socket
    uint8_t *l4;                   // transport header (input)
    unsigned l4_len;
    uint8_t buf[PKT_BUF];
};

struct pkt *pkt_alloc(void);                    // NULL when memory is short (counted)
struct pkt *pkt_alloc_tx(void);                 // data at buf + NET_HEADROOM, len 0
void pkt_free(struct pkt *p);                   // NULL is fine
static inline uint8_t *pkt_push(struct pkt *p, unsigned n) { p->data -= n; p->len += n; return p->data; }
static inline uint8_t *pkt_put(struct pkt *p, unsigned n) { uint8_t *t = p->data + p->len; p->len += n; return t; }
static inline void pkt_pull(struct pkt *p, unsigned n) { p->data += n; p->len -= n; }

// ---- wire formats (network byte order on the wire) -------------------------
#define ETH_P_IP  0x0800
#define ETH_P_ARP 0x0806
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_  6
#define IPPROTO_UDP_  17

struct __attribute__((packed)) eth_hdr { uint8_t dst[6], src[6]; uint16_t type; };
struct __attribute__((packed)) arp_pkt {
    uint16_t htype, ptype; uint8_t hlen, plen; uint16_t op;
    uint8_t sha[6]; uint32_t spa; uint8_t tha[6]; uint32_t tpa;
};
struct __attribute__((packed)) ip_hdr {
    uint8_t ver_ihl, tos; uint16_t total_len, id, frag; uint8_t ttl, proto;
    uint16_t csum; uint32_t src, dst;
};
struct __attribute__((packed)) icmp_hdr { uint8_t type, code; uint16_t csum, id, seq; };
struct __attribute__((packed)) udp_hdr { uint16_t sport, dport, len, csum; };
struct __attribute__((packed)) tcp_hdr {
    uint16_t sport, dport; uint32_t seq, ack; uint8_t off, flags; uint16_t win, csum, urg;
};
enum { TH_FIN = 1, TH_SYN = 2, TH_RST = 4, TH_PSH = 8, TH_ACK = 16, TH_URG = 32 };

static inline uint16_t ntoh16(uint16_t v) { return __builtin_bswap16(v); }
static inline uint32_t ntoh32(uint32_t v) { return __builtin_bswap32(v); }
#define hton16 ntoh16
#define hton32 ntoh32

// ---- configuration (net.c) ---------------------------------------------------
struct net_config {
    uint32_t ip, gw, mask;         // host byte order
    uint8_t mac[6];
    bool channels;                 // net=channels
    bool up;                       // a NIC is registered
};
extern struct net_config net_cfg;
void net_init(void);               // kmain: options, the NIC, the timer thread
int net_output_frame(struct pkt *p);   // to the NIC; takes ownership

// ---- layers ----------------------------------------------------------------------
void ether_input(struct pkt *p);
// Prepends the Ethernet header and sends. Takes ownership.
int ether_output(struct pkt *p, const uint8_t dst[6], uint16_t type);

void arp_input(struct pkt *p);
// Sends IP packet p to next_hop, resolving its MAC (the packet waits for the
// reply; one waits per neighbour, a newer one replaces it). Takes ownership.
int arp_output(struct pkt *p, uint32_t next_hop);
void arp_tick(uint64_t now_ns);
// Packets waiting for an ARP answer (at exit: frames not yet handed to the NIC).
unsigned arp_waiting(void);

void ip_input(struct pkt *p);
// p->data is the transport header; prepends IPv4 and routes. Takes ownership.
int ip_output(struct pkt *p, uint8_t proto, uint32_t dst);
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
uint16_t csum_fold(uint32_t sum);
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);   // network order addrs

void icmp_input(struct pkt *p);
void udp_input(struct pkt *p);
void tcp_input(struct pkt *p);
void tcp_tick(uint64_t now_ns);
uint64_t tcp_mem_limit(void);      // bytes connections may hold (ring.c)
unsigned tw_count(void);           // connections in TIME_WAIT (tcp_timewait.c)

// ---- where the work happens: counters and per-stage instruction counts -----
enum net_stage { ST_DRIVER, ST_CLASSIFY, ST_ETH_IP, ST_UDP, ST_TCP, ST_ICMP_ARP, ST_COPY, ST_TX, NSTAGES };
enum net_ctx { CTX_IRQ, CTX_THREAD, NCTX };
extern const char *const net_stage_names[NSTAGES];

struct net_counters {
    uint64_t rx_classic, rx_channel;   // protocol work ran in the interrupt / the app's thread
    uint64_t rx_channel_overflow;      // a full channel sent a frame the classic way
    uint64_t drop_short, drop_ether, drop_arp, drop_ip_hdr, drop_ip_csum, drop_ip_len;
    uint64_t drop_frag, drop_not_us, drop_proto, drop_icmp, drop_udp_hdr, drop_udp_csum;
    uint64_t drop_udp_noport, drop_udp_full, drop_tcp_hdr, drop_tcp_csum, drop_tcp_ooo;
    uint64_t drop_tcp_noconn, drop_tcp_backlog, drop_nomem, drop_arp_pending;
    uint64_t icmp_echo, arp_replies, arp_requests, tcp_retransmits, tcp_resets_sent;
    uint64_t tcp_conns, tcp_active;
    uint64_t tcp_fast_retransmits, tcp_recoveries, tcp_persist_probes, tcp_timewait_evicted;
    uint64_t tcp_mem;                  // bytes now held by connections (sockets and buffers)
    uint64_t tcp_cwnd, tcp_ssthresh;   // of the connection whose window changed last
    uint64_t stage_tsc[NCTX][NSTAGES];
    uint64_t stage_pkts[NCTX][NSTAGES];
};
extern struct net_counters net_stats;
uint64_t net_drops(void);

// Stage accounting: time since the last switch goes to the current stage;
// nested stages switch and switch back. An interrupt saves and restores the
// state of the code it interrupted, so no time is counted twice.
struct stage_mark { int stage; int ctx; };
struct stage_mark stage_switch(int stage);
void stage_restore(struct stage_mark m);
struct stage_mark stage_begin(int ctx, int stage);   // entering the stack
void stage_end(struct stage_mark m);                 // leaving it
void stage_count(int stage);                          // one more packet went through `stage`

// ---- net channels (channel.c) ------------------------------------------------
struct sock;
// Channels mode, driver side: if p belongs to a flow with a channel, pushes
// it there (and wakes the flow's consumer) and returns true.
bool channel_classify(struct pkt *p);
// Consumer side: runs the protocol work for every frame waiting on s's channel.
void channel_drain(struct sock *s);
bool channel_pending(struct sock *s);
int channel_open(struct sock *s);      // registers s's flow tuple (0 or -ENOMEM)
void channel_close(struct sock *s);    // unregisters and frees what is queued
