// SPDX-License-Identifier: MIT
// Leaving QEMU: a write of V to the isa-debug-exit port (0xf4) ends QEMU with
// status (V << 1) | 1 (see kernel/README.md for the table of V). Without that
// device the write does nothing and we halt with interrupts off.
#include "arch.h"
#include "console.h"
#include "../arch/x86_64/cpu.h"

#define DEBUG_EXIT_PORT 0xf4

void machine_exit(unsigned value)
{
    outl(DEBUG_EXIT_PORT, value);
    kprintf("isa-debug-exit is not present; halting (exit value %u)\n", value);
    arch_halt_forever();
}
