// SPDX-License-Identifier: MIT
// Between the descriptor table (fd.c) and sockets (socket.c): a socket holds
// an FD_SOCKET slot, and read, write and close on that slot come to socket.c.
#pragma once
#include <sys/types.h>

struct sock;
// A descriptor for a new socket (flags: O_NONBLOCK or 0), or -1 with errno.
int __libc_fd_socket(int flags);
// The kernel socket kept in a socket descriptor's slot (NULL: none, or not a socket).
struct sock *__libc_fd_sock(int fd);
void __libc_fd_set_sock(int fd, struct sock *s);
// Frees the kernel socket behind fd; 1 if fd was a socket, else 0.
int __libc_socket_close(int fd);
// read() and write() on a socket: recv() and send() without flags.
ssize_t __libc_socket_read(int fd, void *buf, size_t n);
ssize_t __libc_socket_write(int fd, const void *buf, size_t n);
