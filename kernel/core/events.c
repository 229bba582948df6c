// SPDX-License-Identifier: MIT
// COM2 JSON events. Formatting is done by hand (no printf): milestones are
// emitted during boot, whose instruction count is a measured budget.
#include <string.h>
#include "events.h"
#include "serial.h"
#include "arch.h"

void events_init(void) { serial_init(COM2); }

static void put(struct event *e, char c)
{
    if (e->len < sizeof e->buf - 3)            // room left for "}\n"
        e->buf[e->len++] = c;
}

static void puts_raw(struct event *e, const char *s)
{
    while (*s)
        put(e, *s++);
}

static void put_string(struct event *e, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(e, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            put(e, '\\');
            put(e, (char)c);
        } else if (c < 0x20 || c >= 0x7f) {
            puts_raw(e, "\\u00");
            put(e, hex[c >> 4]);
            put(e, hex[c & 15]);
        } else {
            put(e, (char)c);
        }
    }
    put(e, '"');
}

static void put_key(struct event *e, const char *key)
{
    put(e, ',');
    put_string(e, key);
    put(e, ':');
}

static void put_u64(struct event *e, uint64_t v, unsigned base)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        put(e, digits[--n]);
}

void event_begin(struct event *e, const char *ev)
{
    e->len = 0;
    puts_raw(e, "{\"ev\":");
    put_string(e, ev);
}

void event_str(struct event *e, const char *key, const char *value)
{
    put_key(e, key);
    put_string(e, value ? value : "");
}

void event_u64(struct event *e, const char *key, uint64_t value)
{
    put_key(e, key);
    put_u64(e, value, 10);
}

void event_i64(struct event *e, const char *key, int64_t value)
{
    put_key(e, key);
    if (value < 0) {
        put(e, '-');
        put_u64(e, -(uint64_t)value, 10);
    } else {
        put_u64(e, (uint64_t)value, 10);
    }
}

void event_hex(struct event *e, const char *key, uint64_t value)
{
    put_key(e, key);
    puts_raw(e, "\"0x");
    put_u64(e, value, 16);
    put(e, '"');
}

void event_raw(struct event *e, const char *key, const char *json)
{
    put_key(e, key);
    puts_raw(e, json);
}

void event_send(struct event *e)
{
    e->buf[e->len++] = '}';
    e->buf[e->len++] = '\n';
    int irq = irq_save();
    for (size_t i = 0; i < e->len; i++)
        serial_putc(COM2, e->buf[i]);
    irq_restore(irq);
}

void event_milestone(const char *name, uint64_t tsc)
{
    struct event e;
    event_begin(&e, "milestone");
    event_str(&e, "name", name);
    event_u64(&e, "tsc", tsc ? tsc : rdtsc());
    event_send(&e);
}
