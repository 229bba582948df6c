// SPDX-License-Identifier: MIT
// What ring 0 lets an app do: read %cs (its privilege level), CR0 and CR3,
// walk the page tables from CR3 to translate virtual addresses to physical
// ones (the kernel maps RAM at its physical address, so the tables can be read
// directly), and turn interrupts off and on. On Linux the app runs in ring 3:
// it says so and stops, unless given --force, which tries cli and dies (#GP).
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define PTE_P   (1ull << 0)
#define PTE_W   (1ull << 1)
#define PTE_U   (1ull << 2)
#define PTE_PS  (1ull << 7)
#define PTE_NX  (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

static uint64_t read_cs(void)
{
    uint64_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return cs;
}

static uint64_t read_cr0(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static uint64_t read_rflags(void)
{
    uint64_t v;
    __asm__ volatile("pushfq\n\tpop %0" : "=r"(v));
    return v;
}

static void print_cr0(uint64_t cr0)
{
    static const struct { int bit; const char *name, *meaning; } bits[] = {
        { 0, "PE", "protected mode" }, { 1, "MP", "monitor coprocessor" },
        { 2, "EM", "x87 emulation" }, { 3, "TS", "task switched" },
        { 4, "ET", "extension type" }, { 5, "NE", "native FPU errors" },
        { 16, "WP", "write protect, even for ring 0" }, { 18, "AM", "alignment mask" },
        { 29, "NW", "not write-through" }, { 30, "CD", "cache disable" },
        { 31, "PG", "paging" },
    };
    printf("CR0 = %#018llx\n", (unsigned long long)cr0);
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        printf("  %-2s (bit %2d) = %d  %s\n", bits[i].name, bits[i].bit,
               (int)(cr0 >> bits[i].bit) & 1, bits[i].meaning);
}

static void print_entry(const char *level, unsigned index, uint64_t e)
{
    printf("    %-4s[%3u] = %#018llx  %s %s %s %s%s\n", level, index, (unsigned long long)e,
           e & PTE_P ? "P" : "-", e & PTE_W ? "W" : "-", e & PTE_U ? "U" : "-",
           e & PTE_NX ? "NX" : "X", e & PTE_PS ? " PS (large page)" : "");
}

// Follows the 4-level tables from CR3. Returns the physical address, or -1
// when some level is not present.
static uint64_t translate(uint64_t cr3, uint64_t va)
{
    static const char *const names[] = { "PML4", "PDPT", "PD", "PT" };
    uint64_t table = cr3 & PTE_ADDR;
    for (int level = 0; level < 4; level++) {
        int shift = 39 - 9 * level;
        unsigned index = (va >> shift) & 511;
        uint64_t e = ((volatile uint64_t *)(uintptr_t)table)[index];
        print_entry(names[level], index, e);
        if (!(e & PTE_P))
            return (uint64_t)-1;
        // PS in a PDPT entry maps 1 GiB, in a PD entry 2 MiB.
        if (level == 3 || ((level == 1 || level == 2) && (e & PTE_PS))) {
            uint64_t page_mask = (1ull << shift) - 1;
            return (e & PTE_ADDR & ~page_mask) | (va & page_mask);
        }
        table = e & PTE_ADDR;
    }
    return (uint64_t)-1;
}

static void show_translation(uint64_t cr3, const char *what, const void *p)
{
    uint64_t va = (uint64_t)(uintptr_t)p;
    printf("%s: virtual %#llx\n", what, (unsigned long long)va);
    uint64_t pa = translate(cr3, va);
    if (pa == (uint64_t)-1)
        printf("  -> not mapped\n");
    else
        printf("  -> physical %#llx\n", (unsigned long long)pa);
}

int main(int argc, char **argv)
{
    uint64_t cpl = read_cs() & 3;
    printf("CS & 3 = %llu (ring %llu)\n", (unsigned long long)cpl, (unsigned long long)cpl);
    if (cpl != 0) {
        printf("not in ring 0: CR0, CR3 and cli would raise #GP (SIGSEGV on Linux)\n");
        if (argc > 1 && strcmp(argv[1], "--force") == 0) {
            printf("--force: executing cli anyway...\n");
            fflush(stdout);
            __asm__ volatile("cli");
        }
        printf("FAILURE: this app needs ring 0\n");
        return 1;
    }

    print_cr0(read_cr0());
    uint64_t cr3 = read_cr3();
    printf("CR3 = %#018llx (PML4 at physical %#llx, PCD=%d PWT=%d)\n", (unsigned long long)cr3,
           (unsigned long long)(cr3 & PTE_ADDR), (int)(cr3 >> 4) & 1, (int)(cr3 >> 3) & 1);

    int local = 42;
    show_translation(cr3, "local variable", &local);
    show_translation(cr3, "function main", (const void *)main);
    show_translation(cr3, "libc function printf", (const void *)printf);

    uint64_t before = read_rflags();
    __asm__ volatile("cli" ::: "memory");
    uint64_t off = read_rflags();
    __asm__ volatile("sti" ::: "memory");
    uint64_t on = read_rflags();
    if (!(before & (1 << 9)))   // leave IF as we found it
        __asm__ volatile("cli" ::: "memory");
    printf("RFLAGS.IF: before %d, after cli %d, after sti %d\n",
           (int)(before >> 9) & 1, (int)(off >> 9) & 1, (int)(on >> 9) & 1);
    int ok = !(off & (1 << 9)) && (on & (1 << 9));
    printf("%s\n", ok ? "SUCCESS" : "FAILURE");
    return ok ? 0 : 1;
}
