// SPDX-License-Identifier: MIT
// poll() and select(). Sockets report their readiness from the stack (in
// channels mode that first runs the work waiting on their channel); every
// other open descriptor is always ready, a closed one is POLLNVAL. A poll
// that must wait sleeps until any socket changes, then looks again.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/select.h>
#include <clock.h>
#include <netsock.h>

struct sock *__libc_socket_of(int fd, bool *nonblock);

static short revents_of(const struct pollfd *p)
{
    if (p->fd < 0)
        return 0;
    struct sock *s = __libc_socket_of(p->fd, NULL);
    if (s) {
        unsigned bits = ns_ready(s);
        return (short)(bits & ((unsigned)p->events | POLLERR | POLLHUP));
    }
    if (fcntl(p->fd, F_GETFL) < 0)
        return POLLNVAL;
    return (short)(p->events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM));
}

int poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : clock_monotonic_ns() + (uint64_t)timeout_ms * 1000000;
    for (;;) {
        uint64_t seen = ns_generation();
        int ready = 0;
        for (nfds_t i = 0; i < n; i++) {
            fds[i].revents = revents_of(&fds[i]);
            ready += fds[i].revents != 0;
        }
        if (ready || timeout_ms == 0 || clock_monotonic_ns() >= deadline)
            return ready;
        ns_wait_any(seen, deadline);
    }
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *timeout)
{
    struct pollfd p[FD_SETSIZE];
    int n = 0;
    if (nfds < 0 || nfds > FD_SETSIZE)
        return errno = EINVAL, -1;
    for (int fd = 0; fd < nfds; fd++) {
        short ev = (short)((rd && FD_ISSET(fd, rd) ? POLLIN : 0) | (wr && FD_ISSET(fd, wr) ? POLLOUT : 0));
        if (!ev && !(ex && FD_ISSET(fd, ex)))
            continue;
        p[n++] = (struct pollfd){ fd, ev, 0 };
    }
    int ms = timeout ? (int)(timeout->tv_sec * 1000 + timeout->tv_usec / 1000) : -1;
    int r = poll(p, (nfds_t)n, ms);
    if (r < 0)
        return r;
    if (rd) FD_ZERO(rd);
    if (wr) FD_ZERO(wr);
    if (ex) FD_ZERO(ex);
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (p[i].revents & POLLNVAL)
            return errno = EBADF, -1;
        if (rd && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) && (p[i].events & POLLIN))
            FD_SET(p[i].fd, rd), count++;
        if (wr && (p[i].revents & (POLLOUT | POLLERR)) && (p[i].events & POLLOUT))
            FD_SET(p[i].fd, wr), count++;
    }
    return count;
}
