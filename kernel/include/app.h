// SPDX-License-Identifier: MIT
// The running application as the kernel sees it: its arguments, environment,
// boot-archive files and the way it ends.
#pragma once
#include <stddef.h>

// Ends the app: runs atexit handlers registered through libc, reports the
// status on COM2 and leaves QEMU through isa-debug-exit. Never returns.
void app_exit(int status) __attribute__((noreturn));
// NULL-terminated environment built from NAME=VALUE options on the command line.
char **app_environ(void);
// Looks a file up in the boot archive. Returns 0 and sets *data/*size, or -1.
int bootfs_lookup(const char *name, const void **data, size_t *size);

// Provided by libc: runs the handlers registered with atexit() in reverse
// order and flushes stdio. app_exit calls it exactly once.
void libc_run_atexit(void);

// Loads app `name` from the boot archive (see loader.h) and starts its main
// thread with these arguments. Returns once the thread is runnable.
void app_start(const char *name, int argc, char **argv, char **envp);
