// SPDX-License-Identifier: MIT
// The GDT and the TSS. In long mode segments are flat; the GDT exists for the
// code/data selectors and to point at the TSS, whose IST slots give every
// interrupt a known stack (IST1: the running thread's interrupt stack; IST2:
// an emergency stack for double faults, NMIs and machine checks).
#include "arch.h"
#include "cpu.h"

struct __attribute__((packed)) tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};

static struct tss tss;
static uint64_t gdt[5];
static uint8_t boot_interrupt_stack[16384] __attribute__((aligned(16)));
static uint8_t emergency_stack[16384] __attribute__((aligned(16)));

void tss_set_interrupt_stack(uintptr_t top) { tss.ist[0] = top; }

void gdt_init(void)
{
    uintptr_t base = (uintptr_t)&tss;
    uint64_t limit = sizeof tss - 1;

    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffULL;            // 0x08: 64-bit code, ring 0
    gdt[2] = 0x00cf92000000ffffULL;            // 0x10: data, ring 0
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
             ((limit >> 16 & 0xf) << 48) | ((uint64_t)(base >> 24 & 0xff) << 56);
    gdt[4] = base >> 32;                       // 0x18: TSS (16-byte descriptor)
    tss.iomap_base = sizeof tss;
    tss.ist[0] = (uintptr_t)boot_interrupt_stack + sizeof boot_interrupt_stack;
    tss.ist[1] = (uintptr_t)emergency_stack + sizeof emergency_stack;

    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } desc = { sizeof gdt - 1, (uintptr_t)gdt };
    __asm__ volatile("lgdt %0\n\t"
                     "pushq $0x08\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1: mov $0x10, %%ax\n\t"
                     "mov %%ax, %%ds\n\t mov %%ax, %%es\n\t mov %%ax, %%ss\n\t"
                     "mov $0x18, %%ax\n\t ltr %%ax"
                     : : "m"(desc) : "rax", "memory");
}
