// SPDX-License-Identifier: MIT
// struct timeval and gettimeofday (the wall clock, microseconds).
#pragma once
#include <bits/types.h>

struct timeval {
    time_t tv_sec;
    suseconds_t tv_usec;
};
struct timezone {
    int tz_minuteswest;
    int tz_dsttime;
};

int gettimeofday(struct timeval *tv, void *tz);
