// SPDX-License-Identifier: MIT
// libFuzzer entry for the app loader: each input is an app file; elf_load
// checks, maps (at the host APP_BASE), relocates and protects it, or refuses
// it with a verdict; either way the image is unmapped again. The input is
// copied to its own heap block so ASan sees any read past its end.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    struct app_image img = { .name = "fuzz", .file = "fuzz.so", .data = copy, .size = size, .quiet = true };
    struct load_error err = { 0 };
    if (elf_load(&img, &err) == 0 && (err.why != 0 || img.main == NULL))
        abort();                               // a load that succeeds has a main and no error
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "%zu bytes: %s\n", size, err.why ? err.detail : "loaded");
    elf_unload(&img);
    free(copy);
    return 0;
}
