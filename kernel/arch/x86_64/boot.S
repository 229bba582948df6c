/* SPDX-License-Identifier: MIT */
/* PVH entry: QEMU starts us here in 32-bit protected mode, paging off, with
 * EBX pointing at the hvm_start_info block. We stamp the TSC, map the first
 * GiB with 2 MiB pages, switch to long mode and call kmain(start_info).
 * paging.c replaces these boot page tables with the real ones. */
#include "memlayout.h"

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)

#include "pvh_note.h"
    PVH_NOTE pvh_entry

    .section .text.boot, "ax"
    .code32
    .globl pvh_entry
pvh_entry:
    cli
    cld
    mov %ebx, boot_start_info
    rdtsc                              /* milestone "entry": first thing we do */
    mov %eax, boot_tsc
    mov %edx, boot_tsc + 4
    mov $boot_stack_top, %esp

    /* pml4[0] -> pdpt, pdpt[0] -> pd, pd[i] -> i * 2 MiB (present, writable, huge) */
    mov $boot_pdpt, %eax
    or $3, %eax
    mov %eax, boot_pml4
    mov $boot_pd, %eax
    or $3, %eax
    mov %eax, boot_pdpt
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, boot_pd(, %ecx, 8)
    inc %ecx
    cmp $512, %ecx
    jb 1b

    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    mov %eax, %cr4
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    and $~CR0_EM, %eax
    or $(CR0_PG | CR0_WP | CR0_MP | CR0_PE), %eax
    mov %eax, %cr0
    lgdt boot_gdt_desc
    ljmp $0x08, $long_mode_entry

    .code64
long_mode_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
    mov $boot_stack_top, %rsp
    xor %ebp, %ebp                     /* backtraces stop here */
    mov boot_start_info(%rip), %edi
    call kmain
2:  cli
    hlt
    jmp 2b

    .section .rodata
    .align 16
boot_gdt:
    .quad 0                            /* null */
    .quad 0x00af9a000000ffff           /* 0x08: 64-bit code, ring 0 */
    .quad 0x00cf92000000ffff           /* 0x10: data, ring 0 */
boot_gdt_desc:
    .word boot_gdt_desc - boot_gdt - 1
    .long boot_gdt

    .data
    .align 8
    .globl boot_tsc, boot_start_info
boot_tsc:        .quad 0
boot_start_info: .quad 0

    .bss
    .align 4096
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd:   .skip 4096
    .globl boot_stack_top
boot_stack: .skip 16384
boot_stack_top:
