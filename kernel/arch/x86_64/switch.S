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

    .globl thread_start
thread_start:
    xor %ebp, %ebp                     /* backtraces stop at a new thread's base */
    call thread_entry                  /* never returns */
    ud2
