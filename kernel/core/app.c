// SPDX-License-Identifier: MIT
// The application's life: its main thread (init functions, then
// main(argc, argv, envp)) and its end, which is the end of the whole image:
// the exit status goes out on COM2 and through isa-debug-exit.
#include "app.h"
#include "arch.h"
#include "events.h"
#include "libc_hooks.h"
#include "loader.h"
#include "panic.h"
#include "thread.h"

#define MAIN_STACK (512u << 10)

static struct app_image image;
static struct cmdline_args { int argc; char **argv; char **envp; } args;

char **app_environ(void) { return args.envp; }

void app_exit(int status)
{
    static int exiting;
    if (!exiting++)
        libc_run_atexit();
    struct event e;
    event_begin(&e, "exit");
    event_i64(&e, "status", status);
    event_u64(&e, "tsc", rdtsc());
    event_send(&e);
    machine_exit((unsigned)status & EXIT_APP_MASK);
}

static void app_main_thread(void *unused)
{
    (void)unused;
    libc_init();                               // environ, before any app code
    elf_run_init(&image);
    event_milestone("app_main", 0);
    app_exit(image.main(args.argc, args.argv, args.envp));
}

void app_start(const char *name, int argc, char **argv, char **envp)
{
    elf_load_app(name, &image);
    args.argc = argc;
    args.argv = argv;
    args.envp = envp;
    if (!thread_create(app_main_thread, NULL, MAIN_STACK, "main"))
        panic("no memory for the app's main thread");
}
