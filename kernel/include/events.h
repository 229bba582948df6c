// SPDX-License-Identifier: MIT
// The machine channel on COM2: one JSON object per line, always with "ev".
// The event vocabulary is documented in kernel/README.md; labkit parses it.
//   struct event e; event_begin(&e, "milestone"); event_str(&e, "name", "heap");
//   event_u64(&e, "tsc", rdtsc()); event_send(&e);
#pragma once
#include <stdint.h>
#include <stddef.h>

struct event {
    char buf[1024];
    size_t len;
};

void events_init(void);
void event_begin(struct event *e, const char *ev);
void event_str(struct event *e, const char *key, const char *value);   // JSON-escaped
void event_u64(struct event *e, const char *key, uint64_t value);
void event_i64(struct event *e, const char *key, int64_t value);
void event_hex(struct event *e, const char *key, uint64_t value);      // "0x..." string
// Appends raw JSON text (for arrays built by the caller).
void event_raw(struct event *e, const char *key, const char *json);
void event_send(struct event *e);

// A boot milestone stamped with the TSC; tsc 0 means "now".
void event_milestone(const char *name, uint64_t tsc);
