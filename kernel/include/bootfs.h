// SPDX-License-Identifier: MIT
// The boot archive: a cpio (newc) archive QEMU loads as the PVH module
// (-initrd). Files are used in place; nothing is copied.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define BOOTFS_MALFORMED (-1)
#define BOOTFS_TRUNCATED (-2)
// Parses the archive; returns the number of files, or BOOTFS_MALFORMED or
// BOOTFS_TRUNCATED with one line in why[len] naming the check and the offset
// (the kernel then refuses to boot: status 133 or 135).
int bootfs_init(const void *archive, size_t size, char *why, size_t len);
// Calls fn for each file in archive order.
void bootfs_foreach(void (*fn)(const char *name, const void *data, size_t size, void *ctx), void *ctx);
