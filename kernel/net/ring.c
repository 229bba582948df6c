// SPDX-License-Identifier: MIT
// Byte rings for TCP's send and receive buffers: head is the oldest byte,
// len the bytes held; writes append, reads and drops take from the head.
#include <string.h>
#include "sock.h"
#include "heap.h"
#include "page_alloc.h"

// A quarter of the machine's memory, at most, for connections.
uint64_t tcp_mem_limit(void)
{
    static uint64_t limit;
    if (!limit) {
        struct page_stats st;
        page_get_stats(&st);
        limit = st.total * 4096 / 4;
    }
    return limit;
}

bool tcp_mem_charge(uint64_t bytes)
{
    if (net_stats.tcp_mem + bytes > tcp_mem_limit())
        return false;
    net_stats.tcp_mem += bytes;
    return true;
}

void tcp_mem_uncharge(uint64_t bytes) { net_stats.tcp_mem -= bytes; }

bool ring_init(struct ring *r, uint32_t size)
{
    *r = (struct ring){ 0 };
    if (!tcp_mem_charge(size))
        return false;
    r->buf = kmalloc(size);
    if (!r->buf) {
        tcp_mem_uncharge(size);
        return false;
    }
    r->size = size;
    return true;
}

void ring_free(struct ring *r)
{
    if (r->buf) {
        kfree(r->buf);
        tcp_mem_uncharge(r->size);
    }
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
