// SPDX-License-Identifier: MIT
// select(), built on poll(). fd_set is glibc's: 1024 bits.
#pragma once
#include <sys/time.h>

#define FD_SETSIZE 1024
typedef struct { unsigned long fds_bits[FD_SETSIZE / (8 * sizeof(unsigned long))]; } fd_set;
#define __FD_BIT(fd)  (1UL << ((fd) % (8 * sizeof(unsigned long))))
#define __FD_WORD(fd) ((fd) / (8 * sizeof(unsigned long)))
#define FD_ZERO(s)      do { for (unsigned __i = 0; __i < FD_SETSIZE / (8 * sizeof(unsigned long)); __i++) (s)->fds_bits[__i] = 0; } while (0)
#define FD_SET(fd, s)   ((s)->fds_bits[__FD_WORD(fd)] |= __FD_BIT(fd))
#define FD_CLR(fd, s)   ((s)->fds_bits[__FD_WORD(fd)] &= ~__FD_BIT(fd))
#define FD_ISSET(fd, s) (((s)->fds_bits[__FD_WORD(fd)] & __FD_BIT(fd)) != 0)

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *timeout);
