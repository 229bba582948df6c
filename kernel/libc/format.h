// SPDX-License-Identifier: MIT
// libc-internal interface of the printf engine: the formatter writes through a
// sink callback, and fltfmt.c supplies exact decimal digits of doubles.
#pragma once
#include <stddef.h>
#include <stdarg.h>

typedef void (*__libc_sink)(void *ctx, const char *s, size_t n);
// Formats like vprintf, sending output to sink; returns the length.
int __libc_vformat(__libc_sink sink, void *ctx, const char *fmt, va_list ap);

// value = 0.d[0]d[1]...d[n-1] * 10^dexp; n == 0 means zero.
struct __libc_dec {
    char d[800];
    int n;
    int dexp;
};
void __libc_decimal(double v, struct __libc_dec *d);
void __libc_decimal_round(struct __libc_dec *d, int keep);
