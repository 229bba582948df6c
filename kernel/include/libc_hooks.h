// SPDX-License-Identifier: MIT
// Calls between libc and the kernel core beyond app.h. Each entry says who
// implements it and the contract.
#pragma once

// Implemented by libc (kernel/libc/env.c); the kernel calls it once, after
// the heap and app_environ() are ready and before the app's main, so that an
// app reading `environ` directly sees the environment. If the kernel never
// calls it, getenv/setenv still work: they call it themselves on first use.
void libc_init(void);
