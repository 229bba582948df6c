// SPDX-License-Identifier: MIT
// TCP socket options (level IPPROTO_TCP). Segments always leave at once, so
// TCP_NODELAY is accepted and reads back as 1; the keep-alive timings are
// accepted and ignored (the stack uses its own: see kernel/net/tcp.c).
#pragma once

#define TCP_NODELAY   1
#define TCP_MAXSEG    2
#define TCP_KEEPIDLE  4
#define TCP_KEEPINTVL 5
#define TCP_KEEPCNT   6
