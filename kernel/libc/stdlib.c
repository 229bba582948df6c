// SPDX-License-Identifier: MIT
// Small stdlib pieces: abs/div, and rand with glibc's exact algorithm (the
// additive feedback generator) so a seeded app prints the same numbers here
// as on Linux.
#include <stdlib.h>
#include <inttypes.h>
#include <stdint.h>
#include <sync.h>

int abs(int x) { return x < 0 ? -x : x; }
long labs(long x) { return x < 0 ? -x : x; }
long long llabs(long long x) { return x < 0 ? -x : x; }
intmax_t imaxabs(intmax_t x) { return x < 0 ? -x : x; }
div_t div(int n, int d) { return (div_t){ n / d, n % d }; }
ldiv_t ldiv(long n, long d) { return (ldiv_t){ n / d, n % d }; }
lldiv_t lldiv(long long n, long long d) { return (lldiv_t){ n / d, n % d }; }
imaxdiv_t imaxdiv(intmax_t n, intmax_t d) { return (imaxdiv_t){ n / d, n % d }; }

// glibc's TYPE_3 generator: r[i] = r[i-3] + r[i-31], output r[i] >> 1.
// We keep the last 34 values in a ring.
static int32_t ring[34];
static unsigned pos;
static int seeded;
static struct kmutex rand_lock;

static int32_t next(void)
{
    int32_t v = (int32_t)((uint32_t)ring[(pos + 34 - 31) % 34] + (uint32_t)ring[(pos + 34 - 3) % 34]);
    ring[pos] = v;
    pos = (pos + 1) % 34;
    return (int32_t)((uint32_t)v >> 1);
}

static void seed_locked(unsigned seed)
{
    int32_t r[34];
    r[0] = seed ? (int32_t)seed : 1;
    for (int i = 1; i < 31; i++) {
        // 16807 * r[i-1] % (2^31 - 1) without overflow (Schrage's method).
        long hi = r[i - 1] / 127773, lo = r[i - 1] % 127773;
        long w = 16807 * lo - 2836 * hi;
        r[i] = w < 0 ? w + 2147483647 : w;
    }
    for (int i = 31; i < 34; i++)
        r[i] = r[i - 31];
    for (int i = 0; i < 34; i++)
        ring[i] = r[i];
    pos = 0;
    for (int i = 34; i < 344; i++)   // glibc discards the first 310 outputs
        next();
    seeded = 1;
}

void srand(unsigned seed)
{
    kmutex_lock(&rand_lock);
    seed_locked(seed);
    kmutex_unlock(&rand_lock);
}

int rand(void)
{
    kmutex_lock(&rand_lock);
    if (!seeded)
        seed_locked(1);
    int v = next();
    kmutex_unlock(&rand_lock);
    return v;
}

// glibc's rand_r: three rounds of an LCG, 11 + 10 + 10 bits.
int rand_r(unsigned *seed)
{
    unsigned next = *seed;
    int result;
    next = next * 1103515245 + 12345;
    result = (next / 65536) % 2048;
    next = next * 1103515245 + 12345;
    result = (result << 10) ^ ((next / 65536) % 1024);
    next = next * 1103515245 + 12345;
    result = (result << 10) ^ ((next / 65536) % 1024);
    *seed = next;
    return result;
}
