// SPDX-License-Identifier: MIT
// Exact decimal expansion of doubles for printf's %f %e %g. A double is
// m * 2^e exactly, so its decimal digits are those of m * 2^e (e >= 0) or of
// m * 5^-e (e < 0, point moved -e places): big-integer arithmetic gives every
// digit, and rounding then matches glibc (round half to even on the exact value).
#include <stdint.h>
#include <string.h>
#include "format.h"

#define BASE 1000000000u   // limbs hold 9 decimal digits
#define NLIMBS 96          // 5^1074 * 2^53 has 767 digits

struct big {
    uint32_t limb[NLIMBS];   // little-endian, base 1e9
    int n;
};

static void big_mul(struct big *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t x = (uint64_t)b->limb[i] * m + carry;
        b->limb[i] = x % BASE;
        carry = x / BASE;
    }
    while (carry) {
        b->limb[b->n++] = carry % BASE;
        carry /= BASE;
    }
}

// Multiplies by base^k, in steps of base^step (each small enough that
// limb * base^step + carry fits in 64 bits).
static void big_mul_pow(struct big *b, uint32_t base, uint32_t base_step, int step, int k)
{
    for (; k >= step; k -= step)
        big_mul(b, base_step);
    uint32_t rest = 1;
    while (k-- > 0)
        rest *= base;
    big_mul(b, rest);
}

// Writes the decimal digits of b (no leading zeros) to out; returns the count.
static int big_digits(const struct big *b, char *out)
{
    int len = 0;
    for (int i = b->n - 1; i >= 0; i--) {
        char tmp[9];
        uint32_t x = b->limb[i];
        for (int j = 8; j >= 0; j--, x /= 10)
            tmp[j] = '0' + x % 10;
        int skip = 0;
        if (i == b->n - 1)   // the top limb: drop its leading zeros
            while (skip < 8 && tmp[skip] == '0')
                skip++;
        memcpy(out + len, tmp + skip, 9 - skip);
        len += 9 - skip;
    }
    return len;
}

// v must be finite and >= 0.
void __libc_decimal(double v, struct __libc_dec *d)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int bexp = (bits >> 52) & 0x7ff;
    uint64_t mant = bits & ((1ull << 52) - 1);
    if (bexp == 0 && mant == 0) {
        d->n = 0;
        d->dexp = 0;
        return;
    }
    int e;
    if (bexp == 0) {
        e = -1074;            // subnormal
    } else {
        mant |= 1ull << 52;
        e = bexp - 1075;
    }
    struct big b = { { mant % BASE, (mant / BASE) % BASE, mant / BASE / BASE }, 3 };
    while (b.n > 1 && b.limb[b.n - 1] == 0)
        b.n--;
    if (e >= 0)
        big_mul_pow(&b, 2, 1u << 29, 29, e);
    else
        big_mul_pow(&b, 5, 1220703125u, 13, -e);   // 5^13
    d->n = big_digits(&b, d->d);
    d->dexp = d->n - (e < 0 ? -e : 0);
    while (d->n > 0 && d->d[d->n - 1] == '0')
        d->n--;
}

// Keeps the first `keep` digits, rounding half to even on the exact value.
// Trailing zeros are dropped; n == 0 afterwards means the value rounded to 0.
void __libc_decimal_round(struct __libc_dec *d, int keep)
{
    if (keep >= d->n)
        return;
    if (keep < 0) {
        d->n = 0;
        return;
    }
    char next = d->d[keep];
    int up;
    if (next != '5')
        up = next > '5';
    else if (d->n > keep + 1)
        up = 1;                               // above the half
    else
        up = keep > 0 && (d->d[keep - 1] - '0') % 2;   // a tie: to even
    d->n = keep;
    if (up) {
        int i = keep - 1;
        while (i >= 0 && d->d[i] == '9')
            i--;
        if (i < 0) {               // 999 -> 1000: one more integer digit
            d->d[0] = '1';
            d->n = 1;
            d->dexp++;
        } else {
            d->d[i]++;
            d->n = i + 1;
        }
    }
    while (d->n > 0 && d->d[d->n - 1] == '0')
        d->n--;
}
