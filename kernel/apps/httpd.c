// SPDX-License-Identifier: MIT
// httpd [PORT]: a small HTTP/1.1 server, one thread per connection, with
// keep-alive (HTTP/1.1 by default, HTTP/1.0 when asked) and pipelining.
// GET /            a short HTML page
// GET /hello       "hello\n" (the benchmark's request)
// GET /bytes/N     N bytes of text (throughput)
// GET /NAME        file NAME of the boot archive (on Linux: of the directory)
// Anything else is 404; methods other than GET and HEAD are 405.
// The same source builds for Linux.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_MAX 8192

static const char index_html[] =
    "<!doctype html><title>unikernel httpd</title>"
    "<h1>Hello from the unikernel</h1><p>Served by httpd over the lab's own TCP/IP stack.</p>\n";

static long served;
static pthread_mutex_t served_lock = PTHREAD_MUTEX_INITIALIZER;

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

static int respond(int fd, int status, const char *reason, const char *type, const char *body,
                   size_t len, int keep, int head)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nServer: unikernel-httpd\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
                     status, reason, type, len, keep ? "keep-alive" : "close");
    if (send_all(fd, hdr, (size_t)n) < 0 || (!head && len && send_all(fd, body, len) < 0))
        return -1;
    pthread_mutex_lock(&served_lock);
    served++;
    pthread_mutex_unlock(&served_lock);
    return 0;
}

static int serve_bytes(int fd, long n, int keep, int head)
{
    static char chunk[4096];
    if (!chunk[0])
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (char)('a' + i % 26);
    if (respond(fd, 200, "OK", "text/plain", NULL, (size_t)n, keep, 1) < 0)
        return -1;
    for (; !head && n > 0; n -= (long)sizeof chunk)
        if (send_all(fd, chunk, n < (long)sizeof chunk ? (size_t)n : sizeof chunk) < 0)
            return -1;
    return 0;
}

static int serve_file(int fd, const char *name, int keep, int head)
{
    int f = strstr(name, "..") ? -1 : open(name, O_RDONLY);
    if (f < 0)
        return respond(fd, 404, "Not Found", "text/plain", "not found\n", 10, keep, head);
    off_t size = lseek(f, 0, SEEK_END);
    char *body = size > 0 ? malloc((size_t)size) : NULL;
    int r;
    if (size < 0 || (size > 0 && (!body || pread(f, body, (size_t)size, 0) != size)))
        r = respond(fd, 500, "Internal Server Error", "text/plain", "read error\n", 11, keep, head);
    else
        r = respond(fd, 200, "OK", "application/octet-stream", body, (size_t)size, keep, head);
    free(body);
    close(f);
    return r;
}

// Answers one request (its head is req, NUL-terminated); returns -1 to close.
static int handle(int fd, char *req)
{
    char method[8], path[256], version[16];
    if (sscanf(req, "%7s %255s %15s", method, path, version) != 3) {
        respond(fd, 400, "Bad Request", "text/plain", "bad request\n", 12, 0, 0);
        return -1;
    }
    int head = strcmp(method, "HEAD") == 0;
    int keep = strcmp(version, "HTTP/1.1") == 0;
    for (char *line = strstr(req, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Connection:", 11) == 0) {
            const char *v = line + 13;
            while (*v == ' ') v++;
            keep = strncasecmp(v, "keep-alive", 10) == 0 ? 1 : strncasecmp(v, "close", 5) == 0 ? 0 : keep;
        }
    }
    int r;
    if (!head && strcmp(method, "GET") != 0)
        r = respond(fd, 405, "Method Not Allowed", "text/plain", "GET or HEAD\n", 12, keep, 0);
    else if (strcmp(path, "/") == 0)
        r = respond(fd, 200, "OK", "text/html", index_html, sizeof index_html - 1, keep, head);
    else if (strcmp(path, "/hello") == 0)
        r = respond(fd, 200, "OK", "text/plain", "hello\n", 6, keep, head);
    else if (strncmp(path, "/bytes/", 7) == 0)
        r = serve_bytes(fd, atol(path + 7), keep, head);
    else
        r = serve_file(fd, path + 1, keep, head);
    return r < 0 || !keep ? -1 : 0;
}

static void *connection(void *arg)
{
    int fd = (int)(long)arg;
    char *buf = malloc(REQ_MAX + 1);
    size_t have = 0;
    while (buf) {
        char *end;
        buf[have] = 0;
        while ((end = strstr(buf, "\r\n\r\n"))) {           // every complete request (pipelining)
            *end = 0;
            if (handle(fd, buf) < 0)
                goto done;
            size_t used = (size_t)(end + 4 - buf);
            memmove(buf, end + 4, have - used + 1);
            have -= used;
        }
        if (have == REQ_MAX)
            break;                                            // a request head too large
        ssize_t r = recv(fd, buf + have, REQ_MAX - have, 0);
        if (r <= 0)
            break;
        have += (size_t)r;
    }
done:
    free(buf);
    close(fd);
    return NULL;
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
    printf("httpd: listening on TCP port %d\n", port);
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) {
            perror("httpd: accept");
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
