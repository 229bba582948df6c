// SPDX-License-Identifier: MIT
// There are no processes in a unikernel: fork() must fail with ENOSYS.
// Prints what fork (and a few relatives) returned; exits 0 when fork failed
// with ENOSYS. On Linux fork works, so that build exits 1 after reaping.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static const char *errno_name(int e)
{
    switch (e) {
    case ENOSYS: return "ENOSYS";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case ECHILD: return "ECHILD";
    case ENOENT: return "ENOENT";
    default: return "?";
    }
}

int main(void)
{
    errno = 0;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);   // a Linux child: nothing to do
    int err = errno;
    if (pid > 0) {
        printf("fork: %d (a child process: this is not a unikernel)\n", (int)pid);
        waitpid(pid, NULL, 0);
        return 1;
    }
    printf("fork: %d errno=%d (%s)\n", (int)pid, err, errno_name(err));
    printf("strerror: %s\n", strerror(err));

    char *args[] = { "/bin/true", NULL };
    errno = 0;
    int r = execv(args[0], args);
    printf("execv: %d errno=%d (%s)\n", r, errno, errno_name(errno));
    errno = 0;
    r = (int)waitpid(-1, NULL, 0);
    printf("waitpid: %d errno=%d (%s)\n", r, errno, errno_name(errno));
    printf("%s\n", err == ENOSYS ? "SUCCESS" : "FAILURE");
    return err == ENOSYS ? 0 : 1;
}
