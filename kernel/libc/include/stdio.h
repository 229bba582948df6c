// SPDX-License-Identifier: MIT
// Buffered streams over the fd layer, and the printf family.
// stdout is line-buffered to fd 1, stderr unbuffered to fd 2.
#pragma once
#include <stddef.h>
#include <stdarg.h>
#include <bits/types.h>

typedef struct __libc_file FILE;
typedef long fpos_t;

extern FILE *stdin;
extern FILE *stdout;
extern FILE *stderr;
#define stdin  stdin
#define stdout stdout
#define stderr stderr

#define EOF          (-1)
#define BUFSIZ       8192
#define FOPEN_MAX    16
#define FILENAME_MAX 4096
#define _IOFBF 0
#define _IOLBF 1
#define _IONBF 2
#ifndef SEEK_SET
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#endif

#define __libc_printf(f, a) __attribute__((format(printf, f, a)))

int printf(const char *fmt, ...) __libc_printf(1, 2);
int fprintf(FILE *f, const char *fmt, ...) __libc_printf(2, 3);
int dprintf(int fd, const char *fmt, ...) __libc_printf(2, 3);
int sprintf(char *buf, const char *fmt, ...) __libc_printf(2, 3);
int snprintf(char *buf, size_t n, const char *fmt, ...) __libc_printf(3, 4);
int asprintf(char **out, const char *fmt, ...) __libc_printf(2, 3);
int vprintf(const char *fmt, va_list ap) __libc_printf(1, 0);
int vfprintf(FILE *f, const char *fmt, va_list ap) __libc_printf(2, 0);
int vdprintf(int fd, const char *fmt, va_list ap) __libc_printf(2, 0);
int vsprintf(char *buf, const char *fmt, va_list ap) __libc_printf(2, 0);
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap) __libc_printf(3, 0);
int vasprintf(char **out, const char *fmt, va_list ap) __libc_printf(2, 0);
int sscanf(const char *s, const char *fmt, ...) __attribute__((format(scanf, 2, 3)));
int vsscanf(const char *s, const char *fmt, va_list ap) __attribute__((format(scanf, 2, 0)));

int putchar(int c);
int puts(const char *s);
int fputc(int c, FILE *f);
int putc(int c, FILE *f);
int fputs(const char *s, FILE *f);
size_t fwrite(const void *p, size_t size, size_t n, FILE *f);
int fflush(FILE *f);
void perror(const char *s);

FILE *fopen(const char *path, const char *mode);
FILE *fdopen(int fd, const char *mode);
int fclose(FILE *f);
size_t fread(void *p, size_t size, size_t n, FILE *f);
int fgetc(FILE *f);
int getc(FILE *f);
int getchar(void);
int ungetc(int c, FILE *f);
char *fgets(char *s, int n, FILE *f);
ssize_t getline(char **line, size_t *cap, FILE *f);
ssize_t getdelim(char **line, size_t *cap, int delim, FILE *f);
int fseek(FILE *f, long off, int whence);
long ftell(FILE *f);
void rewind(FILE *f);
int feof(FILE *f);
int ferror(FILE *f);
void clearerr(FILE *f);
int fileno(FILE *f);
int setvbuf(FILE *f, char *buf, int mode, size_t size);
void setbuf(FILE *f, char *buf);
void flockfile(FILE *f);
void funlockfile(FILE *f);
int remove(const char *path);
int rename(const char *from, const char *to);
