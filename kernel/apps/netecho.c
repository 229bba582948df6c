// SPDX-License-Identifier: MIT
// netecho: the network tests' target. Echoes TCP (one thread per connection)
// and UDP on port 7, and binds UDP port 9 without ever reading it, so a flood
// there fills a socket queue. Runs until killed. The same source builds for Linux.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static int bound_socket(int type, int port)
{
    int fd = socket(AF_INET, type, 0), one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("netecho: socket/bind");
        return -1;
    }
    return fd;
}

static void *udp_echo(void *arg)
{
    int fd = (int)(long)arg;
    char buf[2048];
    for (;;) {
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
        if (n >= 0)
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
    }
    return NULL;
}

static void *tcp_echo(void *arg)
{
    int fd = (int)(long)arg;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
        for (ssize_t off = 0, w; off < n; off += w)
            if ((w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL)) <= 0)
                goto out;
out:
    close(fd);
    return NULL;
}

static void spawn(void *(*fn)(void *), int fd)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, (void *)(long)fd) == 0)
        pthread_detach(t);
    else
        close(fd);
}

int main(void)
{
    int udp = bound_socket(SOCK_DGRAM, 7), sink = bound_socket(SOCK_DGRAM, 9);
    int tcp = bound_socket(SOCK_STREAM, 7);
    if (udp < 0 || sink < 0 || tcp < 0 || listen(tcp, 16) < 0)
        return 1;
    spawn(udp_echo, udp);
    printf("netecho: TCP and UDP echo on port 7, UDP sink on port 9\n");
    fflush(stdout);
    for (;;) {
        int c = accept(tcp, NULL, NULL);
        if (c >= 0)
            spawn(tcp_echo, c);
    }
}
