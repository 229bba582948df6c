// SPDX-License-Identifier: MIT
// The printf engine shared by every printf-family function: parses a format,
// converts each argument into a small buffer and sends padded pieces to a sink.
// Follows glibc's output, including "(null)", "(nil)" and "-nan".
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include "format.h"

enum { F_MINUS = 1, F_PLUS = 2, F_SPACE = 4, F_ZERO = 8, F_ALT = 16 };
enum { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_J, L_T, L_BIGL };

struct out {
    __libc_sink sink;
    void *ctx;
    size_t count;
};

struct spec {
    int flags, width, prec, len;   // prec < 0: none given
    char conv;
};

static void emit(struct out *o, const char *s, size_t n)
{
    if (n) {
        o->sink(o->ctx, s, n);
        o->count += n;
    }
}

static void repeat(struct out *o, char c, int n)
{
    char buf[32];
    memset(buf, c, sizeof buf);
    for (; n > 0; n -= sizeof buf)
        emit(o, buf, n < (int)sizeof buf ? (size_t)n : sizeof buf);
}

// Emits prefix ("-", "0x", ...) and body padded to the field width. zeros
// extra '0's go between them (precision of integers); the 0 flag adds more.
static void field(struct out *o, const struct spec *sp, const char *prefix, int plen,
                  int zeros, const char *body, int blen, int zero_pad_ok)
{
    int len = plen + zeros + blen;
    int pad = sp->width > len ? sp->width - len : 0;
    if (!(sp->flags & F_MINUS) && (sp->flags & F_ZERO) && zero_pad_ok) {
        zeros += pad;
        pad = 0;
    }
    if (!(sp->flags & F_MINUS))
        repeat(o, ' ', pad);
    emit(o, prefix, plen);
    repeat(o, '0', zeros);
    emit(o, body, blen);
    if (sp->flags & F_MINUS)
        repeat(o, ' ', pad);
}

static void fmt_int(struct out *o, const struct spec *sp, uintmax_t v, int negative)
{
    char buf[24], prefix[3];
    int plen = 0, base = 10;
    const char *digits = sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    if (sp->conv == 'o')
        base = 8;
    else if (sp->conv == 'x' || sp->conv == 'X' || sp->conv == 'p')
        base = 16;
    int n = 0;
    for (uintmax_t x = v; x; x /= base)
        buf[sizeof buf - ++n] = digits[x % base];
    if (v == 0 && sp->prec != 0)   // "%.0d" of 0 prints no digit at all
        buf[sizeof buf - ++n] = '0';

    if (negative)
        prefix[plen++] = '-';
    else if ((sp->conv == 'd' || sp->conv == 'i') && (sp->flags & (F_PLUS | F_SPACE)))
        prefix[plen++] = sp->flags & F_PLUS ? '+' : ' ';
    if ((sp->flags & F_ALT) && base == 16 && v != 0) {
        prefix[plen++] = '0';
        prefix[plen++] = sp->conv == 'X' ? 'X' : 'x';
    }
    int zeros = sp->prec > n ? sp->prec - n : 0;
    if ((sp->flags & F_ALT) && base == 8 && zeros == 0 && (n == 0 || buf[sizeof buf - n] != '0'))
        zeros = 1;   // "%#o" always starts with 0
    field(o, sp, prefix, plen, zeros, buf + sizeof buf - n, n, sp->prec < 0);
}

// "inf"/"nan" or the digits of a finite double in %f, %e or %g style.
static void fmt_float(struct out *o, struct spec sp, double v)
{
    char prefix[1];
    int plen = 0;
    int upper = sp.conv >= 'A' && sp.conv <= 'Z';
    if (__builtin_signbit(v))
        prefix[plen++] = '-';
    else if (sp.flags & (F_PLUS | F_SPACE))
        prefix[plen++] = sp.flags & F_PLUS ? '+' : ' ';
    if (v != v || v == __builtin_inf() || v == -__builtin_inf()) {
        const char *s = v != v ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");
        field(o, &sp, prefix, plen, 0, s, 3, 0);
        return;
    }
    struct __libc_dec d;
    __libc_decimal(v < 0 ? -v : v, &d);

    char buf[900];
    int n = 0, prec = sp.prec < 0 ? 6 : sp.prec;
    if (prec > 500)
        prec = 500;   // keeps buf bounded; glibc has no limit
    int alt = sp.flags & F_ALT;
    char style = sp.conv | 32;   // 'f', 'e' or 'g'
    int strip = 0;
    if (style == 'g') {
        int p = prec == 0 ? 1 : prec;
        __libc_decimal_round(&d, p);
        int x = d.n ? d.dexp - 1 : 0;
        if (x >= -4 && x < p) {
            style = 'f';
            prec = p - 1 - x;
        } else {
            style = 'e';
            prec = p - 1;
        }
        strip = !alt;
    }
    if (style == 'f') {
        __libc_decimal_round(&d, d.dexp + prec);
        if (d.dexp <= 0)
            buf[n++] = '0';
        for (int i = 0; i < d.dexp; i++)
            buf[n++] = i < d.n ? d.d[i] : '0';
        if (prec || alt)
            buf[n++] = '.';
        for (int j = 0; j < prec; j++) {
            int i = d.dexp + j;
            buf[n++] = i >= 0 && i < d.n ? d.d[i] : '0';
        }
    } else {
        __libc_decimal_round(&d, prec + 1);
        buf[n++] = d.n ? d.d[0] : '0';
        if (prec || alt)
            buf[n++] = '.';
        for (int i = 1; i <= prec; i++)
            buf[n++] = i < d.n ? d.d[i] : '0';
    }
    if (strip && memchr(buf, '.', n)) {   // %g drops trailing zeros and a bare point
        while (buf[n - 1] == '0')
            n--;
        if (buf[n - 1] == '.')
            n--;
    }
    if (style == 'e') {
        int x = d.n ? d.dexp - 1 : 0;
        buf[n++] = upper ? 'E' : 'e';
        buf[n++] = x < 0 ? '-' : '+';
        if (x < 0)
            x = -x;
        if (x >= 100)
            buf[n++] = '0' + x / 100;
        buf[n++] = '0' + x / 10 % 10;
        buf[n++] = '0' + x % 10;
    }
    field(o, &sp, prefix, plen, 0, buf, n, 1);
}

// %a: hexadecimal mantissa and binary exponent, e.g. 0x1.8p+1. The precision
// is ignored (all significant hex digits are printed).
static void fmt_hexfloat(struct out *o, const struct spec *sp, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int upper = sp->conv == 'A';
    const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char prefix[3], buf[32];
    int plen = 0, n = 0;
    if (bits >> 63)
        prefix[plen++] = '-';
    else if (sp->flags & (F_PLUS | F_SPACE))
        prefix[plen++] = sp->flags & F_PLUS ? '+' : ' ';
    prefix[plen++] = '0';
    prefix[plen++] = upper ? 'X' : 'x';
    int bexp = (bits >> 52) & 0x7ff;
    uint64_t mant = bits & ((1ull << 52) - 1);
    int e = bexp == 0 ? (mant ? -1022 : 0) : bexp - 1023;
    buf[n++] = bexp ? '1' : '0';
    if (mant || (sp->flags & F_ALT))
        buf[n++] = '.';
    for (int shift = 48; mant && shift >= 0; shift -= 4) {
        buf[n++] = hex[(mant >> shift) & 15];
        mant &= (1ull << shift) - 1;
    }
    buf[n++] = upper ? 'P' : 'p';
    buf[n++] = e < 0 ? '-' : '+';
    char tmp[8];
    int t = 0;
    for (unsigned x = e < 0 ? -e : e; t == 0 || x; x /= 10)
        tmp[t++] = '0' + x % 10;
    while (t)
        buf[n++] = tmp[--t];
    field(o, sp, prefix, plen, 0, buf, n, 1);
}

static uintmax_t arg_unsigned(int len, va_list *ap)
{
    switch (len) {
    case L_HH: return (unsigned char)va_arg(*ap, unsigned);
    case L_H:  return (unsigned short)va_arg(*ap, unsigned);
    case L_L:  return va_arg(*ap, unsigned long);
    case L_LL: return va_arg(*ap, unsigned long long);
    case L_Z:  return va_arg(*ap, size_t);
    case L_J:  return va_arg(*ap, uintmax_t);
    case L_T:  return va_arg(*ap, ptrdiff_t);
    default:   return va_arg(*ap, unsigned);
    }
}

static intmax_t arg_signed(int len, va_list *ap)
{
    switch (len) {
    case L_HH: return (signed char)va_arg(*ap, int);
    case L_H:  return (short)va_arg(*ap, int);
    case L_L:  return va_arg(*ap, long);
    case L_LL: return va_arg(*ap, long long);
    case L_Z:  return va_arg(*ap, long);   // ssize_t
    case L_J:  return va_arg(*ap, intmax_t);
    case L_T:  return va_arg(*ap, ptrdiff_t);
    default:   return va_arg(*ap, int);
    }
}

static void store_count(int len, va_list *ap, size_t count)
{
    switch (len) {
    case L_HH: *va_arg(*ap, signed char *) = count; break;
    case L_H:  *va_arg(*ap, short *) = count; break;
    case L_L: case L_Z: case L_T: case L_J:
               *va_arg(*ap, long *) = count; break;
    case L_LL: *va_arg(*ap, long long *) = count; break;
    default:   *va_arg(*ap, int *) = count; break;
    }
}

// Parses flags, width, precision and length; returns the conversion char's
// position. '*' arguments are fetched from ap.
static const char *parse_spec(const char *p, struct spec *sp, va_list *ap)
{
    sp->flags = 0;
    for (;; p++) {
        int f = *p == '-' ? F_MINUS : *p == '+' ? F_PLUS : *p == ' ' ? F_SPACE
              : *p == '0' ? F_ZERO : *p == '#' ? F_ALT : 0;
        if (!f)
            break;
        sp->flags |= f;
    }
    sp->width = 0;
    if (*p == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) {
            sp->flags |= F_MINUS;
            sp->width = -sp->width;
        }
        p++;
    }
    for (; *p >= '0' && *p <= '9'; p++)
        sp->width = sp->width * 10 + (*p - '0');
    sp->prec = -1;
    if (*p == '.') {
        p++;
        sp->prec = 0;
        if (*p == '*') {
            sp->prec = va_arg(*ap, int);   // negative: as if omitted
            if (sp->prec < 0)
                sp->prec = -1;
            p++;
        }
        for (; *p >= '0' && *p <= '9'; p++)
            sp->prec = sp->prec * 10 + (*p - '0');
    }
    sp->len = L_NONE;
    switch (*p) {
    case 'h': sp->len = p[1] == 'h' ? (p++, L_HH) : L_H; p++; break;
    case 'l': sp->len = p[1] == 'l' ? (p++, L_LL) : L_L; p++; break;
    case 'q': sp->len = L_LL; p++; break;
    case 'z': sp->len = L_Z; p++; break;
    case 'j': sp->len = L_J; p++; break;
    case 't': sp->len = L_T; p++; break;
    case 'L': sp->len = L_BIGL; p++; break;
    }
    sp->conv = *p;
    return p;
}

static void fmt_string(struct out *o, const struct spec *sp, const char *s)
{
    if (!s)   // glibc prints "(null)", or nothing if the precision cuts it
        s = sp->prec < 0 || sp->prec >= 6 ? "(null)" : "";
    int n = sp->prec < 0 ? (int)strlen(s) : (int)strnlen(s, sp->prec);
    field(o, sp, "", 0, 0, s, n, 0);
}

// One conversion. Returns 0 for an unknown conversion character.
static int convert(struct out *o, struct spec *sp, va_list *ap)
{
    switch (sp->conv) {
    case 'd': case 'i': {
        intmax_t v = arg_signed(sp->len, ap);
        fmt_int(o, sp, v < 0 ? -(uintmax_t)v : (uintmax_t)v, v < 0);
        return 1;
    }
    case 'u': case 'o': case 'x': case 'X':
        fmt_int(o, sp, arg_unsigned(sp->len, ap), 0);
        return 1;
    case 'p': {
        void *p = va_arg(*ap, void *);
        if (!p) {
            struct spec s2 = *sp;
            s2.prec = -1;
            fmt_string(o, &s2, "(nil)");
        } else {
            sp->flags |= F_ALT;
            fmt_int(o, sp, (uintptr_t)p, 0);
        }
        return 1;
    }
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A': {
        double v = sp->len == L_BIGL ? (double)va_arg(*ap, long double) : va_arg(*ap, double);
        if ((sp->conv | 32) == 'a' && v == v && v - v == 0)
            fmt_hexfloat(o, sp, v);
        else
            fmt_float(o, *sp, v);
        return 1;
    }
    case 'c': {
        char c = (char)va_arg(*ap, int);
        field(o, sp, "", 0, 0, &c, 1, 0);
        return 1;
    }
    case 's':
        fmt_string(o, sp, va_arg(*ap, const char *));
        return 1;
    case 'm':   // glibc extension: the message for errno
        fmt_string(o, sp, strerror(errno));
        return 1;
    case 'n':
        store_count(sp->len, ap, o->count);
        return 1;
    case '%':
        emit(o, "%", 1);
        return 1;
    }
    return 0;
}

int __libc_vformat(__libc_sink sink, void *ctx, const char *fmt, va_list ap)
{
    struct out o = { sink, ctx, 0 };
    va_list args;
    va_copy(args, ap);
    const char *p = fmt;
    while (*p) {
        const char *lit = p;
        while (*p && *p != '%')
            p++;
        emit(&o, lit, p - lit);
        if (!*p)
            break;
        const char *start = p;
        struct spec sp;
        p = parse_spec(p + 1, &sp, &args);
        if (!*p)                      // format ends inside a conversion:
            break;                    // glibc prints nothing of it
        if (!convert(&o, &sp, &args))
            emit(&o, start, p + 1 - start);   // unknown: print it as written
        p++;
    }
    va_end(args);
    return o.count > INT32_MAX ? -1 : (int)o.count;
}
