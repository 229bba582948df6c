// SPDX-License-Identifier: MIT
// Memory and C-string functions. The mem* primitives use rep movsb/stosb:
// simple, fast on modern CPUs, and the compiler cannot turn them back into
// calls to themselves (it may do that with a plain byte loop at -O2).
#include <string.h>
#include <strings.h>
#include <stdint.h>
#include <stdlib.h>
#include <ctype.h>

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *mempcpy(void *dst, const void *src, size_t n)
{
    return (char *)memcpy(dst, src, n) + n;
}

void *memmove(void *dst, const void *src, size_t n)
{
    if ((uintptr_t)dst - (uintptr_t)src >= n)   // no harmful overlap: copy forward
        return memcpy(dst, src, n);
    // dst lies inside [src, src+n): copy backwards. Not with "std; rep movsb":
    // an interrupt taken with DF set would run the kernel's handlers backwards.
    // The empty asm keeps gcc from turning this loop into a memmove call.
    char *d = dst;
    const char *s = src;
    while (n--) {
        d[n] = s[n];
        __asm__ volatile("" ::: "memory");
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

void bzero(void *p, size_t n)
{
    memset(p, 0, n);
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < n; i++)
        if (p[i] == (unsigned char)c)
            return (void *)(p + i);
    return NULL;
}

void *memrchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    while (n--)
        if (p[n] == (unsigned char)c)
            return (void *)(p + n);
    return NULL;
}

void *memmem(const void *hay, size_t hn, const void *needle, size_t nn)
{
    const char *h = hay;
    if (nn == 0)
        return (void *)h;
    for (size_t i = 0; i + nn <= hn; i++)
        if (h[i] == *(const char *)needle && memcmp(h + i, needle, nn) == 0)
            return (void *)(h + i);
    return NULL;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return p - s;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

char *stpcpy(char *dst, const char *src)
{
    while ((*dst = *src++))
        dst++;
    return dst;
}

char *strcpy(char *dst, const char *src)
{
    stpcpy(dst, src);
    return dst;
}

char *stpncpy(char *dst, const char *src, size_t n)
{
    size_t k = strnlen(src, n);
    memcpy(dst, src, k);
    memset(dst + k, 0, n - k);
    return dst + k;
}

char *strncpy(char *dst, const char *src, size_t n)
{
    stpncpy(dst, src, n);
    return dst;
}

size_t strlcpy(char *dst, const char *src, size_t n)
{
    size_t len = strlen(src);
    if (n) {
        size_t k = len < n - 1 ? len : n - 1;
        memcpy(dst, src, k);
        dst[k] = 0;
    }
    return len;
}

size_t strlcat(char *dst, const char *src, size_t n)
{
    size_t d = strnlen(dst, n);
    if (d == n)
        return n + strlen(src);
    return d + strlcpy(dst + d, src, n - d);
}

char *strcat(char *dst, const char *src)
{
    strcpy(dst + strlen(dst), src);
    return dst;
}

char *strncat(char *dst, const char *src, size_t n)
{
    char *d = dst + strlen(dst);
    size_t k = strnlen(src, n);
    memcpy(d, src, k);
    d[k] = 0;
    return dst;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++)
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    return 0;
}

int strcoll(const char *a, const char *b)
{
    return strcmp(a, b);   // "C" locale only
}

int strcasecmp(const char *a, const char *b)
{
    while (*a && tolower((unsigned char)*a) == tolower((unsigned char)*b))
        a++, b++;
    return tolower((unsigned char)*a) - tolower((unsigned char)*b);
}

int strncasecmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        int x = tolower((unsigned char)*a), y = tolower((unsigned char)*b);
        if (x != y || !x)
            return x - y;
    }
    return 0;
}

char *strchrnul(const char *s, int c)
{
    while (*s && *s != (char)c)
        s++;
    return (char *)s;
}

char *strchr(const char *s, int c)
{
    s = strchrnul(s, c);
    return *s == (char)c ? (char *)s : NULL;
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;
    do {
        if (*s == (char)c)
            last = s;
    } while (*s++);
    return (char *)last;
}

char *strstr(const char *hay, const char *needle)
{
    return memmem(hay, strlen(hay), needle, strlen(needle));
}

char *strcasestr(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return (char *)hay;
    return n == 0 ? (char *)hay : NULL;
}

size_t strspn(const char *s, const char *accept)
{
    size_t n = 0;
    while (s[n] && strchr(accept, s[n]))
        n++;
    return n;
}

size_t strcspn(const char *s, const char *reject)
{
    size_t n = 0;
    while (s[n] && !strchr(reject, s[n]))
        n++;
    return n;
}

char *strpbrk(const char *s, const char *accept)
{
    s += strcspn(s, accept);
    return *s ? (char *)s : NULL;
}

char *strtok_r(char *s, const char *delim, char **save)
{
    if (!s)
        s = *save;
    s += strspn(s, delim);
    if (!*s) {
        *save = s;
        return NULL;
    }
    char *end = s + strcspn(s, delim);
    if (*end)
        *end++ = 0;
    *save = end;
    return s;
}

char *strtok(char *s, const char *delim)
{
    static char *save;   // not thread-safe, as POSIX allows; use strtok_r
    return strtok_r(s, delim, &save);
}

char *strsep(char **sp, const char *delim)
{
    char *s = *sp;
    if (!s)
        return NULL;
    char *end = s + strcspn(s, delim);
    if (*end)
        *end++ = 0, *sp = end;
    else
        *sp = NULL;
    return s;
}

char *strndup(const char *s, size_t n)
{
    size_t k = strnlen(s, n);
    char *p = malloc(k + 1);
    if (p) {
        memcpy(p, s, k);
        p[k] = 0;
    }
    return p;
}

char *strdup(const char *s)
{
    return strndup(s, (size_t)-1);
}

int ffs(int x)
{
    return x ? __builtin_ctz((unsigned)x) + 1 : 0;
}
