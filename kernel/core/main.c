// SPDX-License-Identifier: MIT
// kmain: the table of contents of the kernel. Each step depends only on the
// ones above it. The milestones go out on COM2 with TSC stamps; under
// -icount shift=0 their differences are exact instruction counts.
#include <stdio.h>
#include "app.h"
#include "balloon.h"
#include "arch.h"
#include "boot.h"
#include "bootfs.h"
#include "clock.h"
#include "cmdline.h"
#include "console.h"
#include "events.h"
#include "heap.h"
#include "memlayout.h"
#include "net.h"
#include "page_alloc.h"
#include "panic.h"
#include "pci.h"
#include "thread.h"


static struct boot_info boot;
static struct cmdline cmd;

// Hands all usable RAM to the page allocator, minus what is already taken.
static void memory_init(void)
{
    for (unsigned i = 0; i < boot.nram; i++)
        page_alloc_add_free(boot.ram[i].start, boot.ram[i].end);
    page_alloc_reserve(0, KERNEL_PHYS_BASE);                  // BIOS, PVH start info
    page_alloc_reserve((uintptr_t)__kernel_start, (uintptr_t)__kernel_end);
    if (boot.module)
        page_alloc_reserve((uintptr_t)boot.module, (uintptr_t)boot.module + boot.module_size);
}

const char *kernel_option(const char *key) { return cmdline_option(&cmd, key); }

static void announce_layout(void)
{
    struct event e;
    event_begin(&e, "layout");
    event_u64(&e, "ram_bytes", boot.ram_end);
    event_hex(&e, "kernel_start", (uintptr_t)__kernel_start);
    event_hex(&e, "text_end", (uintptr_t)__text_end);
    event_hex(&e, "kernel_end", (uintptr_t)__kernel_end);
    event_hex(&e, "heap_start", (uintptr_t)__kernel_end);
    event_hex(&e, "heap_end", boot.ram_end);
    event_hex(&e, "archive_start", (uintptr_t)boot.module);
    event_hex(&e, "archive_end", (uintptr_t)boot.module + boot.module_size);
    event_hex(&e, "mmio_start", MMIO_HOLE_START);
    event_hex(&e, "app_area", APP_AREA_START);
    event_hex(&e, "vmem_start", VMEM_START);
    event_send(&e);
}

// A command line longer than the kernel copies, or with more words than it
// keeps, is refused before anything else reads it.
static void check_cmdline(void)
{
    char why[128];
    if (boot.cmdline_overwrote_start_info) {
        snprintf(why, sizeof why, "command line too long (%zu > %d bytes): it overwrote the PVH start info (QEMU leaves 4127 "
                 "bytes)", boot.cmdline_len, BOOT_CMDLINE_MAX);
        boot_refuse("command line", "cmdline_too_long", "", EXIT_CMDLINE, why);
    }
    if (boot.cmdline_len > BOOT_CMDLINE_MAX) {
        snprintf(why, sizeof why, "command line too long (%zu > %d bytes)", boot.cmdline_len, BOOT_CMDLINE_MAX);
        boot_refuse("command line", "cmdline_too_long", "", EXIT_CMDLINE, why);
    }
}

static void check_cmdline_words(void)
{
    char why[128];
    if (cmd.dropped) {
        snprintf(why, sizeof why, "too many words on the command line: %d over the limits (%d arguments, %d options, "
                 "%d variables)", cmd.dropped, CMDLINE_MAX_ARGS, CMDLINE_MAX_OPTS, CMDLINE_MAX_OPTS);
        boot_refuse("command line", "cmdline_too_long", "", EXIT_CMDLINE, why);
    }
}

static void start_app(void)
{
    char why[128];
    int files = boot.module ? bootfs_init(boot.module, boot.module_size, why, sizeof why) : 0;
    if (files < 0)
        boot_refuse("boot archive", "bad_archive", "", files == BOOTFS_TRUNCATED ? EXIT_TRUNCATED : EXIT_BAD_ELF, why);
    if (cmdline_option(&cmd, "loadcheck"))
        app_loadcheck();
    if (cmd.argc == 0) {
        kprintf("no app named: boot with -append \"-- APP [ARGS]\"\n");
        struct event e;
        event_begin(&e, "load_error");
        event_str(&e, "kind", "not_found");
        event_str(&e, "file", "");
        event_str(&e, "detail", "no app named on the command line");
        event_send(&e);
        machine_exit(EXIT_APP_NOT_FOUND);
    }
    app_start(cmd.argv[0], cmd.argc, cmd.argv, cmd.envp);
}

void kmain(uint32_t start_info)
{
    console_init();                            // COM1: the human console
    events_init();                             // COM2: the machine channel
    event_milestone("entry", boot_tsc);
    boot_info_read(start_info, &boot);         // command line, boot archive, RAM map
    check_cmdline();                           // too long: refused with its own status
    gdt_init();                                // segments, TSS with interrupt stacks
    idt_init();                                // traps: every exception panics
    paging_init(boot.ram_end);                 // the one page table
    event_milestone("paging", 0);
    memory_init();                             // page allocator over free RAM
    heap_init();                               // kmalloc / malloc
    event_milestone("heap", 0);
    announce_layout();
    cmdline_parse(boot.cmdline, &cmd);         // options, environment, app argv
    check_cmdline_words();
    lapic_init();                              // interrupt controller, timer
    console_enable_rx_irq();                   // COM1 input interrupts (I/O APIC)
    clock_init();                              // TSC and timer calibration, RTC
    sched_init();                              // this context becomes the idle thread
    uint64_t metrics_ms = cmdline_option_u64(&cmd, "metrics");   // metrics=MS: sample period
    if (metrics_ms)
        sched_set_metrics_period(metrics_ms * 1000000u);
    pci_probe();                               // devices on PCI bus 0
    balloon_init();                            // virtio-balloon, if QEMU has one
    net_init();                                // virtio-net and the TCP/IP stack (ip=, gw=, net=)
    event_milestone("devices", 0);
    start_app();                               // dynamic linker, app main thread
    sched_idle_loop();                         // run threads; halt when idle
}
