// SPDX-License-Identifier: MIT
// The IDT and trap dispatch. Every CPU exception is fatal: there is one
// address space and no process to kill, so the whole image panics with a
// readable dump. Interrupt vectors 32..254 go to registered handlers.
#include "arch.h"
#include "cpu.h"
#include "panic.h"

struct __attribute__((packed)) idt_gate {
    uint16_t offset_lo, selector;
    uint8_t ist, type;
    uint16_t offset_mid;
    uint32_t offset_hi, reserved;
};

extern char isr_stubs[];
static struct idt_gate idt[256];
static struct { irq_handler fn; void *ctx; } handlers[256];

enum { IST_THREAD = 1, IST_EMERGENCY = 2 };

static void set_gate(unsigned v, uintptr_t addr, unsigned ist)
{
    idt[v] = (struct idt_gate){
        .offset_lo = addr & 0xffff, .selector = 0x08, .ist = ist,
        .type = 0x8e,                          // present, ring 0, interrupt gate (IF cleared)
        .offset_mid = (addr >> 16) & 0xffff, .offset_hi = addr >> 32,
    };
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        bool emergency = v == 2 || v == 8 || v == 18;   // NMI, double fault, machine check
        set_gate(v, (uintptr_t)isr_stubs + 16 * v, emergency ? IST_EMERGENCY : IST_THREAD);
    }
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } desc = { sizeof idt - 1, (uintptr_t)idt };
    __asm__ volatile("lidt %0" ::"m"(desc));
}

bool irq_register(unsigned vector, irq_handler h, void *ctx)
{
    if (vector < 32 || vector > 255 || handlers[vector].fn)
        return false;
    handlers[vector].fn = h;
    handlers[vector].ctx = ctx;
    return true;
}

// Called from vectors.S with interrupts off, on the IST stack.
void trap_dispatch(struct trap_frame *f)
{
    if (f->vector < 32)
        panic_exception(f);                    // never returns
    if (handlers[f->vector].fn)
        handlers[f->vector].fn(f, handlers[f->vector].ctx);
    else if (f->vector != SPURIOUS_VECTOR)
        lapic_eoi();
}

unsigned irq_alloc_vector(void)
{
    static unsigned next = 48;
    return next < 240 ? next++ : 0;
}

void arch_msi_message(unsigned vector, uint64_t *address, uint32_t *data)
{
    *address = 0xfee00000u;                    // LAPIC 0, physical destination mode
    *data = vector;                            // fixed delivery, edge-triggered
}
