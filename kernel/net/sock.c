// SPDX-License-Identifier: MIT
// Sockets: the objects, their lookup (connected TCP sockets in a hash on the
// four-tuple, listeners and UDP sockets by port), blocking and waking, and the
// ns_* calls libc's socket API is made of (netsock.h). Every call holds
// interrupts off while it touches the stack and releases them to block.
#include <errno.h>
#include <string.h>
#include "sock.h"
#include "netsock.h"
#include "clock.h"
#include "heap.h"
#include "thread.h"
#include "arch.h"

#define HASH_SIZE 256
#define UDP_SNDMAX 1472
#define NOMEM_RETRY_NS 20000000ull          // a send that found no memory looks again after this

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static struct sock *all;
static struct sock *tcp_hash[HASH_SIZE];
static struct wait_queue pollers;
static uint64_t generation;                 // bumped by every sock_wake (for poll)
static uint16_t next_port = 49152;

// ---- objects and lookup -----------------------------------------------------------
// A TCP socket is charged to the connections' memory budget (ring.c).
struct sock *sock_alloc(int type)
{
    if (type == NS_STREAM && !tcp_mem_charge(sizeof(struct sock)))
        return NULL;
    struct sock *s = kcalloc(1, sizeof *s);
    if (!s) {
        if (type == NS_STREAM)
            tcp_mem_uncharge(sizeof(struct sock));
        return NULL;
    }
    s->type = type;
    s->next = all;
    all = s;
    return s;
}

struct sock *sock_list(void) { return all; }

void sock_free_if_done(struct sock *s)
{
    if (!s->app_closed || (s->type == NS_STREAM && !tcp_can_free(s)))
        return;
    channel_close(s);
    sock_hash_remove(s);
    for (struct sock **pp = &all; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    udp_flush(s);
    ring_free(&s->snd);
    ring_free(&s->rcv);
    sock_wake(s);                           // nobody should wait, but never strand a thread
    if (s->type == NS_STREAM)
        tcp_mem_uncharge(sizeof(struct sock));
    kfree(s);
}

static unsigned hash4(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    uint32_t h = lip ^ rip * 2654435761u ^ ((uint32_t)lport << 16 | rport) * 40503u;
    return (h ^ h >> 13) % HASH_SIZE;
}

void sock_hash_insert(struct sock *s)
{
    unsigned h = hash4(s->lip, s->lport, s->rip, s->rport);
    s->hnext = tcp_hash[h];
    tcp_hash[h] = s;
}

void sock_hash_remove(struct sock *s)
{
    unsigned h = hash4(s->lip, s->lport, s->rip, s->rport);
    for (struct sock **pp = &tcp_hash[h]; *pp; pp = &(*pp)->hnext)
        if (*pp == s) {
            *pp = s->hnext;
            return;
        }
}

struct sock *sock_find_tcp(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    for (struct sock *s = tcp_hash[hash4(lip, lport, rip, rport)]; s; s = s->hnext)
        if (s->lport == lport && s->rport == rport && s->rip == rip && s->lip == lip)
            return s;
    return NULL;
}

static struct sock *find_bound(int type, uint32_t lip, uint16_t lport, bool listener)
{
    for (struct sock *s = all; s; s = s->next)
        if (s->type == type && s->lport == lport && s->bound && !s->app_closed &&
            (s->lip == 0 || s->lip == lip) && (!listener || s->state == TCP_LISTEN))
            return s;
    return NULL;
}

struct sock *sock_find_listener(uint32_t lip, uint16_t lport) { return find_bound(NS_STREAM, lip, lport, true); }
struct sock *sock_find_udp(uint32_t lip, uint16_t lport) { return find_bound(NS_DGRAM, lip, lport, false); }

bool sock_port_used(int type, uint16_t port)
{
    for (struct sock *s = all; s; s = s->next)
        if (s->type == type && s->lport == port && (s->bound || s->state != TCP_CLOSED) && !s->app_closed)
            return true;
    return false;
}

uint16_t sock_ephemeral_port(int type)
{
    for (int tries = 0; tries < 16384; tries++) {
        uint16_t p = next_port++;
        if (next_port == 0)
            next_port = 49152;
        if (!sock_port_used(type, p))
            return p;
    }
    return 0;
}

// ---- blocking ----------------------------------------------------------------------
void sock_wake(struct sock *s)
{
    struct thread *t;
    generation++;
    while ((t = waitq_pop(&s->waiters)))
        thread_wake(t);
    while ((t = waitq_pop(&pollers)))
        thread_wake(t);
}

bool sock_wait(struct sock *s, uint64_t deadline_ns)
{
    struct thread *self = thread_current();
    waitq_push(&s->waiters, self);
    bool woken = thread_block_until(deadline_ns);
    if (!woken && !waitq_remove(&s->waiters, self))
        woken = true;
    return woken;
}

static uint64_t deadline_after(uint64_t timeout_ns)
{
    return timeout_ns ? clock_monotonic_ns() + timeout_ns : UINT64_MAX;
}

// Waits for news on s (draining its channel first). Returns -EAGAIN when the
// caller must not block or the deadline passed, else 0.
static int wait_or_fail(struct sock *s, bool nonblock, uint64_t deadline)
{
    if (nonblock)
        return -EAGAIN;
    if (s->chan && channel_pending(s))
        return 0;
    if (!sock_wait(s, deadline) && clock_monotonic_ns() >= deadline)
        return -EAGAIN;
    return 0;
}

static void drain(struct sock *s)
{
    if (s->chan)
        channel_drain(s);
}

// ---- the calls -------------------------------------------------------------------------
bool ns_available(void) { return net_cfg.up; }

int ns_socket(enum ns_type type, struct sock **out)
{
    if (type != NS_STREAM && type != NS_DGRAM)
        return -EPROTONOSUPPORT;
    if (!net_cfg.up)
        return -ENETDOWN;
    int irq = irq_save();
    struct sock *s = sock_alloc(type);
    irq_restore(irq);
    *out = s;
    return s ? 0 : -ENOMEM;
}

static int bind_locked(struct sock *s, uint32_t ip, uint16_t port)
{
    if (s->bound)
        return -EINVAL;
    if (ip != 0 && ip != net_cfg.ip)
        return -EADDRNOTAVAIL;
    if (port == 0 && !(port = sock_ephemeral_port(s->type)))
        return -EADDRINUSE;
    if (sock_port_used(s->type, port))
        return -EADDRINUSE;
    s->lip = ip;
    s->lport = port;
    s->bound = true;
    if (s->type == NS_DGRAM && net_cfg.channels)
        channel_open(s);                  // a bound UDP port is a flow
    return 0;
}

int ns_bind(struct sock *s, uint32_t ip, uint16_t port)
{
    int irq = irq_save();
    int r = bind_locked(s, ip, port);
    irq_restore(irq);
    return r;
}

int ns_listen(struct sock *s, int backlog)
{
    if (s->type != NS_STREAM)
        return -EOPNOTSUPP;
    int irq = irq_save();
    int r = s->bound ? 0 : bind_locked(s, 0, 0);
    if (r == 0)
        r = tcp_listen(s, backlog);
    irq_restore(irq);
    return r;
}

int ns_accept(struct sock *s, bool nonblock, struct sock **out, uint32_t *ip, uint16_t *port)
{
    if (s->type != NS_STREAM)
        return -EOPNOTSUPP;
    int irq = irq_save();
    uint64_t deadline = deadline_after(s->rcv_timeout_ns);
    int r = 0;
    while (r == 0) {
        if (s->state != TCP_LISTEN) {
            r = -EINVAL;
        } else if (s->acceptq) {
            struct sock *c = s->acceptq;
            s->acceptq = c->qnext;
            if (!s->acceptq)
                s->acceptq_tail = NULL;
            s->qlen--;
            c->parent = NULL;
            c->app_closed = false;            // the app owns it from now on
            *out = c;
            *ip = c->rip;
            *port = c->rport;
            irq_restore(irq);
            return 0;
        } else {
            r = wait_or_fail(s, nonblock, deadline);
        }
    }
    irq_restore(irq);
    return r;
}

static int connect_stream(struct sock *s, uint32_t ip, uint16_t port, bool nonblock)
{
    if (s->state == TCP_ESTABLISHED)
        return -EISCONN;
    if (s->state == TCP_SYN_SENT)
        return nonblock ? -EALREADY : 0;
    if (s->state != TCP_CLOSED)
        return -EINVAL;
    int r = s->bound ? 0 : bind_locked(s, 0, 0);
    if (r == 0)
        r = tcp_connect(s, ip, port);
    if (r == 0 && nonblock)
        r = -EINPROGRESS;
    return r;
}

int ns_connect(struct sock *s, uint32_t ip, uint16_t port, bool nonblock)
{
    int irq = irq_save();
    int r;
    if (s->type == NS_DGRAM) {
        r = s->bound ? 0 : bind_locked(s, 0, 0);
        s->rip = ip;
        s->rport = port;
    } else if ((r = connect_stream(s, ip, port, nonblock)) == 0) {
        uint64_t deadline = deadline_after(s->snd_timeout_ns);
        while (s->state == TCP_SYN_SENT && r == 0)
            r = wait_or_fail(s, false, deadline) == 0 ? 0 : -ETIMEDOUT;
        if (r == 0 && s->state != TCP_ESTABLISHED && s->state != TCP_CLOSE_WAIT)
            r = s->error ? -s->error : -ECONNREFUSED;
        if (r != 0)
            s->error = 0;
    }
    irq_restore(irq);
    return r;
}

static bool can_send(const struct sock *s)
{
    return s->state == TCP_ESTABLISHED || s->state == TCP_CLOSE_WAIT;
}

long ns_send(struct sock *s, const void *buf, size_t n, bool nonblock)
{
    if (s->type == NS_DGRAM)
        return s->rport ? ns_sendto(s, buf, n, s->rip, s->rport, nonblock) : -EDESTADDRREQ;
    int irq = irq_save();
    uint64_t deadline = deadline_after(s->snd_timeout_ns);
    size_t done = 0;
    long r = 0;
    while (r == 0) {
        drain(s);
        if (s->error) {
            r = -s->error;
            s->error = 0;
        } else if (s->wr_shut || !can_send(s)) {
            r = s->state == TCP_SYN_SENT || (s->state == TCP_CLOSED && !s->rport) ? -ENOTCONN : -EPIPE;
        } else {
            long q = tcp_send(s, (const uint8_t *)buf + done, n - done);
            if (q >= 0)
                done += (size_t)q;
            if (done == n)
                break;
            if (q >= 0)
                r = wait_or_fail(s, nonblock, deadline);
            else if (!nonblock)                         // no memory for a buffer: try again soon
                r = wait_or_fail(s, false, min_u64(deadline, clock_monotonic_ns() + NOMEM_RETRY_NS)) == 0 ||
                    clock_monotonic_ns() < deadline ? 0 : -EAGAIN;
            else
                r = -EAGAIN;
        }
    }
    irq_restore(irq);
    return done ? (long)done : r;
}

long ns_recv(struct sock *s, void *buf, size_t n, bool nonblock, bool peek)
{
    if (s->type == NS_DGRAM)
        return ns_recvfrom(s, buf, n, nonblock, peek, NULL, NULL);
    int irq = irq_save();
    uint64_t deadline = deadline_after(s->rcv_timeout_ns);
    long r = 0;
    for (;;) {
        drain(s);
        struct stage_mark m = stage_begin(CTX_THREAD, ST_COPY);
        r = tcp_recv(s, buf, n, peek);
        stage_end(m);
        if (r > 0 || n == 0)
            break;
        if (s->error) {
            r = -s->error;
            s->error = 0;
            break;
        }
        if (s->fin_rcvd || s->rd_shut || (s->state == TCP_CLOSED && s->rport))
            break;                                      // end of stream: 0
        if (s->state == TCP_LISTEN || (s->state == TCP_CLOSED && !s->rport)) {
            r = -ENOTCONN;
            break;
        }
        if ((r = wait_or_fail(s, nonblock, deadline)) != 0)
            break;
    }
    irq_restore(irq);
    return r;
}

long ns_sendto(struct sock *s, const void *buf, size_t n, uint32_t ip, uint16_t port, bool nonblock)
{
    (void)nonblock;
    if (s->type == NS_STREAM)
        return ns_send(s, buf, n, nonblock);
    if (n > UDP_SNDMAX)
        return -EMSGSIZE;
    if (port == 0)
        return -EINVAL;
    int irq = irq_save();
    long r = s->bound ? 0 : bind_locked(s, 0, 0);
    if (r == 0)
        r = udp_send(s, buf, n, ip, port);
    irq_restore(irq);
    return r < 0 ? r : (long)n;
}

long ns_recvfrom(struct sock *s, void *buf, size_t n, bool nonblock, bool peek, uint32_t *ip, uint16_t *port)
{
    if (s->type == NS_STREAM) {
        if (ip)
            *ip = s->rip, *port = s->rport;
        return ns_recv(s, buf, n, nonblock, peek);
    }
    int irq = irq_save();
    uint64_t deadline = deadline_after(s->rcv_timeout_ns);
    long r = 0;
    for (;;) {
        drain(s);
        struct pkt *p = s->rxq_head;
        if (p) {
            struct stage_mark m = stage_begin(CTX_THREAD, ST_COPY);
            stage_count(ST_COPY);
            r = (long)(p->len < n ? p->len : n);
            memcpy(buf, p->data, (size_t)r);
            if (ip)
                *ip = p->src_ip, *port = p->src_port;
            if (!peek) {
                s->rxq_head = p->next;
                if (!s->rxq_head)
                    s->rxq_tail = NULL;
                s->rxq_len--;
                pkt_free(p);
            }
            stage_end(m);
            break;
        }
        if (s->rd_shut)
            break;
        if ((r = wait_or_fail(s, nonblock, deadline)) != 0)
            break;
    }
    irq_restore(irq);
    return r;
}

int ns_shutdown(struct sock *s, int how)
{
    int irq = irq_save();
    int r = 0;
    if (s->type == NS_STREAM && !(can_send(s) || s->state == TCP_FIN_WAIT_1 || s->state == TCP_FIN_WAIT_2 ||
                                  s->state == TCP_SYN_SENT || s->state == TCP_LISTEN))
        r = -ENOTCONN;
    if (r == 0 && (how & NS_SHUT_RD)) {
        s->rd_shut = true;
        sock_wake(s);
    }
    if (r == 0 && (how & NS_SHUT_WR) && !s->wr_shut) {
        s->wr_shut = true;
        if (s->type == NS_STREAM)
            tcp_shutdown_write(s);
    }
    irq_restore(irq);
    return r;
}

void ns_close(struct sock *s)
{
    int irq = irq_save();
    s->app_closed = true;
    if (s->type == NS_STREAM)
        tcp_app_close(s);
    sock_free_if_done(s);
    irq_restore(irq);
}

int ns_setopt(struct sock *s, enum ns_opt opt, int64_t value)
{
    int irq = irq_save();
    int r = 0;
    switch (opt) {
    case NS_KEEPALIVE: tcp_keepalive_set(s, value != 0); break;
    case NS_RCVTIMEO_NS: s->rcv_timeout_ns = (uint64_t)value; break;
    case NS_SNDTIMEO_NS: s->snd_timeout_ns = (uint64_t)value; break;
    case NS_NODELAY: case NS_RCVBUF: case NS_SNDBUF: break;   // segments leave at once; fixed buffers
    default: r = -ENOPROTOOPT;
    }
    irq_restore(irq);
    return r;
}

int ns_getopt(struct sock *s, enum ns_opt opt, int64_t *value)
{
    int irq = irq_save();
    int r = 0;
    switch (opt) {
    case NS_ERROR: *value = s->error; s->error = 0; break;
    case NS_TYPE: *value = s->type; break;
    case NS_KEEPALIVE: *value = s->keepalive; break;
    case NS_NODELAY: *value = 1; break;
    case NS_RCVTIMEO_NS: *value = (int64_t)s->rcv_timeout_ns; break;
    case NS_SNDTIMEO_NS: *value = (int64_t)s->snd_timeout_ns; break;
    case NS_RCVBUF: case NS_SNDBUF: *value = s->type == NS_STREAM ? 32768 : 128 * 1472; break;
    default: r = -ENOPROTOOPT;
    }
    irq_restore(irq);
    return r;
}

int ns_name(struct sock *s, bool peer, uint32_t *ip, uint16_t *port)
{
    if (peer) {
        if (!s->rport)
            return -ENOTCONN;
        *ip = s->rip;
        *port = s->rport;
    } else {
        *ip = s->lip ? s->lip : (s->rport ? net_cfg.ip : 0);
        *port = s->lport;
    }
    return 0;
}

unsigned ns_ready(struct sock *s)
{
    int irq = irq_save();
    drain(s);
    unsigned r = 0;
    if (s->type == NS_DGRAM) {
        r = NS_OUT | (s->rxq_head || s->rd_shut ? NS_IN : 0);
    } else if (s->state == TCP_LISTEN) {
        r = s->acceptq ? NS_IN : 0;
    } else {
        bool connected_once = s->rport && s->state != TCP_SYN_SENT;
        if (s->rcv.len || s->fin_rcvd || s->rd_shut || s->error || (s->state == TCP_CLOSED && connected_once))
            r |= NS_IN;
        if (can_send(s) && !s->wr_shut && (!s->snd.buf || ring_space(&s->snd) > 0))
            r |= NS_OUT;
        if (s->error)
            r |= NS_ERR;
        if (s->state == TCP_CLOSED && connected_once)
            r |= NS_HUP | NS_OUT;
    }
    irq_restore(irq);
    return r;
}

uint64_t ns_generation(void) { return generation; }

void ns_wait_any(uint64_t seen, uint64_t deadline_ns)
{
    int irq = irq_save();
    if (generation == seen) {
        struct thread *self = thread_current();
        waitq_push(&pollers, self);
        if (!thread_block_until(deadline_ns))
            waitq_remove(&pollers, self);
    }
    irq_restore(irq);
}
