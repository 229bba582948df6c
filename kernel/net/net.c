// SPDX-License-Identifier: MIT
// The stack's frame: configuration from the command line (ip=, gw=, net=),
// the one NIC, the receive dispatch (classic: the whole stack runs here, in
// the interrupt; channels: classify first), the timer thread (ARP ageing,
// TCP retransmission and keep-alive) and the COM2 "net" events.
#include <stdlib.h>
#include <string.h>
#include "net.h"
#include "netdev.h"
#include "netsock.h"
#include "arch.h"
#include "clock.h"
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "metrics.h"
#include "thread.h"

#define TICK_NS 20000000u             // timer thread period: 20 ms

struct net_config net_cfg;
struct net_counters net_stats;
static struct netdev *nic;

const char *const net_stage_names[NSTAGES] = {
    "driver", "classify", "eth_ip", "udp", "tcp", "icmp_arp", "copy", "tx",
};

// ---- stage accounting -----------------------------------------------------------
static int cur_stage = -1, cur_ctx;
static uint64_t mark;

struct stage_mark stage_switch(int stage)
{
    uint64_t now = rdtsc();
    if (cur_stage >= 0)
        net_stats.stage_tsc[cur_ctx][cur_stage] += now - mark;
    mark = now;
    struct stage_mark old = { cur_stage, cur_ctx };
    cur_stage = stage;
    return old;
}

void stage_restore(struct stage_mark m) { stage_switch(m.stage); }

struct stage_mark stage_begin(int ctx, int stage)
{
    struct stage_mark old = stage_switch(stage);
    cur_ctx = ctx;
    return old;
}

void stage_end(struct stage_mark m)
{
    stage_switch(m.stage);
    cur_ctx = m.ctx;
}

void stage_count(int stage) { net_stats.stage_pkts[cur_ctx][stage]++; }

// ---- the NIC ----------------------------------------------------------------------
void netdev_register(struct netdev *dev)
{
    if (nic)
        return;
    nic = dev;
    memcpy(net_cfg.mac, dev->mac, 6);
    net_cfg.up = true;
}

void net_rx(struct netdev *dev, struct pkt *p)
{
    (void)dev;
    stage_count(ST_DRIVER);
    if (net_cfg.channels) {
        struct stage_mark m = stage_switch(ST_CLASSIFY);
        stage_count(ST_CLASSIFY);
        bool queued = channel_classify(p);
        stage_restore(m);
        if (queued)
            return;
    }
    net_stats.rx_classic++;
    struct stage_mark m = stage_switch(ST_ETH_IP);
    ether_input(p);
    stage_restore(m);
}

int net_output_frame(struct pkt *p)
{
    if (!nic) {
        pkt_free(p);
        return -1;
    }
    struct stage_mark m = stage_switch(ST_TX);
    stage_count(ST_TX);
    int r = nic->ops->xmit(nic, p);
    stage_restore(m);
    return r;
}

uint64_t net_drops(void)
{
    const uint64_t *first = &net_stats.drop_short, *last = &net_stats.drop_arp_pending;
    uint64_t sum = 0;
    for (const uint64_t *d = first; d <= last; d++)
        sum += *d;
    return sum + (nic ? nic->c.rx_drops + nic->c.tx_drops : 0);
}

// ---- COM2 -------------------------------------------------------------------------
static void ip_text(uint32_t ip, char *out)
{
    char *o = out;
    for (int i = 3; i >= 0; i--) {
        unsigned b = (ip >> (8 * i)) & 0xff;
        if (b >= 100) *o++ = (char)('0' + b / 100);
        if (b >= 10) *o++ = (char)('0' + b / 10 % 10);
        *o++ = (char)('0' + b % 10);
        if (i) *o++ = '.';
    }
    *o = 0;
}

// A JSON array of n numbers, into buf.
static const char *json_array(char *buf, size_t size, const uint64_t *v, int n)
{
    size_t len = 0;
    buf[len++] = '[';
    for (int i = 0; i < n && len + 24 < size; i++) {
        char digits[21];
        int k = 0;
        uint64_t x = v[i];
        do digits[k++] = (char)('0' + x % 10); while (x /= 10);
        if (i) buf[len++] = ',';
        while (k) buf[len++] = digits[--k];
    }
    buf[len++] = ']';
    buf[len] = 0;
    return buf;
}

static void send_counters(void)
{
    struct event e;
    event_begin(&e, "net");
    event_u64(&e, "tsc", rdtsc());
    event_u64(&e, "ns", clock_monotonic_ns());
    event_str(&e, "path", net_cfg.channels ? "channels" : "classic");
    event_u64(&e, "rx_classic", net_stats.rx_classic);
    event_u64(&e, "rx_channel", net_stats.rx_channel);
    event_u64(&e, "rx_channel_overflow", net_stats.rx_channel_overflow);
    event_u64(&e, "drops", net_drops());
    event_u64(&e, "tcp_ooo", net_stats.drop_tcp_ooo);
    event_u64(&e, "tcp_retransmits", net_stats.tcp_retransmits);
    event_u64(&e, "tcp_conns", net_stats.tcp_conns);
    event_u64(&e, "tcp_active", net_stats.tcp_active);
    event_u64(&e, "tcp_cwnd", net_stats.tcp_cwnd);
    event_u64(&e, "tcp_ssthresh", net_stats.tcp_ssthresh);
    event_u64(&e, "tcp_fast_retransmits", net_stats.tcp_fast_retransmits);
    event_u64(&e, "tcp_recoveries", net_stats.tcp_recoveries);
    event_u64(&e, "tcp_persist_probes", net_stats.tcp_persist_probes);
    event_u64(&e, "tcp_timewait", tw_count());
    event_u64(&e, "tcp_timewait_evicted", net_stats.tcp_timewait_evicted);
    event_u64(&e, "tcp_mem", net_stats.tcp_mem);
    event_u64(&e, "tcp_mem_max", tcp_mem_limit());
    event_u64(&e, "icmp_echo", net_stats.icmp_echo);
    event_u64(&e, "rx_frames", nic ? nic->c.rx_frames : 0);
    event_u64(&e, "tx_frames", nic ? nic->c.tx_frames : 0);
    event_u64(&e, "irqs", nic ? nic->c.irqs : 0);
    char buf[256];
    event_raw(&e, "irq_tsc", json_array(buf, sizeof buf, net_stats.stage_tsc[CTX_IRQ], NSTAGES));
    event_raw(&e, "thread_tsc", json_array(buf, sizeof buf, net_stats.stage_tsc[CTX_THREAD], NSTAGES));
    event_raw(&e, "irq_pkts", json_array(buf, sizeof buf, net_stats.stage_pkts[CTX_IRQ], NSTAGES));
    event_raw(&e, "thread_pkts", json_array(buf, sizeof buf, net_stats.stage_pkts[CTX_THREAD], NSTAGES));
    event_send(&e);
}

static void send_drops(void)
{
    static const char *const names[] = {
        "short", "ether", "arp", "ip_hdr", "ip_csum", "ip_len", "frag", "not_us", "proto", "icmp",
        "udp_hdr", "udp_csum", "udp_noport", "udp_full", "tcp_hdr", "tcp_csum", "tcp_ooo",
        "tcp_noconn", "tcp_backlog", "nomem", "arp_pending",
    };
    struct event e;
    event_begin(&e, "net_drops");
    const uint64_t *d = &net_stats.drop_short;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        event_u64(&e, names[i], d[i]);
    event_u64(&e, "nic_rx", nic ? nic->c.rx_drops : 0);
    event_u64(&e, "nic_tx", nic ? nic->c.tx_drops : 0);
    event_send(&e);
}

// Metrics source: the headline counters go into the sample itself, the
// details in "net" and "net_drops" events sent just before it.
static void metrics(struct event *e)
{
    send_counters();
    send_drops();
    event_u64(e, "net_drops", net_drops());
    event_u64(e, "net_rx_classic", net_stats.rx_classic);
    event_u64(e, "net_rx_channel", net_stats.rx_channel);
}

static void announce(void)
{
    char ip[16], gw[16], mac[18];
    ip_text(net_cfg.ip, ip);
    ip_text(net_cfg.gw, gw);
    for (int i = 0; i < 6; i++) {
        mac[3 * i] = "0123456789abcdef"[net_cfg.mac[i] >> 4];
        mac[3 * i + 1] = "0123456789abcdef"[net_cfg.mac[i] & 15];
        mac[3 * i + 2] = i < 5 ? ':' : 0;
    }
    struct event e;
    event_begin(&e, "net_up");
    event_str(&e, "mac", mac);
    event_str(&e, "ip", ip);
    event_str(&e, "gw", gw);
    event_u64(&e, "prefix", (uint64_t)__builtin_popcount(net_cfg.mask));
    event_str(&e, "path", net_cfg.channels ? "channels" : "classic");
    event_u64(&e, "ring", nic->ring_size);
    event_send(&e);
    kprintf("net: %s %s ip %s/%d gw %s, %s receive path\n", nic->name, mac, ip,
            __builtin_popcount(net_cfg.mask), gw, net_cfg.channels ? "channels" : "classic");
}

// ---- configuration ----------------------------------------------------------------
// Parses "a.b.c.d" (and "/prefix" when prefix is not NULL); false if malformed.
static bool parse_ip(const char *s, uint32_t *ip, int *prefix)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char *end;
        long b = strtol(s, &end, 10);
        if (end == s || b < 0 || b > 255 || (i < 3 && *end != '.'))
            return false;
        v = v << 8 | (uint32_t)b;
        s = end + (i < 3);
    }
    if (*s == '/' && prefix) {
        char *end;
        long n = strtol(s + 1, &end, 10);
        if (end == s + 1 || n < 1 || n > 32 || *end)
            return false;
        *prefix = (int)n;
    } else if (*s) {
        return false;
    }
    *ip = v;
    return true;
}

static void configure(void)
{
    int prefix = 24;
    net_cfg.ip = 0x0a00020f;                  // 10.0.2.15/24 via 10.0.2.2: QEMU user networking
    net_cfg.gw = 0x0a000202;
    const char *ip = kernel_option("ip"), *gw = kernel_option("gw"), *path = kernel_option("net");
    if (ip && !parse_ip(ip, &net_cfg.ip, &prefix))
        kprintf("net: ip=%s is not a.b.c.d[/n]; using 10.0.2.15/24\n", ip);
    if (gw && !parse_ip(gw, &net_cfg.gw, NULL))
        kprintf("net: gw=%s is not a.b.c.d; using 10.0.2.2\n", gw);
    net_cfg.mask = prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
    net_cfg.channels = path && strcmp(path, "channels") == 0;
    if (path && !net_cfg.channels && strcmp(path, "classic") != 0)
        kprintf("net: net=%s is neither classic nor channels; using classic\n", path);
}

static void timer_thread(void *unused)
{
    (void)unused;
    for (;;) {
        thread_sleep_ns(TICK_NS);
        int irq = irq_save();
        uint64_t now = clock_monotonic_ns();
        struct stage_mark m = stage_begin(CTX_THREAD, -1);   // timers are not a receive stage
        arp_tick(now);
        tcp_tick(now);
        stage_end(m);
        irq_restore(irq);
    }
}

void net_init(void)
{
    configure();
    if (!virtio_net_init())
        return;
    struct thread *t = thread_create(timer_thread, NULL, 0, "net-timer");
    if (t) {
        thread_detach(t);
        thread_make_daemon(t);
    }
    metrics_register(metrics);
    announce();
}
