// SPDX-License-Identifier: MIT
// Splits the command line into words (double quotes group words), then sorts
// them into kernel options, environment variables and the app's argv.
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "cmdline.h"
#include "heap.h"

// Next word of *s into a fresh string, or NULL at the end.
static char *next_word(const char **s)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    if (!*p)
        return NULL;
    char *word = kmalloc(strlen(p) + 1), *w = word;
    bool quoted = false;
    for (; *p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
        if (*p == '"')
            quoted = !quoted;
        else
            *w++ = *p;
    }
    *w = '\0';
    *s = p;
    return word;
}

void cmdline_parse(const char *text, struct cmdline *c)
{
    memset(c, 0, sizeof *c);
    int nenv = 0, nopt = 0;
    bool in_app = false;
    for (char *w; (w = next_word(&text));) {
        char *eq = strchr(w, '=');
        if (in_app) {
            if (c->argc < CMDLINE_MAX_ARGS)
                c->argv[c->argc++] = w;
            else
                c->dropped++;
        } else if (strcmp(w, "--") == 0) {
            in_app = true;
        } else if (eq && w[0] >= 'A' && w[0] <= 'Z') {
            if (nenv < CMDLINE_MAX_OPTS)
                c->envp[nenv++] = w;
            else
                c->dropped++;
        } else if (eq) {
            if (nopt < CMDLINE_MAX_OPTS)
                c->opts[nopt++] = w;
            else
                c->dropped++;
        } else {                               // no "--": the first plain word is the app
            in_app = true;
            c->argv[c->argc++] = w;
        }
    }
}

const char *cmdline_option(const struct cmdline *c, const char *key)
{
    size_t n = strlen(key);
    for (int i = 0; c->opts[i]; i++)
        if (strncmp(c->opts[i], key, n) == 0 && c->opts[i][n] == '=')
            return c->opts[i] + n + 1;
    return NULL;
}

uint64_t cmdline_option_u64(const struct cmdline *c, const char *key)
{
    const char *v = cmdline_option(c, key);
    uint64_t n = 0;
    if (!v || !*v)
        return 0;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || n > (UINT64_MAX - 9) / 10)
            return 0;                          // not a whole number, or too large
        n = n * 10 + (uint64_t)(*v - '0');
    }
    return n;
}
