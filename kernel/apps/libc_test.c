// SPDX-License-Identifier: MIT
// Self-test of the C library surface apps rely on. Every expectation is what
// glibc does, so the Linux build of this file must pass too. Prints one line
// per failed check, then SUCCESS (exit 0) or FAILURE (exit 1).
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failures, checks;

static void fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL line %d: ", line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    failures++;
}

#define CHECK(cond) \
    do { checks++; if (!(cond)) fail(__LINE__, "%s", #cond); } while (0)

#define CHECK_STR(got, want) \
    do { const char *g_ = (got), *w_ = (want); checks++; \
         if (!g_ || strcmp(g_, w_)) fail(__LINE__, "got \"%s\", want \"%s\"", g_ ? g_ : "(null)", w_); } while (0)

// snprintf into a buffer and compare with what glibc prints.
#define FMT(want, ...) \
    do { char b_[256]; int n_ = snprintf(b_, sizeof b_, __VA_ARGS__); checks++; \
         if (strcmp(b_, want) || n_ != (int)strlen(want)) \
             fail(__LINE__, "%s: got \"%s\" (%d), want \"%s\"", #__VA_ARGS__, b_, n_, want); } while (0)

static void test_printf_integers(void)
{
    FMT("42", "%d", 42);
    FMT("-42", "%i", -42);
    FMT("4294967295", "%u", 4294967295u);
    FMT("ff", "%x", 255);
    FMT("FF", "%X", 255);
    FMT("777", "%o", 511);
    FMT("%", "%%");
    FMT("-9223372036854775808", "%ld", LONG_MIN);
    FMT("9223372036854775807", "%lld", LLONG_MAX);
    FMT("18446744073709551615", "%lu", ULONG_MAX);
    FMT("18446744073709551615", "%llu", ULLONG_MAX);
    FMT("123456789012", "%zu", (size_t)123456789012ull);
    FMT("-5", "%zd", (ssize_t)-5);
    FMT("-56", "%hhd", 200);
    FMT("200", "%hhu", 200);
    FMT("-1", "%hd", 65535);
    FMT("   42", "%5d", 42);
    FMT("42   |", "%-5d|", 42);
    FMT("00042", "%05d", 42);
    FMT("-0042", "%05d", -42);
    FMT("+42", "%+d", 42);
    FMT(" 42", "% d", 42);
    FMT("+0", "%+d", 0);
    FMT("00042", "%.5d", 42);
    FMT("  00042", "%7.5d", 42);
    FMT("", "%.0d", 0);
    FMT("0x2a", "%#x", 42);
    FMT("0X2A", "%#X", 42);
    FMT("0", "%#x", 0);
    FMT("052", "%#o", 42);
    FMT("0", "%#o", 0);
    FMT("0x00002a", "%#08x", 42);
    FMT("   42", "%*d", 5, 42);
    FMT("42   |", "%*d|", -5, 42);
    FMT("042", "%.*d", 3, 42);
    FMT("0x1234", "%p", (void *)0x1234);
    FMT("(nil)", "%p", NULL);
    FMT("    0x1234", "%10p", (void *)0x1234);
}

// volatile: so gcc cannot see the NULL or the truncation at compile time
// and warn about them (apps build with -Werror).
static const char *volatile null_string;
static volatile size_t five = 5;

static void test_printf_strings(void)
{
    FMT("hello", "%s", "hello");
    FMT("     hello", "%10s", "hello");
    FMT("hello     |", "%-10s|", "hello");
    FMT("he", "%.2s", "hello");
    FMT("       hel", "%10.3s", "hello");
    FMT("(null)", "%s", null_string);
    FMT("x", "%c", 'x');
    FMT("    x", "%5c", 'x');
    FMT("x    |", "%-5c|", 'x');
    FMT("a1b2c", "%c%d%c%d%c", 'a', 1, 'b', 2, 'c');

    char small[5];
    int n = snprintf(small, five, "hello world");
    CHECK(n == 11);
    CHECK_STR(small, "hell");
    CHECK(snprintf(NULL, 0, "%d", 12345) == 5);
    char big[32];
    CHECK(sprintf(big, "%s-%d", "ab", 7) == 4);
    CHECK_STR(big, "ab-7");
}

static void test_printf_floats(void)
{
    FMT("3.14", "%.2f", 3.14159);
    FMT("3.141590", "%f", 3.14159);
    FMT("10000000000.000000", "%f", 1e10);
    FMT("-2.500000", "%f", -2.5);
    FMT("0", "%.0f", 0.5);           // ties go to even
    FMT("2", "%.0f", 1.5);
    FMT("2", "%.0f", 2.5);
    FMT("0.1", "%.1f", 0.05);        // 0.05 is really 0.05000000000000000277
    FMT("0.12", "%.2f", 0.125);
    FMT("1.000", "%.3f", 0.9995);    // 0.99950000000000005507
    FMT("0.000000", "%f", 1e-10);
    FMT("-0.000000", "%f", -0.0);
    FMT("nan", "%f", __builtin_nan(""));
    FMT("-nan", "%f", -__builtin_nan(""));
    FMT("inf", "%f", __builtin_inf());
    FMT("-inf", "%f", -__builtin_inf());
    FMT("INF", "%F", __builtin_inf());
    FMT("  inf", "%05f", __builtin_inf());
    FMT("   3.14", "%7.2f", 3.14159);
    FMT("3.14   |", "%-7.2f|", 3.14159);
    FMT("0003.14", "%07.2f", 3.14159);
    FMT("-003.14", "%07.2f", -3.14159);
    FMT("+3.14", "%+.2f", 3.14159);
    FMT(" 3.14", "% .2f", 3.14159);
    FMT("3.", "%#.0f", 3.0);
    FMT("3.1416", "%.*f", 4, 3.14159265);
    FMT("123456789012345680.000000", "%f", 123456789012345678.0);   // nearest double
    FMT("1.234568e+04", "%e", 12345.678);
    FMT("1.23E+04", "%.2E", 12345.678);
    FMT("0.000000e+00", "%e", 0.0);
    FMT("1e+100", "%.0e", 1e100);
    FMT("1.000000e-300", "%e", 1e-300);
    FMT("4.940656e-324", "%e", 4.9406564584124654e-324);
    FMT("1.797693e+308", "%e", 1.7976931348623157e308);
    FMT("0.0001", "%g", 0.0001);
    FMT("1e-05", "%g", 0.00001);
    FMT("1.23457e+08", "%g", 123456789.0);
    FMT("100000", "%g", 100000.0);
    FMT("1e+06", "%g", 1000000.0);
    FMT("3.14159", "%g", 3.14159);
    FMT("0.5", "%g", 0.5);
    FMT("0", "%g", 0.0);
    FMT("1.50000", "%#g", 1.5);
    FMT("1.2E-07", "%.2G", 1.23e-7);
    FMT("0.10000000000000001", "%.17g", 0.1);
    FMT("2.5", "%Lg", 2.5L);
    FMT("0x1p+0", "%a", 1.0);
}

static void test_strtol(void)
{
    char *end;
    errno = 0;
    CHECK(strtol("123", &end, 10) == 123 && *end == 0);
    CHECK(strtol("  -42abc", &end, 10) == -42 && *end == 'a');
    CHECK(strtol("+7", NULL, 10) == 7);
    CHECK(strtol("0x1f", &end, 0) == 31 && *end == 0);
    CHECK(strtol("017", &end, 0) == 15 && *end == 0);
    CHECK(strtol("0", &end, 0) == 0 && *end == 0);
    CHECK(strtol("19", &end, 0) == 19);
    CHECK(strtol("ff", NULL, 16) == 255);
    CHECK(strtol("0XFF", NULL, 16) == 255);
    CHECK(strtol("777", NULL, 8) == 511);
    CHECK(strtol("78", &end, 8) == 7 && *end == '8');
    CHECK(strtol("zz", NULL, 36) == 1295);
    CHECK(strtol("1010", NULL, 2) == 10);
    const char *s = "0x";
    CHECK(strtol(s, &end, 16) == 0 && end == s + 1);   // the "0" is the number
    s = "xyz";
    CHECK(strtol(s, &end, 10) == 0 && end == s);
    s = "";
    CHECK(strtol(s, &end, 0) == 0 && end == s);
    CHECK(errno == 0);

    errno = 0;
    CHECK(strtol("99999999999999999999", &end, 10) == LONG_MAX && errno == ERANGE && *end == 0);
    errno = 0;
    CHECK(strtol("-99999999999999999999", NULL, 10) == LONG_MIN && errno == ERANGE);
    errno = 0;
    CHECK(strtol("9223372036854775807", NULL, 10) == LONG_MAX && errno == 0);
    CHECK(strtol("-9223372036854775808", NULL, 10) == LONG_MIN && errno == 0);
    CHECK(strtol("9223372036854775808", NULL, 10) == LONG_MAX && errno == ERANGE);
    errno = 0;
    CHECK(strtoll("-9223372036854775809", NULL, 10) == LLONG_MIN && errno == ERANGE);
    errno = 0;
    CHECK(strtoul("-1", NULL, 10) == ULONG_MAX && errno == 0);
    CHECK(strtoul("18446744073709551615", NULL, 10) == ULONG_MAX && errno == 0);
    CHECK(strtoul("18446744073709551616", NULL, 10) == ULONG_MAX && errno == ERANGE);
    errno = 0;
    CHECK(strtoull("0xffffffffffffffff", NULL, 0) == ULLONG_MAX && errno == 0);
    CHECK(strtoul("42", NULL, 10) == 42);
    CHECK(atoi("  123xyz") == 123);
    CHECK(atoi("-2147483648") == INT_MIN);
    CHECK(atol("1234567890123") == 1234567890123L);

    double d = strtod("3.25abc", &end);
    CHECK(d == 3.25 && *end == 'a');
    CHECK(strtod("-1e3", NULL) == -1000.0);
    CHECK(strtod("0.1", NULL) == 0.1);
    CHECK(strtod("1e-2", NULL) == 0.01);
    CHECK(strtod("  .5", NULL) == 0.5);
    CHECK(strtod("0x1.8p1", NULL) == 3.0);
    CHECK(strtod("inf", NULL) == __builtin_inf());
    s = "e5";
    CHECK(strtod(s, &end) == 0 && end == s);
    d = strtod("1e", &end);
    CHECK(d == 1.0 && *end == 'e');
    CHECK(atof("2.5") == 2.5);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct rec { long key; char pad[16]; };

static int cmp_rec(const void *a, const void *b)
{
    long x = ((const struct rec *)a)->key, y = ((const struct rec *)b)->key;
    return (x > y) - (x < y);
}

static int sorted_ints(const int *v, int n)
{
    for (int i = 1; i < n; i++)
        if (v[i - 1] > v[i])
            return 0;
    return 1;
}

static void test_qsort(void)
{
    enum { N = 1000 };
    static int v[N];
    unsigned seed = 12345;
    long sum = 0, sum2 = 0;
    for (int i = 0; i < N; i++) {
        v[i] = rand_r(&seed) % 500 - 250;   // duplicates on purpose
        sum += v[i];
    }
    qsort(v, N, sizeof v[0], cmp_int);
    for (int i = 0; i < N; i++)
        sum2 += v[i];
    CHECK(sorted_ints(v, N) && sum == sum2);
    for (int i = 0; i < N; i++)
        v[i] = N - i;
    qsort(v, N, sizeof v[0], cmp_int);
    CHECK(sorted_ints(v, N) && v[0] == 1 && v[N - 1] == N);
    qsort(v, N, sizeof v[0], cmp_int);   // already sorted
    CHECK(sorted_ints(v, N) && v[0] == 1);
    for (int i = 0; i < N; i++)
        v[i] = 7;
    qsort(v, N, sizeof v[0], cmp_int);
    CHECK(v[0] == 7 && v[N - 1] == 7);

    int small[] = { 3, 1, 2 };
    qsort(small, 0, sizeof small[0], cmp_int);
    qsort(small, 1, sizeof small[0], cmp_int);
    CHECK(small[0] == 3);
    qsort(small, 3, sizeof small[0], cmp_int);
    CHECK(small[0] == 1 && small[1] == 2 && small[2] == 3);

    const char *words[] = { "pear", "apple", "fig", "banana", "cherry" };
    qsort(words, 5, sizeof words[0], cmp_str);
    CHECK_STR(words[0], "apple");
    CHECK_STR(words[4], "pear");

    struct rec recs[50];
    for (int i = 0; i < 50; i++)
        recs[i] = (struct rec){ (i * 37) % 50, "" };
    qsort(recs, 50, sizeof recs[0], cmp_rec);
    int ok = 1;
    for (int i = 0; i < 50; i++)
        ok &= recs[i].key == i;
    CHECK(ok);

    int key = 250;
    for (int i = 0; i < N; i++)
        v[i] = 2 * i;
    int *hit = bsearch(&key, v, N, sizeof v[0], cmp_int);
    CHECK(hit && *hit == 250);
    key = 251;
    CHECK(bsearch(&key, v, N, sizeof v[0], cmp_int) == NULL);
}

static void test_strings(void)
{
    char buf[64];
    CHECK(strlen("") == 0 && strlen("hello") == 5);
    CHECK(strnlen("hello", 3) == 3 && strnlen("hi", 10) == 2);
    CHECK(strcmp("abc", "abd") < 0 && strcmp("b", "a") > 0 && strcmp("x", "x") == 0);
    CHECK(strcmp("\xff", "a") > 0);   // compared as unsigned char
    CHECK(strncmp("abcdef", "abcxyz", 3) == 0 && strncmp("abc", "abd", 3) < 0);
    CHECK(strcasecmp("HeLLo", "hello") == 0 && strncasecmp("ABCx", "abcy", 3) == 0);
    CHECK(strcasecmp("a", "B") < 0);
    strcpy(buf, "foo");
    strcat(buf, "bar");
    CHECK_STR(buf, "foobar");
    memset(buf, 'x', sizeof buf);
    strncpy(buf, "ab", 5);
    CHECK(buf[0] == 'a' && buf[2] == 0 && buf[4] == 0 && buf[5] == 'x');
    const char *s = "hello world";
    CHECK(strchr(s, 'o') == s + 4 && strrchr(s, 'o') == s + 7);
    CHECK(strchr(s, 0) == s + 11 && strchr(s, 'z') == NULL);
    CHECK(strstr(s, "wor") == s + 6 && strstr(s, "") == s && strstr(s, "xyz") == NULL);
    CHECK(strspn("aabbcx", "abc") == 5 && strcspn("hello, world", ",;") == 5);
    CHECK(strpbrk(s, "wr") == s + 6);

    char text[] = "  one, two,,three ";
    char *save, *tok;
    const char *want[] = { "one", "two", "three" };
    int n = 0;
    for (tok = strtok_r(text, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save), n++)
        if (n < 3)
            CHECK_STR(tok, want[n]);
    CHECK(n == 3);

    char *d = strdup("copy me");
    CHECK_STR(d, "copy me");
    free(d);
    d = strndup("abcdef", 3);
    CHECK_STR(d, "abc");
    free(d);

    CHECK_STR(strerror(ENOENT), "No such file or directory");
    CHECK_STR(strerror(ENOSYS), "Function not implemented");
    CHECK_STR(strerror(EINVAL), "Invalid argument");
    CHECK_STR(strerror(0), "Success");
    CHECK_STR(strerror(9999), "Unknown error 9999");

    char m[16] = "0123456789";
    memmove(m + 2, m, 5);
    CHECK(memcmp(m, "0101234789", 10) == 0);
    strcpy(m, "0123456789");
    memmove(m, m + 3, 5);
    CHECK(memcmp(m, "3456756789", 10) == 0);
    CHECK(memcmp("abc", "abd", 3) < 0 && memcmp("abc", "abd", 2) == 0);
    CHECK(memchr("abcdef", 'd', 6) != NULL && memchr("abcdef", 'd', 3) == NULL);
    memset(m, 0, sizeof m);
    CHECK(m[0] == 0 && m[15] == 0);

    CHECK(isdigit('5') && !isdigit('a') && isalpha('Q') && isspace('\t') && !isspace('x'));
    CHECK(isxdigit('F') && !isxdigit('g') && isupper('A') && islower('a') && ispunct('!'));
    CHECK(toupper('a') == 'A' && tolower('Z') == 'z' && toupper('1') == '1');
}

static void test_sscanf(void)
{
    int a = 0, b = 0;
    char word[16] = "";
    double x = 0;
    CHECK(sscanf("12 34", "%d %d", &a, &b) == 2 && a == 12 && b == 34);
    CHECK(sscanf("name: bob 2.5", "name: %15s %lf", word, &x) == 2 && strcmp(word, "bob") == 0 && x == 2.5);
    CHECK(sscanf("0x1f", "%x", &a) == 1 && a == 31);
    CHECK(sscanf("abc", "%d", &a) == 0);
    CHECK(sscanf("", "%d", &a) == EOF);
}

static void *errno_thread(void *arg)
{
    (void)arg;
    errno = EINVAL;
    sched_yield();
    return (void *)(long)(errno == EINVAL);
}

static void test_errno_threads(void)
{
    errno = EAGAIN;
    pthread_t t;
    void *ret = NULL;
    CHECK(pthread_create(&t, NULL, errno_thread, NULL) == 0);
    CHECK(pthread_join(t, &ret) == 0);
    CHECK(ret == (void *)1L);
    CHECK(errno == EAGAIN);   // the other thread's errno is its own
}

static pthread_mutex_t rmutex;
static int once_count;
static void once_fn(void) { once_count++; }

static void *trylock_thread(void *arg)
{
    return (void *)(long)pthread_mutex_trylock(arg);
}

static void test_pthread_sync(void)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    CHECK(pthread_mutex_init(&rmutex, &ma) == 0);
    CHECK(pthread_mutex_lock(&rmutex) == 0);
    CHECK(pthread_mutex_lock(&rmutex) == 0);   // recursive: no deadlock
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, trylock_thread, &rmutex);
    pthread_join(t, &ret);
    CHECK((long)ret == EBUSY);
    CHECK(pthread_mutex_unlock(&rmutex) == 0);
    CHECK(pthread_mutex_unlock(&rmutex) == 0);
    pthread_create(&t, NULL, trylock_thread, &rmutex);
    pthread_join(t, &ret);
    CHECK((long)ret == 0);   // that thread took it and ended holding it
    pthread_mutex_destroy(&rmutex);

    // A timed wait that nobody signals must time out after ~10 ms.
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec abs, t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 10 * 1000000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&m);
    int r = pthread_cond_timedwait(&c, &m, &abs);
    pthread_mutex_unlock(&m);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(r == ETIMEDOUT);
    CHECK(ms >= 9 && ms < 1000);

    pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, once_fn);
    pthread_once(&once, once_fn);
    CHECK(once_count == 1);

    pthread_key_t key;
    CHECK(pthread_key_create(&key, NULL) == 0);
    CHECK(pthread_getspecific(key) == NULL);
    int v = 5;
    CHECK(pthread_setspecific(key, &v) == 0 && pthread_getspecific(key) == &v);
    pthread_key_delete(key);

    pthread_attr_t attr;
    size_t size = 0;
    pthread_attr_init(&attr);
    CHECK(pthread_attr_setstacksize(&attr, 256 * 1024) == 0);
    pthread_attr_getstacksize(&attr, &size);
    CHECK(size == 256 * 1024);
    CHECK(pthread_create(&t, &attr, errno_thread, NULL) == 0 && pthread_join(t, &ret) == 0 && ret == (void *)1L);
    pthread_attr_destroy(&attr);
    CHECK(pthread_equal(pthread_self(), pthread_self()));
}

static long elapsed_ns(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

static void test_time(void)
{
    struct timespec prev, now;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &prev) == 0);
    int monotonic = 1;
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        monotonic &= elapsed_ns(&prev, &now) >= 0 && now.tv_nsec >= 0 && now.tv_nsec < 1000000000;
        prev = now;
    }
    CHECK(monotonic);
    struct timespec rt;
    CHECK(clock_gettime(CLOCK_REALTIME, &rt) == 0 && rt.tv_sec > 1500000000);   // after 2017
    CHECK(time(NULL) >= rt.tv_sec);
    CHECK(clock_gettime(CLOCK_MONOTONIC_RAW, &now) == 0 && clock_gettime(CLOCK_MONOTONIC_COARSE, &now) == 0);
    errno = 0;
    CHECK(clock_gettime((clockid_t)1234, &now) == -1 && errno == EINVAL);

    struct timespec t0, t1, req = { 0, 20 * 1000000 };
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(nanosleep(&req, NULL) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = elapsed_ns(&t0, &t1) / 1000000;
    checks++;
    if (ms < 20 || ms >= 40)
        fail(__LINE__, "nanosleep(20 ms) took %ld ms", ms);

    struct timespec bad = { 0, 1000000000 };
    errno = 0;
    CHECK(nanosleep(&bad, NULL) == -1 && errno == EINVAL);
    bad.tv_nsec = -1;
    CHECK(nanosleep(&bad, NULL) == -1 && errno == EINVAL);

    time_t epoch = 86400 * 365 + 3600;   // 1971-01-01 01:00:00 UTC
    struct tm tm;
    gmtime_r(&epoch, &tm);
    CHECK(tm.tm_year == 71 && tm.tm_mon == 0 && tm.tm_mday == 1 && tm.tm_hour == 1 && tm.tm_wday == 5);
}

static int aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

static void test_malloc(void)
{
    unsigned char *p = malloc(100);
    CHECK(p && aligned(p, 16));
    for (int i = 0; i < 100; i++)
        p[i] = (unsigned char)i;
    p = realloc(p, 10000);
    int same = p != NULL;
    for (int i = 0; same && i < 100; i++)
        same = p[i] == i;
    CHECK(same);
    CHECK(malloc_usable_size(p) >= 10000);
    p = realloc(p, 10);
    CHECK(p && p[9] == 9);
    free(p);

    int *z = calloc(1000, sizeof *z);
    int zero = z != NULL;
    for (int i = 0; zero && i < 1000; i++)
        zero = z[i] == 0;
    CHECK(zero);
    free(z);

    size_t aligns[] = { 16, 64, 256, 4096 };
    for (int i = 0; i < 4; i++) {
        void *a = aligned_alloc(aligns[i], aligns[i] * 3);
        CHECK(a && aligned(a, aligns[i]));
        if (a)
            memset(a, 0xab, aligns[i] * 3);
        free(a);
    }
    void *q = NULL;
    CHECK(posix_memalign(&q, 128, 1000) == 0 && aligned(q, 128));
    free(q);
    CHECK(posix_memalign(&q, 24, 100) == EINVAL);

    void *many[200];
    int ok = 1;
    for (int i = 0; i < 200; i++) {
        many[i] = malloc(i * 13 + 1);
        ok &= many[i] != NULL;
        if (many[i])
            memset(many[i], i, i * 13 + 1);
    }
    for (int i = 0; i < 200; i++) {
        ok &= many[i] && ((unsigned char *)many[i])[i * 13] == (unsigned char)i;
        free(many[i]);
    }
    CHECK(ok);
    free(NULL);
}

static void test_files(void)
{
    errno = 0;
    CHECK(open("no_such_file.txt", O_RDONLY) == -1 && errno == ENOENT);
    errno = 0;
    CHECK(fopen("no_such_file.txt", "r") == NULL && errno == ENOENT);
    struct stat st;
    errno = 0;
    CHECK(stat("no_such_file.txt", &st) == -1 && errno == ENOENT);

    int fd = open("/dev/null", O_WRONLY);
    CHECK(fd > 2);
    CHECK(write(fd, "abc", 3) == 3);
    CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode));
    CHECK(close(fd) == 0);
    errno = 0;
    CHECK(close(fd) == -1 && errno == EBADF);
    errno = 0;
    CHECK(write(fd, "abc", 3) == -1 && errno == EBADF);

    fd = open("/dev/null", O_RDONLY);
    char buf[8] = "xxxxxxx";
    CHECK(read(fd, buf, sizeof buf) == 0);
    close(fd);
    fd = open("/dev/zero", O_RDONLY);
    CHECK(read(fd, buf, sizeof buf) == 8 && buf[0] == 0 && buf[7] == 0);
    close(fd);

    FILE *f = fopen("/dev/null", "w");
    CHECK(f != NULL);
    if (f) {
        CHECK(fprintf(f, "%d", 12345) == 5);
        CHECK(fclose(f) == 0);
    }
}

// The program's own file: "libc_test.so" in the unikernel's boot archive,
// the executable itself on Linux. Either way it starts with the ELF magic.
static void test_own_file(const char *argv0)
{
    char path[256];
    snprintf(path, sizeof path, "%s.so", argv0);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(path, sizeof path, "%s", argv0);
        fd = open(path, O_RDONLY);
    }
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    unsigned char buf[8];
    CHECK(read(fd, buf, 4) == 4 && memcmp(buf, "\177ELF", 4) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 64);
    CHECK(lseek(fd, 0, SEEK_CUR) == 4);
    CHECK(lseek(fd, 0, SEEK_END) == st.st_size);
    CHECK(read(fd, buf, 4) == 0);   // at end of file
    CHECK(lseek(fd, 1, SEEK_SET) == 1 && read(fd, buf, 3) == 3 && memcmp(buf, "ELF", 3) == 0);
    errno = 0;
    CHECK(lseek(fd, -10, SEEK_SET) == -1 && errno == EINVAL);
    CHECK(close(fd) == 0);
#ifdef __unikernel__
    errno = 0;
    CHECK(open(path, O_WRONLY) == -1 && errno == EROFS);   // the archive is read-only
#endif

    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(fread(buf, 1, 4, f) == 4 && memcmp(buf, "\177ELF", 4) == 0);
    CHECK(ftell(f) == 4);
    CHECK(fseek(f, 0, SEEK_END) == 0 && ftell(f) == st.st_size);
    CHECK(fgetc(f) == EOF && feof(f));
    rewind(f);
    CHECK(!feof(f) && fgetc(f) == 0x7f);
    CHECK(ungetc('x', f) == 'x' && fgetc(f) == 'x' && fgetc(f) == 'E');
    long total = 2;   // bytes 0 and 1 were read (the pushed-back x replaced byte 0)
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        total += n;
    CHECK(total == st.st_size);
    CHECK(fclose(f) == 0);
}

static void test_misc(void)
{
    CHECK(sysconf(_SC_PAGESIZE) == 4096);
    CHECK(sysconf(_SC_NPROCESSORS_ONLN) >= 1);
    CHECK(sysconf(_SC_CLK_TCK) == 100);
    CHECK(getpid() > 0);
    CHECK(abs(-5) == 5 && labs(-5L) == 5 && llabs(-5LL) == 5);
    div_t q = div(17, 5);
    CHECK(q.quot == 3 && q.rem == 2);

    srand(1);   // glibc's generator, so the same numbers on both
    int r1 = rand(), r2 = rand(), r3 = rand();
    CHECK(r1 == 1804289383 && r2 == 846930886 && r3 == 1681692777);
    srand(42);
    CHECK(rand() == 71876166);

    CHECK(setenv("LIBC_TEST_VAR", "value1", 1) == 0);
    CHECK_STR(getenv("LIBC_TEST_VAR"), "value1");
    CHECK(setenv("LIBC_TEST_VAR", "value2", 0) == 0);
    CHECK_STR(getenv("LIBC_TEST_VAR"), "value1");
    CHECK(unsetenv("LIBC_TEST_VAR") == 0 && getenv("LIBC_TEST_VAR") == NULL);
    CHECK(getenv("NO_SUCH_VARIABLE_ANYWHERE") == NULL);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_printf_integers();
    test_printf_strings();
    test_printf_floats();
    test_strtol();
    test_qsort();
    test_strings();
    test_sscanf();
    test_errno_threads();
    test_pthread_sync();
    test_time();
    test_malloc();
    test_files();
    test_own_file(argv[0]);
    test_misc();
    printf("%d checks, %d failed\n", checks, failures);
    printf("%s\n", failures ? "FAILURE" : "SUCCESS");
    return failures ? 1 : 0;
}
