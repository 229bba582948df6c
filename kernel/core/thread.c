// SPDX-License-Identifier: MIT
// Threads and the scheduler. One CPU, round robin with a 10 ms slice,
// preemption from the one-shot LAPIC timer, which is armed for the earliest
// of: the end of the running thread's slice (only when another thread waits),
// the first sleeper's deadline, the next metrics sample. With nothing to do,
// the idle thread (the boot context) halts until the next interrupt.
// Each thread has its own stack and interrupt stack in the app area, each with
// an unmapped guard page below it, so an overflow faults instead of silently
// corrupting a neighbour.
#include <string.h>
#include "thread.h"
#include "sync.h"
#include "arch.h"
#include "app.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "heap.h"
#include "page_alloc.h"
#include "vmem.h"
#include "memlayout.h"
#include "metrics.h"

#define SLICE_NS           10000000u
#define DEFAULT_STACK      (128u << 10)
#define INTERRUPT_STACK    (16u << 10)

enum thread_state { RUNNING, RUNNABLE, BLOCKED, DEAD };

// What %fs points to. Code built with -fstack-protector reads its canary at %fs:0x28.
struct tcb {
    struct tcb *self;
    uint64_t reserved[4];
    uint64_t stack_guard;
};

struct thread {
    uint64_t rsp;                         // saved by switch_context
    enum thread_state state;
    uint64_t id;
    char name[24];
    thread_fn fn;
    void *arg;
    void *retval;
    struct thread *next;                  // run queue or zombie list
    struct thread *wait_next;             // a wait queue (sync.c)
    struct thread *sleep_next;            // the sleeper list
    bool sleeping, timed_out, detached, daemon;
    uint64_t wake_ns;
    struct thread *joiner;
    uintptr_t stack, istack;              // lowest usable address of each
    size_t stack_size;
    int errno_value;
    struct tcb tcb;
    uint8_t fpu[512] __attribute__((aligned(16)));
};

extern void switch_context(uint64_t *save_rsp, uint64_t load_rsp);
extern char thread_start[];

static struct thread *current, *idle;
static struct thread *runq_head, *runq_tail, *sleepers, *zombies;
static uint8_t fpu_initial[512] __attribute__((aligned(16)));
static uint64_t next_id, switches, ticks, slice_start_ns;
static unsigned live_threads;
static uint64_t metrics_period_ns, next_metrics_ns;

static void fxsave(uint8_t *area) { __asm__ volatile("fxsave64 (%0)" ::"r"(area) : "memory"); }
static void fxrstor(const uint8_t *area) { __asm__ volatile("fxrstor64 (%0)" ::"r"(area) : "memory"); }
static void set_fs_base(struct thread *t) { arch_set_tls_base((uintptr_t)&t->tcb); }

static void runq_push(struct thread *t)
{
    t->state = RUNNABLE;
    t->next = NULL;
    if (runq_tail)
        runq_tail->next = t;
    else
        runq_head = t;
    runq_tail = t;
}

static struct thread *runq_pop(void)
{
    struct thread *t = runq_head;
    if (t) {
        runq_head = t->next;
        if (!runq_head)
            runq_tail = NULL;
    }
    return t;
}

static void sleepers_insert(struct thread *t)
{
    struct thread **p = &sleepers;
    while (*p && (*p)->wake_ns <= t->wake_ns)
        p = &(*p)->sleep_next;
    t->sleep_next = *p;
    *p = t;
    t->sleeping = true;
}

static void sleepers_remove(struct thread *t)
{
    for (struct thread **p = &sleepers; *p; p = &(*p)->sleep_next) {
        if (*p == t) {
            *p = t->sleep_next;
            break;
        }
    }
    t->sleeping = false;
}

static void arm_timer(void)
{
    uint64_t now = clock_monotonic_ns(), deadline = UINT64_MAX;
    if (sleepers)
        deadline = sleepers->wake_ns;
    if (runq_head && current != idle && slice_start_ns + SLICE_NS < deadline)
        deadline = slice_start_ns + SLICE_NS;
    if (metrics_period_ns && next_metrics_ns < deadline)
        deadline = next_metrics_ns;
    timer_arm_ns(deadline == UINT64_MAX ? 0 : deadline > now ? deadline - now : 1);
}

// Switches to the next runnable thread (or idle). Interrupts off; the caller
// has already put `current` wherever it belongs (run queue, a wait queue...).
static void schedule(void)
{
    struct thread *prev = current, *next = runq_pop();
    if (!next)
        next = prev->state == RUNNING ? prev : idle;
    slice_start_ns = clock_monotonic_ns();
    next->state = RUNNING;
    if (next != prev) {
        current = next;
        switches++;
        tss_set_interrupt_stack(next->istack + INTERRUPT_STACK);
        set_fs_base(next);
        fxsave(prev->fpu);
        arm_timer();
        switch_context(&prev->rsp, next->rsp);
        fxrstor(current->fpu);                 // we are prev again
    }
    arm_timer();
}

// First code a new thread runs, entered from switch_context via thread_start.
void thread_entry(void)
{
    fxrstor(current->fpu);
    irq_enable();
    current->fn(current->arg);
    thread_exit(NULL);
}

static void free_thread(struct thread *t)
{
    paging_unmap(t->stack, t->stack_size, true);
    vmem_release(t->stack, t->stack_size, PAGE_SIZE);
    paging_unmap(t->istack, INTERRUPT_STACK, true);
    vmem_release(t->istack, INTERRUPT_STACK, PAGE_SIZE);
    kfree(t);
}

static void reap_zombies(void)
{
    int irq = irq_save();
    struct thread *list = zombies;
    zombies = NULL;
    irq_restore(irq);
    while (list) {
        struct thread *t = list;
        list = t->next;
        free_thread(t);
    }
}

// Maps a stack of `size` bytes with an unmapped guard page below; returns its base or 0.
static uintptr_t map_stack(size_t size)
{
    uintptr_t base = vmem_reserve(size, PAGE_SIZE);
    if (base && paging_map_anon(base, size, PROT_R | PROT_W, false) == 0)
        return base;
    if (base)
        vmem_release(base, size, PAGE_SIZE);
    return 0;
}

static void announce(const struct thread *t)
{
    struct event e;
    event_begin(&e, "thread");
    event_u64(&e, "id", t->id);
    event_str(&e, "name", t->name);
    event_hex(&e, "stack_start", t->stack);
    event_hex(&e, "stack_end", t->stack + t->stack_size);
    event_send(&e);
}

static struct thread *thread_alloc(const char *name, size_t stack_size)
{
    struct thread *t = kcalloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->stack_size = (stack_size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    t->istack = map_stack(INTERRUPT_STACK);
    t->stack = t->stack_size ? map_stack(t->stack_size) : 0;
    if (!t->istack || (t->stack_size && !t->stack)) {
        if (t->istack)
            paging_unmap(t->istack, INTERRUPT_STACK, true), vmem_release(t->istack, INTERRUPT_STACK, PAGE_SIZE);
        if (t->stack)
            paging_unmap(t->stack, t->stack_size, true), vmem_release(t->stack, t->stack_size, PAGE_SIZE);
        kfree(t);
        return NULL;
    }
    strncpy(t->name, name ? name : "thread", sizeof t->name - 1);
    t->tcb.self = &t->tcb;
    t->tcb.stack_guard = rdtsc() * 0x9e3779b97f4a7c15ULL | 0xff;
    memcpy(t->fpu, fpu_initial, sizeof t->fpu);
    int irq = irq_save();
    t->id = next_id++;
    live_threads++;
    irq_restore(irq);
    return t;
}

struct thread *thread_create(thread_fn fn, void *arg, size_t stack_size, const char *name)
{
    reap_zombies();
    struct thread *t = thread_alloc(name, stack_size ? stack_size : DEFAULT_STACK);
    if (!t)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    // The first switch_context pops six callee-saved registers, then returns to thread_start.
    // thread_start runs with rsp at the (16-byte aligned) top, as the ABI
    // expects just before a call.
    uint64_t *sp = (uint64_t *)(t->stack + t->stack_size);
    *--sp = (uint64_t)thread_start;
    for (int i = 0; i < 6; i++)
        *--sp = 0;
    t->rsp = (uint64_t)sp;
    announce(t);
    int irq = irq_save();
    runq_push(t);
    arm_timer();
    irq_restore(irq);
    return t;
}

void thread_exit(void *value)
{
    irq_disable();
    current->retval = value;
    current->state = DEAD;
    if (!current->daemon && --live_threads == 0)   // as on Linux: the last thread's exit ends the app
        app_exit(0);
    if (current->detached) {
        current->next = zombies;
        zombies = current;
    } else if (current->joiner) {
        thread_wake(current->joiner);
    }
    schedule();
    __builtin_unreachable();
}

void *thread_join(struct thread *t)
{
    int irq = irq_save();
    while (t->state != DEAD) {
        t->joiner = current;
        thread_block_until(UINT64_MAX);
    }
    irq_restore(irq);
    void *v = t->retval;
    free_thread(t);
    reap_zombies();
    return v;
}

void thread_detach(struct thread *t)
{
    int irq = irq_save();
    if (t->state == DEAD) {
        t->next = zombies;
        zombies = t;
    } else {
        t->detached = true;
    }
    irq_restore(irq);
}

void thread_make_daemon(struct thread *t)
{
    int irq = irq_save();
    if (!t->daemon && t->state != DEAD) {
        t->daemon = true;
        live_threads--;
    }
    irq_restore(irq);
}

void thread_yield(void)
{
    int irq = irq_save();
    if (current != idle)
        runq_push(current);
    schedule();
    irq_restore(irq);
}

bool thread_block_until(uint64_t deadline_ns)
{
    current->state = BLOCKED;
    current->timed_out = false;
    if (deadline_ns != UINT64_MAX) {
        current->wake_ns = deadline_ns;
        sleepers_insert(current);
    }
    schedule();
    return !current->timed_out;
}

void thread_wake(struct thread *t)
{
    int irq = irq_save();
    if (t->state == BLOCKED) {
        if (t->sleeping)
            sleepers_remove(t);
        runq_push(t);
        arm_timer();
    }
    irq_restore(irq);
}

void thread_sleep_until(uint64_t deadline_ns)
{
    int irq = irq_save();
    while (clock_monotonic_ns() < deadline_ns)
        thread_block_until(deadline_ns);
    irq_restore(irq);
}

void thread_sleep_ns(uint64_t ns) { thread_sleep_until(clock_monotonic_ns() + ns); }

void waitq_push(struct wait_queue *q, struct thread *t)
{
    t->wait_next = NULL;
    if (q->tail)
        q->tail->wait_next = t;
    else
        q->head = t;
    q->tail = t;
}

struct thread *waitq_pop(struct wait_queue *q)
{
    struct thread *t = q->head;
    if (t) {
        q->head = t->wait_next;
        if (!q->head)
            q->tail = NULL;
    }
    return t;
}

bool waitq_remove(struct wait_queue *q, struct thread *t)
{
    struct thread *prev = NULL;
    for (struct thread *p = q->head; p; prev = p, p = p->wait_next) {
        if (p != t)
            continue;
        if (prev)
            prev->wait_next = p->wait_next;
        else
            q->head = p->wait_next;
        if (q->tail == p)
            q->tail = prev;
        return true;
    }
    return false;
}

static void timer_interrupt(struct trap_frame *f, void *ctx)
{
    (void)f, (void)ctx;
    lapic_eoi();
    ticks++;
    uint64_t now = clock_monotonic_ns();
    while (sleepers && sleepers->wake_ns <= now) {
        struct thread *t = sleepers;
        sleepers_remove(t);
        t->timed_out = true;
        runq_push(t);
    }
    if (metrics_period_ns && now >= next_metrics_ns) {
        metrics_send(now);
        next_metrics_ns = now + metrics_period_ns;
    }
    if (current != idle && runq_head && now - slice_start_ns >= SLICE_NS) {
        runq_push(current);                    // preempt: slice used up
        schedule();
    } else {
        arm_timer();                           // the idle loop picks up new work itself
    }
}

void sched_init(void)
{
    __asm__ volatile("fninit");
    uint32_t mxcsr = 0x1f80;                   // all SSE exceptions masked
    __asm__ volatile("ldmxcsr %0" ::"m"(mxcsr));
    fxsave(fpu_initial);
    idle = thread_alloc("idle", 0);            // runs on the boot stack
    idle->state = RUNNING;
    live_threads--;                            // idle does not count as a thread
    current = idle;
    tss_set_interrupt_stack(idle->istack + INTERRUPT_STACK);
    set_fs_base(idle);
    irq_register(TIMER_VECTOR, timer_interrupt, NULL);
}

void sched_set_metrics_period(uint64_t period_ns)
{
    metrics_period_ns = period_ns;
    next_metrics_ns = clock_monotonic_ns() + period_ns;
}

void sched_idle_loop(void)
{
    for (;;) {
        irq_disable();
        if (runq_head)
            schedule();
        else
            arch_idle();                       // sti; hlt; cli
        irq_enable();
        reap_zombies();
    }
}

struct thread *thread_current(void) { return current; }
uint64_t thread_id(const struct thread *t) { return t->id; }
int *thread_errno(void) { return &current->errno_value; }
unsigned thread_count(void) { return live_threads; }
uint64_t sched_switches(void) { return switches; }
uint64_t sched_ticks(void) { return ticks; }
const char *thread_name(const struct thread *t) { return t->name; }

void thread_stack_bounds(const struct thread *t, uintptr_t *lo, uintptr_t *hi)
{
    extern char boot_stack_top[];
    if (t == idle) {                           // the boot stack
        *lo = (uintptr_t)boot_stack_top - 16384;
        *hi = (uintptr_t)boot_stack_top;
    } else {
        *lo = t->stack;
        *hi = t->stack + t->stack_size;
    }
}
