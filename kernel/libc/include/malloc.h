// SPDX-License-Identifier: MIT
// glibc's <malloc.h>: the allocator extensions (memalign, malloc_usable_size).
#pragma once
#include <stddef.h>
#include <stdlib.h>

void *memalign(size_t align, size_t size);
size_t malloc_usable_size(void *p);
