// SPDX-License-Identifier: MIT
// Lab extensions only this kernel has. Include it behind #ifdef __unikernel__
// so the same app still builds against glibc.
#pragma once
#include <stddef.h>

#define UNIKERNEL_VERSION 1

// The MMU's dirty bits of the 4 KiB pages of [addr, addr + length), which
// must be page-aligned memory of the app area (from mmap): page i's bit goes
// to bit i % 8 of bitmap[i / 8] (1: written since last cleared). With clear
// set the bits are reset, so the next call reports only newer writes.
// Returns the number of pages examined, or -1 with errno EINVAL.
// (Implemented in libc/mman.c.)
long uk_dirty_pages(void *addr, size_t length, unsigned char *bitmap, int clear);
