// SPDX-License-Identifier: MIT
// Name lookup, minimal: there is no resolver. Numeric IPv4 addresses,
// "localhost" and a NULL host (with AI_PASSIVE: any address) work; ports are
// numbers or one of a few service names (http, https, redis, echo).
#pragma once
#include <sys/socket.h>
#include <netinet/in.h>

struct addrinfo {
    int ai_flags, ai_family, ai_socktype, ai_protocol;
    socklen_t ai_addrlen;
    struct sockaddr *ai_addr;
    char *ai_canonname;
    struct addrinfo *ai_next;
};
struct hostent {
    char *h_name;
    char **h_aliases;
    int h_addrtype, h_length;
    char **h_addr_list;
};
#define h_addr h_addr_list[0]

#define AI_PASSIVE     0x1
#define AI_CANONNAME   0x2
#define AI_NUMERICHOST 0x4
#define AI_NUMERICSERV 0x400
#define EAI_BADFLAGS  -1
#define EAI_NONAME    -2
#define EAI_AGAIN     -3
#define EAI_FAIL      -4
#define EAI_FAMILY    -6
#define EAI_SOCKTYPE  -7
#define EAI_SERVICE   -8
#define EAI_MEMORY    -10
#define EAI_SYSTEM    -11
#define NI_MAXHOST 1025
#define NI_MAXSERV 32

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res);
void freeaddrinfo(struct addrinfo *res);
const char *gai_strerror(int code);
struct hostent *gethostbyname(const char *name);
