// SPDX-License-Identifier: MIT
// udp_once [PORT]: answers one UDP datagram (port 7 by default) and returns
// from main at once, printing nothing after the reply: the reply is then still
// in the NIC's send queue when the app exits, so it reaches its peer only if
// exit waits for that queue to empty. The same source builds for Linux.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 7;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("udp_once: socket/bind");
        return 1;
    }
    printf("udp_once: listening on UDP port %d\n", port);
    fflush(stdout);
    char buf[2048];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t r = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (r < 0 || sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from, len) < 0)
        return 2;
    return 0;
}
