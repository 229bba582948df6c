// SPDX-License-Identifier: MIT
// The BSD socket calls, over the kernel's socket layer (netsock.h). A socket
// is a file descriptor: socket() reserves an FD_SOCKET slot in the fd table
// (whose O_NONBLOCK flag fcntl can set) and keeps the kernel socket in it;
// close(), read() and write() on that slot come here (fd_socket.h).
#include "fd_socket.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netsock.h>
#include <sync.h>

static struct kmutex socks_lock;            // pairs a slot with its socket

static int fail(int err)
{
    errno = err;
    return -1;
}

static long result(long r) { return r < 0 ? fail((int)-r) : r; }

static void forget(int fd)
{
    struct sock *s = __libc_fd_sock(fd);
    __libc_fd_set_sock(fd, NULL);
    if (s)
        ns_close(s);
}

// A new descriptor for kernel socket s; closes s and returns -1 on failure.
static int install(struct sock *s, bool nonblock)
{
    int fd = __libc_fd_socket(nonblock ? O_NONBLOCK : 0);
    if (fd < 0) {
        ns_close(s);
        return -1;                              // errno from the fd table (EMFILE, ENOMEM)
    }
    kmutex_lock(&socks_lock);
    __libc_fd_set_sock(fd, s);
    kmutex_unlock(&socks_lock);
    return fd;
}

// The kernel socket behind fd, with its O_NONBLOCK flag; NULL and errno set if none.
static struct sock *lookup(int fd, bool *nonblock)
{
    struct sock *s = __libc_fd_sock(fd);
    if (!s) {
        errno = fcntl(fd, F_GETFL) >= 0 ? ENOTSOCK : EBADF;
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) {
        kmutex_lock(&socks_lock);
        forget(fd);
        kmutex_unlock(&socks_lock);
        errno = EBADF;
        return NULL;
    }
    if (nonblock)
        *nonblock = flags & O_NONBLOCK;
    return s;
}

static int read_addr(const struct sockaddr *addr, socklen_t len, uint32_t *ip, uint16_t *port)
{
    const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
    if (!addr || len < sizeof *in)
        return EINVAL;
    if (in->sin_family != AF_INET)
        return EAFNOSUPPORT;
    *ip = ntohl(in->sin_addr.s_addr);
    *port = ntohs(in->sin_port);
    return 0;
}

static void write_addr(struct sockaddr *addr, socklen_t *len, uint32_t ip, uint16_t port)
{
    if (!addr || !len)
        return;
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = { htonl(ip) } };
    memcpy(addr, &in, *len < sizeof in ? *len : sizeof in);
    *len = sizeof in;
}

int socket(int domain, int type, int protocol)
{
    int kind = type & 0xf;
    if (domain != AF_INET)
        return fail(EAFNOSUPPORT);
    if (kind != SOCK_STREAM && kind != SOCK_DGRAM)
        return fail(ESOCKTNOSUPPORT);
    if (protocol && protocol != (kind == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
        return fail(EPROTONOSUPPORT);
    struct sock *s;
    int r = ns_socket(kind == SOCK_STREAM ? NS_STREAM : NS_DGRAM, &s);
    return r < 0 ? fail(-r) : install(s, type & SOCK_NONBLOCK);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    uint32_t ip;
    uint16_t port;
    struct sock *s = lookup(fd, NULL);
    if (!s)
        return -1;
    int err = read_addr(addr, len, &ip, &port);
    return err ? fail(err) : (int)result(ns_bind(s, ip, port));
}

int listen(int fd, int backlog)
{
    struct sock *s = lookup(fd, NULL);
    return s ? (int)result(ns_listen(s, backlog)) : -1;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    bool nonblock;
    struct sock *s = lookup(fd, &nonblock), *c;
    uint32_t ip;
    uint16_t port;
    if (!s)
        return -1;
    int r = ns_accept(s, nonblock, &c, &ip, &port);
    if (r < 0)
        return fail(-r);
    write_addr(addr, len, ip, port);
    return install(c, flags & SOCK_NONBLOCK);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) { return accept4(fd, addr, len, 0); }

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    bool nonblock;
    uint32_t ip;
    uint16_t port;
    struct sock *s = lookup(fd, &nonblock);
    if (!s)
        return -1;
    int err = read_addr(addr, len, &ip, &port);
    return err ? fail(err) : (int)result(ns_connect(s, ip, port, nonblock));
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    bool nonblock;
    struct sock *s = lookup(fd, &nonblock);
    return s ? result(ns_send(s, buf, n, nonblock || (flags & MSG_DONTWAIT))) : -1;
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    bool nonblock;
    struct sock *s = lookup(fd, &nonblock);
    if (!s)
        return -1;
    nonblock = nonblock || (flags & MSG_DONTWAIT);
    size_t got = 0;
    do {                                   // MSG_WAITALL: until n bytes, end of stream or error
        long r = ns_recv(s, (char *)buf + got, n - got, nonblock, flags & MSG_PEEK);
        if (r <= 0)
            return got ? (ssize_t)got : result(r);
        got += (size_t)r;
    } while ((flags & MSG_WAITALL) && !(flags & MSG_PEEK) && got < n);
    return (ssize_t)got;
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen)
{
    if (!to)
        return send(fd, buf, n, flags);
    bool nonblock;
    uint32_t ip;
    uint16_t port;
    struct sock *s = lookup(fd, &nonblock);
    if (!s)
        return -1;
    int err = read_addr(to, tolen, &ip, &port);
    return err ? fail(err) : result(ns_sendto(s, buf, n, ip, port, nonblock || (flags & MSG_DONTWAIT)));
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
    bool nonblock;
    uint32_t ip = 0;
    uint16_t port = 0;
    struct sock *s = lookup(fd, &nonblock);
    if (!s)
        return -1;
    long r = ns_recvfrom(s, buf, n, nonblock || (flags & MSG_DONTWAIT), flags & MSG_PEEK, &ip, &port);
    if (r >= 0)
        write_addr(from, fromlen, ip, port);
    return result(r);
}

int shutdown(int fd, int how)
{
    struct sock *s = lookup(fd, NULL);
    if (!s)
        return -1;
    if (how < SHUT_RD || how > SHUT_RDWR)
        return fail(EINVAL);
    int bits = how == SHUT_RD ? NS_SHUT_RD : how == SHUT_WR ? NS_SHUT_WR : NS_SHUT_RD | NS_SHUT_WR;
    return (int)result(ns_shutdown(s, bits));
}

static int64_t timeval_ns(const void *value, socklen_t len)
{
    const struct timeval *tv = value;
    if (len < sizeof *tv || tv->tv_sec < 0 || tv->tv_usec < 0)
        return -1;
    return (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000;
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
    struct sock *s = lookup(fd, NULL);
    if (!s)
        return -1;
    if (!value)
        return fail(EFAULT);
    int v = len >= sizeof(int) ? *(const int *)value : 0;
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_REUSEADDR: case SO_REUSEPORT: case SO_LINGER: case SO_BROADCAST:
            return 0;                      // ports free up at close; linger is not kept
        case SO_KEEPALIVE: return (int)result(ns_setopt(s, NS_KEEPALIVE, v));
        case SO_RCVBUF: case SO_SNDBUF: return 0;
        case SO_RCVTIMEO: case SO_SNDTIMEO: {
            int64_t ns = timeval_ns(value, len);
            if (ns < 0)
                return fail(EINVAL);
            return (int)result(ns_setopt(s, name == SO_RCVTIMEO ? NS_RCVTIMEO_NS : NS_SNDTIMEO_NS, ns));
        }
        }
    } else if (level == IPPROTO_TCP) {
        switch (name) {
        case TCP_NODELAY: case TCP_KEEPIDLE: case TCP_KEEPINTVL: case TCP_KEEPCNT: case TCP_MAXSEG:
            return 0;
        }
    }
    return fail(ENOPROTOOPT);
}

int getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
    struct sock *s = lookup(fd, NULL);
    if (!s)
        return -1;
    if (!value || !len || *len < sizeof(int))
        return fail(EINVAL);
    int64_t v = 0;
    enum ns_opt opt;
    if (level == SOL_SOCKET && (name == SO_REUSEADDR || name == SO_REUSEPORT)) {
        *(int *)value = 0;
        *len = sizeof(int);
        return 0;
    }
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
        if (*len < sizeof(struct timeval))
            return fail(EINVAL);
        ns_getopt(s, name == SO_RCVTIMEO ? NS_RCVTIMEO_NS : NS_SNDTIMEO_NS, &v);
        *(struct timeval *)value = (struct timeval){ v / 1000000000, v % 1000000000 / 1000 };
        *len = sizeof(struct timeval);
        return 0;
    }
    if (level == SOL_SOCKET)
        opt = name == SO_ERROR ? NS_ERROR : name == SO_TYPE ? NS_TYPE : name == SO_KEEPALIVE ? NS_KEEPALIVE
            : name == SO_RCVBUF ? NS_RCVBUF : name == SO_SNDBUF ? NS_SNDBUF : (enum ns_opt)-1;
    else if (level == IPPROTO_TCP && name == TCP_NODELAY)
        opt = NS_NODELAY;
    else
        return fail(ENOPROTOOPT);
    if ((int)opt < 0)
        return fail(ENOPROTOOPT);
    int r = ns_getopt(s, opt, &v);
    if (r < 0)
        return fail(-r);
    *(int *)value = (int)v;
    *len = sizeof(int);
    return 0;
}

static int name_of(int fd, struct sockaddr *addr, socklen_t *len, bool peer)
{
    uint32_t ip;
    uint16_t port;
    struct sock *s = lookup(fd, NULL);
    if (!s)
        return -1;
    if (!addr || !len)
        return fail(EFAULT);
    int r = ns_name(s, peer, &ip, &port);
    if (r < 0)
        return fail(-r);
    write_addr(addr, len, ip, port);
    return 0;
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len) { return name_of(fd, addr, len, false); }
int getpeername(int fd, struct sockaddr *addr, socklen_t *len) { return name_of(fd, addr, len, true); }

// For libc's own poll(): the socket behind fd or NULL (no errno change).
struct sock *__libc_socket_of(int fd, bool *nonblock)
{
    int saved = errno;
    struct sock *s = lookup(fd, nonblock);
    errno = saved;
    return s;
}

// For fd.c: close the socket behind fd; returns 1 if fd was one, else 0.
int __libc_socket_close(int fd)
{
    if (!__libc_fd_sock(fd))
        return 0;
    kmutex_lock(&socks_lock);
    forget(fd);
    kmutex_unlock(&socks_lock);
    return 1;
}

// For fd.c: read()/write() on a socket are recv()/send() without flags.
ssize_t __libc_socket_read(int fd, void *buf, size_t n) { return recv(fd, buf, n, 0); }
ssize_t __libc_socket_write(int fd, const void *buf, size_t n) { return send(fd, buf, n, 0); }
