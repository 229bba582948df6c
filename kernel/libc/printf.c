// SPDX-License-Identifier: MIT
// The printf family: thin wrappers that point the engine (format.c) at a
// string buffer, a stream or a file descriptor.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "format.h"

// Sink for the string functions: keeps what fits, counts the rest.
struct strbuf {
    char *buf;
    size_t cap, len;   // cap includes the terminating NUL
};

static void str_sink(void *ctx, const char *s, size_t n)
{
    struct strbuf *b = ctx;
    if (b->len + 1 < b->cap) {
        size_t room = b->cap - 1 - b->len;
        memcpy(b->buf + b->len, s, n < room ? n : room);
    }
    b->len += n;
}

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    struct strbuf b = { buf, n, 0 };
    int r = __libc_vformat(str_sink, &b, fmt, ap);
    if (n)
        buf[b.len < n ? b.len : n - 1] = 0;
    return r;
}

int vsprintf(char *buf, const char *fmt, va_list ap)
{
    return vsnprintf(buf, (size_t)-1 / 2, fmt, ap);
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

int sprintf(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsprintf(buf, fmt, ap);
    va_end(ap);
    return r;
}

int vasprintf(char **out, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    *out = n < 0 ? NULL : malloc(n + 1);
    if (!*out)
        return -1;
    return vsnprintf(*out, n + 1, fmt, ap);
}

int asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(out, fmt, ap);
    va_end(ap);
    return r;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(stdout, fmt, ap);
    va_end(ap);
    return r;
}

int vprintf(const char *fmt, va_list ap)
{
    return vfprintf(stdout, fmt, ap);
}

int fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

// dprintf writes straight to the fd, in chunks of a small stack buffer.
struct fdbuf {
    int fd;
    size_t len;
    char buf[256];
};

static void fd_flush(struct fdbuf *b)
{
    if (b->len)
        write(b->fd, b->buf, b->len);
    b->len = 0;
}

static void fd_sink(void *ctx, const char *s, size_t n)
{
    struct fdbuf *b = ctx;
    while (n) {
        if (b->len == sizeof b->buf)
            fd_flush(b);
        size_t k = sizeof b->buf - b->len;
        k = n < k ? n : k;
        memcpy(b->buf + b->len, s, k);
        b->len += k, s += k, n -= k;
    }
}

int vdprintf(int fd, const char *fmt, va_list ap)
{
    struct fdbuf b = { .fd = fd };
    int r = __libc_vformat(fd_sink, &b, fmt, ap);
    fd_flush(&b);
    return r;
}

int dprintf(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vdprintf(fd, fmt, ap);
    va_end(ap);
    return r;
}
