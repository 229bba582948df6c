// SPDX-License-Identifier: MIT
// What the boot protocol told us, in a form the rest of the kernel can use
// without knowing about PVH.
#pragma once
#include <stdint.h>
#include <stddef.h>

#define BOOT_MAX_RAM_RANGES 32

struct boot_info {
    const char *cmdline;                   // never NULL
    const void *module;                    // the boot archive, or NULL
    size_t module_size;
    unsigned nram;
    struct { uint64_t start, end; } ram[BOOT_MAX_RAM_RANGES];   // usable RAM
    uint64_t ram_end;                      // highest usable address + 1
};

// Reads the PVH start info at start_info_paddr; panics if the magic is wrong.
void boot_info_read(uint32_t start_info_paddr, struct boot_info *out);
