// SPDX-License-Identifier: MIT
// The dynamic linker. An app is an ordinary x86-64 shared object (gcc -fPIC
// -shared, no libc linked in). Loading it is what ld.so does on Linux, minus
// the processes: check the ELF header, map each PT_LOAD segment at the fixed
// app base, apply the relocations, binding every undefined symbol to the
// kernel's export table, then apply W^X page protections. A "system call" in
// this app is then a plain call through its GOT into the kernel.
// Any problem is reported by name and ends the run with a distinct status.
#include <stdio.h>
#include <string.h>
#include "loader.h"
#include "arch.h"
#include "app.h"
#include "bootfs.h"
#include "console.h"
#include "events.h"
#include "ksym.h"
#include "memlayout.h"
#include "panic.h"

static const char *const error_kinds[] = {
    [EXIT_APP_NOT_FOUND] = "not_found", [EXIT_UNRESOLVED] = "unresolved_symbol",
    [EXIT_BAD_ELF] = "bad_elf", [EXIT_TRUNCATED] = "truncated", [EXIT_NO_MEMORY] = "no_memory",
};

// Reports a load failure on both channels and ends the run.
static void __attribute__((noreturn)) load_fail(const struct app_image *img, enum exit_value why, const char *detail)
{
    kprintf("dynamic linker: %s: %s\n", img->file, detail);
    struct event e;
    event_begin(&e, "load_error");
    event_str(&e, "kind", error_kinds[why]);
    event_str(&e, "file", img->file);
    event_str(&e, "detail", detail);
    event_send(&e);
    machine_exit(why);
}

static bool in_file(const struct app_image *img, uint64_t off, uint64_t len)
{
    return off <= img->size && len <= img->size - off;
}

static const Elf64_Phdr *phdr(const struct app_image *img, int i)
{
    const Elf64_Ehdr *eh = (const void *)img->data;
    return (const void *)(img->data + eh->e_phoff + (size_t)i * eh->e_phentsize);
}

static void elf_check_header(struct app_image *img)
{
    const Elf64_Ehdr *eh = (const void *)img->data;
    char why[96];
    if (img->size < 4 || memcmp(eh->e_ident, ELFMAG, 4) != 0)
        load_fail(img, EXIT_BAD_ELF, "not an ELF file (bad magic)");
    if (img->size < sizeof *eh)
        load_fail(img, EXIT_TRUNCATED, "truncated: the file ends inside the ELF header");
    if (eh->e_ident[4] != ELFCLASS64) {
        snprintf(why, sizeof why, "wrong ELF class %u: a %s-bit object, the kernel loads 64-bit ones",
                 eh->e_ident[4], eh->e_ident[4] == 1 ? "32" : "non-64");
        load_fail(img, EXIT_BAD_ELF, why);
    }
    if (eh->e_ident[5] != ELFDATA2LSB)
        load_fail(img, EXIT_BAD_ELF, "wrong byte order: not little-endian");
    if (eh->e_machine != EM_X86_64) {
        snprintf(why, sizeof why, "wrong machine %u: not built for x86-64 (62)", eh->e_machine);
        load_fail(img, EXIT_BAD_ELF, why);
    }
    if (eh->e_type != ET_DYN)
        load_fail(img, EXIT_BAD_ELF, "not a shared object or PIE: build with -fPIC -shared");
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0)
        load_fail(img, EXIT_BAD_ELF, "bad program header table");
    if (!in_file(img, eh->e_phoff, (uint64_t)eh->e_phnum * eh->e_phentsize))
        load_fail(img, EXIT_TRUNCATED, "truncated: the program headers lie past the end of the file");
}

// Maps the span of all PT_LOAD segments at APP_BASE, read-write for now, and
// copies each segment's file bytes (the rest, .bss, stays zero).
static void elf_map_segments(struct app_image *img)
{
    const Elf64_Ehdr *eh = (const void *)img->data;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = phdr(img, i);
        if (ph->p_type == PT_TLS)
            load_fail(img, EXIT_BAD_ELF, "uses thread-local storage (PT_TLS), which this kernel does not support");
        if (ph->p_type != PT_LOAD)
            continue;
        if (!in_file(img, ph->p_offset, ph->p_filesz))
            load_fail(img, EXIT_TRUNCATED, "truncated: a segment lies past the end of the file");
        if (ph->p_filesz > ph->p_memsz || ph->p_vaddr + ph->p_memsz < ph->p_vaddr)
            load_fail(img, EXIT_BAD_ELF, "a segment has inconsistent sizes");
        if (ph->p_vaddr < lo)
            lo = ph->p_vaddr;
        if (ph->p_vaddr + ph->p_memsz > hi)
            hi = ph->p_vaddr + ph->p_memsz;
    }
    if (hi == 0)
        load_fail(img, EXIT_BAD_ELF, "no loadable segment");
    lo &= ~(PAGE_SIZE - 1);
    hi = (hi + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (hi - lo > APP_IMAGE_MAX)
        load_fail(img, EXIT_NO_MEMORY, "the image is larger than the app area (256 MiB)");
    img->base = APP_BASE - lo;
    img->start = APP_BASE;
    img->end = APP_BASE + (hi - lo);
    if (paging_map_anon(img->start, img->end - img->start, PROT_R | PROT_W, true) < 0)
        load_fail(img, EXIT_NO_MEMORY, "out of memory mapping the segments");
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = phdr(img, i);
        if (ph->p_type == PT_LOAD)
            memcpy((void *)(img->base + ph->p_vaddr), img->data + ph->p_offset, ph->p_filesz);
    }
}

// Number of .dynsym entries, from the GNU hash table (the only one Debian's
// linker emits by default): one past the last symbol reachable from a bucket.
static size_t gnu_hash_symbol_count(const uint32_t *h)
{
    uint32_t nbuckets = h[0], symoffset = h[1], bloom_words = h[2];
    const uint32_t *buckets = h + 4 + bloom_words * 2;
    const uint32_t *chain = buckets + nbuckets;
    uint32_t last = 0;
    for (uint32_t b = 0; b < nbuckets; b++)
        if (buckets[b] > last)
            last = buckets[b];
    if (last < symoffset)
        return symoffset;
    while (!(chain[last - symoffset] & 1))
        last++;
    return last + 1;
}

static void elf_read_dynamic(struct app_image *img)
{
    const Elf64_Ehdr *eh = (const void *)img->data;
    for (int i = 0; i < eh->e_phnum; i++)
        if (phdr(img, i)->p_type == PT_DYNAMIC)
            img->dynamic = (const void *)(img->base + phdr(img, i)->p_vaddr);
    if (!img->dynamic)
        load_fail(img, EXIT_BAD_ELF, "no dynamic section: link it with -shared");
    size_t relasz = 0, pltrelsz = 0, initsz = 0;
    for (const Elf64_Dyn *d = img->dynamic; d->d_tag != DT_NULL; d++) {
        uintptr_t addr = img->base + d->d_val;
        switch (d->d_tag) {
        case DT_SYMTAB: img->dynsym = (const void *)addr; break;
        case DT_STRTAB: img->dynstr = (const void *)addr; break;
        case DT_RELA: img->rela = (const void *)addr; break;
        case DT_RELASZ: relasz = d->d_val; break;
        case DT_JMPREL: img->jmprel = (const void *)addr; break;
        case DT_PLTRELSZ: pltrelsz = d->d_val; break;
        case DT_INIT: img->init = addr; break;
        case DT_INIT_ARRAY: img->init_array = (const void *)addr; break;
        case DT_INIT_ARRAYSZ: initsz = d->d_val; break;
        case DT_HASH: img->ndynsym = ((const uint32_t *)addr)[1]; break;
        case DT_GNU_HASH: if (!img->ndynsym) img->ndynsym = gnu_hash_symbol_count((const void *)addr); break;
        case DT_REL: load_fail(img, EXIT_BAD_ELF, "REL relocations (without addends) are not used on x86-64");
        default: break;
        }
    }
    img->nrela = relasz / sizeof(Elf64_Rela);
    img->njmprel = pltrelsz / sizeof(Elf64_Rela);
    img->ninit = initsz / sizeof(uintptr_t);
    for (const Elf64_Dyn *d = img->dynamic; d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_NEEDED && img->dynstr)
            kprintf("dynamic linker: %s needs %s: ignored, the kernel itself provides libc\n",
                    img->file, img->dynstr + d->d_val);
}

// The address symbol number `index` of the app stands for: its own definition,
// else the kernel export of that name. Returns 0 and sets *missing if neither.
static uintptr_t resolve_symbol(const struct app_image *img, uint32_t index, bool *missing)
{
    const Elf64_Sym *sym = &img->dynsym[index];
    if (sym->st_shndx != SHN_UNDEF)
        return img->base + sym->st_value;
    const char *name = img->dynstr + sym->st_name;
    uintptr_t addr = kexport_lookup(name);
    if (!addr && ELF64_ST_BIND(sym->st_info) != STB_WEAK)
        *missing = true;
    return addr;
}

// Applies one relocation. Returns false (and says why) if it cannot.
static bool elf_relocate_one(const struct app_image *img, const Elf64_Rela *r)
{
    uint64_t *where = (uint64_t *)(img->base + r->r_offset);
    uint32_t type = ELF64_R_TYPE(r->r_info), index = ELF64_R_SYM(r->r_info);
    bool missing = false;
    if ((uintptr_t)where < img->start || (uintptr_t)where + 8 > img->end) {
        kprintf("dynamic linker: %s: relocation outside the image at %#lx\n", img->file, (unsigned long)r->r_offset);
        return false;
    }
    switch (type) {
    case R_X86_64_NONE:
        return true;
    case R_X86_64_RELATIVE:
        *where = img->base + r->r_addend;
        return true;
    case R_X86_64_64:
        *where = resolve_symbol(img, index, &missing) + r->r_addend;
        break;
    case R_X86_64_GLOB_DAT:
    case R_X86_64_JUMP_SLOT:
        *where = resolve_symbol(img, index, &missing);   // eager binding: no lazy PLT
        break;
    default:
        kprintf("dynamic linker: %s: unsupported relocation type %u\n", img->file, type);
        return false;
    }
    if (missing)
        kprintf("dynamic linker: %s: unresolved symbol '%s': the kernel does not export it\n",
                img->file, img->dynstr + img->dynsym[index].st_name);
    return !missing;
}

static void elf_relocate(struct app_image *img)
{
    if (!img->dynsym || !img->dynstr)
        load_fail(img, EXIT_BAD_ELF, "no dynamic symbol table");
    unsigned failed = 0, unresolved_first = 0;
    const char *first = NULL;
    const Elf64_Rela *tables[2] = { img->rela, img->jmprel };
    size_t counts[2] = { img->nrela, img->njmprel };
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; tables[t] && i < counts[t]; i++) {
            if (elf_relocate_one(img, &tables[t][i]))
                continue;
            failed++;
            uint32_t index = ELF64_R_SYM(tables[t][i].r_info);
            if (!first && index && img->dynsym[index].st_shndx == SHN_UNDEF) {
                first = img->dynstr + img->dynsym[index].st_name;
                unresolved_first = failed;
            }
        }
    }
    if (failed && first) {
        char why[128];
        snprintf(why, sizeof why, "unresolved symbol '%s'%s", first, failed > unresolved_first ? " (and others above)" : "");
        load_fail(img, EXIT_UNRESOLVED, why);
    }
    if (failed)
        load_fail(img, EXIT_BAD_ELF, "relocation failed (see above)");
}

// W^X: each page gets the union of the flags of the segments that cover it.
static void elf_protect_segments(const struct app_image *img)
{
    const Elf64_Ehdr *eh = (const void *)img->data;
    for (uintptr_t page = img->start; page < img->end; page += PAGE_SIZE) {
        int prot = 0;
        for (int i = 0; i < eh->e_phnum; i++) {
            const Elf64_Phdr *ph = phdr(img, i);
            uintptr_t s = img->base + ph->p_vaddr, e = s + ph->p_memsz;
            if (ph->p_type == PT_LOAD && s < page + PAGE_SIZE && e > page)
                prot |= (ph->p_flags & PF_R ? PROT_R : 0) | (ph->p_flags & PF_W ? PROT_W : 0) |
                        (ph->p_flags & PF_X ? PROT_X : 0);
        }
        paging_protect(page, PAGE_SIZE, prot ? prot : PROT_R);
    }
}

// Symbols for panics: the full .symtab when the file has one, else .dynsym.
static void register_symbols(const struct app_image *img)
{
    const Elf64_Ehdr *eh = (const void *)img->data;
    if (eh->e_shentsize == sizeof(Elf64_Shdr) && in_file(img, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr))) {
        const Elf64_Shdr *sh = (const void *)(img->data + eh->e_shoff);
        for (int i = 0; i < eh->e_shnum; i++) {
            if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
                continue;
            const Elf64_Shdr *str = &sh[sh[i].sh_link];
            if (!in_file(img, sh[i].sh_offset, sh[i].sh_size) || !in_file(img, str->sh_offset, str->sh_size))
                break;
            ksym_register_app(img->name, img->base, img->end, img->data + sh[i].sh_offset,
                              sh[i].sh_size / sizeof(Elf64_Sym), (const char *)img->data + str->sh_offset);
            return;
        }
    }
    ksym_register_app(img->name, img->base, img->end, img->dynsym, img->ndynsym, img->dynstr);
}

static void find_main(struct app_image *img)
{
    for (size_t i = 1; i < img->ndynsym; i++) {
        const Elf64_Sym *s = &img->dynsym[i];
        if (s->st_shndx != SHN_UNDEF && strcmp(img->dynstr + s->st_name, "main") == 0) {
            img->main = (int (*)(int, char **, char **))(img->base + s->st_value);
            return;
        }
    }
    load_fail(img, EXIT_BAD_ELF, "no main() function exported");
}

static void announce(const struct app_image *img)
{
    const Elf64_Ehdr *eh = (const void *)img->data;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = phdr(img, i);
        if (ph->p_type != PT_LOAD)
            continue;
        char flags[4] = { ph->p_flags & PF_R ? 'r' : '-', ph->p_flags & PF_W ? 'w' : '-', ph->p_flags & PF_X ? 'x' : '-', 0 };
        struct event e;
        event_begin(&e, "segment");
        event_str(&e, "app", img->name);
        event_hex(&e, "start", img->base + ph->p_vaddr);
        event_hex(&e, "end", img->base + ph->p_vaddr + ph->p_memsz);
        event_str(&e, "flags", flags);
        event_hex(&e, "file_offset", ph->p_offset);
        event_send(&e);
    }
    struct event e;
    event_begin(&e, "milestone");
    event_str(&e, "name", "app_loaded");
    event_u64(&e, "tsc", arch_rdtsc());
    event_str(&e, "app", img->name);
    event_hex(&e, "base", img->base);
    event_hex(&e, "end", img->end);
    event_send(&e);
}

void elf_load_app(const char *name, struct app_image *img)
{
    static char file[128];
    size_t n = strlen(name);
    snprintf(file, sizeof file, n > 3 && strcmp(name + n - 3, ".so") == 0 ? "%s" : "%s.so", name);
    *img = (struct app_image){ .name = name, .file = file };
    const void *data;
    if (bootfs_lookup(file, &data, &img->size) != 0)
        load_fail(img, EXIT_APP_NOT_FOUND, "not found in the boot archive");
    img->data = data;
    elf_check_header(img);
    elf_map_segments(img);
    elf_read_dynamic(img);
    elf_relocate(img);
    find_main(img);
    elf_protect_segments(img);
    register_symbols(img);
    announce(img);
}

void elf_run_init(const struct app_image *img)
{
    if (img->init)
        ((void (*)(void))img->init)();
    for (size_t i = 0; i < img->ninit; i++)
        if (img->init_array[i] && img->init_array[i] != (uintptr_t)-1)
            ((void (*)(void))img->init_array[i])();
}
