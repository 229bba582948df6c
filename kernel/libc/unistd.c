// SPDX-License-Identifier: MIT
// Process identity, sysconf, sleeping, and the process calls that cannot
// work in a single-address-space kernel (fork, exec, wait...: ENOSYS).
#include <unistd.h>
#include <errno.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdlib.h>
#include <thread.h>

static int fail(int err)
{
    errno = err;
    return -1;
}

// The one process is pid 1. Kept to "mov $1,%eax; ret": it is the benchmark
// of a bare call into the kernel, so no frame pointer setup either.
__attribute__((naked)) pid_t getpid(void)
{
    __asm__("mov $1, %eax\n\tret");
}

pid_t getppid(void) { return 0; }
pid_t gettid(void) { return (pid_t)thread_id(thread_current()); }
uid_t getuid(void) { return 0; }
uid_t geteuid(void) { return 0; }
gid_t getgid(void) { return 0; }
gid_t getegid(void) { return 0; }
int sched_getcpu(void) { return 0; }

int gethostname(char *name, size_t len)
{
    if (strlcpy(name, "unikernel", len) >= len)
        return fail(ENAMETOOLONG);
    return 0;
}

long sysconf(int name)
{
    switch (name) {
    case _SC_PAGESIZE: return 4096;
    case _SC_NPROCESSORS_CONF:
    case _SC_NPROCESSORS_ONLN: return 1;
    case _SC_CLK_TCK: return 100;      // Linux's USER_HZ
    case _SC_OPEN_MAX: {
        struct rlimit rl;
        return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : -1;
    }
    case _SC_ARG_MAX: return 131072;
    default: return fail(EINVAL);      // includes _SC_PHYS_PAGES for now
    }
}

int getpagesize(void) { return 4096; }

unsigned sleep(unsigned seconds)
{
    thread_sleep_ns(seconds * 1000000000ull);
    return 0;
}

int usleep(useconds_t usec)
{
    thread_sleep_ns(usec * 1000ull);
    return 0;
}

int sched_yield(void)
{
    thread_yield();
    return 0;
}

char *getcwd(char *buf, size_t size)
{
    if (!buf)
        return strdup("/");
    if (size < 2) {
        errno = ERANGE;
        return NULL;
    }
    return strcpy(buf, "/");
}

int chdir(const char *path)
{
    return strcmp(path, "/") == 0 ? 0 : fail(ENOENT);
}

mode_t umask(mode_t mask)
{
    (void)mask;
    return 022;
}

// --- no processes ---

pid_t fork(void) { return fail(ENOSYS); }
pid_t vfork(void) { return fail(ENOSYS); }
pid_t wait(int *status) { (void)status; return fail(ENOSYS); }
pid_t waitpid(pid_t pid, int *status, int options) { (void)pid, (void)status, (void)options; return fail(ENOSYS); }
int kill(pid_t pid, int sig) { (void)pid, (void)sig; return fail(ENOSYS); }

int execve(const char *path, char *const argv[], char *const envp[])
{
    (void)path, (void)argv, (void)envp;
    return fail(ENOSYS);
}

int execv(const char *path, char *const argv[]) { return execve(path, argv, NULL); }
int execvp(const char *file, char *const argv[]) { return execve(file, argv, NULL); }
int execl(const char *path, const char *arg, ...) { (void)arg; return execve(path, NULL, NULL); }
int execlp(const char *file, const char *arg, ...) { (void)arg; return execve(file, NULL, NULL); }

// No shell: system(NULL) says so with 0, a command fails with ENOSYS.
int system(const char *cmd)
{
    return cmd ? fail(ENOSYS) : 0;
}
