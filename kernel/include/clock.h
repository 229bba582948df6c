// SPDX-License-Identifier: MIT
// Time: a TSC clock calibrated against the PIT at boot, and the wall clock
// read once from the CMOS RTC.
#pragma once
#include <stdint.h>

uint64_t clock_monotonic_ns(void);   // since boot
uint64_t clock_realtime_ns(void);    // since the Unix epoch
uint64_t clock_tsc_hz(void);
uint64_t clock_ns_to_tsc(uint64_t ns);
