/* SPDX-License-Identifier: MIT */
/* The smallest PVH kernel: it leaves QEMU at its first instruction (exit
 * status 1). Booting it measures QEMU's own start-up cost, the floor that
 * the real kernel's boot time is compared against. */
#include "pvh_note.h"
    PVH_NOTE pvh_entry

    .section .text.boot, "ax"
    .code32
    .globl pvh_entry
pvh_entry:
    mov $0xf4, %dx
    xor %eax, %eax
    out %eax, %dx
1:  hlt
    jmp 1b
