// SPDX-License-Identifier: MIT
// Symbols. Two tables live in the kernel image, both generated at build time:
// the exports (every global of libc/, what apps may link against) and
// kallsyms (every kernel function, for backtraces). The loaded app adds its
// own symbol table so its addresses can be named too.
#pragma once
#include <stdint.h>
#include <stddef.h>

struct kexport { const char *name; uintptr_t addr; };
extern const struct kexport kexports[];
extern const unsigned kexports_count;

// Address of the exported kernel symbol `name`, or 0.
uintptr_t kexport_lookup(const char *name);

// The app's symbols for symbolization: an ELF64 symbol table and its strings.
void ksym_register_app(const char *name, uintptr_t base, uintptr_t end,
                       const void *symtab, size_t nsyms, const char *strtab);

// Names addr as "function+0xoff" into buf; returns false when unknown.
// *module is set to "kernel" or the app's name.
int ksym_describe(uintptr_t addr, char *buf, size_t len, const char **module);
