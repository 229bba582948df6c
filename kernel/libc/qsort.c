// SPDX-License-Identifier: MIT
// qsort (quicksort: median of three, insertion sort for short runs, recursion
// only into the smaller half so the stack stays O(log n)) and bsearch.
// Not stable, like the C standard allows; glibc's is usually a merge sort, so
// equal elements may come out in another order.
#include <stdlib.h>
#include <stddef.h>

typedef int (*cmp_fn)(const void *, const void *);

static void swap(char *a, char *b, size_t size)
{
    while (size--) {
        char t = *a;
        *a++ = *b;
        *b++ = t;
    }
}

static void insertion(char *base, size_t n, size_t size, cmp_fn cmp)
{
    for (size_t i = 1; i < n; i++)
        for (char *p = base + i * size; p > base && cmp(p - size, p) > 0; p -= size)
            swap(p - size, p, size);
}

// Moves the median of first, middle and last to the front as the pivot.
static void pick_pivot(char *base, size_t n, size_t size, cmp_fn cmp)
{
    char *a = base, *b = base + (n / 2) * size, *c = base + (n - 1) * size;
    if (cmp(a, b) > 0)
        swap(a, b, size);
    if (cmp(b, c) > 0)
        swap(b, c, size);
    if (cmp(a, b) > 0)
        swap(a, b, size);
    swap(base, b, size);
}

void qsort(void *v, size_t n, size_t size, cmp_fn cmp)
{
    char *base = v;
    while (n > 12) {
        pick_pivot(base, n, size, cmp);
        // Hoare partition around base[0].
        size_t i = 0, j = n;
        for (;;) {
            do i++; while (i < n && cmp(base + i * size, base) < 0);
            do j--; while (cmp(base + j * size, base) > 0);
            if (i >= j)
                break;
            swap(base + i * size, base + j * size, size);
        }
        swap(base, base + j * size, size);
        // Now [0, j) <= pivot == base[j] <= (j, n).
        size_t left = j, right = n - j - 1;
        if (left < right) {
            qsort(base, left, size, cmp);
            base += (j + 1) * size;
            n = right;
        } else {
            qsort(base + (j + 1) * size, right, size, cmp);
            n = left;
        }
    }
    insertion(base, n, size, cmp);
}

void *bsearch(const void *key, const void *v, size_t n, size_t size, cmp_fn cmp)
{
    const char *base = v;
    while (n > 0) {
        const char *mid = base + (n / 2) * size;
        int c = cmp(key, mid);
        if (c == 0)
            return (void *)mid;
        if (c > 0) {
            base = mid + size;
            n -= n / 2 + 1;
        } else {
            n /= 2;
        }
    }
    return NULL;
}
