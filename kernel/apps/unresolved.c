// SPDX-License-Identifier: MIT
// Calls a function no one defines. The shared object links (undefined
// symbols are allowed in a .so), but the kernel's dynamic linker must refuse
// to load it: QEMU exits with status 131 and COM2 reports unresolved_symbol.
// The Linux build leaves the call out so that it links.
#include <stdio.h>

#ifdef __unikernel__
extern void no_such_kernel_function(void);
#endif

int main(void)
{
    printf("unresolved: main is running, so the loader let it through\n");
#ifdef __unikernel__
    no_such_kernel_function();
    printf("unresolved: no_such_kernel_function returned?!\n");
    return 1;
#else
    printf("unresolved: (Linux build: the call is compiled out)\n");
    return 0;
#endif
}
