// SPDX-License-Identifier: MIT
// Text forms of IPv4 addresses.
#pragma once
#include <netinet/in.h>

in_addr_t inet_addr(const char *text);
int inet_aton(const char *text, struct in_addr *out);
char *inet_ntoa(struct in_addr in);                    // a static buffer, as in glibc
int inet_pton(int af, const char *text, void *out);    // 1, 0 (not an address), -1 (af)
const char *inet_ntop(int af, const void *in, char *out, socklen_t size);
