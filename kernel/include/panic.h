// SPDX-License-Identifier: MIT
// The end of the world: a readable dump on COM1 (what happened, where, the
// registers, a symbolized backtrace), a "panic" event on COM2, and QEMU exits
// with status 255, which no app exit can produce.
#pragma once
#include "arch.h"

void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void panic_exception(struct trap_frame *f) __attribute__((noreturn));
#define kassert(cond) \
    do { if (!(cond)) panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__); } while (0)

// Exit values for isa-debug-exit (QEMU status = value * 2 + 1); see kernel/README.md.
enum exit_value {
    EXIT_APP_MASK       = 0x3f,
    EXIT_APP_NOT_FOUND  = 0x40,
    EXIT_UNRESOLVED     = 0x41,
    EXIT_BAD_ELF        = 0x42,
    EXIT_TRUNCATED      = 0x43,
    EXIT_NO_MEMORY      = 0x44,
    EXIT_CMDLINE        = 0x45,   // command line too long (or too many words)
    EXIT_LOW_MEMORY     = 0x46,   // not enough RAM to boot (boot.S checks it)
    EXIT_PANIC          = 0x7f,
};
