// SPDX-License-Identifier: MIT
// The dynamic linker. An app is an ordinary x86-64 shared object (gcc -fPIC
// -shared, no libc linked in). Loading it is what ld.so does on Linux, minus
// the processes: check the ELF header, map each PT_LOAD segment at the fixed
// app base, apply the relocations, binding every undefined symbol to the
// kernel's export table, then apply W^X page protections. A "system call" in
// this app is then a plain call through its GOT into the kernel.
//
// The file is hostile until proven otherwise: every field is checked before
// it is used (offsets and sizes against the file, addresses against the
// image, indices against their tables), so a damaged file gets one line
// naming the failed check and a distinct status, never a fault. elf_load
// only returns a verdict; elf_load_app turns a refusal into the end of the run.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "loader.h"
#include "arch.h"
#include "app.h"
#include "bootfs.h"
#include "console.h"
#include "events.h"
#include "heap.h"
#include "ksym.h"
#include "memlayout.h"
#include "panic.h"

#define MAX_PHDRS 64                           // more is not a real shared object
#define MAX_GNU_CHAIN (1u << 20)               // symbols a GNU hash chain may reach
#define DT_GNU_HASH_SLOT 32                    // where DT_GNU_HASH is noted in dyn_values.has
#define GOT_RESERVED 3                         // GOT.PLT words before the first PLT slot


static const char *const error_kinds[] = {
    [EXIT_APP_NOT_FOUND] = "not_found", [EXIT_UNRESOLVED] = "unresolved_symbol",
    [EXIT_BAD_ELF] = "bad_elf", [EXIT_TRUNCATED] = "truncated", [EXIT_NO_MEMORY] = "no_memory",
};

const char *load_error_kind(enum exit_value why)
{
    return why >= EXIT_APP_NOT_FOUND && why <= EXIT_NO_MEMORY ? error_kinds[why] : "bad_elf";
}

// Records why loading stopped; returns the status so callers can `return fail(...)`.
static int __attribute__((format(printf, 3, 4))) fail(struct load_error *err, enum exit_value why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
    err->why = why;
    return why;
}

static bool in_file(const struct app_image *img, uint64_t off, uint64_t len)
{
    return off <= img->size && len <= img->size - off;
}

// [vaddr, vaddr+len) lies inside the mapped span (vaddrs as in the file).
static bool in_image(const struct app_image *img, uint64_t vaddr, uint64_t len)
{
    uint64_t lo = img->start - img->base, span = img->end - img->start;
    return vaddr >= lo && vaddr - lo <= span && len <= span - (vaddr - lo);
}

static const Elf64_Ehdr *ehdr(const struct app_image *img) { return (const void *)img->data; }

static const Elf64_Phdr *phdr(const struct app_image *img, int i)
{
    return (const void *)(img->data + ehdr(img)->e_phoff + (size_t)i * sizeof(Elf64_Phdr));
}

// [vaddr, vaddr+len) lies in one PT_LOAD segment whose flags include `flag`.
static bool in_segment_with(const struct app_image *img, uint32_t flag, uint64_t vaddr, uint64_t len)
{
    for (int i = 0; i < ehdr(img)->e_phnum; i++) {
        const Elf64_Phdr *ph = phdr(img, i);
        if (ph->p_type == PT_LOAD && (ph->p_flags & flag) && vaddr >= ph->p_vaddr &&
            vaddr - ph->p_vaddr < ph->p_memsz && len <= ph->p_memsz - (vaddr - ph->p_vaddr))
            return true;
    }
    return false;
}

// vaddr lies in a PT_LOAD segment with PF_X.
static bool in_exec(const struct app_image *img, uint64_t vaddr)
{
    return in_segment_with(img, PF_X, vaddr, 1);
}

static int check_header(struct app_image *img, struct load_error *err)
{
    const Elf64_Ehdr *eh = ehdr(img);
    if (memcmp(eh->e_ident, ELFMAG, img->size < 4 ? img->size : 4) != 0)
        return fail(err, EXIT_BAD_ELF, "not an ELF file (bad magic)");
    if (img->size < sizeof *eh)
        return fail(err, EXIT_TRUNCATED, "truncated: the file ends inside the ELF header (%zu of 64 bytes)", img->size);
    if (eh->e_ident[4] != ELFCLASS64)
        return fail(err, EXIT_BAD_ELF, "wrong ELF class %u: a %s-bit object, the kernel loads 64-bit ones",
                    eh->e_ident[4], eh->e_ident[4] == 1 ? "32" : "non-64");
    if (eh->e_ident[5] != ELFDATA2LSB)
        return fail(err, EXIT_BAD_ELF, "wrong byte order: not little-endian");
    if (eh->e_ident[6] != EV_CURRENT || eh->e_version != EV_CURRENT)
        return fail(err, EXIT_BAD_ELF, "wrong ELF version %u/%u, expected 1", eh->e_ident[6], eh->e_version);
    if (eh->e_machine != EM_X86_64)
        return fail(err, EXIT_BAD_ELF, "wrong machine %u: not built for x86-64 (62)", eh->e_machine);
    if (eh->e_type != ET_DYN)
        return fail(err, EXIT_BAD_ELF, "not a shared object or PIE (type %u): build with -fPIC -shared", eh->e_type);
    if (eh->e_ehsize != sizeof *eh)
        return fail(err, EXIT_BAD_ELF, "ELF header size %u, expected 64", eh->e_ehsize);
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return fail(err, EXIT_BAD_ELF, "program header size %u, expected 56", eh->e_phentsize);
    if (eh->e_phnum == 0 || eh->e_phnum > MAX_PHDRS)
        return fail(err, EXIT_BAD_ELF, "%u program headers (1 to %d allowed)", eh->e_phnum, MAX_PHDRS);
    if (eh->e_phoff % 8)
        return fail(err, EXIT_BAD_ELF, "program header table at %#lx is not 8-byte aligned", (unsigned long)eh->e_phoff);
    if (!in_file(img, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
        return fail(err, EXIT_TRUNCATED, "truncated: the program headers lie past the end of the file");
    return 0;
}

static int check_load_segment(const struct app_image *img, int i, uint64_t *prev_end, struct load_error *err)
{
    const Elf64_Phdr *ph = phdr(img, i);
    if (!in_file(img, ph->p_offset, ph->p_filesz))
        return fail(err, EXIT_TRUNCATED, "truncated: segment %d (%#lx bytes at offset %#lx) lies past the end of the file (%zu bytes)",
                    i, (unsigned long)ph->p_filesz, (unsigned long)ph->p_offset, img->size);
    if (ph->p_filesz > ph->p_memsz)
        return fail(err, EXIT_BAD_ELF, "segment %d has more file bytes (%#lx) than memory bytes (%#lx)",
                    i, (unsigned long)ph->p_filesz, (unsigned long)ph->p_memsz);
    if (ph->p_vaddr >= APP_IMAGE_MAX || ph->p_memsz > APP_IMAGE_MAX - ph->p_vaddr)
        return fail(err, EXIT_BAD_ELF, "segment %d (%#lx bytes at %#lx) lies outside the app area (256 MiB)",
                    i, (unsigned long)ph->p_memsz, (unsigned long)ph->p_vaddr);
    if (ph->p_align > 1 && (ph->p_align & (ph->p_align - 1)))
        return fail(err, EXIT_BAD_ELF, "segment %d: alignment %#lx is not a power of two", i, (unsigned long)ph->p_align);
    if (ph->p_align > 1 && (ph->p_vaddr - ph->p_offset) % ph->p_align)
        return fail(err, EXIT_BAD_ELF, "segment %d: address %#lx and file offset %#lx disagree modulo its alignment %#lx",
                    i, (unsigned long)ph->p_vaddr, (unsigned long)ph->p_offset, (unsigned long)ph->p_align);
    if (ph->p_vaddr < *prev_end)
        return fail(err, EXIT_BAD_ELF, "segment %d at %#lx overlaps or precedes the segment before it",
                    i, (unsigned long)ph->p_vaddr);
    *prev_end = ph->p_vaddr + ph->p_memsz;
    return 0;
}

// The dynamic segment must lie in the file-backed part of one PT_LOAD segment.
static int check_dynamic_segment(const struct app_image *img, const Elf64_Phdr *dyn, struct load_error *err)
{
    if (dyn->p_vaddr % 8 || dyn->p_filesz < sizeof(Elf64_Dyn))
        return fail(err, EXIT_BAD_ELF, "dynamic segment at %#lx is misaligned or too small", (unsigned long)dyn->p_vaddr);
    for (int i = 0; i < ehdr(img)->e_phnum; i++) {
        const Elf64_Phdr *ph = phdr(img, i);
        if (ph->p_type == PT_LOAD && ph->p_memsz && dyn->p_vaddr >= ph->p_vaddr && dyn->p_vaddr - ph->p_vaddr <= ph->p_filesz &&
            dyn->p_filesz <= ph->p_filesz - (dyn->p_vaddr - ph->p_vaddr))
            return 0;
    }
    return fail(err, EXIT_BAD_ELF, "dynamic segment at %#lx is not inside a loaded segment", (unsigned long)dyn->p_vaddr);
}

// Checks every program header and finds the span of the PT_LOAD segments.
static int check_segments(struct app_image *img, uint64_t *lo, uint64_t *hi, struct load_error *err)
{
    uint64_t prev_end = 0, prev_file_end = 0;
    const Elf64_Phdr *dyn = NULL;
    int r;
    *lo = UINT64_MAX;
    *hi = 0;
    for (int i = 0; i < ehdr(img)->e_phnum; i++) {
        const Elf64_Phdr *ph = phdr(img, i);
        if (ph->p_type == PT_TLS)
            return fail(err, EXIT_BAD_ELF, "uses thread-local storage (PT_TLS), which this kernel does not support");
        if (ph->p_type == PT_DYNAMIC) {
            if (dyn)
                return fail(err, EXIT_BAD_ELF, "more than one dynamic segment");
            dyn = ph;
        }
        if (ph->p_type != PT_LOAD)
            continue;
        if (ph->p_filesz > ph->p_memsz)        // also for an empty segment, which is not mapped
            return fail(err, EXIT_BAD_ELF, "segment %d has more file bytes (%#lx) than memory bytes (%#lx)",
                        i, (unsigned long)ph->p_filesz, (unsigned long)ph->p_memsz);
        if (ph->p_memsz == 0)
            continue;
        if ((r = check_load_segment(img, i, &prev_end, err)))
            return r;
        // Linkers lay segments out in the file in address order, each with bytes of its own:
        // two showing the same file bytes means an offset was changed (code from the headers).
        if (ph->p_filesz && ph->p_offset < prev_file_end)
            return fail(err, EXIT_BAD_ELF, "segment %d's file bytes (offset %#lx) overlap or precede the segment before it",
                        i, (unsigned long)ph->p_offset);
        if (ph->p_filesz)
            prev_file_end = ph->p_offset + ph->p_filesz;
        if (ph->p_vaddr < *lo)
            *lo = ph->p_vaddr;
        if (ph->p_vaddr + ph->p_memsz > *hi)
            *hi = ph->p_vaddr + ph->p_memsz;
    }
    if (*hi == 0)
        return fail(err, EXIT_BAD_ELF, "no loadable segment");
    if (!dyn)
        return fail(err, EXIT_BAD_ELF, "no dynamic section: link it with -shared");
    img->dynamic_size = dyn->p_filesz;
    img->dynamic_vaddr = dyn->p_vaddr;
    return check_dynamic_segment(img, dyn, err);
}

// Maps the span of all PT_LOAD segments at APP_BASE, read-write for now, and
// copies each segment's file bytes (the rest, .bss, stays zero).
static int map_segments(struct app_image *img, struct load_error *err)
{
    uint64_t lo, hi;
    int r = check_segments(img, &lo, &hi, err);
    if (r)
        return r;
    lo &= ~(PAGE_SIZE - 1);
    hi = (hi + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    img->base = APP_BASE - lo;
    if (paging_map_anon(APP_BASE, hi - lo, PROT_R | PROT_W, true) < 0)
        return fail(err, EXIT_NO_MEMORY, "out of memory mapping the segments (%lu KiB)", (unsigned long)((hi - lo) >> 10));
    img->start = APP_BASE;
    img->end = APP_BASE + (hi - lo);
    for (int i = 0; i < ehdr(img)->e_phnum; i++) {
        const Elf64_Phdr *ph = phdr(img, i);
        if (ph->p_type == PT_LOAD && ph->p_memsz)
            memcpy((void *)(img->base + ph->p_vaddr), img->data + ph->p_offset, ph->p_filesz);
    }
    return 0;
}

// A table [vaddr, vaddr + n * entsize) of the image: in it and aligned.
static int check_table(const struct app_image *img, const char *what, uint64_t vaddr, uint64_t n, uint64_t entsize,
                       struct load_error *err)
{
    if (n > UINT64_MAX / entsize || !in_image(img, vaddr, n * entsize))
        return fail(err, EXIT_BAD_ELF, "%s (%#lx entries at %#lx) lies outside the image", what,
                    (unsigned long)n, (unsigned long)vaddr);
    if (vaddr % (entsize >= 8 ? 8 : entsize))
        return fail(err, EXIT_BAD_ELF, "%s at %#lx is misaligned", what, (unsigned long)vaddr);
    return 0;
}

// Number of .dynsym entries, from the GNU hash table (the only one Debian's
// linker emits by default): one past the last symbol reachable from a bucket.
static int gnu_hash_symbol_count(struct app_image *img, uint64_t vaddr, struct load_error *err)
{
    int r;
    if ((r = check_table(img, "GNU hash header", vaddr, 4, 4, err)))
        return r;
    const uint32_t *h = (const void *)(img->base + vaddr);
    uint64_t nbuckets = h[0], symoffset = h[1], bloom_words = h[2];
    uint64_t buckets_vaddr = vaddr + 16 + bloom_words * 8;
    if ((r = check_table(img, "GNU hash buckets", buckets_vaddr, nbuckets, 4, err)))
        return r;
    const uint32_t *buckets = (const void *)(img->base + buckets_vaddr);
    uint64_t chain_vaddr = buckets_vaddr + nbuckets * 4, last = 0;
    for (uint64_t b = 0; b < nbuckets; b++)
        if (buckets[b] > last)
            last = buckets[b];
    if (last < symoffset) {
        img->ndynsym = symoffset;
        return 0;
    }
    for (;; last++) {                           // walk the last chain to its end bit
        uint64_t at = chain_vaddr + (last - symoffset) * 4;
        if (last - symoffset >= MAX_GNU_CHAIN || !in_image(img, at, 4))
            return fail(err, EXIT_BAD_ELF, "GNU hash chain runs past the image");
        if (*(const uint32_t *)(img->base + at) & 1)
            break;
    }
    img->ndynsym = last + 1;
    return 0;
}

static int sysv_hash_symbol_count(struct app_image *img, uint64_t vaddr, struct load_error *err)
{
    int r = check_table(img, "hash table", vaddr, 2, 4, err);
    if (r)
        return r;
    const uint32_t *h = (const void *)(img->base + vaddr);
    if ((r = check_table(img, "hash table", vaddr, 2 + (uint64_t)h[0] + h[1], 4, err)))
        return r;
    img->ndynsym = h[1];
    return 0;
}

// The raw values of the dynamic entries the linker needs (vaddrs and sizes).
struct dyn_values {
    uint64_t symtab, strtab, strsz, syment, rela, relasz, relaent, jmprel, pltrelsz, pltrel, pltgot;
    uint64_t init, init_array, init_arraysz, hash, gnu_hash;
    bool has[DT_GNU_HASH_SLOT + 1];
};

static int dyn_slot(int64_t tag)
{
    if (tag == DT_GNU_HASH)
        return DT_GNU_HASH_SLOT;
    return tag >= 0 && tag < DT_GNU_HASH_SLOT ? (int)tag : -1;
}

static int read_dyn_entries(struct app_image *img, struct dyn_values *v, struct load_error *err)
{
    const Elf64_Dyn *d = (const void *)(img->base + img->dynamic_vaddr);
    size_t n = img->dynamic_size / sizeof *d, i;
    for (i = 0; i < n && d[i].d_tag != DT_NULL; i++) {
        uint64_t val = d[i].d_val;
        int slot = dyn_slot(d[i].d_tag);
        if (slot >= 0)
            v->has[slot] = true;
        switch (d[i].d_tag) {
        case DT_SYMTAB: v->symtab = val; break;
        case DT_STRTAB: v->strtab = val; break;
        case DT_STRSZ: v->strsz = val; break;
        case DT_SYMENT: v->syment = val; break;
        case DT_RELA: v->rela = val; break;
        case DT_RELASZ: v->relasz = val; break;
        case DT_RELAENT: v->relaent = val; break;
        case DT_JMPREL: v->jmprel = val; break;
        case DT_PLTRELSZ: v->pltrelsz = val; break;
        case DT_PLTREL: v->pltrel = val; break;
        case DT_PLTGOT: v->pltgot = val; break;
        case DT_INIT: v->init = val; break;
        case DT_INIT_ARRAY: v->init_array = val; break;
        case DT_INIT_ARRAYSZ: v->init_arraysz = val; break;
        case DT_HASH: v->hash = val; break;
        case DT_GNU_HASH: v->gnu_hash = val; break;
        case DT_REL: return fail(err, EXIT_BAD_ELF, "REL relocations (without addends) are not used on x86-64");
        default: break;
        }
    }
    if (i == n)
        return fail(err, EXIT_BAD_ELF, "the dynamic section has no DT_NULL end");
    img->ndyn = i;
    return 0;
}

// String table and symbol table: in the image, the strings NUL-terminated at
// the end, so every index below DT_STRSZ names a proper C string.
static int check_symbols(struct app_image *img, const struct dyn_values *v, struct load_error *err)
{
    int r;
    if (!v->has[DT_SYMTAB] || !v->has[DT_STRTAB])
        return fail(err, EXIT_BAD_ELF, "no dynamic symbol table");
    if (!v->has[DT_STRSZ] || v->strsz == 0)
        return fail(err, EXIT_BAD_ELF, "the string table has no size (DT_STRSZ)");
    if ((r = check_table(img, "string table", v->strtab, v->strsz, 1, err)))
        return r;
    img->dynstr = (const char *)(img->base + v->strtab);
    img->strsz = v->strsz;
    if (img->dynstr[img->strsz - 1] != '\0')
        return fail(err, EXIT_BAD_ELF, "the string table does not end with a NUL byte");
    if (v->has[DT_SYMENT] && v->syment != sizeof(Elf64_Sym))
        return fail(err, EXIT_BAD_ELF, "symbol size %lu, expected 24", (unsigned long)v->syment);
    if (v->has[DT_HASH])
        r = sysv_hash_symbol_count(img, v->hash, err);
    else if (v->has[DT_GNU_HASH_SLOT])
        r = gnu_hash_symbol_count(img, v->gnu_hash, err);
    if (r)
        return r;
    if ((r = check_table(img, "symbol table", v->symtab, img->ndynsym, sizeof(Elf64_Sym), err)))
        return r;
    img->dynsym = (const void *)(img->base + v->symtab);
    for (size_t i = 0; i < img->ndynsym; i++)
        if (img->dynsym[i].st_name >= img->strsz)
            return fail(err, EXIT_BAD_ELF, "symbol %zu: name offset %u is past the string table", i, img->dynsym[i].st_name);
    return 0;
}

static int check_relocation_tables(struct app_image *img, const struct dyn_values *v, struct load_error *err)
{
    int r;
    if (v->has[DT_RELAENT] && v->relaent != sizeof(Elf64_Rela))
        return fail(err, EXIT_BAD_ELF, "relocation size %lu, expected 24", (unsigned long)v->relaent);
    if (v->has[DT_PLTREL] && v->pltrel != DT_RELA)
        return fail(err, EXIT_BAD_ELF, "PLT relocations of type %lu, expected RELA (7)", (unsigned long)v->pltrel);
    if (v->relasz % sizeof(Elf64_Rela) || v->pltrelsz % sizeof(Elf64_Rela))
        return fail(err, EXIT_BAD_ELF, "a relocation table size is not a multiple of 24");
    if (v->has[DT_RELA]) {
        if ((r = check_table(img, "relocation table", v->rela, v->relasz / sizeof(Elf64_Rela), sizeof(Elf64_Rela), err)))
            return r;
        img->rela = (const void *)(img->base + v->rela);
        img->nrela = v->relasz / sizeof(Elf64_Rela);
    }
    if (v->has[DT_JMPREL] != v->has[DT_PLTRELSZ] || v->has[DT_JMPREL] != v->has[DT_PLTREL])
        return fail(err, EXIT_BAD_ELF, "DT_JMPREL, DT_PLTRELSZ and DT_PLTREL come together: here %s, %s, %s",
                    v->has[DT_JMPREL] ? "present" : "missing", v->has[DT_PLTRELSZ] ? "present" : "missing",
                    v->has[DT_PLTREL] ? "present" : "missing");
    if (v->has[DT_JMPREL]) {
        if ((r = check_table(img, "PLT relocation table", v->jmprel, v->pltrelsz / sizeof(Elf64_Rela), sizeof(Elf64_Rela), err)))
            return r;
        img->jmprel = (const void *)(img->base + v->jmprel);
        img->njmprel = v->pltrelsz / sizeof(Elf64_Rela);
    }
    if (v->has[DT_PLTGOT]) {
        if (v->pltgot == 0)
            return fail(err, EXIT_BAD_ELF, "DT_PLTGOT is 0");
        img->pltgot = v->pltgot;
    }
    return 0;
}

static int check_init(struct app_image *img, const struct dyn_values *v, struct load_error *err)
{
    int r;
    if (v->has[DT_INIT]) {
        if (!in_exec(img, v->init))
            return fail(err, EXIT_BAD_ELF, "DT_INIT %#lx is not inside an executable segment", (unsigned long)v->init);
        img->init = img->base + v->init;
    }
    if (v->has[DT_INIT_ARRAY]) {
        if (v->init_arraysz % sizeof(uintptr_t))
            return fail(err, EXIT_BAD_ELF, "DT_INIT_ARRAYSZ %lu is not a multiple of 8", (unsigned long)v->init_arraysz);
        if ((r = check_table(img, "init array", v->init_array, v->init_arraysz / 8, 8, err)))
            return r;
        img->init_array = (const void *)(img->base + v->init_array);
        img->ninit = v->init_arraysz / 8;
    }
    return 0;
}

static int read_dynamic(struct app_image *img, struct load_error *err)
{
    struct dyn_values v = { 0 };
    int r;
    if ((r = read_dyn_entries(img, &v, err)) || (r = check_symbols(img, &v, err)) ||
        (r = check_relocation_tables(img, &v, err)) || (r = check_init(img, &v, err)))
        return r;
    const Elf64_Dyn *d = (const void *)(img->base + img->dynamic_vaddr);
    for (size_t i = 0; i < img->ndyn; i++) {
        if (d[i].d_tag != DT_NEEDED)
            continue;
        if (d[i].d_val >= img->strsz)
            return fail(err, EXIT_BAD_ELF, "DT_NEEDED name offset %#lx is past the string table", (unsigned long)d[i].d_val);
        if (!img->quiet)
            kprintf("dynamic linker: %s needs %s: ignored, the kernel itself provides libc\n",
                    img->file, img->dynstr + d[i].d_val);
    }
    return 0;
}

// The PLT slots of the GOT: [first, end) as vaddrs; empty without DT_PLTGOT.
static void plt_slots(const struct app_image *img, uint64_t *first, uint64_t *end)
{
    *first = img->pltgot + GOT_RESERVED * 8;
    *end = img->pltgot ? *first + img->njmprel * 8 : *first;
}

static bool overlaps_plt_slots(const struct app_image *img, uint64_t vaddr)
{
    uint64_t first, end;
    plt_slots(img, &first, &end);
    return vaddr + 8 > img->pltgot && vaddr < end && img->pltgot;
}

// Binding is eager, so every PLT slot must be written by exactly one
// JUMP_SLOT relocation, or a call through it jumps to the link-time PLT stub
// address. Here: the slots lie in a writable segment, each DT_JMPREL entry is
// a JUMP_SLOT aimed at one of them; relocate_one records each slot it binds
// (img->bound, a bitmap beside the image: the slots keep the file's values
// until bound, as a debugger watching them expects) and refuses to bind one
// twice, so n distinct targets in n slots leave none unbound.
static int check_plt_got(struct app_image *img, struct load_error *err)
{
    uint64_t first, end;
    int r;
    if (img->njmprel == 0)
        return 0;
    if (!img->pltgot)
        return fail(err, EXIT_BAD_ELF, "PLT relocations without a GOT (no DT_PLTGOT)");
    if ((r = check_table(img, "GOT.PLT", img->pltgot, GOT_RESERVED + img->njmprel, 8, err)))
        return r;
    plt_slots(img, &first, &end);
    if (!in_segment_with(img, PF_W, img->pltgot, end - img->pltgot))
        return fail(err, EXIT_BAD_ELF, "GOT.PLT at %#lx is not inside a writable segment", (unsigned long)img->pltgot);
    for (size_t i = 0; i < img->njmprel; i++) {
        const Elf64_Rela *rel = &img->jmprel[i];
        if (ELF64_R_TYPE(rel->r_info) != R_X86_64_JUMP_SLOT)
            return fail(err, EXIT_BAD_ELF, "PLT relocation %zu has type %u, not JUMP_SLOT (7)", i,
                        (unsigned)ELF64_R_TYPE(rel->r_info));
        if (rel->r_offset < first || rel->r_offset >= end || (rel->r_offset - first) % 8)
            return fail(err, EXIT_BAD_ELF, "PLT relocation %zu at %#lx is not one of the %zu GOT.PLT slots at %#lx",
                        i, (unsigned long)rel->r_offset, img->njmprel, (unsigned long)first);
    }
    return 0;
}

// A GLOB_DAT slot is one GOT word: aligned, writable, not a PLT slot and, with
// a DT_PLTGOT, near it (the GOT sits next to GOT.PLT and holds at most one
// word per relocation). relocate_one refuses a second GLOB_DAT on the same word.
static int check_got(struct app_image *img, struct load_error *err)
{
    uint64_t first, end, window = img->nrela * 8;
    plt_slots(img, &first, &end);
    for (size_t i = 0; i < img->nrela; i++) {
        const Elf64_Rela *rel = &img->rela[i];
        uint64_t at = rel->r_offset;
        if (ELF64_R_TYPE(rel->r_info) != R_X86_64_GLOB_DAT)
            continue;
        if (at % 8 || !in_segment_with(img, PF_W, at, 8) || overlaps_plt_slots(img, at) ||
            (img->pltgot && (at + window < img->pltgot || at >= end + window)))
            return fail(err, EXIT_BAD_ELF, "GLOB_DAT relocation %zu at %#lx is not in the GOT", i, (unsigned long)at);
    }
    return 0;
}

// img->bound has one bit per 8-byte word of the mapped span; vaddr is 8-aligned
// and inside it (checked before any caller gets here).
static bool is_bound(const struct app_image *img, uint64_t vaddr)
{
    uint64_t w = (vaddr + img->base - img->start) / 8;
    return img->bound[w / 64] >> (w % 64) & 1;
}

static void mark_bound(struct app_image *img, uint64_t vaddr)
{
    uint64_t w = (vaddr + img->base - img->start) / 8;
    img->bound[w / 64] |= 1ull << (w % 64);
}

// After relocation: no PLT slot is left unbound (a safety net for the count argument above).
static int check_plt_bound(const struct app_image *img, struct load_error *err)
{
    uint64_t first, end;
    plt_slots(img, &first, &end);
    for (uint64_t at = first; img->njmprel && at < end; at += 8)
        if (!is_bound(img, at))
            return fail(err, EXIT_BAD_ELF, "GOT.PLT slot at %#lx is not bound by any relocation", (unsigned long)at);
    return 0;
}

// The address symbol `index` stands for: its own definition (which must lie
// in the image, and a function in an executable segment), else the kernel
// export of that name. Returns 0 with *missing set when neither.
static int resolve_symbol(const struct app_image *img, uint32_t index, uintptr_t *out, bool *missing,
                          struct load_error *err)
{
    if (index == 0) {                          // no symbol: the addend alone
        *out = 0;
        return 0;
    }
    if (index >= img->ndynsym)
        return fail(err, EXIT_BAD_ELF, "symbol index %u is past the symbol table (%zu entries)", index, img->ndynsym);
    const Elf64_Sym *sym = &img->dynsym[index];
    const char *name = img->dynstr + sym->st_name;
    if (sym->st_shndx != SHN_UNDEF) {
        if (!in_image(img, sym->st_value, 0))
            return fail(err, EXIT_BAD_ELF, "symbol '%.40s' at %#lx lies outside the image", name, (unsigned long)sym->st_value);
        if (ELF64_ST_TYPE(sym->st_info) == STT_FUNC && !in_exec(img, sym->st_value))
            return fail(err, EXIT_BAD_ELF, "function '%.40s' at %#lx is not inside an executable segment", name,
                        (unsigned long)sym->st_value);
        *out = img->base + sym->st_value;
        return 0;
    }
    *out = kexport_lookup(name);
    if (!*out && ELF64_ST_BIND(sym->st_info) != STB_WEAK)
        *missing = true;
    return 0;
}

// A relocation's word need not be aligned (a pointer in a packed struct). An
// aligned one (every GOT slot) is written by one 8-byte store, so a debugger
// watching the slot sees it change once, from the file's value to the bound one.
static void put64(void *at, uint64_t v)
{
    if ((uintptr_t)at % 8 == 0)
        *(uint64_t *)at = v;
    else
        memcpy(at, &v, 8);
}

// Applies one relocation. Returns 0 (with *missing set for an unresolved
// symbol) or a load error.
static int relocate_one(struct app_image *img, const Elf64_Rela *r, bool *missing, struct load_error *err)
{
    uint32_t type = ELF64_R_TYPE(r->r_info), index = ELF64_R_SYM(r->r_info);
    uintptr_t value = 0;
    int e;
    if (type == R_X86_64_NONE)
        return 0;
    if (!in_image(img, r->r_offset, 8))
        return fail(err, EXIT_BAD_ELF, "relocation at %#lx lies outside the image", (unsigned long)r->r_offset);
    void *where = (void *)(img->base + r->r_offset);
    if (type != R_X86_64_JUMP_SLOT && overlaps_plt_slots(img, r->r_offset))
        return fail(err, EXIT_BAD_ELF, "relocation type %u at %#lx writes into the GOT.PLT", type, (unsigned long)r->r_offset);
    if (type == R_X86_64_JUMP_SLOT && (!overlaps_plt_slots(img, r->r_offset) || r->r_offset % 8))
        return fail(err, EXIT_BAD_ELF, "JUMP_SLOT relocation at %#lx: not a GOT.PLT slot", (unsigned long)r->r_offset);
    if ((type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT) && r->r_offset % 8 == 0 &&
        is_bound(img, r->r_offset))
        return fail(err, EXIT_BAD_ELF, "%s relocation at %#lx: that GOT slot is bound twice",
                    type == R_X86_64_JUMP_SLOT ? "JUMP_SLOT" : "GLOB_DAT", (unsigned long)r->r_offset);
    switch (type) {
    case R_X86_64_RELATIVE:
        if (!in_image(img, (uint64_t)r->r_addend, 0))
            return fail(err, EXIT_BAD_ELF, "relative relocation at %#lx points outside the image (%#lx)",
                        (unsigned long)r->r_offset, (unsigned long)r->r_addend);
        put64(where, img->base + r->r_addend);
        return 0;
    case R_X86_64_64:
        if ((e = resolve_symbol(img, index, &value, missing, err)))
            return e;
        put64(where, value + r->r_addend);
        return 0;
    case R_X86_64_GLOB_DAT:
    case R_X86_64_JUMP_SLOT:
        if (index == 0)
            return fail(err, EXIT_BAD_ELF, "%s relocation at %#lx names no symbol",
                        type == R_X86_64_JUMP_SLOT ? "JUMP_SLOT" : "GLOB_DAT", (unsigned long)r->r_offset);
        if ((e = resolve_symbol(img, index, &value, missing, err)))   // eager binding: no lazy PLT
            return e;
        // A PLT call lands on code: a symbol of the image it binds to must be in an executable segment.
        if (type == R_X86_64_JUMP_SLOT && img->dynsym[index].st_shndx != SHN_UNDEF &&
            !in_exec(img, img->dynsym[index].st_value))
            return fail(err, EXIT_BAD_ELF, "JUMP_SLOT at %#lx binds '%.40s' at %#lx, which is not code",
                        (unsigned long)r->r_offset, img->dynstr + img->dynsym[index].st_name,
                        (unsigned long)img->dynsym[index].st_value);
        put64(where, value);
        mark_bound(img, r->r_offset);
        return 0;
    default:
        return fail(err, EXIT_BAD_ELF, "unsupported relocation type %u at %#lx", type, (unsigned long)r->r_offset);
    }
}

static int relocate_all(struct app_image *img, struct load_error *err);

// Relocates with a bitmap of bound GOT words beside the image (freed here).
static int relocate(struct app_image *img, struct load_error *err)
{
    int e;
    if ((e = check_plt_got(img, err)) || (e = check_got(img, err)))
        return e;
    size_t words = (img->end - img->start) / 8;
    img->bound = kcalloc((words + 63) / 64, sizeof *img->bound);
    if (!img->bound)
        return fail(err, EXIT_NO_MEMORY, "no memory for the relocation bitmap (%zu words)", words);
    e = relocate_all(img, err);
    kfree(img->bound);
    img->bound = NULL;
    return e;
}

static int relocate_all(struct app_image *img, struct load_error *err)
{
    unsigned unresolved = 0;
    const char *first = NULL;
    const Elf64_Rela *tables[2] = { img->rela, img->jmprel };
    size_t counts[2] = { img->nrela, img->njmprel };
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; tables[t] && i < counts[t]; i++) {
            bool missing = false;
            int r = relocate_one(img, &tables[t][i], &missing, err);
            if (r)
                return r;
            if (!missing)
                continue;
            const char *name = img->dynstr + img->dynsym[ELF64_R_SYM(tables[t][i].r_info)].st_name;
            if (!img->quiet)
                kprintf("dynamic linker: %s: unresolved symbol '%s': the kernel does not export it\n", img->file, name);
            if (!unresolved++)
                first = name;
        }
    }
    if (unresolved)
        return fail(err, EXIT_UNRESOLVED, "unresolved symbol '%.60s'%s", first, unresolved > 1 ? " (and others above)" : "");
    return check_plt_bound(img, err);
}

// After relocation: every init_array entry must name code in the image.
static int check_init_array(const struct app_image *img, struct load_error *err)
{
    for (size_t i = 0; i < img->ninit; i++) {
        uintptr_t f = img->init_array[i];
        if (f && f != (uintptr_t)-1 && (f < img->base || !in_exec(img, f - img->base)))
            return fail(err, EXIT_BAD_ELF, "init_array[%zu] (%#lx) is not inside an executable segment", i, (unsigned long)f);
    }
    return 0;
}

static int find_main(struct app_image *img, struct load_error *err)
{
    for (size_t i = 1; i < img->ndynsym; i++) {
        const Elf64_Sym *s = &img->dynsym[i];
        if (s->st_shndx == SHN_UNDEF || strcmp(img->dynstr + s->st_name, "main") != 0)
            continue;
        if (!in_exec(img, s->st_value))
            return fail(err, EXIT_BAD_ELF, "main at %#lx is not inside an executable segment", (unsigned long)s->st_value);
        img->main = (int (*)(int, char **, char **))(img->base + s->st_value);
        return 0;
    }
    return fail(err, EXIT_BAD_ELF, "no main() function exported");
}

// W^X: each page gets the union of the flags of the segments that cover it.
static void protect_segments(const struct app_image *img)
{
    for (uintptr_t page = img->start; page < img->end; page += PAGE_SIZE) {
        int prot = 0;
        for (int i = 0; i < ehdr(img)->e_phnum; i++) {
            const Elf64_Phdr *ph = phdr(img, i);
            uintptr_t s = img->base + ph->p_vaddr, e = s + ph->p_memsz;
            if (ph->p_type == PT_LOAD && s < page + PAGE_SIZE && e > page)
                prot |= (ph->p_flags & PF_R ? PROT_R : 0) | (ph->p_flags & PF_W ? PROT_W : 0) |
                        (ph->p_flags & PF_X ? PROT_X : 0);
        }
        paging_protect(page, PAGE_SIZE, prot ? prot : PROT_R);
    }
}

int elf_load(struct app_image *img, struct load_error *err)
{
    int r;
    if ((r = check_header(img, err)) || (r = map_segments(img, err)) || (r = read_dynamic(img, err)) ||
        (r = relocate(img, err)) || (r = check_init_array(img, err)) || (r = find_main(img, err)))
        return r;
    protect_segments(img);
    return 0;
}

void elf_unload(struct app_image *img)
{
    if (img->end > img->start)
        paging_unmap(img->start, img->end - img->start, true);
    img->start = img->end = 0;
}

// A .symtab section whose every name lies inside its string section, or NULL.
static const Elf64_Shdr *full_symtab(const struct app_image *img)
{
    const Elf64_Ehdr *eh = ehdr(img);
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff % 8 ||
        !in_file(img, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
        return NULL;
    const Elf64_Shdr *sh = (const void *)(img->data + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const Elf64_Shdr *str = &sh[sh[i].sh_link];
        if (sh[i].sh_offset % 8 || !in_file(img, sh[i].sh_offset, sh[i].sh_size) ||
            !in_file(img, str->sh_offset, str->sh_size) || str->sh_size == 0 ||
            img->data[str->sh_offset + str->sh_size - 1] != '\0')
            return NULL;
        const Elf64_Sym *syms = (const void *)(img->data + sh[i].sh_offset);
        for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); k++)
            if (syms[k].st_name >= str->sh_size)
                return NULL;
        return &sh[i];
    }
    return NULL;
}

// Symbols for panics: the full .symtab when the file has a sound one, else .dynsym.
static void register_symbols(const struct app_image *img)
{
    const Elf64_Shdr *symtab = full_symtab(img);
    if (symtab) {
        const Elf64_Shdr *str = (const Elf64_Shdr *)(img->data + ehdr(img)->e_shoff) + symtab->sh_link;
        ksym_register_app(img->name, img->base, img->end, img->data + symtab->sh_offset,
                          symtab->sh_size / sizeof(Elf64_Sym), (const char *)img->data + str->sh_offset);
        return;
    }
    ksym_register_app(img->name, img->base, img->end, img->dynsym, img->ndynsym, img->dynstr);
}

static void announce(const struct app_image *img)
{
    for (int i = 0; i < ehdr(img)->e_phnum; i++) {
        const Elf64_Phdr *ph = phdr(img, i);
        if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
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

// Reports a load failure on both channels and ends the run.
void load_fail(const char *file, enum exit_value why, const char *detail)
{
    boot_refuse("dynamic linker", load_error_kind(why), file, why, detail);
}

// "hello" and "hello.so" both name hello.so.
const char *app_file_name(const char *name)
{
    static char file[128];
    size_t n = strlen(name);
    snprintf(file, sizeof file, n > 3 && strcmp(name + n - 3, ".so") == 0 ? "%s" : "%s.so", name);
    return file;
}

void elf_load_app(const char *name, struct app_image *img)
{
    const char *file = app_file_name(name);
    struct load_error err = { 0 };
    *img = (struct app_image){ .name = name, .file = file };
    const void *data;
    if (bootfs_lookup(file, &data, &img->size) != 0)
        load_fail(file, EXIT_APP_NOT_FOUND, "not found in the boot archive");
    img->data = data;
    if (elf_load(img, &err))
        load_fail(file, err.why, err.detail);
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
