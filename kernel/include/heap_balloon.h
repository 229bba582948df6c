// SPDX-License-Identifier: MIT
// The heap balloon: memory moves between the kernel and an app that manages
// its own garbage-collected heap (OSv's JVM balloon). The app is given nearly
// all free memory at start. When the kernel runs short it asks the app's heap
// for a balloon object, unmaps that object's pages and uses their frames;
// when memory is plentiful again it maps fresh pages back and gives them to
// the app, whose balloon object shrinks or goes away.
//
// Call order: the app's heap_balloon_register (the first one starts the
// "heapballoon" thread and joins the reclaim chain) -> any number of
// inflations and deflations, run by that thread -> heap_balloon_unregister
// (all pages back first). The callbacks are app code called from that thread,
// never from an interrupt handler; the app must not allocate kernel memory
// (malloc, mmap, threads) while it holds the lock they take.
//
// The app's promises, which are what keep its collector away from the holes:
// the balloon object is page-aligned, pinned (never moved), pointer-free
// (never scanned), has its header outside its pages, and nothing in the app
// touches it until the kernel gives it back. The callbacks take the heap's
// lock, so they run at a safe point: never in the middle of a collection.
//
// COM2: a "heap_balloon" event after each change, with `action` (register,
// inflate, deflate, refused, report, unregister), `bytes` (moved by this
// action), `balloon_bytes` (held by the kernel now), the app's last report
// (`heap_bytes`, `used_bytes`, `live_bytes`, `collections`), `pages_free`,
// `kernel_hog_pages`, `host_balloon_pages` and `tsc`. Metric samples gain
// heap_balloon_bytes, app_heap_bytes, app_used_bytes, app_live_bytes and
// app_collections.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct heap_balloon_ops {
    // Allocate a balloon object of at most `bytes` (whole pages) in the heap;
    // return its start and set *got to its size (a multiple of 4096), or
    // return NULL with *got = 0 when the heap cannot spare memory now.
    void *(*inflate)(void *ctx, size_t bytes, size_t *got);
    // [start, start + bytes) is mapped again (fresh zeroed pages): it is the
    // low end, or all, of the balloon object that starts at `start`.
    void (*deflate)(void *ctx, void *start, size_t bytes);
    void *ctx;
};

// What the app reports about its heap (shown on COM2).
struct heap_report {
    uint64_t heap_bytes;      // the heap's size, balloon objects excluded
    uint64_t used_bytes;      // allocated, live or not yet collected
    uint64_t live_bytes;      // found live by the last collection
    uint64_t collections;     // collections so far
};

struct heap_balloon_stats {
    bool registered;
    uint64_t balloon_bytes;            // held by the kernel now
    uint64_t inflations, deflations;   // callbacks that moved memory
    uint64_t refusals;                 // inflations the heap could not serve
    struct heap_report app;            // the app's last report
};

// Returns 0, or -1 when an app heap is registered already or ops are missing.
int heap_balloon_register(const struct heap_balloon_ops *ops);
// Maps every page back and returns it to the app first; -1 (still
// registered) if memory stayed too short to do so for 5 s.
int heap_balloon_unregister(void);
// Asks the app's heap for at least `pages` and waits up to timeout_ns for
// them; returns the pages freed (0 at once if no heap is registered).
size_t heap_balloon_reclaim(size_t pages, uint64_t timeout_ns);
void heap_balloon_report(const struct heap_report *r);
void heap_balloon_get_stats(struct heap_balloon_stats *out);
