// SPDX-License-Identifier: MIT
// Primitive POSIX types shared by several headers, with the sizes Linux x86-64
// uses, so structs such as struct stat and struct timespec have its layout.
#pragma once
#include <stddef.h>

typedef long ssize_t;
typedef long off_t;
typedef long off64_t;
typedef int pid_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef unsigned int mode_t;
typedef unsigned long dev_t;
typedef unsigned long ino_t;
typedef unsigned long nlink_t;
typedef long blksize_t;
typedef long blkcnt_t;
typedef long time_t;
typedef long suseconds_t;
typedef unsigned int useconds_t;
typedef int clockid_t;
typedef long clock_t;
typedef unsigned long pthread_t;   // holds a struct thread *

#ifndef __timespec_defined
#define __timespec_defined 1
struct timespec {
    time_t tv_sec;
    long tv_nsec;
};
#endif
