// SPDX-License-Identifier: MIT
// How an app ends: exit/atexit, _exit, abort, failed assertions and stack
// smashing. Every path goes through the kernel's app_exit, which calls
// libc_run_atexit back exactly once.
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <app.h>

#define ATEXIT_MAX 64

void __libc_stdio_exit(void);   // stdio.c

static void (*handlers[ATEXIT_MAX])(void);
static int nhandlers;
// Set by _exit and abort. 0: run atexit handlers and flush stdio;
// 1: skip the handlers; 2: skip the handlers and the flush too.
static int quick_exit_flag;

int atexit(void (*fn)(void))
{
    if (nhandlers == ATEXIT_MAX)
        return -1;
    handlers[nhandlers++] = fn;
    return 0;
}

void libc_run_atexit(void)
{
    if (quick_exit_flag == 0) {
        // A handler may register more handlers; they run next, as in glibc.
        while (nhandlers > 0)
            handlers[--nhandlers]();
    }
    if (quick_exit_flag < 2)
        __libc_stdio_exit();
}

void exit(int status)
{
    app_exit(status);
}

// Ends at once: no atexit handlers, buffered stdio output is dropped (glibc).
void _exit(int status)
{
    quick_exit_flag = 2;
    app_exit(status);
}

void _Exit(int status)
{
    _exit(status);
}

// Status 134 is what a shell reports for a SIGABRT death (128 + 6).
// Unlike glibc we still flush stdout, so output printed before is not lost.
void abort(void)
{
    static const char msg[] = "Aborted\n";
    __libc_stdio_exit();   // stdout first, so "Aborted" comes after it
    write(2, msg, sizeof msg - 1);
    quick_exit_flag = 1;
    app_exit(134);
}

void __assert_fail(const char *expr, const char *file, unsigned line, const char *func)
{
    fprintf(stderr, "%s:%u: %s: Assertion `%s' failed.\n", file, line, func, expr);
    abort();
}

// Called by code built with -fstack-protector when a canary was overwritten.
// The stack is not trustworthy: print with a single write and leave.
void __stack_chk_fail(void)
{
    static const char msg[] = "*** stack smashing detected ***: terminated\n";
    write(2, msg, sizeof msg - 1);
    quick_exit_flag = 1;
    app_exit(134);
}
