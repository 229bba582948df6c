// SPDX-License-Identifier: MIT
// mmap, munmap, mprotect over the app area's 4 KiB pages (core/vmem.c), and
// the lab's MMU extension: an app may read and clear the hardware dirty bits
// of its own pages, which is how a garbage collector can find the pages the
// program wrote without a software write barrier.
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include "arch.h"
#include "vmem.h"

#define PAGE 4096u

static int prot_to_kernel(int prot)
{
    return (prot & PROT_READ ? PROT_R : 0) | (prot & PROT_WRITE ? PROT_W : 0) | (prot & PROT_EXEC ? PROT_X : 0);
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    (void)addr;                                // a hint only; MAP_FIXED is refused below
    if (length == 0 || (flags & MAP_FIXED) || offset != 0) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    if (!(flags & MAP_ANONYMOUS) || fd != -1) {
        errno = ENODEV;                        // no files to map
        return MAP_FAILED;
    }
    void *p = vmem_map(length, prot_to_kernel(prot));   // x86 pages are always readable
    if (!p) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return p;
}

int munmap(void *addr, size_t length)
{
    if (((uintptr_t)addr & (PAGE - 1)) || length == 0 || !paging_is_mapped((uintptr_t)addr, length)) {
        errno = EINVAL;
        return -1;
    }
    vmem_unmap(addr, length);
    return 0;
}

int mprotect(void *addr, size_t length, int prot)
{
    size_t len = (length + PAGE - 1) & ~(size_t)(PAGE - 1);
    if (((uintptr_t)addr & (PAGE - 1)) || paging_protect((uintptr_t)addr, len, prot_to_kernel(prot)) < 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

long uk_dirty_pages(void *addr, size_t length, unsigned char *bitmap, int clear)
{
    long n = paging_dirty_bits((uintptr_t)addr, length, bitmap, clear != 0);
    if (n < 0)
        errno = EINVAL;
    return n;
}
