// SPDX-License-Identifier: MIT
// The kernel command line (-append): "[option ...] -- APP [ARG ...]".
// Lower-case key=value tokens are kernel options; tokens whose key starts
// with an upper-case letter are environment variables for the app.
#pragma once

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

// The boot command line's option `key` (e.g. "net" for net=channels), or NULL.
// Valid once kmain has parsed the command line.
const char *kernel_option(const char *key);
