// SPDX-License-Identifier: MIT
// The periodic "metrics" sample on COM2 (option metrics=MS). Core counters
// are always in it; a driver adds its own by registering a source, which
// appends fields to the event. Sources run in interrupt context: no blocking.
#pragma once
#include <stdint.h>
#include "events.h"

typedef void (*metrics_source)(struct event *e);
void metrics_register(metrics_source source);
void metrics_send(uint64_t now_ns);
