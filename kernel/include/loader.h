// SPDX-License-Identifier: MIT
// The dynamic linker: loads an app shared object from the boot archive into
// the app area, binds its undefined symbols to kernel exports and starts it.
#pragma once
#include <stdint.h>
#include <stddef.h>
#include "elf.h"

struct app_image {
    const char *name;                      // "hello"
    const char *file;                      // "hello.so"
    const uint8_t *data;                   // the file, in the boot archive
    size_t size;
    uintptr_t base;                        // load bias: runtime address = base + vaddr
    uintptr_t start, end;                  // mapped span
    const Elf64_Dyn *dynamic;
    const Elf64_Sym *dynsym;
    size_t ndynsym;
    const char *dynstr;
    const Elf64_Rela *rela, *jmprel;
    size_t nrela, njmprel;
    uintptr_t init;
    const uintptr_t *init_array;
    size_t ninit;
    int (*main)(int, char **, char **);
};

// Loads app `name` (file name.so) from the boot archive. On any failure the
// reason is reported on COM1 and COM2 and QEMU exits; it returns only on success.
void elf_load_app(const char *name, struct app_image *img);
// Runs DT_INIT and DT_INIT_ARRAY (in the app's main thread, before main).
void elf_run_init(const struct app_image *img);
