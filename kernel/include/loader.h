// SPDX-License-Identifier: MIT
// The dynamic linker: loads an app shared object from the boot archive into
// the app area, binds its undefined symbols to kernel exports and starts it.
// Nothing in the file is trusted: a damaged file gets a verdict (status and
// one line naming the failed check), never a fault.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "elf.h"
#include "panic.h"

struct app_image {
    const char *name;                      // "hello"
    const char *file;                      // "hello.so"
    const uint8_t *data;                   // the file, in the boot archive
    size_t size;
    bool quiet;                            // no COM1 lines while loading (loadcheck)
    uintptr_t base;                        // load bias: runtime address = base + vaddr
    uintptr_t start, end;                  // mapped span
    uint64_t dynamic_vaddr, dynamic_size;  // PT_DYNAMIC, checked to lie in a loaded segment
    size_t ndyn;                           // entries before DT_NULL
    const Elf64_Sym *dynsym;
    size_t ndynsym;
    const char *dynstr;
    size_t strsz;                          // dynstr[strsz - 1] == '\0'
    const Elf64_Rela *rela, *jmprel;
    size_t nrela, njmprel;
    uint64_t pltgot;                       // DT_PLTGOT (vaddr), 0 if none; slots from pltgot + 24
    uint64_t *bound;                       // while relocating: a bit per word of [start, end) bound
    uintptr_t init;
    const uintptr_t *init_array;
    size_t ninit;
    int (*main)(int, char **, char **);
};

// Why a load stopped: an exit value (EXIT_BAD_ELF, EXIT_TRUNCATED, ...) and
// one line naming the check that failed.
struct load_error {
    enum exit_value why;
    char detail[160];
};

// Loads img->data (img->size bytes) at the app base: checks, maps, relocates,
// protects. Returns 0, or an exit value with err filled in; on failure the
// caller undoes the mapping with elf_unload.
int elf_load(struct app_image *img, struct load_error *err);
// Unmaps a loaded (or partly loaded) image and frees its pages.
void elf_unload(struct app_image *img);
// Loads app `name` (file name.so) from the boot archive. On any failure the
// reason is reported on COM1 and COM2 and QEMU exits; it returns only on success.
void elf_load_app(const char *name, struct app_image *img);
// Runs DT_INIT and DT_INIT_ARRAY (in the app's main thread, before main).
void elf_run_init(const struct app_image *img);
// Reports a refused app (COM1 line, COM2 load_error event) and exits with `why`.
void load_fail(const char *file, enum exit_value why, const char *detail) __attribute__((noreturn));
// The load_error event's kind for an exit value ("bad_elf", "truncated", ...).
const char *load_error_kind(enum exit_value why);
// "hello" -> "hello.so"; a name ending in .so is kept (a static buffer).
const char *app_file_name(const char *name);
