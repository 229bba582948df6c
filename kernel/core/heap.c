// SPDX-License-Identifier: MIT
// Kernel heap (and, through libc, the app's malloc). Blocks up to 2 KiB come
// from slabs: a page cut into equal power-of-two blocks, kept on a free list
// per size class, so a block of class c is naturally aligned to c. Larger
// blocks are whole pages. A byte per frame (page_kind) says which, so kfree
// needs no header in front of the block.
#include <string.h>
#include "heap.h"
#include "page_alloc.h"
#include "memlayout.h"
#include "arch.h"

#define MIN_SHIFT 4                             // 16-byte blocks
#define MAX_SMALL 2048
#define CLASSES 8                               // 16 .. 2048

enum { KIND_NONE = 0, KIND_LARGE_HEAD = 0xfe, KIND_LARGE_TAIL = 0xff };   // 1..CLASSES: slab

struct free_block { struct free_block *next; };
static struct free_block *free_lists[CLASSES];
static uint8_t *page_kind;                      // per frame
static uint32_t *large_pages;                   // per frame: pages in a large block (at its head)
static struct heap_stats stats;

static unsigned class_of(size_t size)
{
    unsigned c = 0;
    while ((size_t)1 << (c + MIN_SHIFT) < size)
        c++;
    return c;
}

void heap_init(void)
{
    size_t frames = page_frame_limit();
    size_t bytes = frames * (sizeof *page_kind + sizeof *large_pages);
    uintptr_t meta = page_alloc_zeroed((bytes + PAGE_SIZE - 1) / PAGE_SIZE);
    large_pages = (uint32_t *)meta;
    page_kind = (uint8_t *)(meta + frames * sizeof *large_pages);
}

static void *small_alloc(unsigned c)
{
    if (!free_lists[c]) {
        uintptr_t page = page_alloc(1);
        if (!page)
            return NULL;
        page_kind[page / PAGE_SIZE] = (uint8_t)(c + 1);
        stats.pages_held++;
        size_t size = (size_t)1 << (c + MIN_SHIFT);
        for (size_t off = PAGE_SIZE; off >= size; off -= size) {
            struct free_block *b = (struct free_block *)(page + off - size);
            b->next = free_lists[c];
            free_lists[c] = b;
        }
    }
    struct free_block *b = free_lists[c];
    free_lists[c] = b->next;
    stats.bytes_in_use += (size_t)1 << (c + MIN_SHIFT);
    return b;
}

static void *large_alloc(size_t size, size_t align)
{
    size_t n = (size + PAGE_SIZE - 1) / PAGE_SIZE;
    size_t align_pages = align > PAGE_SIZE ? align / PAGE_SIZE : 1;
    uintptr_t p = page_alloc_aligned(n, align_pages);
    if (!p)
        return NULL;
    size_t f = p / PAGE_SIZE;
    page_kind[f] = KIND_LARGE_HEAD;
    for (size_t i = 1; i < n; i++)
        page_kind[f + i] = KIND_LARGE_TAIL;
    large_pages[f] = (uint32_t)n;
    stats.pages_held += n;
    stats.bytes_in_use += n * PAGE_SIZE;
    return (void *)p;
}

void *kmalloc_aligned(size_t align, size_t size)
{
    if (align == 0 || (align & (align - 1)) || size > ((size_t)1 << 40))
        return NULL;
    size_t need = size > align ? size : align;
    if (need == 0)
        need = 1;
    int irq = irq_save();
    void *p = need <= MAX_SMALL ? small_alloc(class_of(need)) : large_alloc(need, align);
    if (p)
        stats.blocks_in_use++;
    irq_restore(irq);
    return p;
}

void *kmalloc(size_t size) { return kmalloc_aligned(16, size); }

void *kcalloc(size_t count, size_t size)
{
    if (size && count > (size_t)-1 / size)
        return NULL;
    void *p = kmalloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

size_t kmalloc_usable_size(void *ptr)
{
    if (!ptr)
        return 0;
    size_t f = (uintptr_t)ptr / PAGE_SIZE;
    uint8_t kind = page_kind[f];
    if (kind >= 1 && kind <= CLASSES)
        return (size_t)1 << (kind - 1 + MIN_SHIFT);
    return kind == KIND_LARGE_HEAD ? large_pages[f] * PAGE_SIZE : 0;
}

void kfree(void *ptr)
{
    if (!ptr)
        return;
    int irq = irq_save();
    size_t f = (uintptr_t)ptr / PAGE_SIZE;
    uint8_t kind = page_kind[f];
    if (kind >= 1 && kind <= CLASSES) {
        struct free_block *b = ptr;
        b->next = free_lists[kind - 1];
        free_lists[kind - 1] = b;
        stats.bytes_in_use -= (size_t)1 << (kind - 1 + MIN_SHIFT);
        stats.blocks_in_use--;
    } else if (kind == KIND_LARGE_HEAD && ((uintptr_t)ptr & (PAGE_SIZE - 1)) == 0) {
        size_t n = large_pages[f];
        memset(&page_kind[f], KIND_NONE, n);
        page_free((uintptr_t)ptr, n);
        stats.pages_held -= n;
        stats.bytes_in_use -= n * PAGE_SIZE;
        stats.blocks_in_use--;
    }
    irq_restore(irq);
}

void *krealloc(void *ptr, size_t size)
{
    if (!ptr)
        return kmalloc(size);
    if (size == 0) {
        kfree(ptr);
        return NULL;
    }
    size_t old = kmalloc_usable_size(ptr);
    if (size <= old)
        return ptr;
    void *p = kmalloc(size);
    if (p) {
        memcpy(p, ptr, old);
        kfree(ptr);
    }
    return p;
}

void heap_get_stats(struct heap_stats *out)
{
    int irq = irq_save();
    *out = stats;
    irq_restore(irq);
}
