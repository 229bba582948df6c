// SPDX-License-Identifier: MIT
// The malloc family: thin wrappers over the kernel heap (kmalloc and friends)
// that add the C library's rules: errno on failure, malloc(0) returns a unique
// pointer, alignment arguments checked.
#include <stdlib.h>
#include <errno.h>
#include <stdint.h>
#include <heap.h>

static void *nomem(void)
{
    errno = ENOMEM;
    return NULL;
}

void *malloc(size_t size)
{
    void *p = kmalloc(size ? size : 1);
    return p ? p : nomem();
}

void free(void *p)
{
    if (p)
        kfree(p);
}

void *calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return nomem();
    void *p = kcalloc(n ? n : 1, size ? size : 1);
    return p ? p : nomem();
}

// realloc(p, 0) frees p and returns NULL, as glibc does.
void *realloc(void *p, size_t size)
{
    if (p && size == 0) {
        kfree(p);
        return NULL;
    }
    void *q = krealloc(p, size ? size : 1);
    return q ? q : nomem();
}

void *reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return nomem();
    return realloc(p, n * size);
}

static int power_of_two(size_t x)
{
    return x && (x & (x - 1)) == 0;
}

void *memalign(size_t align, size_t size)
{
    if (!power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    void *p = kmalloc_aligned(align, size ? size : 1);
    return p ? p : nomem();
}

void *aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

void *valloc(size_t size)
{
    return memalign(4096, size);
}

// Unlike the others, reports errors by return value and leaves errno alone.
int posix_memalign(void **out, size_t align, size_t size)
{
    if (!power_of_two(align) || align % sizeof(void *))
        return EINVAL;
    void *p = kmalloc_aligned(align, size ? size : 1);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

size_t malloc_usable_size(void *p)
{
    return p ? kmalloc_usable_size(p) : 0;
}
