// SPDX-License-Identifier: MIT
// Buffered streams (FILE) over the fd layer. Output: stdout is line-buffered
// (flushed at '\n', when full, before reading stdin and at exit); stderr is
// unbuffered, but each call still goes out in one write so lines do not
// interleave. Each FILE has a recursive lock (flockfile).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sync.h>
#include "format.h"

enum { F_READ = 1, F_WRITE = 2, F_EOF = 4, F_ERR = 8, F_OWNBUF = 16 };

struct __libc_file {
    int fd;
    int mode;           // _IOFBF, _IOLBF or _IONBF
    int flags;
    char *buf;
    size_t size;
    size_t wlen;        // bytes waiting to be written
    size_t rpos, rlen;  // unread bytes are buf[rpos..rlen)
    int ungot;          // a character pushed back by ungetc, or EOF
    int used;           // slot taken (for the fopen pool)
    struct kmutex lock;
};

#define LOCK_INIT { .recursive = 1 }
static char stdin_buf[1024], stdout_buf[1024], stderr_buf[256];
static FILE std_files[3] = {
    { 0, _IOLBF, F_READ, stdin_buf, sizeof stdin_buf, 0, 0, 0, EOF, 1, LOCK_INIT },
    { 1, _IOLBF, F_WRITE, stdout_buf, sizeof stdout_buf, 0, 0, 0, EOF, 1, LOCK_INIT },
    { 2, _IONBF, F_WRITE, stderr_buf, sizeof stderr_buf, 0, 0, 0, EOF, 1, LOCK_INIT },
};
FILE *stdin = &std_files[0];
FILE *stdout = &std_files[1];
FILE *stderr = &std_files[2];

static FILE pool[FOPEN_MAX];        // streams from fopen/fdopen
static struct kmutex pool_lock;

void flockfile(FILE *f) { kmutex_lock(&f->lock); }
void funlockfile(FILE *f) { kmutex_unlock(&f->lock); }

// --- output ---

static int flush_locked(FILE *f)
{
    size_t done = 0;
    while (done < f->wlen) {
        ssize_t n = write(f->fd, f->buf + done, f->wlen - done);
        if (n <= 0) {
            f->flags |= F_ERR;
            f->wlen = 0;
            return EOF;
        }
        done += n;
    }
    f->wlen = 0;
    return 0;
}

// Appends n bytes; flushes when the buffer fills and, for a line-buffered
// stream, when a newline went in. Unbuffered streams flush at end of call.
static size_t put_locked(FILE *f, const char *s, size_t n)
{
    if (!(f->flags & F_WRITE)) {
        f->flags |= F_ERR;
        errno = EBADF;
        return 0;
    }
    f->rpos = f->rlen = 0;
    size_t left = n;
    while (left) {
        if (f->wlen == f->size && flush_locked(f) == EOF)
            return n - left;
        size_t k = f->size - f->wlen;
        k = left < k ? left : k;
        memcpy(f->buf + f->wlen, s, k);
        f->wlen += k, s += k, left -= k;
    }
    if (f->mode == _IOLBF && memchr(s - n, '\n', n) && flush_locked(f) == EOF)
        return 0;
    return n;
}

// Ends a public call: unbuffered streams never keep anything.
static void end_call(FILE *f)
{
    if (f->mode == _IONBF && f->wlen)
        flush_locked(f);
    kmutex_unlock(&f->lock);
}

static void file_sink(void *ctx, const char *s, size_t n)
{
    put_locked(ctx, s, n);
}

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
    kmutex_lock(&f->lock);
    int err = f->flags & F_ERR;
    int r = __libc_vformat(file_sink, f, fmt, ap);
    if (!err && (f->flags & F_ERR))
        r = -1;
    end_call(f);
    return r;
}

size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    if (size == 0 || n == 0)
        return 0;
    kmutex_lock(&f->lock);
    size_t done = put_locked(f, p, size * n);
    end_call(f);
    return done / size;
}

int fputs(const char *s, FILE *f)
{
    size_t n = strlen(s);
    return fwrite(s, 1, n, f) == n || n == 0 ? 1 : EOF;
}

int fputc(int c, FILE *f)
{
    unsigned char ch = c;
    return fwrite(&ch, 1, 1, f) == 1 ? ch : EOF;
}

int putc(int c, FILE *f) { return fputc(c, f); }
int putchar(int c) { return fputc(c, stdout); }

int puts(const char *s)
{
    kmutex_lock(&stdout->lock);
    size_t n = strlen(s);
    int ok = put_locked(stdout, s, n) == n && put_locked(stdout, "\n", 1) == 1;
    end_call(stdout);
    return ok ? 1 : EOF;
}

// Every stream with output pending (others are skipped without locking:
// a thread blocked reading stdin holds its lock).
static int flush_all(void)
{
    int r = 0;
    for (int i = 0; i < 3; i++)
        if (std_files[i].wlen)
            r |= fflush(&std_files[i]);
    for (int i = 0; i < FOPEN_MAX; i++)
        if (pool[i].used && pool[i].wlen)
            r |= fflush(&pool[i]);
    return r;
}

int fflush(FILE *f)
{
    if (!f)
        return flush_all();
    kmutex_lock(&f->lock);
    int r = f->wlen ? flush_locked(f) : 0;
    kmutex_unlock(&f->lock);
    return r;
}

// At exit: flush what can be flushed, but never wait for a lock. A stream
// locked by another thread is skipped (its half-made output is lost) rather
// than letting exit() hang behind that thread.
void __libc_stdio_exit(void)
{
    FILE *all[3 + FOPEN_MAX];
    int n = 0;
    for (int i = 0; i < 3; i++)
        all[n++] = &std_files[i];
    for (int i = 0; i < FOPEN_MAX; i++)
        if (pool[i].used)
            all[n++] = &pool[i];
    for (int i = 0; i < n; i++)
        if (all[i]->wlen && kmutex_trylock(&all[i]->lock)) {
            flush_locked(all[i]);
            kmutex_unlock(&all[i]->lock);
        }
}

void perror(const char *s)
{
    if (s && *s)
        fprintf(stderr, "%s: %s\n", s, strerror(errno));
    else
        fprintf(stderr, "%s\n", strerror(errno));
}

// --- input ---

// Refills the read buffer; returns 0, or EOF at end of file or on error.
static int fill_locked(FILE *f)
{
    if (!(f->flags & F_READ)) {
        f->flags |= F_ERR;
        errno = EBADF;
        return EOF;
    }
    if (f->wlen)
        flush_locked(f);
    if (f == stdin)   // a prompt printed without '\n' should show up first
        fflush(stdout);
    ssize_t n = read(f->fd, f->buf, f->size);
    if (n <= 0) {
        f->flags |= n == 0 ? F_EOF : F_ERR;
        return EOF;
    }
    f->rpos = 0;
    f->rlen = n;
    return 0;
}

static int getc_locked(FILE *f)
{
    if (f->ungot != EOF) {
        int c = f->ungot;
        f->ungot = EOF;
        return c;
    }
    if (f->rpos == f->rlen && fill_locked(f) == EOF)
        return EOF;
    return (unsigned char)f->buf[f->rpos++];
}

int fgetc(FILE *f)
{
    kmutex_lock(&f->lock);
    int c = getc_locked(f);
    kmutex_unlock(&f->lock);
    return c;
}

int getc(FILE *f) { return fgetc(f); }
int getchar(void) { return fgetc(stdin); }

int ungetc(int c, FILE *f)
{
    if (c == EOF)
        return EOF;
    kmutex_lock(&f->lock);
    int r = f->ungot == EOF ? (f->ungot = (unsigned char)c) : EOF;   // one char of pushback
    f->flags &= ~F_EOF;
    kmutex_unlock(&f->lock);
    return r;
}

size_t fread(void *p, size_t size, size_t n, FILE *f)
{
    if (size == 0 || n == 0)
        return 0;
    char *dst = p;
    size_t want = size * n, got = 0;
    kmutex_lock(&f->lock);
    if (f->ungot != EOF) {
        dst[got++] = f->ungot;
        f->ungot = EOF;
    }
    while (got < want) {
        if (f->rpos == f->rlen && fill_locked(f) == EOF)
            break;
        size_t k = f->rlen - f->rpos;
        k = want - got < k ? want - got : k;
        memcpy(dst + got, f->buf + f->rpos, k);
        f->rpos += k;
        got += k;
    }
    kmutex_unlock(&f->lock);
    return got / size;
}

char *fgets(char *s, int n, FILE *f)
{
    if (n <= 0)
        return NULL;
    int i = 0;
    kmutex_lock(&f->lock);
    while (i < n - 1) {
        int c = getc_locked(f);
        if (c == EOF)
            break;
        s[i++] = c;
        if (c == '\n')
            break;
    }
    kmutex_unlock(&f->lock);
    if (i == 0 && n > 1)
        return NULL;
    s[i] = 0;
    return s;
}

ssize_t getdelim(char **line, size_t *cap, int delim, FILE *f)
{
    size_t len = 0;
    kmutex_lock(&f->lock);
    for (;;) {
        int c = getc_locked(f);
        if (c == EOF && len == 0) {
            kmutex_unlock(&f->lock);
            return -1;
        }
        if (len + 2 > *cap || !*line) {
            size_t ncap = *cap < 64 ? 64 : *cap * 2;
            char *p = realloc(*line, ncap);
            if (!p) {
                kmutex_unlock(&f->lock);
                return -1;
            }
            *line = p;
            *cap = ncap;
        }
        if (c == EOF)
            break;
        (*line)[len++] = c;
        if (c == delim)
            break;
    }
    (*line)[len] = 0;
    kmutex_unlock(&f->lock);
    return len;
}

ssize_t getline(char **line, size_t *cap, FILE *f)
{
    return getdelim(line, cap, '\n', f);
}

int feof(FILE *f) { return !!(f->flags & F_EOF); }
int ferror(FILE *f) { return !!(f->flags & F_ERR); }
void clearerr(FILE *f) { f->flags &= ~(F_EOF | F_ERR); }
int fileno(FILE *f) { return f->fd; }

// --- positioning ---

int fseek(FILE *f, long off, int whence)
{
    kmutex_lock(&f->lock);
    if (f->wlen)
        flush_locked(f);
    if (whence == SEEK_CUR)   // the fd is ahead of us by what is still buffered
        off -= (long)(f->rlen - f->rpos) + (f->ungot != EOF);
    int r = lseek(f->fd, off, whence) < 0 ? -1 : 0;
    if (r == 0) {
        f->rpos = f->rlen = 0;
        f->ungot = EOF;
        f->flags &= ~F_EOF;
    }
    kmutex_unlock(&f->lock);
    return r;
}

long ftell(FILE *f)
{
    kmutex_lock(&f->lock);
    long pos = lseek(f->fd, 0, SEEK_CUR);
    if (pos >= 0)
        pos += (long)f->wlen - (long)(f->rlen - f->rpos) - (f->ungot != EOF);
    kmutex_unlock(&f->lock);
    return pos;
}

void rewind(FILE *f)
{
    fseek(f, 0, SEEK_SET);
    clearerr(f);
}

// --- opening and closing ---

static int mode_flags(const char *mode, int *oflags)
{
    int plus = strchr(mode, '+') != NULL;
    switch (mode[0]) {
    case 'r': *oflags = plus ? O_RDWR : O_RDONLY; return plus ? F_READ | F_WRITE : F_READ;
    case 'w': *oflags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC; break;
    case 'a': *oflags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND; break;
    default: errno = EINVAL; return 0;
    }
    return plus ? F_READ | F_WRITE : F_WRITE;
}

static FILE *new_file(int fd, int flags)
{
    char *buf = malloc(BUFSIZ);
    if (!buf)
        return NULL;
    kmutex_lock(&pool_lock);
    FILE *f = NULL;
    for (int i = 0; i < FOPEN_MAX && !f; i++)
        if (!pool[i].used)
            f = &pool[i];
    if (f) {
        *f = (FILE){ fd, isatty(fd) ? _IOLBF : _IOFBF, flags | F_OWNBUF, buf, BUFSIZ,
                     0, 0, 0, EOF, 1, LOCK_INIT };
    } else {
        errno = EMFILE;
        free(buf);
    }
    kmutex_unlock(&pool_lock);
    return f;
}

FILE *fdopen(int fd, const char *mode)
{
    int oflags, flags = mode_flags(mode, &oflags);
    return flags ? new_file(fd, flags) : NULL;
}

FILE *fopen(const char *path, const char *mode)
{
    int oflags, flags = mode_flags(mode, &oflags);
    if (!flags)
        return NULL;
    int fd = open(path, oflags, 0666);
    if (fd < 0)
        return NULL;
    FILE *f = new_file(fd, flags);
    if (!f)
        close(fd);
    return f;
}

int fclose(FILE *f)
{
    int r = fflush(f);
    if (close(f->fd) < 0)
        r = EOF;
    if (f >= pool && f < pool + FOPEN_MAX) {
        kmutex_lock(&pool_lock);
        if (f->flags & F_OWNBUF)
            free(f->buf);
        f->used = 0;
        kmutex_unlock(&pool_lock);
    }
    return r;
}

int setvbuf(FILE *f, char *buf, int mode, size_t size)
{
    if (mode != _IOFBF && mode != _IOLBF && mode != _IONBF)
        return -1;
    kmutex_lock(&f->lock);
    if (f->wlen)
        flush_locked(f);
    f->mode = mode;
    if (buf && size > 0) {   // a caller-supplied buffer replaces ours
        if (f->flags & F_OWNBUF)
            free(f->buf);
        f->flags &= ~F_OWNBUF;
        f->buf = buf;
        f->size = size;
        f->rpos = f->rlen = 0;
    }
    kmutex_unlock(&f->lock);
    return 0;
}

void setbuf(FILE *f, char *buf)
{
    setvbuf(f, buf, buf ? _IOFBF : _IONBF, BUFSIZ);
}

int remove(const char *path) { return unlink(path); }

int rename(const char *from, const char *to)
{
    (void)from, (void)to;
    errno = EROFS;   // the boot archive is read-only
    return -1;
}
