// SPDX-License-Identifier: MIT
// Runs a fuzz entry over the files named on the command line, for replaying
// the corpus and the regression inputs without libFuzzer (the sanitizers still
// watch). Prints how many inputs it ran; any finding aborts.
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 2;
        }
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        rewind(f);
        uint8_t *data = malloc(size ? (size_t)size : 1);
        if (fread(data, 1, (size_t)size, f) != (size_t)size) {
            fprintf(stderr, "%s: short read\n", argv[i]);
            return 2;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(data, (size_t)size);
        free(data);
    }
    printf("replayed %d inputs\n", argc - 1);
    return 0;
}
