// SPDX-License-Identifier: MIT
// udp_echo [PORT [COUNT]]: sends every datagram back to where it came from
// (port 7 by default). With COUNT, exits 0 after that many, saying SUCCESS.
// The same source builds for Linux.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 7;
    long count = argc > 2 ? atol(argv[2]) : -1;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("udp_echo: socket/bind");
        return 1;
    }
    printf("udp_echo: listening on UDP port %d\n", port);
    fflush(stdout);
    char buf[2048];
    for (long n = 0; count < 0 || n < count; n++) {
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t r = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
        if (r < 0) {
            perror("udp_echo: recvfrom");
            return 1;
        }
        if (sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from, len) < 0)
            perror("udp_echo: sendto");
    }
    printf("udp_echo: echoed %ld datagrams\nSUCCESS\n", count);
    return 0;
}
