// SPDX-License-Identifier: MIT
// Minimal signals: a handler table that only raise() consults. Nothing is
// delivered asynchronously (there is no other process to send one).
#include <signal.h>
#include <errno.h>
#include <stdlib.h>
#include <app.h>

static sighandler_t handlers[NSIG];

sighandler_t signal(int sig, sighandler_t handler)
{
    if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP) {
        errno = EINVAL;
        return SIG_ERR;
    }
    sighandler_t old = handlers[sig];
    handlers[sig] = handler;
    return old;
}

// The default action of every signal we model is to end the app with the
// status a shell would report (128 + sig); SIGCHLD/SIGCONT are ignored.
int raise(int sig)
{
    if (sig <= 0 || sig >= NSIG) {
        errno = EINVAL;
        return -1;
    }
    sighandler_t h = handlers[sig];
    if (h == SIG_IGN)
        return 0;
    if (h != SIG_DFL) {
        h(sig);
        return 0;
    }
    if (sig == SIGCHLD || sig == SIGCONT)
        return 0;
    if (sig == SIGABRT)
        abort();
    app_exit(128 + sig);
}

static int bad(int sig)
{
    if (sig > 0 && sig < NSIG && sig <= 64)
        return 0;
    errno = EINVAL;
    return 1;
}

int sigemptyset(sigset_t *set) { *set = 0; return 0; }
int sigfillset(sigset_t *set) { *set = ~0ul; return 0; }
int sigaddset(sigset_t *set, int sig) { if (bad(sig)) return -1; *set |= 1ul << (sig - 1); return 0; }
int sigdelset(sigset_t *set, int sig) { if (bad(sig)) return -1; *set &= ~(1ul << (sig - 1)); return 0; }
int sigismember(const sigset_t *set, int sig) { if (bad(sig)) return -1; return !!(*set & (1ul << (sig - 1))); }
