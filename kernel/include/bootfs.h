// SPDX-License-Identifier: MIT
// The boot archive: a cpio (newc) archive QEMU loads as the PVH module
// (-initrd). Files are used in place; nothing is copied.
#pragma once
#include <stddef.h>
#include <stdint.h>

// Parses the archive; returns the number of files, or -1 if it is malformed
// (the kernel then reports it and boots with an empty file system).
int bootfs_init(const void *archive, size_t size);
// Calls fn for each file in archive order.
void bootfs_foreach(void (*fn)(const char *name, const void *data, size_t size, void *ctx), void *ctx);
