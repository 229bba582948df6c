// SPDX-License-Identifier: MIT
// String to integer conversions: the strto* family and ato*. Out-of-range
// values saturate and set ERANGE, as POSIX says.
#include <stdlib.h>
#include <inttypes.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>

static int digit_value(int c)
{
    if (isdigit(c))
        return c - '0';
    if (isalpha(c))
        return (c | 32) - 'a' + 10;
    return 99;
}

// Parses [space][sign][prefix]digits. Returns the magnitude (saturated at
// ULLONG_MAX, *overflow set), *neg for a minus sign. *end gets the first
// unparsed character, or s itself when there were no digits.
static unsigned long long scan(const char *s, char **end, int base, int *neg, int *overflow)
{
    const char *p = s;
    unsigned long long v = 0;
    *neg = *overflow = 0;
    if (base < 0 || base == 1 || base > 36) {
        errno = EINVAL;
        if (end)
            *end = (char *)s;
        return 0;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '+' || *p == '-')
        *neg = *p++ == '-';
    // "0x" counts as a prefix only when a hex digit follows it.
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 32) == 'x' && digit_value((unsigned char)p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = *p == '0' ? 8 : 10;
    }
    const char *digits = p;
    for (int d; (d = digit_value((unsigned char)*p)) < base; p++) {
        if (v > (ULLONG_MAX - d) / base)
            *overflow = 1;
        v = *overflow ? ULLONG_MAX : v * base + d;
    }
    if (end)
        *end = (char *)(p == digits ? s : p);
    return v;
}

unsigned long long strtoull(const char *s, char **end, int base)
{
    int neg, overflow;
    unsigned long long v = scan(s, end, base, &neg, &overflow);
    if (overflow) {
        errno = ERANGE;
        return ULLONG_MAX;
    }
    return neg ? -v : v;
}

long long strtoll(const char *s, char **end, int base)
{
    int neg, overflow;
    unsigned long long v = scan(s, end, base, &neg, &overflow);
    if (!neg && (overflow || v > (unsigned long long)LLONG_MAX)) {
        errno = ERANGE;
        return LLONG_MAX;
    }
    if (neg && (overflow || v > (unsigned long long)LLONG_MAX + 1)) {
        errno = ERANGE;
        return LLONG_MIN;
    }
    return neg ? (long long)(0 - v) : (long long)v;
}

// long is 64-bit here, so the long versions are the long long ones.
unsigned long strtoul(const char *s, char **end, int base) { return strtoull(s, end, base); }
long strtol(const char *s, char **end, int base) { return strtoll(s, end, base); }
intmax_t strtoimax(const char *s, char **end, int base) { return strtoll(s, end, base); }
uintmax_t strtoumax(const char *s, char **end, int base) { return strtoull(s, end, base); }

int atoi(const char *s) { return (int)strtol(s, NULL, 10); }
long atol(const char *s) { return strtol(s, NULL, 10); }
long long atoll(const char *s) { return strtoll(s, NULL, 10); }
