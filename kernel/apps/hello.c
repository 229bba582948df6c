// SPDX-License-Identifier: MIT
// The first app: greets, lists its arguments, prints a double, and exits
// with the status given as its first argument (default 0): `hello 3` -> 3.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    printf("Hello from the unikernel!\n");
    printf("argc = %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = \"%s\"\n", i, argv[i]);
    double pi = 3.14159265358979;
    printf("pi = %.5f, pi * 1e6 = %.3e, pi / 7 = %g\n", pi, pi * 1e6, pi / 7);
    int status = argc > 1 ? atoi(argv[1]) : 0;
    printf("exiting with status %d\n", status);
    return status;
}
