// SPDX-License-Identifier: MIT
// labkit-guest: the Linux guest's half of labkit's contract (labkit/linux.py builds it with
// gcc -static into the initramfs). The unikernel writes COM2 events and ends QEMU itself; on
// Linux a root program does it, through I/O port permissions granted by ioperm():
//   labkit-guest milestone NAME     {"ev":"milestone","name":NAME,"tsc":T} on COM2
//   labkit-guest run APP [ARGS]     run /apps/APP (or /bin/APP) with ARGS; then the exit event
//                                   on COM2, "labkit-guest: exit status S" on COM1, and S & 63
//                                   to port 0xf4, which ends QEMU with status (V << 1) | 1
//   labkit-guest poweroff V         end QEMU with status (V << 1) | 1
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define COM2       0x2f8   // second UART: the machine channel
#define LSR_THRE   0x20    // line status: transmit holding register empty
#define EXIT_PORT  0xf4    // isa-debug-exit
#define V_NOT_FOUND 0x40   // kernel/README.md, "Exit status"
#define V_BAD_ELF   0x42

static int have_ports;

// lfence on both sides: rdtsc is not ordered with the code around it. Under -icount
// shift=0 the TSC counts guest instructions.
static uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

// One JSON line on COM2, byte by byte to the UART, as the unikernel's serial driver does.
static void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void event(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || !have_ports)
        return;
    if (n > (int)sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    for (int i = 0; i < n; i++) {
        while (!(inb(COM2 + 5) & LSR_THRE))
            ;
        outb(line[i], COM2);
    }
}

// Ending QEMU drops whatever the serial driver has not yet sent: fflush only hands the text
// to the tty layer, which sends it to COM1 from interrupts later. tcdrain waits until the
// UART has sent it all, the app's output included (it wrote to the same console).
static void power_off(int v)
{
    fflush(stdout);
    fflush(stderr);
    tcdrain(STDOUT_FILENO);
    tcdrain(STDERR_FILENO);
    if (have_ports)
        outb(v, EXIT_PORT);
    fprintf(stderr, "labkit-guest: no isa-debug-exit device (or no I/O port access)\n");
    for (;;)
        pause();
}

static int find_app(const char *app, char *path, size_t size)
{
    static const char *dirs[] = { "/apps", "/bin" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, size, "%s/%s", dirs[i], app);
        if (strchr(app, '/') == NULL && access(path, X_OK) == 0)
            return 0;
    }
    return -1;
}

static int run(int argc, char **argv)
{
    char path[256];
    const char *app = argv[0];
    if (argc < 1 || find_app(app, path, sizeof path) != 0) {
        event("{\"ev\":\"load_error\",\"kind\":\"not_found\",\"file\":\"%s\","
              "\"detail\":\"no /apps/%s in the initramfs\"}", argc ? app : "", argc ? app : "");
        printf("labkit-guest: no app named '%s' in /apps\n", argc ? app : "");
        power_off(V_NOT_FOUND);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        event("{\"ev\":\"milestone\",\"name\":\"app_exec\",\"tsc\":%llu,\"app\":\"%s\"}",
              (unsigned long long)tsc(), app);
        execv(path, argv);
        int err = errno;
        event("{\"ev\":\"load_error\",\"kind\":\"bad_elf\",\"file\":\"%s\",\"detail\":\"%s\"}",
              app, strerror(err));
        printf("labkit-guest: cannot run %s: %s\n", path, strerror(err));
        power_off(V_BAD_ELF);
    }
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    uint64_t t = tsc();
    if (pid < 0 || WIFSIGNALED(status)) {
        int sig = pid < 0 ? SIGKILL : WTERMSIG(status);
        event("{\"ev\":\"exit\",\"status\":%d,\"signal\":%d,\"tsc\":%llu}", 128 + sig, sig,
              (unsigned long long)t);
        printf("labkit-guest: %s killed by signal %d (%s); exit status %d\n", app, sig,
               strsignal(sig), 128 + sig);
        power_off((128 + sig) & 63);
    }
    int s = WEXITSTATUS(status);
    event("{\"ev\":\"exit\",\"status\":%d,\"tsc\":%llu}", s, (unsigned long long)t);
    printf("labkit-guest: exit status %d\n", s);
    power_off(s & 63);
    return 0;
}

int main(int argc, char **argv)
{
    have_ports = ioperm(COM2, 8, 1) == 0 && ioperm(EXIT_PORT, 4, 1) == 0;
    if (argc >= 3 && strcmp(argv[1], "milestone") == 0) {
        event("{\"ev\":\"milestone\",\"name\":\"%s\",\"tsc\":%llu}", argv[2],
              (unsigned long long)tsc());
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return run(argc - 2, argv + 2);
    if (argc >= 3 && strcmp(argv[1], "poweroff") == 0)
        power_off(atoi(argv[2]) & 0xff);
    fprintf(stderr, "usage: labkit-guest milestone NAME | run APP [ARGS] | poweroff V\n");
    return 2;
}
