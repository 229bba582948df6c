// SPDX-License-Identifier: MIT
// sscanf/vsscanf over a string: integers (d i u o x), floats (f e g a),
// strings (s c [set]), %n, '*' and widths. No wide characters.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <stdint.h>
#include <errno.h>

enum { L_NONE, L_HH, L_H, L_L, L_LL };

static void store_int(void *p, int len, unsigned long long v)
{
    switch (len) {
    case L_HH: *(char *)p = v; break;
    case L_H:  *(short *)p = v; break;
    case L_L:  *(long *)p = v; break;
    case L_LL: *(long long *)p = v; break;
    default:   *(int *)p = v; break;
    }
}

// Copies at most width characters of s (0: no limit) into tmp, so the strto*
// functions cannot read past the field.
static const char *field(const char *s, int width, char *tmp, size_t size)
{
    if (!width)
        return s;
    size_t n = (size_t)width < size - 1 ? (size_t)width : size - 1;
    n = strnlen(s, n);
    memcpy(tmp, s, n);
    tmp[n] = 0;
    return tmp;
}

// Does c belong to the scanset [set]? set points after '[' and ends at ']'.
static int in_set(const char *set, const char *end, int c)
{
    int negate = *set == '^';
    set += negate;
    int found = 0;
    for (const char *p = set; p < end && !found; p++) {
        if (p[1] == '-' && p + 2 < end && p != set) {   // a range a-z
            found = c >= (unsigned char)p[0] && c <= (unsigned char)p[2];
            p += 2;
        } else {
            found = c == (unsigned char)*p;
        }
    }
    return found != negate;
}

int vsscanf(const char *s, const char *fmt, va_list ap)
{
    const char *start = s;
    int assigned = 0, converted = 0;
    while (*fmt) {
        if (isspace((unsigned char)*fmt)) {
            while (isspace((unsigned char)*s))
                s++;
            fmt++;
            continue;
        }
        if (*fmt != '%' || fmt[1] == '%') {
            if (*fmt == '%')
                fmt++, s += strspn(s, " \t\n\v\f\r");
            if (*s != *fmt)
                break;
            s++, fmt++;
            continue;
        }
        fmt++;
        int skip = *fmt == '*';
        fmt += skip;
        int width = 0, len = L_NONE;
        while (isdigit((unsigned char)*fmt))
            width = width * 10 + (*fmt++ - '0');
        if (*fmt == 'h')
            len = fmt[1] == 'h' ? (fmt++, L_HH) : L_H, fmt++;
        else if (*fmt == 'l')
            len = fmt[1] == 'l' ? (fmt++, L_LL) : L_L, fmt++;
        else if (*fmt == 'L' || *fmt == 'q' || *fmt == 'j' || *fmt == 'z' || *fmt == 't')
            len = *fmt == 'L' || *fmt == 'q' ? L_LL : L_L, fmt++;
        char conv = *fmt++;
        if (conv == 'n') {
            if (!skip)
                store_int(va_arg(ap, void *), len, s - start);
            continue;
        }
        if (conv != 'c' && conv != '[')
            while (isspace((unsigned char)*s))
                s++;
        if (!*s)
            return converted ? assigned : EOF;
        char tmp[128];
        char *end;
        switch (conv) {
        case 'd': case 'i': case 'u': case 'o': case 'x': case 'X': case 'p': {
            int base = conv == 'd' || conv == 'u' ? 10 : conv == 'i' ? 0 : conv == 'o' ? 8 : 16;
            const char *f = field(s, width, tmp, sizeof tmp);
            int saved = errno;
            unsigned long long v = conv == 'd' || conv == 'i' ? (unsigned long long)strtoll(f, &end, base)
                                                             : strtoull(f, &end, base);
            errno = saved;
            if (end == f)
                return assigned;
            s += end - f;
            if (!skip) {
                if (conv == 'p')
                    *va_arg(ap, void **) = (void *)(uintptr_t)v;
                else
                    store_int(va_arg(ap, void *), len, v);
            }
            break;
        }
        case 'f': case 'e': case 'g': case 'a': case 'E': case 'G': case 'F': case 'A': {
            const char *f = field(s, width, tmp, sizeof tmp);
            double v = strtod(f, &end);
            if (end == f)
                return assigned;
            s += end - f;
            if (!skip) {
                if (len == L_L)
                    *va_arg(ap, double *) = v;
                else if (len == L_LL)
                    *va_arg(ap, long double *) = v;
                else
                    *va_arg(ap, float *) = (float)v;
            }
            break;
        }
        case 'c': {
            int n = width ? width : 1;
            if ((int)strnlen(s, n) < n)
                return assigned;
            if (!skip)
                memcpy(va_arg(ap, char *), s, n);
            s += n;
            break;
        }
        case 's': case '[': {
            const char *set = fmt, *set_end = NULL;
            if (conv == '[') {
                set_end = fmt + (*fmt == '^') + (fmt[*fmt == '^'] == ']');   // "[]" and "[^]" include ']'
                set_end = strchr(set_end, ']');
                if (!set_end)
                    return assigned;
                fmt = set_end + 1;
            }
            char *out = skip ? NULL : va_arg(ap, char *);
            int n = 0;
            while (s[n] && (!width || n < width) &&
                   (conv == 's' ? !isspace((unsigned char)s[n]) : in_set(set, set_end, (unsigned char)s[n])))
                n++;
            if (n == 0)
                return assigned;
            if (out) {
                memcpy(out, s, n);
                out[n] = 0;
            }
            s += n;
            break;
        }
        default:
            return assigned;
        }
        converted++;
        assigned += !skip;
    }
    return assigned;
}

int sscanf(const char *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsscanf(s, fmt, ap);
    va_end(ap);
    return r;
}
