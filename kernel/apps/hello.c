// SPDX-License-Identifier: MIT
// The first app: greets, lists its arguments, prints a double, and exits
// with the status given as its first argument (default 0): `hello 3` -> 3.
// The same source builds for Linux (lesson 05); the greeting says where it ran.
#include <stdio.h>
#include <stdlib.h>

#ifdef __unikernel__
#define WHERE "the unikernel"
#else
#define WHERE "Linux"
#endif

int main(int argc, char **argv)
{
    printf("Hello from " WHERE "!\n");
    printf("argc = %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = \"%s\"\n", i, argv[i]);
    double pi = 3.14159265358979;
    printf("pi = %.5f, pi * 1e6 = %.3e, pi / 7 = %g\n", pi, pi * 1e6, pi / 7);
    int status = argc > 1 ? atoi(argv[1]) : 0;
    printf("exiting with status %d\n", status);
    return status;
}
