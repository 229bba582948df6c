// SPDX-License-Identifier: MIT
// The environment: starts as the kernel's app_environ() (NAME=VALUE options on
// the command line); setenv/unsetenv switch to a private, growable copy.
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <app.h>
#include <libc_hooks.h>

char **environ;
static int env_owned;   // environ is our malloc'd copy

void libc_init(void)
{
    if (!environ)
        environ = app_environ();
}

static char **env(void)
{
    libc_init();
    return environ;
}

// Index of NAME (len bytes) in environ, or -1.
static int find(const char *name, size_t len)
{
    char **e = env();
    for (int i = 0; e && e[i]; i++)
        if (strncmp(e[i], name, len) == 0 && e[i][len] == '=')
            return i;
    return -1;
}

char *getenv(const char *name)
{
    int i = find(name, strlen(name));
    return i < 0 ? NULL : environ[i] + strlen(name) + 1;
}

// Makes environ a malloc'd array with room for one more entry.
static int own_env(int *count)
{
    char **e = env();
    int n = 0;
    while (e && e[n])
        n++;
    char **copy = malloc((n + 2) * sizeof *copy);
    if (!copy)
        return -1;
    for (int i = 0; i < n; i++)
        copy[i] = e[i];
    copy[n] = NULL;
    if (env_owned)
        free(e);
    environ = copy;
    env_owned = 1;
    *count = n;
    return 0;
}

static int bad_name(const char *name)
{
    if (!name || !*name || strchr(name, '=')) {
        errno = EINVAL;
        return 1;
    }
    return 0;
}

// The NAME=VALUE strings we allocate are never freed: getenv results stay valid.
int setenv(const char *name, const char *value, int overwrite)
{
    if (bad_name(name))
        return -1;
    size_t len = strlen(name);
    int i = find(name, len);
    if (i >= 0 && !overwrite)
        return 0;
    char *s = malloc(len + strlen(value) + 2);
    if (!s)
        return -1;
    strcpy(stpcpy(stpcpy(s, name), "="), value);
    if (i >= 0 && env_owned) {
        environ[i] = s;
        return 0;
    }
    int n;
    if (own_env(&n) < 0) {
        free(s);
        return -1;
    }
    if (i >= 0) {
        environ[i] = s;
    } else {
        environ[n] = s;
        environ[n + 1] = NULL;
    }
    return 0;
}

int unsetenv(const char *name)
{
    if (bad_name(name))
        return -1;
    int i = find(name, strlen(name));
    if (i < 0)
        return 0;
    int n;
    if (own_env(&n) < 0)
        return -1;
    memmove(&environ[i], &environ[i + 1], (n - i) * sizeof *environ);
    return 0;
}
