// SPDX-License-Identifier: MIT
// assert(): on failure prints glibc's message and aborts (status 134).
// Deliberately no include guard: NDEBUG may change between inclusions.
#undef assert
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
__attribute__((noreturn)) void __assert_fail(const char *expr, const char *file,
                                             unsigned line, const char *func);
#define assert(e) ((e) ? (void)0 : __assert_fail(#e, __FILE__, __LINE__, __func__))
#endif
#if !defined(__cplusplus) && !defined(static_assert)
#define static_assert _Static_assert
#endif
