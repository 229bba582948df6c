// SPDX-License-Identifier: MIT
// BSD string functions: case-insensitive compare, bzero, ffs.
#pragma once
#include <stddef.h>

int strcasecmp(const char *a, const char *b);
int strncasecmp(const char *a, const char *b, size_t n);
void bzero(void *p, size_t n);
int ffs(int x);
