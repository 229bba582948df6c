// SPDX-License-Identifier: MIT
// POSIX threads over kernel threads: creation, join/detach, exit, once and
// thread-specific data. A pthread_t is the struct thread pointer itself.
#include <pthread.h>
#include <stdlib.h>
#include <errno.h>
#include <limits.h>
#include <thread.h>
#include <sync.h>

struct start {
    void *(*fn)(void *);
    void *arg;
};

// Thread-specific values of one thread, created on its first setspecific.
struct tls {
    struct thread *owner;
    const void *value[PTHREAD_KEYS_MAX];
    struct tls *next;
};

static struct {
    int used;
    void (*destructor)(void *);
} keys[PTHREAD_KEYS_MAX];
static struct tls *tls_list;
static struct kmutex tls_lock;

static void trampoline(void *p)
{
    struct start s = *(struct start *)p;
    free(p);
    pthread_exit(s.fn(s.arg));
}

int pthread_create(pthread_t *out, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    struct start *s = malloc(sizeof *s);
    if (!s)
        return EAGAIN;
    *s = (struct start){ fn, arg };
    struct thread *t = thread_create(trampoline, s, attr ? attr->__stacksize : 0, "pthread");
    if (!t) {
        free(s);
        return EAGAIN;
    }
    *out = (pthread_t)t;
    if (attr && attr->__detach == PTHREAD_CREATE_DETACHED)
        thread_detach(t);
    return 0;
}

int pthread_join(pthread_t t, void **ret)
{
    if (t == pthread_self())
        return EDEADLK;
    void *v = thread_join((struct thread *)t);
    if (ret)
        *ret = v;
    return 0;
}

int pthread_detach(pthread_t t)
{
    thread_detach((struct thread *)t);
    return 0;
}

pthread_t pthread_self(void)
{
    return (pthread_t)thread_current();
}

int pthread_equal(pthread_t a, pthread_t b)
{
    return a == b;
}

int pthread_yield(void)
{
    thread_yield();
    return 0;
}

// The current thread's tls record (unlinked from the list when take is set).
static struct tls *find_tls(int take)
{
    struct thread *self = thread_current();
    for (struct tls **pp = &tls_list; *pp; pp = &(*pp)->next) {
        struct tls *t = *pp;
        if (t->owner == self) {
            if (take)
                *pp = t->next;
            return t;
        }
    }
    return NULL;
}

// Runs key destructors (up to 4 rounds, as POSIX allows) and frees the record.
static void run_destructors(void)
{
    kmutex_lock(&tls_lock);
    struct tls *t = find_tls(1);
    kmutex_unlock(&tls_lock);
    if (!t)
        return;
    for (int round = 0, again = 1; again && round < 4; round++) {
        again = 0;
        for (int k = 0; k < PTHREAD_KEYS_MAX; k++) {
            void *v = (void *)t->value[k];
            if (v && keys[k].used && keys[k].destructor) {
                t->value[k] = NULL;
                keys[k].destructor(v);
                again = 1;
            }
        }
    }
    free(t);
}

// For the main thread this ends only the thread; what happens to the app
// then is the kernel's business (glibc would wait for the other threads).
void pthread_exit(void *ret)
{
    run_destructors();
    thread_exit(ret);
}

int pthread_key_create(pthread_key_t *key, void (*destructor)(void *))
{
    int r = EAGAIN;
    kmutex_lock(&tls_lock);
    for (int k = 0; k < PTHREAD_KEYS_MAX; k++)
        if (!keys[k].used) {
            keys[k].used = 1;
            keys[k].destructor = destructor;
            *key = k;
            r = 0;
            break;
        }
    kmutex_unlock(&tls_lock);
    return r;
}

int pthread_key_delete(pthread_key_t key)
{
    if (key >= PTHREAD_KEYS_MAX || !keys[key].used)
        return EINVAL;
    kmutex_lock(&tls_lock);
    keys[key].used = 0;
    for (struct tls *t = tls_list; t; t = t->next)   // a new key must read NULL
        t->value[key] = NULL;
    kmutex_unlock(&tls_lock);
    return 0;
}

void *pthread_getspecific(pthread_key_t key)
{
    if (key >= PTHREAD_KEYS_MAX)
        return NULL;
    kmutex_lock(&tls_lock);
    struct tls *t = find_tls(0);
    const void *v = t ? t->value[key] : NULL;
    kmutex_unlock(&tls_lock);
    return (void *)v;
}

int pthread_setspecific(pthread_key_t key, const void *value)
{
    if (key >= PTHREAD_KEYS_MAX || !keys[key].used)
        return EINVAL;
    int r = 0;
    kmutex_lock(&tls_lock);
    struct tls *t = find_tls(0);
    if (!t && (t = calloc(1, sizeof *t))) {
        t->owner = thread_current();
        t->next = tls_list;
        tls_list = t;
    }
    if (t)
        t->value[key] = value;
    else
        r = ENOMEM;
    kmutex_unlock(&tls_lock);
    return r;
}

// 0: not run, 1: running, 2: done. The lock is recursive so that fn may
// itself call pthread_once on another once-control.
int pthread_once(pthread_once_t *once, void (*fn)(void))
{
    static struct kmutex once_lock = { .recursive = 1 };
    if (__atomic_load_n(once, __ATOMIC_ACQUIRE) == 2)
        return 0;
    kmutex_lock(&once_lock);
    if (*once == 0) {
        *once = 1;
        fn();
        __atomic_store_n(once, 2, __ATOMIC_RELEASE);
    }
    kmutex_unlock(&once_lock);
    return 0;
}

// --- attributes ---

int pthread_attr_init(pthread_attr_t *a)
{
    *a = (pthread_attr_t){ 0, PTHREAD_CREATE_JOINABLE };
    return 0;
}

int pthread_attr_destroy(pthread_attr_t *a)
{
    (void)a;
    return 0;
}

int pthread_attr_setstacksize(pthread_attr_t *a, size_t size)
{
    if (size < PTHREAD_STACK_MIN)
        return EINVAL;
    a->__stacksize = size;
    return 0;
}

// 0 in the attribute means the kernel's default, which we report.
int pthread_attr_getstacksize(const pthread_attr_t *a, size_t *size)
{
    *size = a->__stacksize ? a->__stacksize : 128 * 1024;
    return 0;
}

int pthread_attr_setdetachstate(pthread_attr_t *a, int state)
{
    if (state != PTHREAD_CREATE_JOINABLE && state != PTHREAD_CREATE_DETACHED)
        return EINVAL;
    a->__detach = state;
    return 0;
}

int pthread_attr_getdetachstate(const pthread_attr_t *a, int *state)
{
    *state = a->__detach;
    return 0;
}
