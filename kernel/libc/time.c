// SPDX-License-Identifier: MIT
// Clocks and sleeping over the kernel's clock_* and thread_sleep_*. The
// machine has no time zone: localtime is gmtime. Calendar math is from
// Howard Hinnant's days_from_civil / civil_from_days.
#include <time.h>
#include <sys/time.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <clock.h>
#include <thread.h>

#define NS_PER_SEC 1000000000ull
#define MAX_SLEEP_S 1000000000ll   // seconds

// Nanoseconds on clock id, or -1 for an unknown clock. Every clock but the
// two realtime ones reads the monotonic clock.
static int64_t read_clock(clockid_t id)
{
    switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
        return clock_realtime_ns();
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
        return clock_monotonic_ns();
    default:
        return -1;
    }
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    int64_t ns = read_clock(id);
    if (ns < 0) {
        errno = EINVAL;
        return -1;
    }
    ts->tv_sec = ns / NS_PER_SEC;
    ts->tv_nsec = ns % NS_PER_SEC;
    return 0;
}

int clock_getres(clockid_t id, struct timespec *ts)
{
    if (read_clock(id) < 0) {
        errno = EINVAL;
        return -1;
    }
    if (ts)
        *ts = (struct timespec){ 0, 1 };
    return 0;
}

static int valid(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < (long)NS_PER_SEC;
}

// Returns an error number, as POSIX specifies for clock_nanosleep.
int clock_nanosleep(clockid_t id, int flags, const struct timespec *req, struct timespec *rem)
{
    int64_t now = read_clock(id);
    if (now < 0 || !valid(req))
        return EINVAL;
    // Capped at ~31 years so that the kernel's now + ns cannot wrap around.
    uint64_t ns = req->tv_sec >= MAX_SLEEP_S ? MAX_SLEEP_S * NS_PER_SEC
                                             : req->tv_sec * NS_PER_SEC + req->tv_nsec;
    if (flags & TIMER_ABSTIME)   // deadline on clock id, whichever it is
        ns = ns > (uint64_t)now ? ns - now : 0;
    thread_sleep_ns(ns);
    if (rem && !(flags & TIMER_ABSTIME))
        *rem = (struct timespec){ 0, 0 };   // nothing interrupts a sleep
    return 0;
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    int err = clock_nanosleep(CLOCK_MONOTONIC, 0, req, rem);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

time_t time(time_t *t)
{
    time_t now = clock_realtime_ns() / NS_PER_SEC;
    if (t)
        *t = now;
    return now;
}

int gettimeofday(struct timeval *tv, void *tz)
{
    uint64_t ns = clock_realtime_ns();
    if (tv) {
        tv->tv_sec = ns / NS_PER_SEC;
        tv->tv_usec = ns % NS_PER_SEC / 1000;
    }
    if (tz)
        memset(tz, 0, sizeof(struct timezone));
    return 0;
}

// CPU time of "the process": everything since boot is the app's.
clock_t clock(void)
{
    return clock_monotonic_ns() / 1000;
}

double difftime(time_t a, time_t b)
{
    return (double)(a - b);
}

// --- calendar (UTC) ---

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

struct tm *gmtime_r(const time_t *t, struct tm *tm)
{
    int64_t days = *t / 86400, secs = *t % 86400;
    if (secs < 0)
        secs += 86400, days--;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    *tm = (struct tm){
        .tm_sec = secs % 60, .tm_min = secs / 60 % 60, .tm_hour = secs / 3600,
        .tm_mday = d, .tm_mon = m - 1, .tm_year = y - 1900,
        .tm_wday = (int)(((days % 7) + 11) % 7),   // 1970-01-01 was a Thursday
        .tm_yday = (int)(days - days_from_civil(y, 1, 1)),
        .tm_zone = "GMT",
    };
    return tm;
}

struct tm *gmtime(const time_t *t)
{
    static struct tm tm;
    return gmtime_r(t, &tm);
}

struct tm *localtime_r(const time_t *t, struct tm *tm) { return gmtime_r(t, tm); }
struct tm *localtime(const time_t *t) { return gmtime(t); }

// Normalises *tm (months, days... out of range are carried) and fills in
// tm_wday and tm_yday, like mktime does.
time_t timegm(struct tm *tm)
{
    int64_t y = tm->tm_year + 1900 + tm->tm_mon / 12;
    int mon = tm->tm_mon % 12;
    if (mon < 0)
        mon += 12, y--;
    time_t t = (days_from_civil(y, mon + 1, 1) + tm->tm_mday - 1) * 86400
             + tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
    gmtime_r(&t, tm);
    return t;
}

time_t mktime(struct tm *tm) { return timegm(tm); }

static const char *const wday_name[] = { "Sunday", "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday" };
static const char *const mon_name[] = { "January", "February", "March", "April", "May", "June", "July",
                                         "August", "September", "October", "November", "December" };

// Expands one %-conversion into buf (at least 64 bytes); returns its length.
static int strftime_one(char *buf, char c, const struct tm *tm)
{
    int hour12 = tm->tm_hour % 12 ? tm->tm_hour % 12 : 12;
    switch (c) {
    case 'a': return snprintf(buf, 64, "%.3s", wday_name[tm->tm_wday % 7]);
    case 'A': return snprintf(buf, 64, "%s", wday_name[tm->tm_wday % 7]);
    case 'b': case 'h': return snprintf(buf, 64, "%.3s", mon_name[tm->tm_mon % 12]);
    case 'B': return snprintf(buf, 64, "%s", mon_name[tm->tm_mon % 12]);
    case 'c': return snprintf(buf, 64, "%.3s %.3s %2d %02d:%02d:%02d %d", wday_name[tm->tm_wday % 7],
                              mon_name[tm->tm_mon % 12], tm->tm_mday, tm->tm_hour, tm->tm_min,
                              tm->tm_sec, tm->tm_year + 1900);
    case 'C': return snprintf(buf, 64, "%02d", (tm->tm_year + 1900) / 100);
    case 'd': return snprintf(buf, 64, "%02d", tm->tm_mday);
    case 'D': case 'x': return snprintf(buf, 64, "%02d/%02d/%02d", tm->tm_mon + 1, tm->tm_mday, tm->tm_year % 100);
    case 'e': return snprintf(buf, 64, "%2d", tm->tm_mday);
    case 'F': return snprintf(buf, 64, "%d-%02d-%02d", tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);
    case 'H': return snprintf(buf, 64, "%02d", tm->tm_hour);
    case 'I': return snprintf(buf, 64, "%02d", hour12);
    case 'j': return snprintf(buf, 64, "%03d", tm->tm_yday + 1);
    case 'm': return snprintf(buf, 64, "%02d", tm->tm_mon + 1);
    case 'M': return snprintf(buf, 64, "%02d", tm->tm_min);
    case 'n': return snprintf(buf, 64, "\n");
    case 'p': return snprintf(buf, 64, "%s", tm->tm_hour < 12 ? "AM" : "PM");
    case 'R': return snprintf(buf, 64, "%02d:%02d", tm->tm_hour, tm->tm_min);
    case 's': { struct tm copy = *tm; return snprintf(buf, 64, "%ld", (long)timegm(&copy)); }
    case 'S': return snprintf(buf, 64, "%02d", tm->tm_sec);
    case 't': return snprintf(buf, 64, "\t");
    case 'T': case 'X': return snprintf(buf, 64, "%02d:%02d:%02d", tm->tm_hour, tm->tm_min, tm->tm_sec);
    case 'u': return snprintf(buf, 64, "%d", tm->tm_wday ? tm->tm_wday : 7);
    case 'w': return snprintf(buf, 64, "%d", tm->tm_wday);
    case 'y': return snprintf(buf, 64, "%02d", tm->tm_year % 100);
    case 'Y': return snprintf(buf, 64, "%d", tm->tm_year + 1900);
    case 'z': return snprintf(buf, 64, "+0000");
    case 'Z': return snprintf(buf, 64, "GMT");
    case '%': return snprintf(buf, 64, "%%");
    default:  return snprintf(buf, 64, "%%%c", c);
    }
}

size_t strftime(char *s, size_t max, const char *fmt, const struct tm *tm)
{
    size_t n = 0;
    for (; *fmt; fmt++) {
        char piece[64];
        int len = 1;
        if (*fmt == '%' && fmt[1])
            len = strftime_one(piece, *++fmt, tm);
        else
            piece[0] = *fmt;
        if (n + len >= max)
            return 0;   // POSIX: 0 when the result does not fit
        memcpy(s + n, piece, len);
        n += len;
    }
    if (n >= max)
        return 0;
    s[n] = 0;
    return n;
}
