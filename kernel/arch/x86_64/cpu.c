// SPDX-License-Identifier: MIT
// CPU state the portable kernel may set or read without knowing x86: the
// thread pointer (%fs base, written on every context switch) and the control
// registers a panic report shows.
#include "arch.h"
#include "cpu.h"

void arch_set_tls_base(uintptr_t base) { wrmsr(MSR_FS_BASE, base); }

struct arch_control_regs arch_read_control_regs(void)
{
    return (struct arch_control_regs){ read_cr0(), read_cr2(), read_cr3(), read_cr4() };
}
