// SPDX-License-Identifier: MIT
// The PVH boot protocol (Xen's hvm_start_info, which QEMU also speaks): the
// command line (-append), the module list (our boot archive, -initrd) and the
// E820-style memory map. If the map is missing, the RAM size comes from CMOS.
#include <string.h>
#include "boot.h"
#include "panic.h"
#include "cpu.h"

#define HVM_START_MAGIC 0x336ec578
#define FW_CFG_PORT_SEL 0x510                  // QEMU's firmware configuration device
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_CMDLINE_SIZE 0x14
#define E820_RAM 1

struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry { uint64_t paddr, size, cmdline_paddr, reserved; };
struct hvm_memmap_entry { uint64_t addr, size; uint32_t type, reserved; };

static unsigned cmos(unsigned reg)
{
    outb(0x70, (uint8_t)reg);
    return inb(0x71);
}

static void add_ram(struct boot_info *bi, uint64_t start, uint64_t end)
{
    if (bi->nram < BOOT_MAX_RAM_RANGES && end > start) {
        bi->ram[bi->nram].start = start;
        bi->ram[bi->nram].end = end;
        bi->nram++;
        if (end > bi->ram_end)
            bi->ram_end = end;
    }
}

// QEMU copies -append into low memory 4 KiB below the start info, so a
// longer command line overwrites it: a "magic" of printable text says that.
static bool looks_like_text(const void *p)
{
    const uint8_t *b = p;
    for (int i = 0; i < 4; i++)
        if (b[i] < 0x20 || b[i] > 0x7e)
            return false;
    return true;
}

static uint32_t fw_cfg_read32(uint16_t key)
{
    uint32_t v = 0;
    outw(FW_CFG_PORT_SEL, key);
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)inb(FW_CFG_PORT_DATA) << (8 * i);
    return v;
}

// The length of the command line QEMU was given, from fw_cfg (0 without it).
// QEMU's PVH option ROM copies the line into a 4096-byte buffer, then reuses
// the 16 bytes after it for its next fw_cfg transfer (which leaves a NUL at
// byte 4096) and puts the start info 32 bytes past it: a 4100-byte line
// arrives cut to 4096 bytes, so its length in memory cannot be trusted.
static size_t fw_cfg_cmdline_len(void)
{
    if (fw_cfg_read32(FW_CFG_SIGNATURE) != 0x554d4551)   // "QEMU"
        return 0;
    uint32_t size = fw_cfg_read32(FW_CFG_CMDLINE_SIZE);  // with its NUL
    return size ? size - 1 : 0;
}

// Copies the command line, at most BOOT_CMDLINE_MAX bytes; a longer one is
// measured (up to 1 MiB) and left for kmain to refuse.
static void copy_cmdline(const char *text, struct boot_info *bi)
{
    static char copy[BOOT_CMDLINE_MAX + 1];
    size_t n = 0;
    while (n < (1u << 20) && text[n])
        n++;
    size_t given = fw_cfg_cmdline_len();
    bi->cmdline_len = given > n ? given : n;
    if (bi->cmdline_len > BOOT_CMDLINE_MAX)
        return;
    memcpy(copy, text, n + 1);
    bi->cmdline = copy;
}

void boot_info_read(uint32_t start_info_paddr, struct boot_info *bi)
{
    const struct hvm_start_info *si = (const void *)(uintptr_t)start_info_paddr;
    *bi = (struct boot_info){ .cmdline = "" };
    if (si && si->magic != HVM_START_MAGIC && looks_like_text(&si->magic)) {
        bi->cmdline_overwrote_start_info = true;
        bi->cmdline_len = fw_cfg_cmdline_len();
        return;
    }
    if (!si || si->magic != HVM_START_MAGIC)
        panic("PVH start info at %#x has a bad magic: not booted through PVH?", start_info_paddr);
    if (si->cmdline_paddr)
        copy_cmdline((const char *)(uintptr_t)si->cmdline_paddr, bi);
    if (si->nr_modules > 0 && si->modlist_paddr) {
        const struct hvm_modlist_entry *m = (const void *)(uintptr_t)si->modlist_paddr;
        bi->module = (const void *)(uintptr_t)m->paddr;
        bi->module_size = m->size;
    }
    if (si->version >= 1 && si->memmap_paddr && si->memmap_entries) {
        const struct hvm_memmap_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
        for (uint32_t i = 0; i < si->memmap_entries; i++)
            if (e[i].type == E820_RAM)
                add_ram(bi, e[i].addr, e[i].addr + e[i].size);
    } else {
        uint64_t above_16m = (uint64_t)(cmos(0x34) | cmos(0x35) << 8) << 16;
        uint64_t above_1m = (uint64_t)(cmos(0x17) | cmos(0x18) << 8) << 10;
        add_ram(bi, 0, 0xa0000);
        add_ram(bi, 0x100000, above_16m ? (16ULL << 20) + above_16m : (1ULL << 20) + above_1m);
    }
}
