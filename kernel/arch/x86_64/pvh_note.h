/* SPDX-License-Identifier: MIT */
/* The Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY (type 18) that makes an ELF64
 * image bootable with QEMU's -kernel: QEMU's PVH loader reads the 32-bit
 * entry point from it. An 8-byte descriptor is what QEMU accepts. Include
 * from assembly; `entry` is the 32-bit entry symbol. */
.macro PVH_NOTE entry
    .pushsection .note.Xen, "a"
    .align 4
    .long 4, 8, 18
    .asciz "Xen"
    .align 4
    .quad \entry
    .popsection
.endm
