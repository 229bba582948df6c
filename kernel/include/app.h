// SPDX-License-Identifier: MIT
// The running application as the kernel sees it: its arguments, environment,
// boot-archive files and the way it ends.
#pragma once
#include <stddef.h>
#include "panic.h"

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

// Loads every .so file in the boot archive in turn, without running any,
// sends a COM2 "loadcheck" event with each verdict, then ends the run (the
// kernel option loadcheck=1).
void app_loadcheck(void) __attribute__((noreturn));
// Refuses to go on before the app runs: one line on COM1 ("who: file:
// detail"), a COM2 load_error event of this kind, and QEMU exits with `why`.
void boot_refuse(const char *who, const char *kind, const char *file, enum exit_value why, const char *detail) __attribute__((noreturn));
