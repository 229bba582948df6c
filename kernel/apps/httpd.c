// SPDX-License-Identifier: MIT
// httpd [PORT]: a small HTTP/1.1 server (RFC 9110, RFC 9112), one thread per
// connection, with keep-alive and pipelining. It serves a fixed set of
// documents by name and never opens a path a client names:
//   GET /           a short HTML page (the boot archive's index.html if it has one;
//                   on Linux, index.html of the working directory)
//   GET /hello      "hello\n" (the benchmark's request)
//   GET /bytes/N    N bytes of text, 0 <= N <= BYTES_MAX (throughput)
// HEAD works wherever GET does; a query string (?...) is ignored; lines may end
// in LF alone. A request body (Content-Length) is read and thrown away, so the
// next request on the connection is framed right. The answers to bad requests:
//   400 a malformed request line or field (NUL, bare CR, space before ':',
//       HTTP/1.1 without exactly one Host)     404 no such document
//   405 another method (with Allow)            413 a body over BODY_MAX bytes
//   414 a target over TARGET_MAX bytes         431 a head of HEAD_MAX bytes or more
//   501 an unknown method, or a Transfer-Encoding (chunked bodies are not read)
//   505 an HTTP version other than 1.0 and 1.1
// After 400, 413, 431, 501 for a Transfer-Encoding and 505 the connection is
// closed: where the next request starts is not known. The same source builds
// for Linux.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX   8192          // a request head must be shorter than this (else 431)
#define TARGET_MAX 2048          // longer request targets get 414
#define BODY_MAX   (1L << 20)    // longer request bodies get 413
#define BYTES_MAX  (1L << 30)    // the largest N of /bytes/N

static const char index_html[] =
    "<!doctype html><title>unikernel httpd</title>"
    "<h1>Hello from the unikernel</h1><p>Served by httpd over the lab's own TCP/IP stack.</p>\n";

struct doc {
    const char *path;     // what a client asks for
    const char *file;     // read once at start from the boot archive, if it is there
    const char *type;
    const char *body;     // otherwise this
    size_t len;
};

static struct doc docs[] = {
    { "/", "index.html", "text/html", index_html, sizeof index_html - 1 },
    { "/hello", NULL, "text/plain", "hello\n", 6 },
};

struct request {
    char *method, *target;
    int version;          // 10 or 11
    int keep, head;       // keep the connection open; answer without a body
    int hosts, chunked, expect;
    long body;            // Content-Length, -1 if none
};

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default:  return "Internal Server Error";
    }
}

// ---- answers ---------------------------------------------------------------------
static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

// Sends the status line and fields; then the body unless it is NULL or a HEAD.
static int respond(int fd, const struct request *r, int status, const char *type,
                   const char *body, size_t len)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nServer: unikernel-httpd\r\n%sContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
                     status, reason(status), status == 405 ? "Allow: GET, HEAD\r\n" : "",
                     type, len, r->keep ? "keep-alive" : "close");
    if (send_all(fd, hdr, (size_t)n) < 0)
        return -1;
    return body && !r->head && len ? send_all(fd, body, len) : 0;
}

static int fail(int fd, const struct request *r, int status)
{
    char text[64];
    int n = snprintf(text, sizeof text, "%d %s\n", status, reason(status));
    return respond(fd, r, status, "text/plain", text, (size_t)n);
}

static int serve_bytes(int fd, const struct request *r, long n)
{
    static char chunk[4096];
    if (!chunk[0])
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (char)('a' + i % 26);
    if (respond(fd, r, 200, "text/plain", NULL, (size_t)n) < 0)
        return -1;
    for (; !r->head && n > 0; n -= (long)sizeof chunk)
        if (send_all(fd, chunk, n < (long)sizeof chunk ? (size_t)n : sizeof chunk) < 0)
            return -1;
    return 0;
}

// N of /bytes/N: decimal digits only, at most BYTES_MAX; -1 otherwise.
static long byte_count(const char *s)
{
    long n = 0;
    if (!*s || strlen(s) > 10)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        n = n * 10 + (*s - '0');
    }
    return n <= BYTES_MAX ? n : -1;
}

// ---- parsing -----------------------------------------------------------------------
static int is_token(const char *s, size_t n)   // RFC 9110 5.6.2, enough of it
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] >= 127 || strchr("\"(),/:;<=>?@[\\]{}", s[i]))
            return 0;
    return 1;
}

// "METHOD SP TARGET SP HTTP/1.x": returns 0, or the status that answers it.
static int request_line(char *line, struct request *r)
{
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp2 || strchr(sp2 + 1, ' ') || !is_token(line, (size_t)(sp1 - line)) || sp2 == sp1 + 1)
        return 400;
    *sp1 = *sp2 = 0;
    r->method = line;
    r->target = sp1 + 1;
    for (char *p = r->target; *p; p++)
        if (*p <= ' ' || *p >= 127)
            return 400;
    const char *v = sp2 + 1;
    if (strcmp(v, "HTTP/1.1") == 0 || strcmp(v, "HTTP/1.0") == 0) {
        r->version = v[7] == '1' ? 11 : 10;
        r->keep = r->version == 11;
        return 0;
    }
    int ok = strlen(v) == 8 && strncmp(v, "HTTP/", 5) == 0 && v[6] == '.';
    return ok && v[5] >= '0' && v[5] <= '9' && v[7] >= '0' && v[7] <= '9' ? 505 : 400;
}

static int has_word(const char *list, const char *word)    // "a, b,c" contains word
{
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (len == n && strncasecmp(p, word, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

// "Name: value": returns 0, or the status that answers it.
static int field(char *line, struct request *r)
{
    char *colon = strchr(line, ':');
    if (!colon || !is_token(line, (size_t)(colon - line)))
        return 400;                                      // includes "Name :" and folded lines
    *colon = 0;
    char *v = colon + 1, *end = v + strlen(v);
    while (*v == ' ' || *v == '\t')
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = 0;
    if (strcasecmp(line, "Host") == 0)
        r->hosts++;
    else if (strcasecmp(line, "Transfer-Encoding") == 0)
        r->chunked = 1;
    else if (strcasecmp(line, "Expect") == 0)
        r->expect = strcasecmp(v, "100-continue") == 0;
    else if (strcasecmp(line, "Connection") == 0) {
        if (has_word(v, "close"))
            r->keep = 0;
        else if (has_word(v, "keep-alive"))
            r->keep = 1;
    } else if (strcasecmp(line, "Content-Length") == 0) {
        long n = 0;
        if (!*v || strspn(v, "0123456789") != strlen(v))
            return 400;
        for (; *v && n <= BODY_MAX; v++)
            n = n * 10 + (*v - '0');
        if (r->body >= 0 && r->body != n)
            return 400;                                  // two lengths that disagree
        r->body = n;
    }
    return 0;
}

// Parses the head (len bytes, its blank line included) into r, in place;
// returns 0, or the status that answers a request whose framing is lost.
static int parse(char *h, size_t len, struct request *r)
{
    *r = (struct request){ .body = -1 };
    if (memchr(h, 0, len))
        return 400;
    char *line = h, *nl;
    for (int first = 1; (nl = memchr(line, '\n', (size_t)(h + len - line))); line = nl + 1, first = 0) {
        *nl = 0;
        if (nl > line && nl[-1] == '\r')
            nl[-1] = 0;
        if (strchr(line, '\r'))
            return 400;                                  // a bare CR
        if (!*line)
            break;                                       // the blank line
        int status = first ? request_line(line, r) : field(line, r);
        if (status)
            return status;
    }
    if (!r->method)
        return 400;
    r->head = strcmp(r->method, "HEAD") == 0;
    if (r->chunked)
        return 501;
    if (r->body > BODY_MAX)
        return 413;
    if (r->version == 11 && r->hosts != 1)
        return 400;
    if (r->body > 0 && r->expect)
        r->keep = 0;        // the client waits for "100 Continue" before its body: don't read it
    if (r->body < 0)
        r->body = 0;
    return 0;
}

// ---- requests ----------------------------------------------------------------------
static int route(int fd, struct request *r)
{
    char *t = r->target;
    if (strlen(t) > TARGET_MAX)
        return fail(fd, r, 414);
    if (strcmp(r->method, "GET") != 0 && !r->head) {
        static const char *known[] = { "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT" };
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            if (strcmp(r->method, known[i]) == 0)
                return fail(fd, r, 405);
        return fail(fd, r, 501);
    }
    t[strcspn(t, "?")] = 0;
    if (strncasecmp(t, "http://", 7) == 0)              // absolute form: drop the authority
        t = strchr(t + 7, '/') ? strchr(t + 7, '/') : "/";
    if (t[0] != '/') {
        r->keep = 0;
        return fail(fd, r, 400);
    }
    if (strncmp(t, "/bytes/", 7) == 0) {
        long n = byte_count(t + 7);
        return n < 0 ? fail(fd, r, 404) : serve_bytes(fd, r, n);
    }
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
        if (strcmp(t, docs[i].path) == 0)
            return respond(fd, r, 200, docs[i].type, docs[i].body, docs[i].len);
    return fail(fd, r, 404);
}

// Answers the request whose head is the first len bytes of h; returns the
// body length to skip (>= 0), or -1 to close the connection.
static long serve(int fd, char *h, size_t len)
{
    struct request r;
    int status = parse(h, len, &r);
    if (status) {
        r.keep = 0;
        fail(fd, &r, status);
        return -1;
    }
    return route(fd, &r) < 0 || !r.keep ? -1 : r.body;
}

// Where the head at b ends (after "\n\n" or "\n\r\n"); 0 if it is not all here.
static size_t head_length(const char *b, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (b[i] == '\n' && (b[i - 1] == '\n' || (i >= 2 && b[i - 1] == '\r' && b[i - 2] == '\n')))
            return i + 1;
    return 0;
}

// Closes after our answer is out: stops sending, then reads (and drops) what the
// client still sends for a while, so that our close does not turn into a RST
// that could destroy the answer before the client has read it.
static void linger_close(int fd)
{
    char sink[2048];
    struct pollfd p = { fd, POLLIN, 0 };
    shutdown(fd, SHUT_WR);
    for (int rounds = 0; rounds < 256 && poll(&p, 1, 1000) > 0; rounds++)
        if (recv(fd, sink, sizeof sink, 0) <= 0)
            break;
    close(fd);
}

static void *connection(void *arg)
{
    int fd = (int)(long)arg;
    char *buf = malloc(HEAD_MAX);
    size_t have = 0, n;
    long skip = 0;                                       // body bytes still to throw away
    while (buf) {
        size_t drop = (size_t)skip < have ? (size_t)skip : have;
        skip -= (long)drop;
        while (!skip && drop < have && (buf[drop] == '\n' || buf[drop] == '\r'))
            drop++;                                      // empty lines before a request
        memmove(buf, buf + drop, have - drop);
        have -= drop;
        if (!skip && (n = head_length(buf, have)) && n < HEAD_MAX) {
            if ((skip = serve(fd, buf, n)) < 0)
                break;
            memmove(buf, buf + n, have - n);
            have -= n;
            continue;
        }
        if (have == HEAD_MAX) {                          // no end in sight: a line or the head is too long
            struct request r = { .keep = 0 };
            fail(fd, &r, memchr(buf, '\n', have) ? 431 : 414);
            break;
        }
        ssize_t got = recv(fd, buf + have, HEAD_MAX - have, 0);
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    free(buf);
    linger_close(fd);
    return NULL;
}

// ---- start -------------------------------------------------------------------------
static void load_documents(void)
{
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        int f = docs[i].file ? open(docs[i].file, O_RDONLY) : -1;
        off_t size = f >= 0 ? lseek(f, 0, SEEK_END) : -1;
        char *body = size > 0 ? malloc((size_t)size) : NULL;
        if (body && pread(f, body, (size_t)size, 0) == size) {
            docs[i].body = body;
            docs[i].len = (size_t)size;
            printf("httpd: %s is %s (%ld bytes)\n", docs[i].path, docs[i].file, (long)size);
        } else {
            free(body);
        }
        if (f >= 0)
            close(f);
    }
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 80;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 64) < 0) {
        perror("httpd: socket/bind/listen");
        return 1;
    }
    load_documents();
    printf("httpd: listening on TCP port %d\n", port);
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) {
            perror("httpd: accept");
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
                usleep(100000);                          // wait for a connection to close
            continue;
        }
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 64 << 10);
        if (pthread_create(&t, &attr, connection, (void *)(long)c) != 0) {
            fprintf(stderr, "httpd: no thread for a connection\n");
            close(c);
        }
        pthread_attr_destroy(&attr);
    }
}
