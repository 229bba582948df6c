// SPDX-License-Identifier: MIT
// File descriptors: a table mapping fds to the console (0-2 at start),
// /dev/null, /dev/zero, read-only files of the boot archive, or sockets. The
// table grows on demand in chunks of 64 slots, up to RLIMIT_NOFILE (1024 by
// default, 65536 at most, as getrlimit/setrlimit say); a chunk never moves or
// goes away, so reads and writes find their slot without a lock. Writes to the
// console and /dev/null take no lock: that path is benchmarked.
#include "fd_socket.h"
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <string.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <console.h>
#include <sync.h>
#include <app.h>

#define FD_CHUNK   64
#define FD_HARD    65536         // RLIMIT_NOFILE's ceiling
#define FD_DEFAULT 1024          // its default soft limit, as on Linux

enum kind { FD_FREE, FD_CONSOLE, FD_NULL, FD_ZERO, FD_BOOTFS, FD_SOCKET };

struct ofile {
    enum kind kind;
    int flags;           // O_ACCMODE bits and O_APPEND..., for F_GETFL
    const char *data;    // FD_BOOTFS: the file's bytes in the archive
    size_t size;
    off_t pos;
    struct sock *sock;   // FD_SOCKET: the kernel socket (socket.c sets it)
};

static struct ofile first_chunk[FD_CHUNK] = {
    [0] = { FD_CONSOLE, O_RDWR, NULL, 0, 0, NULL },
    [1] = { FD_CONSOLE, O_RDWR, NULL, 0, 0, NULL },
    [2] = { FD_CONSOLE, O_RDWR, NULL, 0, 0, NULL },
};
static struct ofile *chunks[FD_HARD / FD_CHUNK] = { first_chunk };
static struct rlimit nofile = { FD_DEFAULT, FD_HARD };
static struct kmutex fd_lock;   // guards allocation, the limit and bootfs positions

static int fail(int err)
{
    errno = err;
    return -1;
}

// fd's slot, or NULL if its chunk was never needed.
static struct ofile *slot(int fd)
{
    if ((unsigned)fd >= FD_HARD || !chunks[fd / FD_CHUNK])
        return NULL;
    return &chunks[fd / FD_CHUNK][fd % FD_CHUNK];
}

static struct ofile *get(int fd)
{
    struct ofile *f = slot(fd);
    return f && f->kind != FD_FREE ? f : NULL;
}

// fd's slot, making its chunk if needed (fd_lock held); NULL when memory is out.
static struct ofile *slot_make(int fd)
{
    struct ofile **c = &chunks[fd / FD_CHUNK];
    if (!*c)
        *c = calloc(FD_CHUNK, sizeof **c);
    return *c ? &(*c)[fd % FD_CHUNK] : NULL;
}

// Lowest free fd at or above min (and below the limit), marked taken with a
// copy of *f (never of its socket); or -1.
static int alloc_fd(const struct ofile *f, int min)
{
    int fd = -1, err = EMFILE;
    kmutex_lock(&fd_lock);
    for (int i = min < 0 ? 0 : min; i < (int)nofile.rlim_cur && fd < 0; i++) {
        struct ofile *o = slot_make(i);
        if (!o) {
            err = ENOMEM;
            break;
        }
        if (o->kind == FD_FREE) {
            *o = *f;
            o->sock = NULL;
            fd = i;
        }
    }
    kmutex_unlock(&fd_lock);
    return fd < 0 ? fail(err) : fd;
}

struct sock *__libc_fd_sock(int fd)
{
    struct ofile *f = get(fd);
    return f && f->kind == FD_SOCKET ? f->sock : NULL;
}

void __libc_fd_set_sock(int fd, struct sock *s)
{
    struct ofile *f = get(fd);
    if (f && f->kind == FD_SOCKET)
        f->sock = s;
}

int getrlimit(int resource, struct rlimit *rl)
{
    if (resource != RLIMIT_NOFILE)
        return fail(EINVAL);
    kmutex_lock(&fd_lock);
    *rl = nofile;
    kmutex_unlock(&fd_lock);
    return 0;
}

// Lowering the limit leaves fds above it open, as on Linux; no new one goes there.
int setrlimit(int resource, const struct rlimit *rl)
{
    if (resource != RLIMIT_NOFILE)
        return fail(EINVAL);
    if (rl->rlim_cur > rl->rlim_max)
        return fail(EINVAL);
    if (rl->rlim_max > FD_HARD)
        return fail(EPERM);
    kmutex_lock(&fd_lock);
    nofile = *rl;
    kmutex_unlock(&fd_lock);
    return 0;
}

// Archive names have no leading "/" or "./"; accept both forms.
static const char *archive_name(const char *path)
{
    for (;;) {
        if (path[0] == '/')
            path++;
        else if (path[0] == '.' && path[1] == '/')
            path += 2;
        else
            return path;
    }
}

// Fills *f for path; returns 0 or an errno value.
static int lookup(const char *path, int flags, struct ofile *f)
{
    *f = (struct ofile){ FD_FREE, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK), NULL, 0, 0, NULL };
    if (strcmp(path, "/dev/null") == 0)
        f->kind = FD_NULL;
    else if (strcmp(path, "/dev/zero") == 0)
        f->kind = FD_ZERO;
    else if (strcmp(path, "/dev/console") == 0 || strcmp(path, "/dev/tty") == 0)
        f->kind = FD_CONSOLE;
    if (f->kind != FD_FREE)
        return 0;

    const void *data;
    size_t size;
    const char *name = archive_name(path);
    if (!*name || bootfs_lookup(name, &data, &size) < 0)
        return (flags & O_CREAT) && *name ? EROFS : ENOENT;
    if ((flags & O_CREAT) && (flags & O_EXCL))
        return EEXIST;
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
        return EROFS;
    if (flags & O_DIRECTORY)
        return ENOTDIR;
    f->kind = FD_BOOTFS;
    f->data = data;
    f->size = size;
    return 0;
}

int open(const char *path, int flags, ...)
{
    struct ofile f;
    int err = lookup(path, flags, &f);
    return err ? fail(err) : alloc_fd(&f, 0);
}

int creat(const char *path, mode_t mode)
{
    return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int __libc_fd_socket(int flags)
{
    struct ofile f = { FD_SOCKET, O_RDWR | (flags & O_NONBLOCK), NULL, 0, 0, NULL };
    return alloc_fd(&f, 0);
}

int close(int fd)
{
    struct ofile *f = get(fd);
    if (f && f->kind == FD_SOCKET)
        __libc_socket_close(fd);
    kmutex_lock(&fd_lock);
    f = get(fd);
    if (f)
        f->kind = FD_FREE;
    kmutex_unlock(&fd_lock);
    return f ? 0 : fail(EBADF);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    struct ofile *f = get(fd);
    if (!f || (f->flags & O_ACCMODE) == O_RDONLY)
        return fail(EBADF);
    switch (f->kind) {
    case FD_CONSOLE:
        console_write(buf, n);
        return n;
    case FD_NULL:
    case FD_ZERO:
        return n;
    case FD_SOCKET:
        return __libc_socket_write(fd, buf, n);
    default:
        return fail(EBADF);
    }
}

// Copies from a boot-archive file at pos; returns the count.
static size_t archive_read(const struct ofile *f, void *buf, size_t n, off_t pos)
{
    if (pos >= (off_t)f->size)
        return 0;
    size_t left = f->size - pos;
    n = n < left ? n : left;
    memcpy(buf, f->data + pos, n);
    return n;
}

ssize_t read(int fd, void *buf, size_t n)
{
    struct ofile *f = get(fd);
    if (!f || (f->flags & O_ACCMODE) == O_WRONLY)
        return fail(EBADF);
    switch (f->kind) {
    case FD_CONSOLE:
        return n ? console_read(buf, n) : 0;
    case FD_NULL:
        return 0;
    case FD_SOCKET:
        return __libc_socket_read(fd, buf, n);
    case FD_ZERO:
        memset(buf, 0, n);
        return n;
    case FD_BOOTFS:
        kmutex_lock(&fd_lock);
        n = archive_read(f, buf, n, f->pos);
        f->pos += n;
        kmutex_unlock(&fd_lock);
        return n;
    default:
        return fail(EBADF);
    }
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    struct ofile *f = get(fd);
    if (!f)
        return fail(EBADF);
    if (f->kind != FD_BOOTFS)
        return f->kind == FD_CONSOLE ? fail(ESPIPE) : read(fd, buf, n);
    if (off < 0)
        return fail(EINVAL);
    return archive_read(f, buf, n, off);
}

off_t lseek(int fd, off_t off, int whence)
{
    struct ofile *f = get(fd);
    if (!f)
        return fail(EBADF);
    if (f->kind == FD_CONSOLE)
        return fail(ESPIPE);
    if (f->kind != FD_BOOTFS)
        return 0;   // like Linux's /dev/null and /dev/zero
    kmutex_lock(&fd_lock);
    off_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? f->pos
               : whence == SEEK_END ? (off_t)f->size : -1;
    off_t pos = base < 0 || base + off < 0 ? -1 : base + off;
    if (pos >= 0)
        f->pos = pos;
    kmutex_unlock(&fd_lock);
    return pos < 0 ? fail(EINVAL) : pos;
}

static void fill_stat(const struct ofile *f, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_nlink = 1;
    st->st_blksize = 4096;
    if (f->kind == FD_BOOTFS) {
        st->st_mode = S_IFREG | 0444;
        st->st_size = f->size;
        st->st_blocks = (f->size + 511) / 512;
    } else if (f->kind == FD_SOCKET) {
        st->st_mode = S_IFSOCK | 0777;
    } else {
        st->st_mode = S_IFCHR | 0666;
        st->st_rdev = f->kind == FD_CONSOLE ? 0x400 : f->kind == FD_NULL ? 0x103 : 0x105;
    }
}

int fstat(int fd, struct stat *st)
{
    struct ofile *f = get(fd);
    if (!f)
        return fail(EBADF);
    fill_stat(f, st);
    return 0;
}

int stat(const char *path, struct stat *st)
{
    struct ofile f;
    int err = lookup(path, O_RDONLY, &f);
    if (err)
        return fail(err);
    fill_stat(&f, st);
    return 0;
}

int lstat(const char *path, struct stat *st)
{
    return stat(path, st);
}

int access(const char *path, int mode)
{
    struct ofile f;
    int err = lookup(path, O_RDONLY, &f);
    if (err)
        return fail(err);
    if ((mode & W_OK) && f.kind == FD_BOOTFS)
        return fail(EROFS);
    if (mode & X_OK)
        return fail(EACCES);
    return 0;
}

int dup(int fd)
{
    struct ofile *f = get(fd);
    return f ? alloc_fd(f, 0) : fail(EBADF);
}

// Bootfs positions are copied, not shared as POSIX would have it.
int dup2(int fd, int to)
{
    struct ofile *f = get(fd);
    if (!f || to < 0 || to >= (int)nofile.rlim_cur)
        return fail(EBADF);
    if (fd != to) {
        if (get(to))
            close(to);
        kmutex_lock(&fd_lock);
        struct ofile *t = slot_make(to);
        if (t) {
            *t = *f;
            t->sock = NULL;
        }
        kmutex_unlock(&fd_lock);
        if (!t)
            return fail(ENOMEM);
    }
    return to;
}

int fcntl(int fd, int cmd, ...)
{
    struct ofile *f = get(fd);
    if (!f)
        return fail(EBADF);
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    switch (cmd) {
    case F_DUPFD: return alloc_fd(f, (int)arg);
    case F_GETFD: return 0;
    case F_SETFD: return 0;
    case F_GETFL: return f->flags;
    case F_SETFL: f->flags = (f->flags & O_ACCMODE) | (arg & (O_APPEND | O_NONBLOCK)); return 0;
    default: return fail(EINVAL);
    }
}

int isatty(int fd)
{
    struct ofile *f = get(fd);
    if (!f)
        return fail(EBADF);
    return f->kind == FD_CONSOLE ? 1 : fail(ENOTTY);
}

int fsync(int fd)
{
    return get(fd) ? 0 : fail(EBADF);
}

int unlink(const char *path)
{
    struct ofile f;
    int err = lookup(path, O_RDONLY, &f);
    return fail(err ? err : EROFS);
}

int mkdir(const char *path, mode_t mode)
{
    (void)path, (void)mode;
    return fail(EROFS);
}

int pipe(int fds[2])
{
    (void)fds;
    return fail(ENOSYS);
}
