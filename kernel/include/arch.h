// SPDX-License-Identifier: MIT
// What the OS needs from the architecture, and nothing more. Everything that
// knows about x86 lives in arch/x86_64/ behind these declarations.
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

// CPU tables and traps (gdt.c, trap.c).
void gdt_init(void);
void idt_init(void);
void tss_set_interrupt_stack(uintptr_t top);   // IST1: the running thread's

// Registers saved by vectors.S on every interrupt and exception.
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;         // pushed by the CPU
};
enum irq_kind { IRQ_NONE, IRQ_TIMER, IRQ_DEVICE, IRQ_SPURIOUS };
typedef void (*irq_handler)(struct trap_frame *f, void *ctx);
// Routes interrupt vector (32..254) to handler; returns false if taken. The
// handler acknowledges the interrupt itself (lapic_eoi), when it is ready for the next.
bool irq_register(unsigned vector, irq_handler h, void *ctx);
#define TIMER_VECTOR    32
#define SPURIOUS_VECTOR 255
// A free vector for a device (48..239), or 0 when none is left.
unsigned irq_alloc_vector(void);
// The MSI message that delivers `vector` to this CPU's local APIC.
void arch_msi_message(unsigned vector, uint64_t *address, uint32_t *data);

// Paging (paging.c).
void paging_init(uint64_t ram_end);
// Maps [va, va+len) of the app area to fresh pages from the page allocator,
// zero-filled when zero is set. prot: PROT_* bits. Returns 0, or -1 with
// nothing mapped when memory runs out.
int  paging_map_anon(uintptr_t va, size_t len, int prot, bool zero);
int  paging_protect(uintptr_t va, size_t len, int prot);
void paging_unmap(uintptr_t va, size_t len, bool free_pages);
// Physical address of va, or (uint64_t)-1 if unmapped.
uint64_t paging_translate(uintptr_t va);
// Fills one bit per 4 KiB page of [va, va+len) with its dirty bit, and clears
// the dirty bits when clear is set. Returns pages examined, or -1.
long paging_dirty_bits(uintptr_t va, size_t len, uint8_t *bitmap, bool clear);
bool paging_is_mapped(uintptr_t va, size_t len);
#define PROT_R 1
#define PROT_W 2
#define PROT_X 4

// Timer and clock (apic.c, tsc.c).
void clock_init(void);                         // calibrates the TSC and the LAPIC timer
void lapic_init(void);
void lapic_eoi(void);
// Routes I/O APIC input `pin` (an ISA IRQ) to `vector` on LAPIC 0, edge
// triggered; false when there is no I/O APIC or no such pin (ioapic.c).
bool ioapic_route(unsigned pin, unsigned vector);
void timer_arm_ns(uint64_t delta_ns);          // one-shot; 0 cancels
uint64_t arch_rdtsc(void);                     // rdtsc() as a function, for callers outside timed code
// The TSC when the first instruction ran (boot.S), the zero of every event's time.
extern uint64_t boot_tsc;

// Leaving QEMU (drivers/debug_exit.c).
void machine_exit(unsigned value) __attribute__((noreturn));

void arch_halt_forever(void) __attribute__((noreturn));
void arch_idle(void);                          // sti; hlt (returns after an interrupt)

// CPU state the portable kernel sets or reports (cpu.c).
void arch_set_tls_base(uintptr_t base);        // the thread pointer apps reach as %fs:0
struct arch_control_regs { uint64_t cr0, cr2, cr3, cr4; };
struct arch_control_regs arch_read_control_regs(void);   // cr2: the last faulting address

// Interrupt masking and the cycle counter, inline because they sit on hot paths
// and inside timed regions: irq_save, irq_restore, irq_enable, irq_disable, rdtsc.
#include "../arch/x86_64/arch_inline.h"
