// SPDX-License-Identifier: MIT
// Mutexes and condition variables. On one CPU, holding interrupts off is the
// atomic section; a thread that must wait goes on the object's FIFO wait
// queue and blocks. Unlock frees the mutex and wakes the first waiter, which
// then tries again: the running thread may take the mutex first ("barging"),
// which costs fairness but avoids a context switch per lock under contention.
#include "sync.h"
#include "thread.h"
#include "panic.h"
#include "arch.h"

void kmutex_lock(struct kmutex *m)
{
    int irq = irq_save();
    struct thread *self = thread_current();
    if (m->owner == self && m->recursive) {
        m->recursion++;
    } else {
        while (m->owner != NULL) {
            if (m->owner == self)
                panic("mutex %p: locked twice by the same thread (deadlock)", (void *)m);
            waitq_push(&m->waiters, self);
            thread_block_until(UINT64_MAX);
        }
        m->owner = self;
    }
    irq_restore(irq);
}

bool kmutex_trylock(struct kmutex *m)
{
    int irq = irq_save();
    struct thread *self = thread_current();
    bool ok = m->owner == NULL || (m->owner == self && m->recursive);
    if (ok && m->owner == self)
        m->recursion++;
    else if (ok)
        m->owner = self;
    irq_restore(irq);
    return ok;
}

void kmutex_unlock(struct kmutex *m)
{
    int irq = irq_save();
    if (m->recursion > 0) {
        m->recursion--;
    } else {
        struct thread *next = waitq_pop(&m->waiters);
        m->owner = NULL;
        if (next)
            thread_wake(next);
    }
    irq_restore(irq);
}

bool kcond_timedwait(struct kcond *c, struct kmutex *m, uint64_t deadline_ns)
{
    int irq = irq_save();
    struct thread *self = thread_current();
    waitq_push(&c->waiters, self);
    unsigned depth = m->recursion;
    m->recursion = 0;
    kmutex_unlock(m);
    bool signalled = thread_block_until(deadline_ns);
    if (!signalled && !waitq_remove(&c->waiters, self))
        signalled = true;                      // a signal picked us as the timer fired
    kmutex_lock(m);
    m->recursion = depth;
    irq_restore(irq);
    return signalled;
}

void kcond_wait(struct kcond *c, struct kmutex *m) { kcond_timedwait(c, m, UINT64_MAX); }

void kcond_signal(struct kcond *c)
{
    int irq = irq_save();
    struct thread *t = waitq_pop(&c->waiters);
    if (t)
        thread_wake(t);
    irq_restore(irq);
}

void kcond_broadcast(struct kcond *c)
{
    int irq = irq_save();
    struct thread *t;
    while ((t = waitq_pop(&c->waiters)))
        thread_wake(t);
    irq_restore(irq);
}
