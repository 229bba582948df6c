// SPDX-License-Identifier: MIT
// errno lives in the current thread (the kernel keeps one slot per thread);
// strerror looks messages up in errlist.c.
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <thread.h>

extern const char *const __libc_errmsg[];
extern const int __libc_nerrmsg;

int *__errno_location(void)
{
    return thread_errno();
}

// Writes the message for err into buf (glibc's "Unknown error N" when
// there is none) and returns 0, or ERANGE if it did not fit.
int strerror_r(int err, char *buf, size_t n)
{
    const char *msg = NULL;
    if (err >= 0 && err < __libc_nerrmsg)
        msg = __libc_errmsg[err];
    size_t len = msg ? strlcpy(buf, msg, n) : (size_t)snprintf(buf, n, "Unknown error %d", err);
    return len < n ? 0 : ERANGE;
}

char *strerror(int err)
{
    if (err >= 0 && err < __libc_nerrmsg && __libc_errmsg[err])
        return (char *)__libc_errmsg[err];
    static char unknown[32];   // shared by all threads, like glibc's fallback
    strerror_r(err, unknown, sizeof unknown);
    return unknown;
}
