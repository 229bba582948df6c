// SPDX-License-Identifier: MIT
// Resource limits. Only RLIMIT_NOFILE is kept (the fd table's size: 1024 by
// default, at most 65536); other resources are EINVAL.
#pragma once
#include <stdint.h>

typedef uint64_t rlim_t;
struct rlimit { rlim_t rlim_cur, rlim_max; };

#define RLIM_INFINITY (~(rlim_t)0)
#define RLIMIT_NOFILE 7              // Linux's number

int getrlimit(int resource, struct rlimit *rl);
int setrlimit(int resource, const struct rlimit *rl);
