// SPDX-License-Identifier: MIT
// POSIX primitive types (pid_t, off_t, ssize_t, ...), Linux x86-64 sizes.
#pragma once
#include <bits/types.h>
