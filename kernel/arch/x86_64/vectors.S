/* SPDX-License-Identifier: MIT */
/* Interrupt and exception entry. Each of the 256 vectors has a 16-byte stub
 * that pushes an error code (0 where the CPU pushes none) and its vector
 * number, then joins trap_common, which saves every register into a struct
 * trap_frame, saves the FPU/SSE state (kernel C code may use SSE and must not
 * clobber the app's registers), and calls trap_dispatch(frame).
 * All vectors run on an IST stack: the app may be using the red zone below
 * its %rsp, which a same-stack interrupt would overwrite. */

    .text
    .align 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .align 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi                     /* struct trap_frame * */
    mov %rsp, %rbx
    sub $512, %rsp
    and $~15, %rsp
    fxsave64 (%rsp)
    call trap_dispatch
    fxrstor64 (%rsp)
    mov %rbx, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp                      /* vector and error code */
    iretq
