// SPDX-License-Identifier: MIT
// The kernel's socket layer, for libc/socket.c (the POSIX face) and nothing
// else. Addresses and ports are in host byte order. Every call returns 0 or a
// count on success and a negative errno value on failure. A socket belongs to
// the app until ns_close; the stack may keep it a while longer (a TCP close
// handshake) and frees it itself.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sock;
enum ns_type { NS_STREAM = 1, NS_DGRAM = 2 };
enum ns_opt { NS_KEEPALIVE, NS_NODELAY, NS_RCVTIMEO_NS, NS_SNDTIMEO_NS, NS_RCVBUF, NS_SNDBUF, NS_ERROR, NS_TYPE };
enum ns_shut { NS_SHUT_RD = 1, NS_SHUT_WR = 2 };
enum ns_ready { NS_IN = 1, NS_OUT = 4, NS_ERR = 8, NS_HUP = 16 };   // poll(2) bit values

int  ns_socket(enum ns_type type, struct sock **out);
int  ns_bind(struct sock *s, uint32_t ip, uint16_t port);
int  ns_listen(struct sock *s, int backlog);
// The next established connection (a new socket) and its peer's address.
int  ns_accept(struct sock *s, bool nonblock, struct sock **out, uint32_t *ip, uint16_t *port);
int  ns_connect(struct sock *s, uint32_t ip, uint16_t port, bool nonblock);
long ns_send(struct sock *s, const void *buf, size_t n, bool nonblock);
long ns_recv(struct sock *s, void *buf, size_t n, bool nonblock, bool peek);
long ns_sendto(struct sock *s, const void *buf, size_t n, uint32_t ip, uint16_t port, bool nonblock);
long ns_recvfrom(struct sock *s, void *buf, size_t n, bool nonblock, bool peek, uint32_t *ip, uint16_t *port);
int  ns_shutdown(struct sock *s, int how);
void ns_close(struct sock *s);
int  ns_setopt(struct sock *s, enum ns_opt opt, int64_t value);
int  ns_getopt(struct sock *s, enum ns_opt opt, int64_t *value);
int  ns_name(struct sock *s, bool peer, uint32_t *ip, uint16_t *port);
// Readiness bits (enum ns_ready) now; in channels mode this first runs the
// protocol work waiting on the socket's channel.
unsigned ns_ready(struct sock *s);
// poll(): read ns_generation, check ns_ready on each socket, then block in
// ns_wait_any until some socket's state may have changed since `seen` (it
// returns at once if it already has) or until deadline_ns (monotonic clock;
// UINT64_MAX: none).
uint64_t ns_generation(void);
void ns_wait_any(uint64_t seen, uint64_t deadline_ns);
// True when the stack has a NIC (else every call fails with ENETDOWN).
bool ns_available(void);
