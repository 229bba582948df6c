// SPDX-License-Identifier: MIT
// String to floating point. Simple rather than perfect: up to 19 significant
// digits are kept and scaled in long double, so results can be off by one
// ulp in rare cases (glibc rounds exactly). Handles inf/nan and hex floats.
#include <stdlib.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <stdint.h>
#include <strings.h>

static int match(const char *p, const char *word)
{
    return strncasecmp(p, word, __builtin_strlen(word)) == 0;
}

static long double pow10l_(int e)
{
    long double r = 1, b = 10;
    for (unsigned n = e < 0 ? -e : e; n; n >>= 1, b *= b)
        if (n & 1)
            r *= b;
    return e < 0 ? 1 / r : r;
}

static long double pow2l_(int e)
{
    long double r = 1, b = 2;
    for (unsigned n = e < 0 ? -e : e; n; n >>= 1, b *= b)
        if (n & 1)
            r *= b;
    return e < 0 ? 1 / r : r;
}

// Reads an optional exponent ("e-12" or "p+3"); p is left past it.
static int exponent(const char **pp, int marker)
{
    const char *p = *pp;
    if ((*p | 32) != marker)
        return 0;
    p++;
    int neg = 0, e = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!isdigit((unsigned char)*p))
        return 0;   // "1e" or "1e+": the exponent is not part of the number
    for (; isdigit((unsigned char)*p); p++)
        if (e < 100000)
            e = e * 10 + (*p - '0');
    *pp = p;
    return neg ? -e : e;
}

// Mantissa digits in base 10 or 16. Returns the number of digits seen.
static int mantissa(const char **pp, int base, uint64_t *m, int *scale)
{
    const char *p = *pp;
    int ndigits = 0, seen_point = 0;
    *m = 0;
    *scale = 0;
    for (;; p++) {
        int c = (unsigned char)*p, d;
        if (c == '.' && !seen_point) {
            seen_point = 1;
            continue;
        }
        if (isdigit(c))
            d = c - '0';
        else if (base == 16 && isxdigit(c))
            d = (c | 32) - 'a' + 10;
        else
            break;
        ndigits++;
        if (*m < (UINT64_MAX - 15) / base) {
            *m = *m * base + d;
            *scale -= seen_point;        // digit after the point
        } else {
            *scale += !seen_point;       // digit dropped before the point
        }
    }
    *pp = p;
    return ndigits;
}

double strtod(const char *s, char **end)
{
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    long double v;
    if (match(p, "infinity") || match(p, "inf")) {
        p += match(p, "infinity") ? 8 : 3;
        v = __builtin_inf();
    } else if (match(p, "nan")) {
        p += 3;
        v = __builtin_nan("");
    } else {
        int hex = p[0] == '0' && (p[1] | 32) == 'x' && (isxdigit((unsigned char)p[2]) || (p[2] == '.' && isxdigit((unsigned char)p[3])));
        const char *q = p + (hex ? 2 : 0);
        uint64_t m;
        int scale;
        if (mantissa(&q, hex ? 16 : 10, &m, &scale) == 0) {
            if (end)
                *end = (char *)s;
            return 0;
        }
        int e = exponent(&q, hex ? 'p' : 'e');
        if (m == 0)
            v = 0;   // and not 0 * inf for "0e99999"
        else
            v = m * (hex ? pow2l_(4 * scale + e) : pow10l_(scale + e));
        p = q;
        if (v > DBL_MAX || (v != 0 && v < DBL_MIN))
            errno = ERANGE;
    }
    if (end)
        *end = (char *)p;
    return neg ? -(double)v : (double)v;
}

float strtof(const char *s, char **end) { return (float)strtod(s, end); }
long double strtold(const char *s, char **end) { return strtod(s, end); }
double atof(const char *s) { return strtod(s, NULL); }
