// SPDX-License-Identifier: MIT
// Byte rings for TCP's send and receive buffers: head is the oldest byte,
// len the bytes held; writes append, reads and drops take from the head.
#include <string.h>
#include "sock.h"
#include "heap.h"

bool ring_init(struct ring *r, uint32_t size)
{
    r->buf = kmalloc(size);
    r->size = r->buf ? size : 0;
    r->head = r->len = 0;
    return r->buf != NULL;
}

void ring_free(struct ring *r)
{
    kfree(r->buf);
    *r = (struct ring){ 0 };
}

uint32_t ring_write(struct ring *r, const uint8_t *src, uint32_t n)
{
    if (n > ring_space(r))
        n = ring_space(r);
    uint32_t tail = (r->head + r->len) % (r->size ? r->size : 1);
    uint32_t first = n < r->size - tail ? n : r->size - tail;
    memcpy(r->buf + tail, src, first);
    memcpy(r->buf, src + first, n - first);
    r->len += n;
    return n;
}

// Copies n bytes starting `off` bytes after the head (n + off <= len).
void ring_copy_out(const struct ring *r, uint32_t off, uint8_t *dst, uint32_t n)
{
    uint32_t start = (r->head + off) % r->size;
    uint32_t first = n < r->size - start ? n : r->size - start;
    memcpy(dst, r->buf + start, first);
    memcpy(dst + first, r->buf, n - first);
}

void ring_drop(struct ring *r, uint32_t n)
{
    if (n > r->len)
        n = r->len;
    r->head = r->size ? (r->head + n) % r->size : 0;
    r->len -= n;
}

uint32_t ring_read(struct ring *r, uint8_t *dst, uint32_t n, bool peek)
{
    if (n > r->len)
        n = r->len;
    if (n)
        ring_copy_out(r, 0, dst, n);
    if (!peek)
        ring_drop(r, n);
    return n;
}
