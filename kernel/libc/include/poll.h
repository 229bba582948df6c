// SPDX-License-Identifier: MIT
// poll(): readiness of sockets (and, trivially, of every other descriptor,
// which is always ready). Values are Linux's.
#pragma once

struct pollfd { int fd; short events, revents; };
typedef unsigned long nfds_t;

#define POLLIN     0x001
#define POLLPRI    0x002
#define POLLOUT    0x004
#define POLLERR    0x008
#define POLLHUP    0x010
#define POLLNVAL   0x020
#define POLLRDNORM 0x040
#define POLLWRNORM 0x100

int poll(struct pollfd *fds, nfds_t n, int timeout_ms);
