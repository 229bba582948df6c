// SPDX-License-Identifier: MIT
// The application's life: its main thread (init functions, then
// main(argc, argv, envp)) and its end, which is the end of the whole image:
// the NIC's send queue is drained (bounded), the exit status goes out on COM2
// and through isa-debug-exit. Also the kernel's refusals before an app runs
// (boot_refuse) and the loadcheck mode, which loads every .so in the boot
// archive in turn and reports each verdict instead of running anything.
#include <stdio.h>
#include <string.h>
#include "app.h"
#include "arch.h"
#include "bootfs.h"
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "heap.h"
#include "libc_hooks.h"
#include "loader.h"
#include "net.h"
#include "netdev.h"
#include "clock.h"
#include "panic.h"
#include "thread.h"

#define MAIN_STACK (512u << 10)
#define EXIT_DRAIN_NS 100000000u               // at most 100 ms for the last frames
#define ARGS_FILE_MAX_WORDS 1024

static struct app_image image;
static struct cmdline_args { int argc; char **argv; char **envp; } args;

char **app_environ(void) { return args.envp; }

void boot_refuse(const char *who, const char *kind, const char *file, enum exit_value why, const char *detail)
{
    kprintf("%s: %s%s%s\n", who, file, *file ? ": " : "", detail);
    struct event e;
    event_begin(&e, "load_error");
    event_str(&e, "kind", kind);
    event_str(&e, "file", file);
    event_str(&e, "detail", detail);
    event_send(&e);
    machine_exit(why);
}

// The last replies an app sent may still wait for an ARP answer (the peer's
// address not yet known) or sit in the NIC's send queue: give both a bounded
// time to go (the receive path runs meanwhile), and count what stays.
// exit_drain=0 skips the wait, to show what it is for.
static unsigned drain_network(void)
{
    const char *option = kernel_option("exit_drain");
    bool wait = !(option && strcmp(option, "0") == 0);
    uint64_t deadline = clock_monotonic_ns() + EXIT_DRAIN_NS;
    while (wait && arp_waiting() && clock_monotonic_ns() < deadline)
        thread_sleep_ns(1000000);
    uint64_t now = clock_monotonic_ns();
    return arp_waiting() + virtio_net_drain_tx(wait && now < deadline ? deadline - now : 0);
}

void app_exit(int status)
{
    static int exiting;
    if (!exiting++)
        libc_run_atexit();
    unsigned unsent = drain_network();
    struct event e;
    event_begin(&e, "exit");
    event_i64(&e, "status", status);
    event_u64(&e, "tx_unsent", unsent);
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

// Splits a boot-archive file into words (blanks and newlines separate them).
static int file_words(const char *data, size_t size, char **out, int max)
{
    int n = 0;
    for (size_t i = 0; i < size;) {
        while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
            i++;
        size_t start = i;
        while (i < size && data[i] != ' ' && data[i] != '\t' && data[i] != '\n' && data[i] != '\r' && data[i])
            i++;
        if (i == start)
            break;
        if (n == max)
            return -1;
        char *w = kmalloc(i - start + 1);
        if (!w)
            return -1;
        memcpy(w, data + start, i - start);
        w[i - start] = '\0';
        out[n++] = w;
    }
    return n;
}

// An argument "@FILE" (FILE in the boot archive) stands for the words of
// FILE: how an app gets arguments longer than the command line allows.
static void expand_args_files(void)
{
    char **out = kmalloc(sizeof(char *) * (ARGS_FILE_MAX_WORDS + 1));
    int n = 0;
    if (!out)
        boot_refuse("app", "no_memory", "", EXIT_NO_MEMORY, "no memory for the app's arguments");
    for (int i = 0; i < args.argc; i++) {
        const void *data;
        size_t size;
        if (i == 0 || args.argv[i][0] != '@' || bootfs_lookup(args.argv[i] + 1, &data, &size) != 0) {
            if (n == ARGS_FILE_MAX_WORDS)
                break;
            out[n++] = args.argv[i];
            continue;
        }
        int k = file_words(data, size, out + n, ARGS_FILE_MAX_WORDS - n);
        if (k < 0) {
            char why[96];
            snprintf(why, sizeof why, "more than %d arguments (or no memory for them)", ARGS_FILE_MAX_WORDS);
            boot_refuse("command line", "cmdline_too_long", args.argv[i] + 1, EXIT_CMDLINE, why);
        }
        n += k;
    }
    out[n] = NULL;
    args.argc = n;
    args.argv = out;
}

void app_start(const char *name, int argc, char **argv, char **envp)
{
    elf_load_app(name, &image);
    args.argc = argc;
    args.argv = argv;
    args.envp = envp;
    expand_args_files();
    if (!thread_create(app_main_thread, NULL, MAIN_STACK, "main"))
        boot_refuse("app", "no_memory", image.file, EXIT_NO_MEMORY, "out of memory: no room for the app's main thread (512 KiB stack)");
}

static void loadcheck_one(const char *name, const void *data, size_t size, void *ctx)
{
    unsigned *counts = ctx;
    size_t n = strlen(name);
    if (n < 3 || strcmp(name + n - 3, ".so") != 0)
        return;
    struct app_image img = { .name = name, .file = name, .data = data, .size = size, .quiet = true };
    struct load_error err = { 0 };
    int r = elf_load(&img, &err);
    elf_unload(&img);
    counts[r == 0 ? 0 : 1]++;
    struct event e;
    event_begin(&e, "loadcheck");
    event_str(&e, "file", name);
    event_str(&e, "kind", r == 0 ? "ok" : load_error_kind(err.why));
    event_str(&e, "detail", r == 0 ? "" : err.detail);
    event_send(&e);
}

void app_loadcheck(void)
{
    unsigned counts[2] = { 0, 0 };
    bootfs_foreach(loadcheck_one, counts);
    kprintf("loadcheck: %u loaded, %u refused\n", counts[0], counts[1]);
    struct event e;
    event_begin(&e, "loadcheck_done");
    event_u64(&e, "loaded", counts[0]);
    event_u64(&e, "refused", counts[1]);
    event_send(&e);
    machine_exit(0);
}
