// SPDX-License-Identifier: MIT
// Lab extensions only this kernel has. Include it behind #ifdef __unikernel__
// so the same app still builds against glibc.
#pragma once

#define UNIKERNEL_VERSION 1
