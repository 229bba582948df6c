// SPDX-License-Identifier: MIT
// kvstore [PORT]: a key-value server speaking enough of the Redis protocol
// (RESP2) for redis-cli and redis-benchmark, with the replies and errors the
// Redis documentation gives: PING, ECHO, GET, SET (NX | XX, GET, EX | PX |
// KEEPTTL), DEL, EXISTS, INCR, DECR, INCRBY, DECRBY, TTL, PTTL, DBSIZE,
// FLUSHALL, QUIT, plus answers to the COMMAND and CONFIG GET probes clients
// send first. Inline commands ("PING\r\n", as nc sends them) work too.
//
// One thread serves every client through poll(), port 6379 by default. Each
// client has its own output buffer, sent as its socket takes it: a client that
// does not read its replies has no more of its commands run once OUTPUT_PAUSE
// bytes wait for it (every other client goes on), and is dropped if a reply
// would take it past OUTPUT_LIMIT (Redis's client-output-buffer-limit). Keys
// with a time to live expire when next looked up (CLOCK_MONOTONIC).
// The same source builds for Linux.
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS  1024          // more are told so and closed (the fd table may say less)
#define QUERY_MAX    (8 << 20)     // the largest command, its values included
#define INLINE_MAX   (64 << 10)    // the longest inline command or RESP header line
#define ARGS_MAX     (1 << 20)     // the most arguments of one command
#define OUTPUT_PAUSE (256 << 10)   // run no more of a client's commands while this much waits
#define OUTPUT_LIMIT (32 << 20)    // drop a client whose unsent replies would pass this
#define BUCKETS      4096

struct entry {
    struct entry *next;
    char *key, *val;
    size_t klen, vlen;
    long long expires;             // CLOCK_MONOTONIC milliseconds, 0: never
};

struct client {
    int fd;
    char *in;  size_t have, cap;   // received, not yet run
    char *out; size_t olen, ocap;  // replies not yet sent
    char **argv; size_t *len; size_t argcap;
    int closing;                   // close once the replies are out
    int overflow;                  // close now (OUTPUT_LIMIT)
};

static struct entry *table[BUCKETS];
static long nkeys;

// ---- the store ---------------------------------------------------------------------
static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static unsigned hash(const char *k, size_t n)
{
    unsigned h = 2166136261u;
    while (n--)
        h = (h ^ (unsigned char)*k++) * 16777619u;
    return h % BUCKETS;
}

static struct entry **slot(const char *k, size_t n)
{
    struct entry **e = &table[hash(k, n)];
    while (*e && !((*e)->klen == n && memcmp((*e)->key, k, n) == 0))
        e = &(*e)->next;
    return e;
}

static void unlink_entry(struct entry **e)
{
    struct entry *gone = *e;
    *e = gone->next;
    free(gone->key);
    free(gone->val);
    free(gone);
    nkeys--;
}

// The live entry for key k, or NULL (an expired one is deleted on the way).
static struct entry *lookup(const char *k, size_t n)
{
    struct entry **e = slot(k, n);
    if (*e && (*e)->expires && (*e)->expires <= now_ms()) {
        unlink_entry(e);
        return NULL;
    }
    return *e;
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

// Sets k to v; keeps the time to live if keep_ttl, else sets it to expires.
// Returns -1 if out of memory (and changes nothing).
static int store(const char *k, size_t kn, const char *v, size_t vn, int keep_ttl, long long expires)
{
    struct entry *e = lookup(k, kn);
    char *val = dup_bytes(v, vn);
    if (!val)
        return -1;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e || !(e->key = dup_bytes(k, kn))) {
            free(e);
            free(val);
            return -1;
        }
        e->klen = kn;
        e->next = table[hash(k, kn)];
        table[hash(k, kn)] = e;
        nkeys++;
    }
    free(e->val);
    e->val = val;
    e->vlen = vn;
    if (!keep_ttl)
        e->expires = expires;
    return 0;
}

static int del(const char *k, size_t n)
{
    if (!lookup(k, n))
        return 0;
    unlink_entry(slot(k, n));
    return 1;
}

static void expire_all(void)
{
    for (int b = 0; b < BUCKETS; b++)
        for (struct entry *e = table[b], *next; e; e = next) {
            next = e->next;
            lookup(e->key, e->klen);
        }
}

// A whole string as a 64-bit integer, as Redis reads one: no spaces, no '+',
// no leading zeros; 0 if it is not one.
static int to_ll(const char *s, size_t n, long long *out)
{
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    int neg = n > 0 && s[0] == '-';
    if (n == 0 || n > 20 || n == (size_t)neg || s[neg] < '1' || s[neg] > '9')
        return 0;
    unsigned long long v = 0;
    for (size_t i = (size_t)neg; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (ULLONG_MAX - 9) / 10)
            return 0;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > (unsigned long long)LLONG_MAX + (unsigned)neg)
        return 0;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 1;
}

// ---- replies -------------------------------------------------------------------------
static void put(struct client *c, const char *p, size_t n)
{
    if (c->overflow)
        return;
    if (c->olen + n > OUTPUT_LIMIT) {
        c->overflow = 1;
        return;
    }
    if (c->olen + n > c->ocap) {
        size_t cap = (c->olen + n) * 2;
        char *o = realloc(c->out, cap);
        if (!o) {
            c->overflow = 1;
            return;
        }
        c->out = o;
        c->ocap = cap;
    }
    memcpy(c->out + c->olen, p, n);
    c->olen += n;
}

static void putf(struct client *c, const char *fmt, long long v)
{
    char b[32];
    put(c, b, (size_t)snprintf(b, sizeof b, fmt, v));
}

static void bulk(struct client *c, const char *p, size_t n)
{
    putf(c, "$%lld\r\n", (long long)n);
    put(c, p, n);
    put(c, "\r\n", 2);
}

#define REPLY(c, s) put(c, s, sizeof s - 1)

static void reply_value(struct client *c, const struct entry *e)
{
    e ? bulk(c, e->val, e->vlen) : REPLY(c, "$-1\r\n");
}

// ---- commands --------------------------------------------------------------------------
// Each gets the arguments (argv[0] is the command's name) with their lengths;
// the table checks the count first.
typedef void command_fn(struct client *c, int argc, char **argv, size_t *len);

static void cmd_ping(struct client *c, int argc, char **argv, size_t *len)
{
    if (argc > 2)
        REPLY(c, "-ERR wrong number of arguments for 'ping' command\r\n");
    else
        argc == 2 ? bulk(c, argv[1], len[1]) : REPLY(c, "+PONG\r\n");
}

static void cmd_echo(struct client *c, int argc, char **argv, size_t *len)
{
    (void)argc;
    bulk(c, argv[1], len[1]);
}

static void cmd_get(struct client *c, int argc, char **argv, size_t *len)
{
    (void)argc;
    reply_value(c, lookup(argv[1], len[1]));
}

// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]
static void cmd_set(struct client *c, int argc, char **argv, size_t *len)
{
    int nx = 0, xx = 0, get = 0, keep_ttl = 0, timed = 0;
    long long expires = 0;
    for (int i = 3; i < argc; i++) {
        const char *o = argv[i];
        if (!strcasecmp(o, "NX") && !xx)
            nx = 1;
        else if (!strcasecmp(o, "XX") && !nx)
            xx = 1;
        else if (!strcasecmp(o, "GET"))
            get = 1;
        else if (!strcasecmp(o, "KEEPTTL") && !timed)
            keep_ttl = 1;
        else if ((!strcasecmp(o, "EX") || !strcasecmp(o, "PX")) && !keep_ttl && !timed && i + 1 < argc) {
            long long n, unit = toupper((unsigned char)o[0]) == 'E' ? 1000 : 1;
            timed = 1;
            if (!to_ll(argv[i + 1], len[i + 1], &n)) {
                REPLY(c, "-ERR value is not an integer or out of range\r\n");
                return;
            }
            if (n <= 0 || n > (LLONG_MAX - now_ms()) / unit) {
                REPLY(c, "-ERR invalid expire time in 'set' command\r\n");
                return;
            }
            expires = now_ms() + n * unit;
            i++;
        } else {
            REPLY(c, "-ERR syntax error\r\n");
            return;
        }
    }
    struct entry *old = lookup(argv[1], len[1]);
    if (get)
        reply_value(c, old);                             // the old value, set or not
    if ((nx && old) || (xx && !old)) {
        if (!get)
            REPLY(c, "$-1\r\n");
        return;
    }
    if (store(argv[1], len[1], argv[2], len[2], keep_ttl, expires) < 0)
        get ? (void)0 : REPLY(c, "-ERR out of memory\r\n");
    else if (!get)
        REPLY(c, "+OK\r\n");
}

static void cmd_del(struct client *c, int argc, char **argv, size_t *len)
{
    long long n = 0;
    for (int i = 1; i < argc; i++)
        n += del(argv[i], len[i]);
    putf(c, ":%lld\r\n", n);
}

static void cmd_exists(struct client *c, int argc, char **argv, size_t *len)
{
    long long n = 0;
    for (int i = 1; i < argc; i++)
        n += lookup(argv[i], len[i]) != NULL;
    putf(c, ":%lld\r\n", n);
}

static void incr_by(struct client *c, const char *k, size_t kn, long long by)
{
    struct entry *e = lookup(k, kn);
    long long v = 0;
    if (e && !to_ll(e->val, e->vlen, &v)) {
        REPLY(c, "-ERR value is not an integer or out of range\r\n");
        return;
    }
    if ((by > 0 && v > LLONG_MAX - by) || (by < 0 && v < LLONG_MIN - by)) {
        REPLY(c, "-ERR increment or decrement would overflow\r\n");
        return;
    }
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", v + by);
    if (store(k, kn, b, (size_t)n, 1, 0) < 0)           // INCR keeps the time to live
        REPLY(c, "-ERR out of memory\r\n");
    else
        putf(c, ":%lld\r\n", v + by);
}

static void cmd_incr(struct client *c, int argc, char **argv, size_t *len)
{
    (void)argc;
    incr_by(c, argv[1], len[1], toupper((unsigned char)argv[0][0]) == 'I' ? 1 : -1);
}

static void cmd_incrby(struct client *c, int argc, char **argv, size_t *len)
{
    long long by;
    (void)argc;
    if (!to_ll(argv[2], len[2], &by))
        REPLY(c, "-ERR value is not an integer or out of range\r\n");
    else if (toupper((unsigned char)argv[0][0]) == 'D' && by == LLONG_MIN)
        REPLY(c, "-ERR decrement would overflow\r\n");
    else
        incr_by(c, argv[1], len[1], toupper((unsigned char)argv[0][0]) == 'I' ? by : -by);
}

static void cmd_ttl(struct client *c, int argc, char **argv, size_t *len)
{
    (void)argc;
    struct entry *e = lookup(argv[1], len[1]);
    long long ms = e && e->expires ? e->expires - now_ms() : 0;
    int seconds = toupper((unsigned char)argv[0][0]) == 'T';
    putf(c, ":%lld\r\n", !e ? -2 : !e->expires ? -1 : seconds ? (ms + 500) / 1000 : ms);
}

static void cmd_dbsize(struct client *c, int argc, char **argv, size_t *len)
{
    (void)argc, (void)argv, (void)len;
    expire_all();
    putf(c, ":%lld\r\n", nkeys);
}

static void cmd_flushall(struct client *c, int argc, char **argv, size_t *len)
{
    (void)argc, (void)argv, (void)len;
    for (int b = 0; b < BUCKETS; b++)
        while (table[b])
            unlink_entry(&table[b]);
    REPLY(c, "+OK\r\n");
}

static void cmd_config(struct client *c, int argc, char **argv, size_t *len)
{
    if (argc == 3 && !strcasecmp(argv[1], "GET")) {    // redis-benchmark asks at start
        REPLY(c, "*2\r\n");
        bulk(c, argv[2], len[2]);
        bulk(c, "", 0);
    } else {
        REPLY(c, "*0\r\n");
    }
}

static void cmd_command(struct client *c, int argc, char **argv, size_t *len)
{
    (void)argc, (void)argv, (void)len;
    REPLY(c, "*0\r\n");                                  // redis-cli's start-up probe
}

static void cmd_quit(struct client *c, int argc, char **argv, size_t *len)
{
    (void)argc, (void)argv, (void)len;
    REPLY(c, "+OK\r\n");
    c->closing = 1;
}

static const struct command {
    const char *name;
    int arity;                     // as Redis: n exactly, -n at least n (the name counts)
    command_fn *run;
} commands[] = {
    { "ping", -1, cmd_ping },     { "echo", 2, cmd_echo },       { "get", 2, cmd_get },
    { "set", -3, cmd_set },       { "del", -2, cmd_del },        { "exists", -2, cmd_exists },
    { "incr", 2, cmd_incr },      { "decr", 2, cmd_incr },       { "incrby", 3, cmd_incrby },
    { "decrby", 3, cmd_incrby },  { "ttl", 2, cmd_ttl },         { "pttl", 2, cmd_ttl },
    { "dbsize", 1, cmd_dbsize },  { "flushall", -1, cmd_flushall }, { "flushdb", -1, cmd_flushall },
    { "config", -2, cmd_config }, { "command", -1, cmd_command }, { "quit", -1, cmd_quit },
};

static void execute(struct client *c, int argc, char **argv, size_t *len)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        const struct command *k = &commands[i];
        if (strcasecmp(argv[0], k->name) != 0)
            continue;
        if (k->arity > 0 ? argc != k->arity : argc < -k->arity) {
            char b[96];
            put(c, b, (size_t)snprintf(b, sizeof b, "-ERR wrong number of arguments for '%s' command\r\n", k->name));
        } else {
            k->run(c, argc, argv, len);
        }
        return;
    }
    char b[256];
    int n = snprintf(b, sizeof b, "-ERR unknown command '%.64s', with args beginning with: ", argv[0]);
    for (int i = 1; i < argc && n < 200; i++)
        n += snprintf(b + n, sizeof b - (size_t)n, "'%.32s' ", argv[i]);
    put(c, b, (size_t)n);
    REPLY(c, "\r\n");
}

// ---- parsing ---------------------------------------------------------------------------
static int push_arg(struct client *c, size_t i, char *p, size_t n)
{
    if (i >= c->argcap) {
        size_t cap = c->argcap ? c->argcap * 2 : 16;
        char **argv = realloc(c->argv, cap * sizeof *argv);
        if (argv)
            c->argv = argv;
        size_t *len = argv ? realloc(c->len, cap * sizeof *len) : NULL;
        if (!len)
            return -1;
        c->len = len;
        c->argcap = cap;
    }
    c->argv[i] = p;
    c->len[i] = n;
    return 0;
}

enum { LINE_OK, LINE_PARTIAL, LINE_BAD };

// Reads the number of a "*N\r\n" or "$N\r\n" line at p (before end) into *n
// and sets *next past the line.
static int header(const char *p, const char *end, long long *n, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return end - p > INLINE_MAX ? LINE_BAD : LINE_PARTIAL;
    if (nl - p < 3 || nl[-1] != '\r' || !to_ll(p + 1, (size_t)(nl - 1 - p - 1), n))
        return LINE_BAD;
    *next = nl + 1;
    return LINE_OK;
}

// Parses one RESP command at c->in into c->argv; returns bytes used, 0 if it
// is not all here, -1 (after an error reply) if it is malformed.
static long parse_resp(struct client *c, int *argc)
{
    const char *p = c->in, *end = c->in + c->have;
    long long n, l;
    int line = header(p, end, &n, &p);
    if (line == LINE_PARTIAL)
        return 0;
    if (line == LINE_BAD || n > ARGS_MAX) {
        REPLY(c, "-ERR Protocol error: invalid multibulk length\r\n");
        return -1;
    }
    for (long long i = 0; i < n; i++) {
        if (p == end)
            return 0;
        if (*p != '$') {
            REPLY(c, "-ERR Protocol error: expected '$'\r\n");
            return -1;
        }
        if ((line = header(p, end, &l, &p)) == LINE_PARTIAL)
            return 0;
        if (line == LINE_BAD || l < 0 || l > QUERY_MAX) {
            REPLY(c, "-ERR Protocol error: invalid bulk length\r\n");
            return -1;
        }
        if (end - p < l + 2)
            return 0;
        if (p[l] != '\r' || p[l + 1] != '\n') {
            REPLY(c, "-ERR Protocol error: expected CRLF after a bulk string\r\n");
            return -1;
        }
        if (push_arg(c, (size_t)i, (char *)p, (size_t)l) < 0) {
            REPLY(c, "-ERR out of memory\r\n");
            return -1;
        }
        p += l + 2;
    }
    for (long long i = 0; i < n; i++)
        c->argv[i][c->len[i]] = 0;                       // was '\r': C strings from here on
    *argc = n > 0 ? (int)n : 0;                          // "*0" and "*-1" are no command
    return p - c->in;
}

static long parse_inline(struct client *c, int *argc)
{
    char *nl = memchr(c->in, '\n', c->have);
    if (!nl) {
        if (c->have <= INLINE_MAX)
            return 0;
        REPLY(c, "-ERR Protocol error: too big inline request\r\n");
        return -1;
    }
    *nl = 0;
    *argc = 0;
    for (char *save, *tok = strtok_r(c->in, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save))
        if (push_arg(c, (size_t)(*argc)++, tok, strlen(tok)) < 0) {
            REPLY(c, "-ERR out of memory\r\n");
            return -1;
        }
    return nl + 1 - c->in;
}

// Runs the client's complete commands while its unsent replies stay under OUTPUT_PAUSE.
static void process(struct client *c)
{
    while (c->have && !c->closing && !c->overflow && c->olen < OUTPUT_PAUSE) {
        int argc = 0;
        long used = c->in[0] == '*' ? parse_resp(c, &argc) : parse_inline(c, &argc);
        if (used == 0) {
            if (c->have == QUERY_MAX) {
                REPLY(c, "-ERR Protocol error: command over QUERY_MAX bytes\r\n");
                c->closing = 1;
            }
            break;
        }
        if (used < 0) {
            c->closing = 1;
            break;
        }
        if (argc > 0)
            execute(c, argc, c->argv, c->len);
        memmove(c->in, c->in + used, c->have - (size_t)used);
        c->have -= (size_t)used;
    }
}

// ---- the event loop -----------------------------------------------------------------------
static int receive(struct client *c)
{
    if (c->cap - c->have < 4096 && c->cap < QUERY_MAX) {
        size_t cap = c->cap ? c->cap * 2 : 16384;
        cap = cap < QUERY_MAX ? cap : QUERY_MAX;
        char *in = realloc(c->in, cap + 1);
        if (!in)
            return -1;
        c->in = in;
        c->cap = cap;
    }
    if (c->have == c->cap)
        return 0;                                        // full: process() says so
    ssize_t r = recv(c->fd, c->in + c->have, c->cap - c->have, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (r <= 0)
        return -1;
    c->have += (size_t)r;
    return 0;
}

// Sends what the socket takes now; -1 if the client is gone.
static int flush(struct client *c)
{
    if (!c->olen)
        return 0;
    ssize_t w = send(c->fd, c->out, c->olen, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    memmove(c->out, c->out + w, c->olen - (size_t)w);
    c->olen -= (size_t)w;
    return 0;
}

// Reads, runs and answers as far as the client and its socket allow; -1 to drop it.
static int service(struct client *c, short revents)
{
    if ((revents & (POLLIN | POLLHUP | POLLERR)) && receive(c) < 0)
        return -1;
    for (;;) {
        process(c);
        size_t before = c->olen;
        if (c->overflow || flush(c) < 0)
            return -1;
        if (c->olen == before || !c->have || c->closing)
            break;                                       // the socket is full, or nothing more to run
    }
    return c->closing && !c->olen ? -1 : 0;
}

static void drop(struct client *c)
{
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c->argv);
    free(c->len);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static struct client clients[MAX_CLIENTS];
static int nslots;                 // clients[nslots..] are all free
static struct pollfd polled[MAX_CLIENTS + 1];
static int polled_client[MAX_CLIENTS + 1];

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 6379, one = 1, accepting = 1;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 128) < 0) {
        perror("kvstore: socket/bind/listen");
        return 1;
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;
    printf("kvstore: listening on TCP port %d\n", port);
    fflush(stdout);
    for (;;) {
        int n = 0;
        polled[n++] = (struct pollfd){ accepting ? lfd : -1, POLLIN, 0 };
        while (nslots > 0 && clients[nslots - 1].fd < 0)
            nslots--;
        for (int i = 0; i < nslots; i++) {
            struct client *c = &clients[i];
            if (c->fd < 0)
                continue;
            short want = (short)((c->olen ? POLLOUT : 0) | (c->olen < OUTPUT_PAUSE && !c->closing ? POLLIN : 0));
            polled_client[n] = i;
            polled[n++] = (struct pollfd){ c->fd, want, 0 };
        }
        if (poll(polled, (nfds_t)n, -1) < 0) {
            perror("kvstore: poll");
            return 1;
        }
        for (int k = 1; k < n; k++)
            if (polled[k].revents && service(&clients[polled_client[k]], polled[k].revents) < 0) {
                drop(&clients[polled_client[k]]);
                accepting = 1;                           // a descriptor is free again
            }
        if (polled[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL), i = 0;
            while (fd >= 0 && i < MAX_CLIENTS && clients[i].fd >= 0)
                i++;
            if (fd < 0 && (errno == EMFILE || errno == ENFILE))
                accepting = 0;                           // until a client leaves
            else if (fd >= 0 && i == MAX_CLIENTS) {
                send(fd, "-ERR max number of clients reached\r\n", 36, MSG_NOSIGNAL);
                close(fd);
            } else if (fd >= 0) {
                clients[i].fd = fd;
                nslots = i + 1 > nslots ? i + 1 : nslots;
            }
        }
    }
}
