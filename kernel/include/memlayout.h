// SPDX-License-Identifier: MIT
// The one address space. Kernel, heap, stacks and the application all live in
// the same page table; nothing is ever switched. Virtual == physical for RAM.
//
//   virtual address                       what lives there                   mapping
//   ------------------------------------  ---------------------------------  -----------------
//   0x0000_0000_0000_0000 .. 0x0000_0fff  page 0: unmapped, NULL faults       none
//   0x0000_0000_0000_1000 .. 0x000f_ffff  low memory: BIOS data, PVH start    4 KiB, RW, NX
//                                         info, e820 map
//   0x0000_0000_0010_0000 .. text_end     kernel .text, .rodata, symbols      4 KiB, read-only
//   text_end              .. kernel_end   kernel .data, .bss, boot stack      4 KiB, RW, NX
//   kernel_end            .. 0x001f_ffff  free RAM (page allocator)           4 KiB, RW
//   0x0000_0000_0020_0000 .. RAM end      free RAM: heap, thread stacks,      2 MiB, RW
//                                         page tables, app pages; the boot
//                                         archive (initrd) near the top
//   RAM end               .. 0xbfff_ffff  nothing (identity map continues)    2 MiB, RW
//   0x0000_0000_c000_0000 .. 0xffff_ffff  MMIO hole: PCI BARs, IOAPIC         2 MiB, RW,
//                                         0xfec0_0000, LAPIC 0xfee0_0000      uncached, NX
//   0x0000_0100_0000_0000 .. +256 MiB     APP_BASE: the app's ELF segments,   4 KiB, per segment
//                                         always loaded here                  flags (W^X)
//   0x0000_0100_1000_0000 .. +768 MiB     VMEM: thread stacks and interrupt   4 KiB, RW, NX,
//                                         stacks (guard page below each),     an unmapped guard
//                                         anonymous mmap memory               page under stacks
//
// RAM above 4 GiB is not used. Every page of RAM is reachable at its physical
// address, so an app in ring 0 may follow CR3 through the page tables itself.
#pragma once

#define PAGE_SIZE        4096UL
#define PAGE_SHIFT       12
#define HUGE_PAGE_SIZE   (2UL << 20)

#define KERNEL_PHYS_BASE 0x100000UL             // where QEMU loads kernel.elf
#define LOW_STACK_TOP    0x8000                 // boot's first stack, in conventional memory
#define KERNEL_MIN_RAM   0x200000               // RAM must reach 2 MiB (boot.S checks)
#define DIRECT_MAP_END   0x100000000UL          // identity map covers 0 .. 4 GiB
#define MMIO_HOLE_START  0xc0000000UL
#define LAPIC_BASE       0xfee00000UL

#define APP_AREA_START   0x10000000000UL        // 1 TiB: 4 KiB-mapped, on demand
#define APP_AREA_SIZE    (1UL << 30)
#define APP_BASE         APP_AREA_START         // where the app's ELF image goes
#define APP_IMAGE_MAX    (256UL << 20)
#define VMEM_START       (APP_BASE + APP_IMAGE_MAX)

#ifndef __ASSEMBLER__
#include <stdint.h>
// Linker-script symbols bounding the kernel image.
extern char __kernel_start[], __text_end[], __kernel_end[];
#endif
