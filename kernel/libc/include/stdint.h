// SPDX-License-Identifier: MIT
// Fixed-width integer types. gcc's own <stdint.h> would #include_next a C
// library's in hosted mode, so we wrap the freestanding <stdint-gcc.h>.
#pragma once
#include <stdint-gcc.h>
