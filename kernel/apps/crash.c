// SPDX-License-Identifier: MIT
// A wild write: scribble() stores a byte into the code of puts, a kernel
// function. The kernel maps its text read-only, so even in ring 0 the write
// page-faults (CR0.WP) and the kernel panics with a backtrace naming
// scribble. On Linux puts is in the program's own read-only text: SIGSEGV.
#include <stdio.h>

__attribute__((noinline)) void scribble(volatile char *p)
{
    printf("crash: scribble() writes 0x90 to %p ...\n", (void *)p);
    fflush(stdout);
    *p = (char)0x90;
    printf("crash: the write went through: code is writable!\n");
}

int main(void)
{
    volatile char *target = (volatile char *)puts;
    printf("crash: puts() is at %p, in code mapped read-only\n", (void *)target);
    scribble(target);
    return 1;
}
