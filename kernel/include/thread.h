// SPDX-License-Identifier: MIT
// Threads and the scheduler: preemptive round robin on one CPU, driven by the
// LAPIC timer. A thread owns a stack, an interrupt stack (its IST), its FPU/SSE
// state and a small TCB that %fs points to (so %fs:0x28 holds a stack canary).
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

struct thread;
typedef void (*thread_fn)(void *arg);

// Creates a runnable thread; stack_size 0 means the default (128 KiB).
// Returns NULL when memory is exhausted.
struct thread *thread_create(thread_fn fn, void *arg, size_t stack_size, const char *name);
// Waits for t to finish and frees it. Returns its exit value (see thread_exit).
void *thread_join(struct thread *t);
// Lets t's resources be freed as soon as it finishes; t may not be joined after.
void thread_detach(struct thread *t);
// A kernel service thread: not counted among the app's threads, so it neither
// shows in the thread count nor keeps the app alive after its last thread ends.
void thread_make_daemon(struct thread *t);
void thread_exit(void *value) __attribute__((noreturn));
void thread_yield(void);
// Sleeps until the monotonic clock reads at least deadline_ns.
void thread_sleep_until(uint64_t deadline_ns);
void thread_sleep_ns(uint64_t ns);
struct thread *thread_current(void);
uint64_t thread_id(const struct thread *t);
// Per-thread errno slot (libc's errno lives here).
int *thread_errno(void);
// Number of live threads, context switches so far.
unsigned thread_count(void);
uint64_t sched_switches(void);
uint64_t sched_ticks(void);                // timer interrupts so far

// Makes a blocked or sleeping t runnable again (interrupts off or on).
void thread_wake(struct thread *t);

// Wait queues (FIFO), used by sync.c. Caller holds interrupts off.
struct wait_queue;
void waitq_push(struct wait_queue *q, struct thread *t);
struct thread *waitq_pop(struct wait_queue *q);
// Returns false when t was not on q (someone popped it already).
bool waitq_remove(struct wait_queue *q, struct thread *t);
// Blocks the current thread until thread_wake or until deadline_ns passes
// (UINT64_MAX: no deadline). Returns false on timeout. Interrupts off.
bool thread_block_until(uint64_t deadline_ns);

// Boot: turns the boot context into the idle thread; then runs it forever.
void sched_init(void);
void sched_idle_loop(void) __attribute__((noreturn));
// COM2 metrics every period_ns (0: off).
void sched_set_metrics_period(uint64_t period_ns);
// Stack bounds of the running thread (for backtraces).
void thread_stack_bounds(const struct thread *t, uintptr_t *lo, uintptr_t *hi);
const char *thread_name(const struct thread *t);
