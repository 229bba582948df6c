/* SPDX-License-Identifier: MIT */
/* PVH entry: QEMU starts us here in 32-bit protected mode, paging off, with
 * EBX pointing at the hvm_start_info block. We check that the kernel image
 * lies in RAM (ram_check), stamp the TSC, map the first GiB with 2 MiB pages,
 * switch to long mode and call kmain(start_info). paging.c replaces these
 * boot page tables with the real ones. */
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
    mov $LOW_STACK_TOP, %esp           /* .bss may not be RAM yet: see ram_check */
    call ram_check                     /* returns only if the kernel fits in RAM */
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
    .cfi_sections .debug_frame
long_mode_entry:                       /* the boot thread's outermost frame: no caller */
    .cfi_startproc
    .cfi_def_cfa %rsp, 0
    .cfi_undefined %rip
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
    .cfi_endproc

/* With too little RAM (-m 1M, 1536K), the kernel's .data/.bss lie past the
 * end of RAM or under the boot archive QEMU put at the top of RAM, and any
 * C code would fault or hang. So before touching .data, with a stack in
 * conventional memory, find the RAM range holding the kernel in the PVH
 * memory map; if it ends below KERNEL_MIN_RAM, or the boot archive overlaps
 * the kernel image, say so on COM1 and COM2 and exit with EXIT_LOW_MEMORY.
 * Only code and immediate data (this section) are used. Keeps EBX. */
#define SI_MAGIC 0
#define SI_VERSION 4
#define SI_NR_MODULES 12
#define SI_MODLIST 16
#define SI_MEMMAP 40
#define SI_MEMMAP_ENTRIES 48
#define HVM_START_MAGIC 0x336ec578
#define EXIT_LOW_MEMORY 0x46
#define COM1 0x3f8
#define COM2 0x2f8
    .code32
ram_check:
    cmpl $HVM_START_MAGIC, SI_MAGIC(%ebx)
    jne 9f                             /* not PVH: kmain says so */
    cmpl $1, SI_VERSION(%ebx)
    jb 9f                              /* no memory map: trust the machine */
    mov SI_MEMMAP(%ebx), %esi
    mov SI_MEMMAP_ENTRIES(%ebx), %ecx
    xor %edi, %edi                     /* edi: end of the RAM range holding the kernel */
    test %ecx, %ecx
    jz 9f
1:  cmpl $1, 16(%esi)                  /* E820 RAM */
    jne 3f
    cmpl $0, 4(%esi)
    jne 3f
    mov (%esi), %eax
    cmp $0x100000, %eax
    ja 3f
    mov 8(%esi), %edx
    cmpl $0, 12(%esi)
    jne 2f
    add %eax, %edx
    jc 2f
    cmp $0x100000, %edx
    jbe 3f
    mov %edx, %edi
    jmp 4f
2:  mov $0xffffffff, %edi
    jmp 4f
3:  add $24, %esi
    loop 1b
4:  mov $KERNEL_MIN_RAM, %edx          /* edx: what we need */
    cmpl $0, SI_NR_MODULES(%ebx)
    je 5f
    mov SI_MODLIST(%ebx), %esi
    mov 8(%esi), %eax
    add $(64 << 10) - 1, %eax
    and $~((64 << 10) - 1), %eax
    add %eax, %edx                     /* room for the archive too */
    mov (%esi), %eax
    cmp $__kernel_end, %eax
    jae 5f
    add 8(%esi), %eax
    cmp $__kernel_start, %eax
    ja 6f                              /* the archive lies over the kernel */
5:  cmp %edx, %edi
    jae 9f
6:  mov %edx, %ebp
    mov $COM1, %dx
    mov $msg_kernel, %esi
    call puts32
    call say_sizes
    mov $msg_nl, %esi
    call puts32
    mov $COM2, %dx
    mov $msg_event, %esi
    call puts32
    call say_sizes
    mov $msg_event_end, %esi
    call puts32
    mov $EXIT_LOW_MEMORY, %eax
    out %eax, $0xf4
7:  hlt
    jmp 7b
9:  ret

/* "not enough memory: <edi/1024> KiB, need <ebp/1024> KiB" to port dx */
say_sizes:
    mov $msg_low, %esi
    call puts32
    mov %edi, %eax
    shr $10, %eax
    call putdec32
    mov $msg_need, %esi
    call puts32
    mov %ebp, %eax
    shr $10, %eax
    call putdec32
    mov $msg_kib, %esi
    jmp puts32

puts32:                                /* the NUL-terminated string at esi to port dx */
    lodsb
    test %al, %al
    jz 1f
    out %al, %dx
    jmp puts32
1:  ret

putdec32:                              /* eax in decimal to port dx */
    push %edx
    xor %ecx, %ecx
    mov $10, %esi
1:  xor %edx, %edx
    div %esi
    push %edx
    inc %ecx
    test %eax, %eax
    jnz 1b
    mov (%esp, %ecx, 4), %edx          /* the port, under the digits */
2:  pop %eax
    add $'0', %al
    out %al, %dx
    loop 2b
    pop %edx
    ret

msg_kernel:    .asciz "[kernel] "
msg_low:       .asciz "not enough memory: "
msg_need:      .asciz " KiB, need "
msg_kib:       .asciz " KiB"
msg_nl:        .asciz "\n"
msg_event:     .asciz "{\"ev\":\"load_error\",\"kind\":\"low_memory\",\"file\":\"\",\"detail\":\""
msg_event_end: .asciz "\"}\n"

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
