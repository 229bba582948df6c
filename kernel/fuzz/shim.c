// SPDX-License-Identifier: MIT
// The kernel services the loader (core/dynlink.c) and the boot archive parser
// (core/bootfs.c) call, for a host build: paging becomes mmap/mprotect/munmap
// at APP_BASE (fuzz/include/memlayout.h), every symbol name but those
// starting with "no_such" is a kernel export, and console, events and symbol
// registration go nowhere; the kernel heap is the host's. Only elf_load,
// elf_unload and bootfs_* are driven; elf_load_app's reporting path is linked
// but never reached.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "arch.h"
#include "app.h"
#include "events.h"
#include "ksym.h"
#include "console.h"
#include "heap.h"

static int host_prot(int prot)
{
    return (prot & PROT_R ? PROT_READ : 0) | (prot & PROT_W ? PROT_WRITE : 0) | (prot & PROT_X ? PROT_EXEC : 0);
}

int paging_map_anon(uintptr_t va, size_t len, int prot, bool zero)
{
    (void)zero;                                // fresh anonymous pages are zero
    void *p = mmap((void *)va, len, host_prot(prot), MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    if (p != (void *)va) {                     // an old kernel ignoring MAP_FIXED_NOREPLACE
        munmap(p, len);
        return -1;
    }
    return 0;
}

int paging_protect(uintptr_t va, size_t len, int prot)
{
    return mprotect((void *)va, len, host_prot(prot));
}

void paging_unmap(uintptr_t va, size_t len, bool free_pages)
{
    (void)free_pages;
    munmap((void *)va, len);
}

static void exported(void) {}

uintptr_t kexport_lookup(const char *name)
{
    return strncmp(name, "no_such", 7) == 0 ? 0 : (uintptr_t)exported;
}

void ksym_register_app(const char *name, uintptr_t base, uintptr_t end, const void *syms, size_t nsyms,
                       const char *strtab)
{
    (void)name, (void)base, (void)end, (void)syms, (void)nsyms, (void)strtab;
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (getenv("FUZZ_VERBOSE"))
        vfprintf(stderr, fmt, ap);
    va_end(ap);
}

void event_begin(struct event *e, const char *ev) { (void)e, (void)ev; }
void event_str(struct event *e, const char *key, const char *value) { (void)e, (void)key, (void)value; }
void event_u64(struct event *e, const char *key, uint64_t value) { (void)e, (void)key, (void)value; }
void event_hex(struct event *e, const char *key, uint64_t value) { (void)e, (void)key, (void)value; }
void event_send(struct event *e) { (void)e; }

void boot_refuse(const char *who, const char *kind, const char *file, enum exit_value why, const char *detail)
{
    fprintf(stderr, "%s: %s: %s (%s, %d)\n", who, file, detail, kind, why);
    exit(1);
}

uint64_t arch_rdtsc(void) { return 0; }

void *kcalloc(size_t count, size_t size) { return calloc(count, size); }
void kfree(void *ptr) { free(ptr); }
