// SPDX-License-Identifier: MIT
// Address text and the minimal name service: inet_* conversions and
// getaddrinfo/gethostbyname for numeric addresses and "localhost" (there is
// no DNS resolver), with a few well-known service names.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netdb.h>

// Strict dotted quad (what inet_pton accepts); 1 and *out in network order, or 0.
static int parse_quad(const char *s, in_addr_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (*s < '0' || *s > '9')
            return 0;
        unsigned b = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4)
            b = b * 10 + (unsigned)(*s++ - '0'), digits++;
        if (b > 255 || digits > 3 || (i < 3 && *s++ != '.'))
            return 0;
        v = v << 8 | b;
    }
    if (*s)
        return 0;
    *out = htonl(v);
    return 1;
}

int inet_pton(int af, const char *text, void *out)
{
    if (af != AF_INET) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    return parse_quad(text, (in_addr_t *)out);
}

int inet_aton(const char *text, struct in_addr *out) { return parse_quad(text, &out->s_addr); }

in_addr_t inet_addr(const char *text)
{
    in_addr_t a;
    return parse_quad(text, &a) ? a : INADDR_NONE;
}

const char *inet_ntop(int af, const void *in, char *out, socklen_t size)
{
    if (af != AF_INET) {
        errno = EAFNOSUPPORT;
        return NULL;
    }
    const unsigned char *b = in;
    if (snprintf(out, size, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]) >= (int)size) {
        errno = ENOSPC;
        return NULL;
    }
    return out;
}

char *inet_ntoa(struct in_addr in)
{
    static char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &in, buf, sizeof buf);
    return buf;
}

static int service_port(const char *service, int flags, uint16_t *port)
{
    static const struct { const char *name; uint16_t port; } known[] = {
        { "echo", 7 }, { "http", 80 }, { "https", 443 }, { "redis", 6379 },
    };
    if (!service) {
        *port = 0;
        return 0;
    }
    char *end;
    long p = strtol(service, &end, 10);
    if (*service && !*end && p >= 0 && p <= 65535) {
        *port = (uint16_t)p;
        return 0;
    }
    for (unsigned i = 0; !(flags & AI_NUMERICSERV) && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(service, known[i].name) == 0) {
            *port = known[i].port;
            return 0;
        }
    return EAI_SERVICE;
}

static int host_addr(const char *node, int flags, in_addr_t *addr)
{
    if (!node) {
        *addr = htonl((flags & AI_PASSIVE) ? INADDR_ANY : INADDR_LOOPBACK);
        return 0;
    }
    if (parse_quad(node, addr))
        return 0;
    if (!(flags & AI_NUMERICHOST) && strcmp(node, "localhost") == 0) {
        *addr = htonl(INADDR_LOOPBACK);
        return 0;
    }
    return EAI_NONAME;
}

struct ai_block { struct addrinfo ai; struct sockaddr_in sin; };

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    int flags = hints ? hints->ai_flags : 0, socktype = hints ? hints->ai_socktype : 0;
    if (!node && !service)
        return EAI_NONAME;
    if (hints && hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET)
        return EAI_FAMILY;
    if (socktype && socktype != SOCK_STREAM && socktype != SOCK_DGRAM)
        return EAI_SOCKTYPE;
    in_addr_t addr;
    uint16_t port;
    int err = host_addr(node, flags, &addr);
    if (err || (err = service_port(service, flags, &port)))
        return err;
    static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
    struct addrinfo *head = NULL, **tail = &head;
    for (int i = 0; i < 2; i++) {
        if (socktype && socktype != types[i])
            continue;
        struct ai_block *b = calloc(1, sizeof *b);
        if (!b) {
            freeaddrinfo(head);
            return EAI_MEMORY;
        }
        b->sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = { addr } };
        b->ai = (struct addrinfo){ .ai_family = AF_INET, .ai_socktype = types[i],
                                   .ai_protocol = types[i] == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP,
                                   .ai_addrlen = sizeof b->sin, .ai_addr = (struct sockaddr *)&b->sin };
        *tail = &b->ai;
        tail = &b->ai.ai_next;
    }
    *res = head;
    return 0;
}

void freeaddrinfo(struct addrinfo *res)
{
    while (res) {
        struct addrinfo *next = res->ai_next;
        free(res);                         // the addrinfo is the start of its ai_block
        res = next;
    }
}

const char *gai_strerror(int code)
{
    switch (code) {
    case EAI_NONAME: return "Name or service not known";
    case EAI_SERVICE: return "Servname not supported for ai_socktype";
    case EAI_FAMILY: return "ai_family not supported";
    case EAI_SOCKTYPE: return "ai_socktype not supported";
    case EAI_MEMORY: return "Memory allocation failure";
    case EAI_AGAIN: return "Temporary failure in name resolution";
    case EAI_BADFLAGS: return "Bad value for ai_flags";
    default: return "Unknown error";
    }
}

struct hostent *gethostbyname(const char *name)
{
    static in_addr_t addr;
    static char *addrs[2] = { (char *)&addr, NULL };
    static char *aliases[1] = { NULL };
    static char namebuf[64];
    static struct hostent h = { namebuf, aliases, AF_INET, 4, addrs };
    if (host_addr(name, 0, &addr) != 0)
        return NULL;
    strncpy(namebuf, name, sizeof namebuf - 1);
    return &h;
}
