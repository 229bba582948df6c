// SPDX-License-Identifier: MIT
// A read-only file system over the boot archive, a cpio "newc" archive
// (the format of Linux initramfs): each file is a 110-byte ASCII header
// ("070701" then 13 eight-digit hex fields), its name, its data, each padded
// to 4 bytes; "TRAILER!!!" ends it. Every header is checked against the
// archive's size, so a truncated archive loses only its tail.
#include <string.h>
#include "bootfs.h"
#include "app.h"

#define MAX_FILES 64
#define HEADER_SIZE 110

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

int bootfs_init(const void *archive, size_t size)
{
    const char *base = archive;
    size_t off = 0;
    nfiles = 0;
    while (off + HEADER_SIZE <= size) {
        const char *h = base + off;
        size_t mode, filesize, namesize;
        if (memcmp(h, "070701", 6) != 0 || hex_field(h, 1, &mode) || hex_field(h, 6, &filesize) ||
            hex_field(h, 11, &namesize) || namesize == 0)
            return -1;
        size_t name_off = off + HEADER_SIZE, data_off = align4(name_off + namesize);
        if (data_off > size || filesize > size - data_off || base[name_off + namesize - 1] != '\0')
            return -1;
        const char *name = base + name_off;
        if (strcmp(name, "TRAILER!!!") == 0)
            return nfiles;
        if ((mode & 0170000) == 0100000 && nfiles < MAX_FILES) {   // regular files only
            while (name[0] == '.' && name[1] == '/')
                name += 2;
            files[nfiles++] = (struct file){ name, base + data_off, filesize };
        }
        off = align4(data_off + filesize);
    }
    return -1;                                 // no trailer: truncated
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
