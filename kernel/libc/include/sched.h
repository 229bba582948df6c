// SPDX-License-Identifier: MIT
// Scheduler calls: yield the CPU to the next runnable thread.
#pragma once
#include <bits/types.h>

int sched_yield(void);
int sched_getcpu(void);
