// SPDX-License-Identifier: MIT
// Symbol lookup: exported symbols by name (binary search, the table is sorted
// by the generator) and any address by name for panics, from kallsyms
// (kernel) or the registered app symbol table.
#include <stdio.h>
#include <string.h>
#include "ksym.h"
#include "elf.h"

// Emitted by tools/gen_kallsyms.sh into .kallsyms (sorted by address).
extern const uint64_t kallsyms_count;
extern const uint64_t kallsyms_addrs[];
extern const uint32_t kallsyms_offsets[];
extern const char kallsyms_names[];

static struct {
    const char *name;
    uintptr_t base, end;
    const Elf64_Sym *syms;
    size_t nsyms;
    const char *strtab;
} app;

uintptr_t kexport_lookup(const char *name)
{
    unsigned lo = 0, hi = kexports_count;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        int c = strcmp(name, kexports[mid].name);
        if (c == 0)
            return kexports[mid].addr;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

void ksym_register_app(const char *name, uintptr_t base, uintptr_t end,
                       const void *symtab, size_t nsyms, const char *strtab)
{
    app.name = name;
    app.base = base;
    app.end = end;
    app.syms = symtab;
    app.nsyms = nsyms;
    app.strtab = strtab;
}

static const char *kernel_symbol(uintptr_t addr, uintptr_t *off)
{
    uint64_t lo = 0, hi = kallsyms_count;
    if (hi == 0 || addr < kallsyms_addrs[0])
        return NULL;
    while (hi - lo > 1) {                      // last entry <= addr
        uint64_t mid = (lo + hi) / 2;
        if (kallsyms_addrs[mid] <= addr)
            lo = mid;
        else
            hi = mid;
    }
    *off = addr - kallsyms_addrs[lo];
    return kallsyms_names + kallsyms_offsets[lo];
}

static const char *app_symbol(uintptr_t addr, uintptr_t *off)
{
    const Elf64_Sym *best = NULL;
    for (size_t i = 0; i < app.nsyms; i++) {
        const Elf64_Sym *s = &app.syms[i];
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF)
            continue;
        uintptr_t start = app.base + s->st_value;
        if (start <= addr && (!best || start > app.base + best->st_value))
            best = s;
    }
    if (!best)
        return NULL;
    *off = addr - (app.base + best->st_value);
    return app.strtab + best->st_name;
}

int ksym_describe(uintptr_t addr, char *buf, size_t len, const char **module)
{
    uintptr_t off = 0;
    const char *name = NULL;
    if (app.syms && addr >= app.base && addr < app.end) {
        *module = app.name;
        name = app_symbol(addr, &off);
    } else {
        extern char __text_end[];
        *module = "kernel";
        if (addr < (uintptr_t)__text_end)
            name = kernel_symbol(addr, &off);
    }
    if (!name) {
        snprintf(buf, len, "?");
        return 0;
    }
    snprintf(buf, len, "%s+0x%lx", name, (unsigned long)off);
    return 1;
}
