// SPDX-License-Identifier: MIT
// The virtio-balloon driver: the host sets a target size (QMP "balloon"),
// the driver gives that many pages back to it (inflate) or takes them back
// (deflate), reports memory statistics, and, when the host allows it
// (DEFLATE_ON_OOM), takes pages back at once when an allocation would fail.
// When the free pool cannot fill the balloon, it asks the app's managed heap
// (heap_balloon.h). COM2: a "balloon" event with `action` "target" (a new
// target arrived), "reached" or "short" (the guest found no more memory),
// `target_pages`, `pages` (held now), `work_tsc` (the driver's own ticks
// toward this target, waits for the host left out: under -icount shift=0,
// instructions) and `tsc`.
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct balloon_stats {
    bool present;
    uint32_t target_pages, balloon_pages;   // the host's wish, what it has
    uint64_t oom_deflated_pages;             // taken back to save an allocation
    uint64_t inflations, deflations;         // batches sent
};

// Finds the device on PCI and starts the driver's thread; false if absent.
bool balloon_init(void);
void balloon_get_stats(struct balloon_stats *out);
