// SPDX-License-Identifier: MIT
// Virtual ranges in the app area (see memlayout.h): the app image, thread
// stacks with an unmapped guard page below each, and anonymous mmap memory.
#pragma once
#include <stddef.h>
#include <stdint.h>

// Reserves len bytes (rounded up to pages) plus `guard` unmapped bytes below
// them; returns the start of the usable part or 0. Nothing is mapped.
uintptr_t vmem_reserve(size_t len, size_t guard);
void vmem_release(uintptr_t start, size_t len, size_t guard);
// Reserves and maps zeroed pages; returns 0 when out of space or memory.
void *vmem_map(size_t len, int prot);
void vmem_unmap(void *start, size_t len);
