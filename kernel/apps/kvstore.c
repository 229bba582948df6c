// SPDX-License-Identifier: MIT
// kvstore [PORT]: a key-value server speaking enough of the Redis protocol
// (RESP) for redis-cli and redis-benchmark: PING, ECHO, GET, SET, DEL, INCR,
// DECR, EXISTS, DBSIZE, FLUSHALL, QUIT, plus empty answers to the COMMAND and
// CONFIG GET probes clients send first. Inline commands ("PING\r\n", as nc
// sends them) work too. One thread serves every client through poll(), port
// 6379 by default. The same source builds for Linux.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 60
#define MAX_ARGS    16
#define IN_MAX      (1 << 20)
#define BUCKETS     4096

struct entry { struct entry *next; char *key, *val; size_t klen, vlen; };
struct client { int fd; char *in; size_t have, cap; char *out; size_t olen, ocap; int closing; };

static struct entry *table[BUCKETS];
static long nkeys;

// ---- the store ---------------------------------------------------------------------
static unsigned hash(const char *k, size_t n)
{
    unsigned h = 2166136261u;
    while (n--)
        h = (h ^ (unsigned char)*k++) * 16777619u;
    return h % BUCKETS;
}

static struct entry **find(const char *k, size_t n)
{
    struct entry **e = &table[hash(k, n)];
    while (*e && !((*e)->klen == n && memcmp((*e)->key, k, n) == 0))
        e = &(*e)->next;
    return e;
}

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = 0;
    }
    return d;
}

static int set(const char *k, size_t kn, const char *v, size_t vn)
{
    struct entry **e = find(k, kn);
    char *val = dup_bytes(v, vn);
    if (!val)
        return -1;
    if (!*e) {
        struct entry *n = calloc(1, sizeof *n);
        if (!n || !(n->key = dup_bytes(k, kn))) {
            free(n);
            free(val);
            return -1;
        }
        n->klen = kn;
        *e = n;
        nkeys++;
    }
    free((*e)->val);
    (*e)->val = val;
    (*e)->vlen = vn;
    return 0;
}

static int del(const char *k, size_t n)
{
    struct entry **e = find(k, n), *gone = *e;
    if (!gone)
        return 0;
    *e = gone->next;
    free(gone->key);
    free(gone->val);
    free(gone);
    nkeys--;
    return 1;
}

// ---- replies -------------------------------------------------------------------------
static void put(struct client *c, const char *p, size_t n)
{
    if (c->olen + n > c->ocap) {
        size_t cap = (c->olen + n) * 2;
        char *o = realloc(c->out, cap);
        if (!o) {
            c->closing = 1;
            return;
        }
        c->out = o;
        c->ocap = cap;
    }
    memcpy(c->out + c->olen, p, n);
    c->olen += n;
}

static void putf(struct client *c, const char *fmt, long v)
{
    char b[32];
    put(c, b, (size_t)snprintf(b, sizeof b, fmt, v));
}

static void bulk(struct client *c, const char *p, size_t n)
{
    putf(c, "$%ld\r\n", (long)n);
    put(c, p, n);
    put(c, "\r\n", 2);
}

#define REPLY(c, s) put(c, s, sizeof s - 1)

// ---- commands --------------------------------------------------------------------------
static int is(const char *a, const char *name) { return strcasecmp(a, name) == 0; }

static void incr_by(struct client *c, const char *k, size_t kn, long by)
{
    struct entry *e = *find(k, kn);
    char *end;
    long v = e ? strtol(e->val, &end, 10) : 0;
    if (e && (e->vlen == 0 || *end)) {
        REPLY(c, "-ERR value is not an integer or out of range\r\n");
        return;
    }
    char b[24];
    int n = snprintf(b, sizeof b, "%ld", v + by);
    if (set(k, kn, b, (size_t)n) < 0)
        REPLY(c, "-ERR out of memory\r\n");
    else
        putf(c, ":%ld\r\n", v + by);
}

static void execute(struct client *c, int argc, char **argv, size_t *len)
{
    const char *cmd = argv[0];
    if (is(cmd, "PING"))
        argc > 1 ? bulk(c, argv[1], len[1]) : REPLY(c, "+PONG\r\n");
    else if (is(cmd, "ECHO") && argc == 2)
        bulk(c, argv[1], len[1]);
    else if (is(cmd, "SET") && argc >= 3)
        set(argv[1], len[1], argv[2], len[2]) < 0 ? REPLY(c, "-ERR out of memory\r\n") : REPLY(c, "+OK\r\n");
    else if (is(cmd, "GET") && argc == 2) {
        struct entry *e = *find(argv[1], len[1]);
        e ? bulk(c, e->val, e->vlen) : REPLY(c, "$-1\r\n");
    } else if (is(cmd, "DEL") && argc >= 2) {
        long n = 0;
        for (int i = 1; i < argc; i++)
            n += del(argv[i], len[i]);
        putf(c, ":%ld\r\n", n);
    } else if (is(cmd, "EXISTS") && argc >= 2) {
        long n = 0;
        for (int i = 1; i < argc; i++)
            n += *find(argv[i], len[i]) != NULL;
        putf(c, ":%ld\r\n", n);
    } else if ((is(cmd, "INCR") || is(cmd, "DECR")) && argc == 2)
        incr_by(c, argv[1], len[1], is(cmd, "INCR") ? 1 : -1);
    else if (is(cmd, "DBSIZE"))
        putf(c, ":%ld\r\n", nkeys);
    else if (is(cmd, "FLUSHALL") || is(cmd, "FLUSHDB")) {
        for (int b = 0; b < BUCKETS; b++)
            while (table[b])
                del(table[b]->key, table[b]->klen);
        REPLY(c, "+OK\r\n");
    } else if (is(cmd, "CONFIG") && argc == 3 && is(argv[1], "GET")) {
        REPLY(c, "*2\r\n");                                  // redis-benchmark asks at start
        bulk(c, argv[2], len[2]);
        bulk(c, "", 0);
    } else if (is(cmd, "COMMAND") || is(cmd, "CONFIG"))
        REPLY(c, "*0\r\n");                                  // redis-cli's start-up probe
    else if (is(cmd, "QUIT")) {
        REPLY(c, "+OK\r\n");
        c->closing = 1;
    } else {
        REPLY(c, "-ERR unknown command or wrong number of arguments\r\n");
    }
}

// ---- parsing ---------------------------------------------------------------------------
// Parses one command at c->in; returns bytes used, 0 if incomplete, -1 if malformed.
static long parse_resp(struct client *c, int *argc, char **argv, size_t *len)
{
    char *p = c->in, *end = c->in + c->have, *nl;
    if (!(nl = memchr(p, '\n', (size_t)(end - p))))
        return 0;
    long n = strtol(p + 1, NULL, 10);
    if (n < 1 || n > MAX_ARGS)
        return -1;
    p = nl + 1;
    for (long i = 0; i < n; i++) {
        if (p >= end || !(nl = memchr(p, '\n', (size_t)(end - p))))
            return 0;
        if (*p != '$')
            return -1;
        long l = strtol(p + 1, NULL, 10);
        if (l < 0 || l > IN_MAX)
            return -1;
        p = nl + 1;
        if (end - p < l + 2)
            return 0;
        argv[i] = p;
        len[i] = (size_t)l;
        p[l] = 0;                                            // was '\r'
        p += l + 2;
    }
    *argc = (int)n;
    return p - c->in;
}

static long parse_inline(struct client *c, int *argc, char **argv, size_t *len)
{
    char *nl = memchr(c->in, '\n', c->have);
    if (!nl)
        return 0;
    *nl = 0;
    if (nl > c->in && nl[-1] == '\r')
        nl[-1] = 0;
    *argc = 0;
    for (char *save, *tok = strtok_r(c->in, " \t", &save); tok && *argc < MAX_ARGS;
         tok = strtok_r(NULL, " \t", &save)) {
        argv[*argc] = tok;
        len[(*argc)++] = strlen(tok);
    }
    return nl + 1 - c->in;
}

static void process(struct client *c)
{
    while (c->have && !c->closing) {
        int argc = 0;
        char *argv[MAX_ARGS];
        size_t len[MAX_ARGS];
        long used = c->in[0] == '*' ? parse_resp(c, &argc, argv, len) : parse_inline(c, &argc, argv, len);
        if (used == 0)
            break;
        if (used < 0) {
            REPLY(c, "-ERR Protocol error\r\n");
            c->closing = 1;
            break;
        }
        if (argc > 0)
            execute(c, argc, argv, len);
        memmove(c->in, c->in + used, c->have - (size_t)used);
        c->have -= (size_t)used;
    }
}

// ---- the event loop -----------------------------------------------------------------------
static int readable(struct client *c)
{
    if (c->cap - c->have < 4096) {
        size_t cap = c->cap ? c->cap * 2 : 16384;
        char *in = cap <= IN_MAX ? realloc(c->in, cap + 1) : NULL;
        if (!in)
            return -1;
        c->in = in;
        c->cap = cap;
    }
    ssize_t r = recv(c->fd, c->in + c->have, c->cap - c->have, 0);
    if (r <= 0)
        return r == 0 || errno != EAGAIN ? -1 : 0;
    c->have += (size_t)r;
    process(c);
    size_t off = 0;
    while (off < c->olen) {                                      // replies go out at once
        ssize_t w = send(c->fd, c->out + off, c->olen - off, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    c->olen = 0;
    return c->closing ? -1 : 0;
}

static void drop(struct client *c)
{
    close(c->fd);
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 6379, one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 128) < 0) {
        perror("kvstore: socket/bind/listen");
        return 1;
    }
    static struct client clients[MAX_CLIENTS];
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;
    printf("kvstore: listening on TCP port %d\n", port);
    fflush(stdout);
    for (;;) {
        struct pollfd p[MAX_CLIENTS + 1];
        int who[MAX_CLIENTS + 1], n = 0;
        p[n++] = (struct pollfd){ lfd, POLLIN, 0 };
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (clients[i].fd >= 0) {
                who[n] = i;
                p[n++] = (struct pollfd){ clients[i].fd, POLLIN, 0 };
            }
        if (poll(p, (nfds_t)n, -1) < 0) {
            perror("kvstore: poll");
            return 1;
        }
        for (int k = 1; k < n; k++)
            if (p[k].revents && readable(&clients[who[k]]) < 0)
                drop(&clients[who[k]]);
        if (p[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL), i = 0;
            while (fd >= 0 && i < MAX_CLIENTS && clients[i].fd >= 0)
                i++;
            if (fd >= 0 && i == MAX_CLIENTS)
                close(fd);                                   // full: the client sees EOF
            else if (fd >= 0)
                clients[i].fd = fd;
        }
    }
}
