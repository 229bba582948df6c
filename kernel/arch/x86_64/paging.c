// SPDX-License-Identifier: MIT
// The one page table. paging_init builds the identity map described in
// memlayout.h: 4 KiB pages for the first 2 MiB (page 0 unmapped, kernel text
// read-only), 2 MiB pages up to 4 GiB. The app area at 1 TiB is mapped page
// by page on demand, which is what lets an app ask for the dirty bits of its
// own pages (paging_dirty_bits).
#include <string.h>
#include "arch.h"
#include "cpu.h"
#include "memlayout.h"
#include "page_alloc.h"

#define PTE_P   (1UL << 0)
#define PTE_W   (1UL << 1)
#define PTE_PWT (1UL << 3)
#define PTE_PCD (1UL << 4)
#define PTE_D   (1UL << 6)
#define PTE_PS  (1UL << 7)
#define PTE_NX  (1UL << 63)
#define PTE_ADDR 0x000ffffffffff000UL

typedef uint64_t pte_t;

static pte_t pml4[512] __attribute__((aligned(4096)));
static pte_t pdpt_low[512] __attribute__((aligned(4096)));
static pte_t pd_low[4][512] __attribute__((aligned(4096)));
static pte_t pt_first_2m[512] __attribute__((aligned(4096)));
static pte_t nx_bit;                           // PTE_NX when the CPU supports it

static unsigned index_of(uintptr_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

static pte_t prot_bits(int prot)
{
    return PTE_P | ((prot & PROT_W) ? PTE_W : 0) | ((prot & PROT_X) ? 0 : nx_bit);
}

static void map_first_2m(void)
{
    uintptr_t text_start = (uintptr_t)__kernel_start, text_end = (uintptr_t)__text_end;
    for (uintptr_t pa = PAGE_SIZE; pa < HUGE_PAGE_SIZE; pa += PAGE_SIZE) {
        bool text = pa >= text_start && pa < text_end;
        pt_first_2m[pa / PAGE_SIZE] = pa | (text ? PTE_P : PTE_P | PTE_W | nx_bit);
    }
}

void paging_init(uint64_t ram_end)
{
    (void)ram_end;                             // the map covers 4 GiB whatever the RAM
    uint32_t r[4];
    cpuid(0x80000001, 0, r);
    if (r[3] & (1u << 20)) {
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
        nx_bit = PTE_NX;
    }
    map_first_2m();
    for (uintptr_t pa = HUGE_PAGE_SIZE; pa < DIRECT_MAP_END; pa += HUGE_PAGE_SIZE) {
        pte_t flags = PTE_P | PTE_W | PTE_PS | nx_bit;
        if (pa >= MMIO_HOLE_START)
            flags |= PTE_PCD | PTE_PWT;
        pd_low[pa >> 30][index_of(pa, 1)] = pa | flags;
    }
    pd_low[0][0] = (uintptr_t)pt_first_2m | PTE_P | PTE_W;
    for (int i = 0; i < 4; i++)
        pdpt_low[i] = (uintptr_t)pd_low[i] | PTE_P | PTE_W;
    pml4[0] = (uintptr_t)pdpt_low | PTE_P | PTE_W;
    write_cr3((uintptr_t)pml4);
}

// Returns the PTE for va in the 4 KiB-mapped app area, creating the tables
// above it when create is set. NULL when absent (or out of memory).
static pte_t *walk(uintptr_t va, bool create)
{
    pte_t *table = pml4;
    for (int level = 3; level > 0; level--) {
        pte_t *e = &table[index_of(va, level)];
        if (!(*e & PTE_P)) {
            if (!create)
                return NULL;
            uintptr_t page = page_alloc_zeroed(1);
            if (!page)
                return NULL;
            *e = page | PTE_P | PTE_W;
        } else if (*e & PTE_PS) {
            return NULL;                       // inside a huge page: not ours to split
        }
        table = (pte_t *)(*e & PTE_ADDR);
    }
    return &table[index_of(va, 0)];
}

static bool in_app_area(uintptr_t va, size_t len)
{
    return va >= APP_AREA_START && len <= APP_AREA_SIZE && va - APP_AREA_START <= APP_AREA_SIZE - len;
}

int paging_map_anon(uintptr_t va, size_t len, int prot, bool zero)
{
    if ((va | len) & (PAGE_SIZE - 1) || !in_app_area(va, len))
        return -1;
    for (uintptr_t p = va; p < va + len; p += PAGE_SIZE) {
        pte_t *e = walk(p, true);
        uintptr_t frame = e ? (zero ? page_alloc_zeroed(1) : page_alloc(1)) : 0;
        if (!frame) {
            paging_unmap(va, p - va, true);
            return -1;
        }
        *e = frame | prot_bits(prot);
    }
    return 0;
}

int paging_protect(uintptr_t va, size_t len, int prot)
{
    for (uintptr_t p = va; p < va + len; p += PAGE_SIZE) {
        pte_t *e = walk(p, false);
        if (!e || !(*e & PTE_P))
            return -1;
        *e = (*e & (PTE_ADDR | PTE_D)) | prot_bits(prot);
        invlpg(p);
    }
    return 0;
}

void paging_unmap(uintptr_t va, size_t len, bool free_pages)
{
    for (uintptr_t p = va; p < va + len; p += PAGE_SIZE) {
        pte_t *e = walk(p, false);
        if (!e || !(*e & PTE_P))
            continue;
        if (free_pages)
            page_free(*e & PTE_ADDR, 1);
        *e = 0;
        invlpg(p);
    }
}

uint64_t paging_translate(uintptr_t va)
{
    pte_t *table = pml4;
    for (int level = 3; level >= 0; level--) {
        pte_t e = table[index_of(va, level)];
        if (!(e & PTE_P))
            return (uint64_t)-1;
        if (level == 0 || (e & PTE_PS)) {
            uint64_t span = 1UL << (12 + 9 * level);
            return (e & PTE_ADDR & ~(span - 1)) | (va & (span - 1));
        }
        table = (pte_t *)(e & PTE_ADDR);
    }
    return (uint64_t)-1;
}

bool paging_is_mapped(uintptr_t va, size_t len)
{
    uintptr_t end = va + len;
    if (end < va)
        return false;
    for (uintptr_t p = va & ~(PAGE_SIZE - 1); p < end; p += PAGE_SIZE)
        if (paging_translate(p) == (uint64_t)-1)
            return false;
    return true;
}

long paging_dirty_bits(uintptr_t va, size_t len, uint8_t *bitmap, bool clear)
{
    if ((va | len) & (PAGE_SIZE - 1) || !in_app_area(va, len))
        return -1;
    long n = 0;
    for (uintptr_t p = va; p < va + len; p += PAGE_SIZE, n++) {
        pte_t *e = walk(p, false);
        bool dirty = e && (*e & PTE_P) && (*e & PTE_D);
        if (dirty)
            bitmap[n / 8] |= (uint8_t)(1u << (n % 8));
        else
            bitmap[n / 8] &= (uint8_t)~(1u << (n % 8));
        if (dirty && clear) {
            *e &= ~PTE_D;
            invlpg(p);                         // the TLB caches the D bit: force a re-walk
        }
    }
    return n;
}
