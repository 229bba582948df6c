// SPDX-License-Identifier: MIT
// Panics. There is one address space and everything runs in ring 0, so a
// fault anywhere, in the app or in the kernel, has nothing to be contained
// in: the image stops. What we can do is say clearly what happened: the
// exception, the faulting function by name, the registers, a backtrace
// through the frame pointers, on COM1 for people and on COM2 for labkit.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "panic.h"
#include "arch.h"
#include "console.h"
#include "events.h"
#include "ksym.h"
#include "thread.h"

#define MAX_FRAMES 16

static const char *const exception_names[32] = {
    "divide error (#DE)", "debug (#DB)", "non-maskable interrupt (NMI)", "breakpoint (#BP)",
    "overflow (#OF)", "bound range exceeded (#BR)", "invalid opcode (#UD)", "device not available (#NM)",
    "double fault (#DF)", "coprocessor segment overrun", "invalid TSS (#TS)", "segment not present (#NP)",
    "stack-segment fault (#SS)", "general protection fault (#GP)", "page fault (#PF)", "reserved (15)",
    "x87 floating-point error (#MF)", "alignment check (#AC)", "machine check (#MC)", "SIMD floating-point error (#XM)",
    "virtualization exception (#VE)", "control protection (#CP)", "reserved (22)", "reserved (23)",
    "reserved (24)", "reserved (25)", "reserved (26)", "reserved (27)",
    "hypervisor injection (#HV)", "VMM communication (#VC)", "security exception (#SX)", "reserved (31)",
};

static int panicking;

static void out(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    console_write(buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

// True if addr follows a call instruction (e8 rel32, or ff /2 through a
// register or memory operand): then it is a plausible return address.
static bool looks_like_return(uint64_t addr)
{
    const uint8_t *p = (const uint8_t *)addr;
    if (addr < 8 || !paging_is_mapped(addr - 7, 7) || paging_translate(addr) == (uint64_t)-1)
        return false;
    return p[-5] == 0xe8 || (p[-6] == 0xff && (p[-5] & 0x38) == 0x10) ||
           (p[-2] == 0xff && (p[-1] & 0x38) == 0x10) || (p[-3] == 0xff && (p[-2] & 0x38) == 0x10);
}

// The frames of a backtrace: rip first, then return addresses up the rbp chain
// for as long as the chain stays on a mapped, growing stack. A fault in a
// function that has not built a frame (a leaf, or its first instruction)
// leaves its return address at [rsp], not in the chain: take it from there.
static int collect_frames(uint64_t rip, uint64_t rbp, uint64_t rsp, uint64_t *frames)
{
    int n = 0;
    frames[n++] = rip;
    if (rsp && paging_is_mapped(rsp, 8)) {
        uint64_t ret = *(uint64_t *)rsp;
        bool chained = rbp && paging_is_mapped(rbp, 16) && ((uint64_t *)rbp)[1] == ret;
        if (!chained && looks_like_return(ret))
            frames[n++] = ret;
    }
    while (n < MAX_FRAMES && rbp && !(rbp & 7) && paging_is_mapped(rbp, 16)) {
        uint64_t *fp = (uint64_t *)rbp;
        if (fp[1] == 0)
            break;
        frames[n++] = fp[1];
        if (fp[0] <= rbp)
            break;
        rbp = fp[0];
    }
    return n;
}

static void describe_page_fault(uint64_t err)
{
    out("  error code 0x%lx: %s %s a %s page\n", (unsigned long)err,
        err & 16 ? "instruction fetch" : err & 2 ? "write" : "read",
        err & 16 ? "from" : err & 2 ? "to" : "from",
        err & 1 ? "present but protected" : "not-present");
}

// The address the last page fault touched.
static uint64_t fault_address(void) { return arch_read_control_regs().cr2; }

static void print_regs(const struct trap_frame *f)
{
    out("  RAX %016lx  RBX %016lx  RCX %016lx  RDX %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
    out("  RSI %016lx  RDI %016lx  RBP %016lx  RSP %016lx\n", f->rsi, f->rdi, f->rbp, f->rsp);
    out("  R8  %016lx  R9  %016lx  R10 %016lx  R11 %016lx\n", f->r8, f->r9, f->r10, f->r11);
    out("  R12 %016lx  R13 %016lx  R14 %016lx  R15 %016lx\n", f->r12, f->r13, f->r14, f->r15);
    struct arch_control_regs cr = arch_read_control_regs();
    out("  CS %04lx (CPL %lu)  SS %04lx  RFLAGS %08lx  CR0 %08lx  CR3 %08lx  CR4 %08lx\n",
        f->cs, f->cs & 3, f->ss, f->rflags, cr.cr0, cr.cr3, cr.cr4);
}

// Appends {"addr":"0x..","symbol":"f+0x1","module":"m"} entries to json.
static void frames_json(char *json, size_t len, const uint64_t *frames, int n)
{
    size_t used = snprintf(json, len, "[");
    for (int i = 0; i < n && used < len; i++) {
        char sym[96];
        const char *module;
        ksym_describe(frames[i], sym, sizeof sym, &module);
        used += snprintf(json + used, len - used, "%s{\"addr\":\"0x%lx\",\"symbol\":\"%s\",\"module\":\"%s\"}",
                         i ? "," : "", (unsigned long)frames[i], sym, module);
    }
    if (used < len)
        snprintf(json + used, len - used, "]");
}

static void report(const struct trap_frame *f, const char *what, const char *message)
{
    uint64_t frames[MAX_FRAMES];
    int n = collect_frames(f->rip, f->rbp, f->vector < 32 ? f->rsp : 0, frames);
    char sym[96], json[700];
    const char *module;
    struct thread *t = thread_current();

    out("\n================================================================================\n");
    out("KERNEL PANIC: %s in thread \"%s\"\n", what, t ? thread_name(t) : "boot");
    if (message)
        out("  %s\n", message);
    if (f->vector == 14)
        describe_page_fault(f->error_code);
    else if (f->vector < 32)
        out("  error code 0x%lx\n", (unsigned long)f->error_code);
    ksym_describe(f->rip, sym, sizeof sym, &module);
    out("  RIP %016lx  %s  [%s]\n", f->rip, sym, module);
    if (f->vector == 14 && t) {
        uintptr_t lo, hi;
        thread_stack_bounds(t, &lo, &hi);
        if (fault_address() < lo && fault_address() >= lo - 4096)
            out("  the address is the guard page below this thread's stack: a stack overflow\n");
    }
    if (f->vector == 14) {
        char target[96];
        const char *tmod;
        if (ksym_describe(fault_address(), target, sizeof target, &tmod))
            out("  CR2 %016lx  (the address touched: %s [%s])\n", fault_address(), target, tmod);
        else
            out("  CR2 %016lx  (the address touched)\n", fault_address());
    }
    print_regs(f);
    out("Backtrace:\n");
    for (int i = 0; i < n; i++) {
        ksym_describe(frames[i], sym, sizeof sym, &module);
        out("  #%d %016lx %s [%s]\n", i, frames[i], sym, module);
    }
    out("The whole image stops: the app and the kernel share one address space and\n"
        "ring 0, so there is no process to kill and no boundary to contain the fault.\n");
    out("================================================================================\n");

    struct event e;
    event_begin(&e, "panic");
    event_u64(&e, "vector", f->vector);
    event_str(&e, "exception", what);
    event_u64(&e, "error_code", f->error_code);
    event_hex(&e, "rip", f->rip);
    ksym_describe(f->rip, sym, sizeof sym, &module);
    event_str(&e, "symbol", sym);
    event_str(&e, "module", module);
    event_hex(&e, "cr2", f->vector == 14 ? fault_address() : 0);
    event_u64(&e, "cpl", f->cs & 3);
    event_str(&e, "thread", t ? thread_name(t) : "boot");
    event_str(&e, "message", message ? message : "");
    frames_json(json, sizeof json, frames, n);
    event_raw(&e, "frames", json);
    event_send(&e);
}

static void enter_panic(void)
{
    irq_disable();
    if (panicking++)                           // a fault while reporting one
        machine_exit(EXIT_PANIC);
}

void panic_exception(struct trap_frame *f)
{
    enter_panic();
    report(f, f->vector < 32 ? exception_names[f->vector] : "unexpected interrupt", NULL);
    machine_exit(EXIT_PANIC);
}

void panic(const char *fmt, ...)
{
    enter_panic();
    char message[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    struct trap_frame f = { .vector = 256, .cs = 0x08, .ss = 0x10 };
    f.rip = (uint64_t)__builtin_return_address(0);
    f.rbp = *(uint64_t *)__builtin_frame_address(0);   // our caller's frame
    f.rsp = (uint64_t)__builtin_frame_address(0);
    report(&f, "kernel panic", message);
    machine_exit(EXIT_PANIC);
}
