// SPDX-License-Identifier: MIT
// libFuzzer entry for the boot archive parser: each input is a cpio archive;
// bootfs_init accepts or refuses it, and every file it accepts is read in full
// and looked up by name, so ASan sees any name or data outside the input.
#include <stdlib.h>
#include <string.h>
#include "bootfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int bootfs_lookup(const char *name, const void **data, size_t *size);

static void touch(const char *name, const void *data, size_t size, void *ctx)
{
    const void *found;
    size_t found_size;
    unsigned *sum = ctx;
    for (size_t i = 0; i < size; i++)
        *sum += ((const uint8_t *)data)[i];
    *sum += (unsigned)strlen(name);
    if (bootfs_lookup(name, &found, &found_size) != 0)
        abort();                               // a file the parser listed must be found by name
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    char why[160];
    unsigned sum = 0;
    memcpy(copy, data, size);
    int n = bootfs_init(copy, size, why, sizeof why);
    if (n >= 0)
        bootfs_foreach(touch, &sum);
    else if (n != BOOTFS_MALFORMED && n != BOOTFS_TRUNCATED)
        abort();
    free(copy);
    return (int)(sum & 0);
}
