// SPDX-License-Identifier: MIT
// The kernel command line (-append): "[option ...] -- APP [ARG ...]".
// Lower-case key=value tokens are kernel options; tokens whose key starts
// with an upper-case letter are environment variables for the app.
#pragma once

#include <stdint.h>

#define CMDLINE_MAX_ARGS 32
#define CMDLINE_MAX_OPTS 16

struct cmdline {
    int argc;                              // argv[0] is the app's name
    char *argv[CMDLINE_MAX_ARGS + 1];
    char *envp[CMDLINE_MAX_OPTS + 1];
    char *opts[CMDLINE_MAX_OPTS + 1];      // "key=value"
    int dropped;                           // words past the limits above (kmain refuses them)
};

void cmdline_parse(const char *text, struct cmdline *out);
// Value of option `key`, or NULL.
const char *cmdline_option(const struct cmdline *c, const char *key);
// Option `key` as a whole decimal number; 0 when absent, not a number, or too large.
uint64_t cmdline_option_u64(const struct cmdline *c, const char *key);

// The boot command line's option `key` (e.g. "net" for net=channels), or NULL.
// Valid once kmain has parsed the command line.
const char *kernel_option(const char *key);
