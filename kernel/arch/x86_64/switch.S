/* SPDX-License-Identifier: MIT */
/* Thread switch. switch_context(&old->rsp, new->rsp) saves the callee-saved
 * registers on the old stack, swaps stacks and restores them from the new
 * one. A new thread's stack is prepared (thread.c) so that the first switch
 * "returns" into thread_start. FPU state is handled in C around this call. */

    .text
    .globl switch_context
switch_context:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

/* The outermost frame of every thread. Its CFI says there is no return
 * address (rip undefined), so debuggers end the backtrace here instead of
 * reading past the top of the stack; CFI goes to .debug_frame like C's. */
    .cfi_sections .debug_frame
    .globl thread_start
thread_start:
    .cfi_startproc
    .cfi_def_cfa %rsp, 0
    .cfi_undefined %rip
    xor %ebp, %ebp                     /* frame-pointer walks stop here too */
    call thread_entry                  /* never returns */
    ud2
    .cfi_endproc
