// SPDX-License-Identifier: MIT
// pthread mutexes and condition variables over kmutex/kcond (the pthread
// types start with the same fields), plus rwlocks, barriers and spinlocks
// built from those.
#include <pthread.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sync.h>
#include <thread.h>
#include <clock.h>

_Static_assert(offsetof(pthread_mutex_t, __owner) == offsetof(struct kmutex, owner), "mutex layout");
_Static_assert(offsetof(pthread_mutex_t, __head) == offsetof(struct kmutex, waiters), "mutex layout");
_Static_assert(offsetof(pthread_mutex_t, __recursion) == offsetof(struct kmutex, recursion), "mutex layout");
_Static_assert(offsetof(pthread_mutex_t, __recursive) == offsetof(struct kmutex, recursive), "mutex layout");
_Static_assert(offsetof(pthread_mutex_t, __type) >= sizeof(struct kmutex), "mutex layout");
_Static_assert(offsetof(pthread_cond_t, __clock) >= sizeof(struct kcond), "cond layout");

static struct kmutex *km(pthread_mutex_t *m) { return (struct kmutex *)m; }
static struct kcond *kc(pthread_cond_t *c) { return (struct kcond *)c; }

// --- mutexes ---

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    int type = attr ? attr->__type : PTHREAD_MUTEX_NORMAL;
    *m = (pthread_mutex_t){ .__recursive = type == PTHREAD_MUTEX_RECURSIVE, .__type = type };
    return 0;
}

int pthread_mutex_destroy(pthread_mutex_t *m)
{
    return m->__owner ? EBUSY : 0;
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (m->__type == PTHREAD_MUTEX_ERRORCHECK && m->__owner == thread_current())
        return EDEADLK;
    kmutex_lock(km(m));
    return 0;
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
    return kmutex_trylock(km(m)) ? 0 : EBUSY;
}

// Unlocking a mutex the caller does not hold is refused for every type
// (glibc lets a normal mutex through); the kernel's kmutex expects its owner.
int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (m->__owner != thread_current())
        return EPERM;
    kmutex_unlock(km(m));
    return 0;
}

int pthread_mutexattr_init(pthread_mutexattr_t *a)
{
    a->__type = PTHREAD_MUTEX_NORMAL;
    return 0;
}

int pthread_mutexattr_destroy(pthread_mutexattr_t *a)
{
    (void)a;
    return 0;
}

int pthread_mutexattr_settype(pthread_mutexattr_t *a, int type)
{
    if (type < PTHREAD_MUTEX_NORMAL || type > PTHREAD_MUTEX_ERRORCHECK)
        return EINVAL;
    a->__type = type;
    return 0;
}

int pthread_mutexattr_gettype(const pthread_mutexattr_t *a, int *type)
{
    *type = a->__type;
    return 0;
}

// One address space: "shared between processes" is the same as private.
int pthread_mutexattr_setpshared(pthread_mutexattr_t *a, int pshared)
{
    (void)a;
    return pshared == PTHREAD_PROCESS_PRIVATE || pshared == PTHREAD_PROCESS_SHARED ? 0 : EINVAL;
}

// --- condition variables ---

int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
    *c = (pthread_cond_t){ .__clock = attr ? attr->__clock : CLOCK_REALTIME };
    return 0;
}

int pthread_cond_destroy(pthread_cond_t *c)
{
    return c->__head ? EBUSY : 0;
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    kcond_wait(kc(c), km(m));
    return 0;
}

// abstime is on the cond's clock (CLOCK_REALTIME unless set with
// pthread_condattr_setclock); the kernel wants a monotonic deadline.
int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime)
{
    if (abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000)
        return EINVAL;
    int64_t abs_ns = abstime->tv_sec < 0 ? 0 : abstime->tv_sec * 1000000000ll + abstime->tv_nsec;
    uint64_t mono = clock_monotonic_ns();
    uint64_t deadline;
    if (c->__clock == CLOCK_MONOTONIC) {
        deadline = abs_ns;
    } else {
        int64_t left = abs_ns - (int64_t)clock_realtime_ns();
        deadline = mono + (left > 0 ? left : 0);
    }
    return kcond_timedwait(kc(c), km(m), deadline) ? 0 : ETIMEDOUT;
}

int pthread_cond_signal(pthread_cond_t *c)
{
    kcond_signal(kc(c));
    return 0;
}

int pthread_cond_broadcast(pthread_cond_t *c)
{
    kcond_broadcast(kc(c));
    return 0;
}

int pthread_condattr_init(pthread_condattr_t *a)
{
    a->__clock = CLOCK_REALTIME;
    return 0;
}

int pthread_condattr_destroy(pthread_condattr_t *a)
{
    (void)a;
    return 0;
}

int pthread_condattr_setclock(pthread_condattr_t *a, clockid_t clock)
{
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    a->__clock = clock;
    return 0;
}

int pthread_condattr_getclock(const pthread_condattr_t *a, clockid_t *clock)
{
    *clock = a->__clock;
    return 0;
}

// --- rwlocks: readers are preferred (glibc's default) ---

int pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
    (void)attr;
    *rw = (pthread_rwlock_t){ 0 };
    return 0;
}

int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
    return rw->__readers || rw->__writer ? EBUSY : 0;
}

int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
    kmutex_lock(km(&rw->__m));
    while (rw->__writer)
        kcond_wait(kc(&rw->__c), km(&rw->__m));
    rw->__readers++;
    kmutex_unlock(km(&rw->__m));
    return 0;
}

int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
    int r = EBUSY;
    kmutex_lock(km(&rw->__m));
    if (!rw->__writer) {
        rw->__readers++;
        r = 0;
    }
    kmutex_unlock(km(&rw->__m));
    return r;
}

int pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
    kmutex_lock(km(&rw->__m));
    while (rw->__writer || rw->__readers)
        kcond_wait(kc(&rw->__c), km(&rw->__m));
    rw->__writer = 1;
    kmutex_unlock(km(&rw->__m));
    return 0;
}

int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
    int r = EBUSY;
    kmutex_lock(km(&rw->__m));
    if (!rw->__writer && !rw->__readers) {
        rw->__writer = 1;
        r = 0;
    }
    kmutex_unlock(km(&rw->__m));
    return r;
}

int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
    kmutex_lock(km(&rw->__m));
    if (rw->__writer)
        rw->__writer = 0;
    else if (rw->__readers)
        rw->__readers--;
    kcond_broadcast(kc(&rw->__c));
    kmutex_unlock(km(&rw->__m));
    return 0;
}

// --- barriers ---

int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr, unsigned count)
{
    (void)attr;
    if (count == 0)
        return EINVAL;
    *b = (pthread_barrier_t){ .__count = count };
    return 0;
}

int pthread_barrier_destroy(pthread_barrier_t *b)
{
    return b->__waiting ? EBUSY : 0;
}

// The last thread to arrive starts a new phase and wakes the others.
int pthread_barrier_wait(pthread_barrier_t *b)
{
    int r = 0;
    kmutex_lock(km(&b->__m));
    unsigned phase = b->__phase;
    if (++b->__waiting == b->__count) {
        b->__waiting = 0;
        b->__phase++;
        kcond_broadcast(kc(&b->__c));
        r = PTHREAD_BARRIER_SERIAL_THREAD;
    } else {
        while (phase == b->__phase)
            kcond_wait(kc(&b->__c), km(&b->__m));
    }
    kmutex_unlock(km(&b->__m));
    return r;
}

// --- spinlocks: on one CPU, spinning only wastes the time slice, so yield ---

int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
    (void)pshared;
    *s = 0;
    return 0;
}

int pthread_spin_destroy(pthread_spinlock_t *s)
{
    (void)s;
    return 0;
}

int pthread_spin_lock(pthread_spinlock_t *s)
{
    while (__atomic_exchange_n(s, 1, __ATOMIC_ACQUIRE))
        thread_yield();
    return 0;
}

int pthread_spin_trylock(pthread_spinlock_t *s)
{
    return __atomic_exchange_n(s, 1, __ATOMIC_ACQUIRE) ? EBUSY : 0;
}

int pthread_spin_unlock(pthread_spinlock_t *s)
{
    __atomic_store_n(s, 0, __ATOMIC_RELEASE);
    return 0;
}
