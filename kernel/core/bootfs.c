// SPDX-License-Identifier: MIT
// A read-only file system over the boot archive, a cpio "newc" archive
// (the format of Linux initramfs): each file is a 110-byte ASCII header
// ("070701" then 13 eight-digit hex fields), its name, its data, each padded
// to 4 bytes; "TRAILER!!!" ends it. Nothing in it is trusted: every header
// field, name and size is checked against the archive before use, and a
// damaged archive is refused with the offset and the check that failed.
#include <stdio.h>
#include <string.h>
#include "bootfs.h"
#include "app.h"

#define MAX_FILES 64
#define HEADER_SIZE 110
#define NAME_MAX_BYTES 4096                    // with its NUL, as Linux's PATH_MAX
#define FIELDS 13
enum { F_MODE = 1, F_FILESIZE = 6, F_NAMESIZE = 11 };

struct file { const char *name; const void *data; size_t size; };
static struct file files[MAX_FILES];
static int nfiles;

static int hex_field(const char *h, int index, size_t *out)
{
    size_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = h[6 + index * 8 + i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (size_t)d;
    }
    *out = v;
    return 0;
}

static size_t align4(size_t n) { return (n + 3) & ~(size_t)3; }

static int refuse(int kind, char *why, size_t len, size_t off, const char *what)
{
    snprintf(why, len, "%s at offset %zu", what, off);
    return kind;
}

// Checks the header at `off` and reads its mode, sizes and name; returns 0 or
// BOOTFS_MALFORMED/BOOTFS_TRUNCATED with *why set.
static int read_header(const char *base, size_t size, size_t off, size_t *mode, size_t *filesize,
                       const char **name, size_t *data_off, char *why, size_t len)
{
    const char *h = base + off;
    size_t namesize, unused;
    if (size - off < HEADER_SIZE)
        return refuse(BOOTFS_TRUNCATED, why, len, off, "truncated: the archive ends inside a cpio header");
    if (memcmp(h, "070701", 6) != 0 && memcmp(h, "070702", 6) != 0)
        return refuse(BOOTFS_MALFORMED, why, len, off, "not a cpio newc header (bad magic)");
    for (int f = 0; f < FIELDS; f++)
        if (hex_field(h, f, &unused))
            return refuse(BOOTFS_MALFORMED, why, len, off, "a cpio header field is not hexadecimal");
    hex_field(h, F_MODE, mode);
    hex_field(h, F_FILESIZE, filesize);
    hex_field(h, F_NAMESIZE, &namesize);
    if (namesize == 0 || namesize > NAME_MAX_BYTES)
        return refuse(BOOTFS_MALFORMED, why, len, off, "a cpio name size is 0 or over 4096");
    size_t name_off = off + HEADER_SIZE;
    *data_off = align4(name_off + namesize);
    if (*data_off > size || *filesize > size - *data_off)
        return refuse(BOOTFS_TRUNCATED, why, len, off, "truncated: a cpio name or file lies past the end of the archive");
    if (memchr(base + name_off, '\0', namesize) != base + name_off + namesize - 1)
        return refuse(BOOTFS_MALFORMED, why, len, off, "a cpio name does not end with its only NUL byte");
    *name = base + name_off;
    return 0;
}

int bootfs_init(const void *archive, size_t size, char *why, size_t len)
{
    const char *base = archive;
    size_t off = 0;
    nfiles = 0;
    if ((uintptr_t)archive % 4)
        return refuse(BOOTFS_MALFORMED, why, len, 0, "the archive is not 4-byte aligned");
    while (off < size) {
        size_t mode, filesize, data_off;
        const char *name;
        int r = read_header(base, size, off, &mode, &filesize, &name, &data_off, why, len);
        if (r)
            return r;
        if (strcmp(name, "TRAILER!!!") == 0)
            return nfiles;
        if ((mode & 0170000) == 0100000) {     // regular files only
            if (nfiles == MAX_FILES)
                return refuse(BOOTFS_MALFORMED, why, len, off, "more than 64 files in the archive");
            while (name[0] == '.' && name[1] == '/')
                name += 2;
            files[nfiles++] = (struct file){ name, base + data_off, filesize };
        }
        off = align4(data_off + filesize);
    }
    return refuse(BOOTFS_TRUNCATED, why, len, off, "truncated: no TRAILER!!! entry");
}

int bootfs_lookup(const char *name, const void **data, size_t *size)
{
    while (name[0] == '/')
        name++;
    for (int i = 0; i < nfiles; i++) {
        if (strcmp(files[i].name, name) == 0) {
            *data = files[i].data;
            *size = files[i].size;
            return 0;
        }
    }
    return -1;
}

void bootfs_foreach(void (*fn)(const char *, const void *, size_t, void *), void *ctx)
{
    for (int i = 0; i < nfiles; i++)
        fn(files[i].name, files[i].data, files[i].size, ctx);
}
