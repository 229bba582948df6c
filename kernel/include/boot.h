// SPDX-License-Identifier: MIT
// What the boot protocol told us, in a form the rest of the kernel can use
// without knowing about PVH.
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define BOOT_MAX_RAM_RANGES 32
// The longest command line the kernel takes, in bytes without the NUL. QEMU
// leaves 4127 bytes for it before the PVH start info (kernel/README.md).
#define BOOT_CMDLINE_MAX 4096
#define BOOT_CMDLINE_MAX_TEXT "4096"

struct boot_info {
    const char *cmdline;                   // never NULL; a copy, at most BOOT_CMDLINE_MAX bytes
    size_t cmdline_len;                    // as given (longer than the copy: refused)
    bool cmdline_overwrote_start_info;     // -append was so long that nothing else is known
    const void *module;                    // the boot archive, or NULL
    size_t module_size;
    unsigned nram;
    struct { uint64_t start, end; } ram[BOOT_MAX_RAM_RANGES];   // usable RAM
    uint64_t ram_end;                      // highest usable address + 1
};

// Reads the PVH start info at start_info_paddr; panics if the magic is wrong
// (unless a too long command line overwrote it: see cmdline_overwrote_start_info).
void boot_info_read(uint32_t start_info_paddr, struct boot_info *out);
