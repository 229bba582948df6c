// SPDX-License-Identifier: MIT
// Sleeping locks and condition variables for threads. A zeroed struct is a
// valid, unlocked mutex / empty condition variable (PTHREAD_*_INITIALIZER).
#pragma once
#include <stdint.h>
#include <stdbool.h>

struct thread;
struct wait_queue { struct thread *head, *tail; };

struct kmutex {
    struct thread *owner;
    struct wait_queue waiters;
    unsigned recursion;     // only used when recursive is set
    int recursive;
};
void kmutex_lock(struct kmutex *m);
bool kmutex_trylock(struct kmutex *m);
void kmutex_unlock(struct kmutex *m);

struct kcond { struct wait_queue waiters; };
void kcond_wait(struct kcond *c, struct kmutex *m);
// Returns false when deadline_ns (monotonic clock) passed before a signal.
bool kcond_timedwait(struct kcond *c, struct kmutex *m, uint64_t deadline_ns);
void kcond_signal(struct kcond *c);
void kcond_broadcast(struct kcond *c);
