// SPDX-License-Identifier: MIT
// N threads (argv[1], default 4) each add 1 to a shared counter M times
// (argv[2], default 10000) under a mutex. A condition variable holds them all
// at a start line until every one exists, so they really run concurrently.
// Prints the total and SUCCESS (exit 0) if it is N * M, else FAILURE (exit 1).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_line = PTHREAD_COND_INITIALIZER;   // "go" was set
static pthread_cond_t arrivals = PTHREAD_COND_INITIALIZER;     // "ready" grew
static int ready, go;
static long counter;
static long iterations;

static void *worker(void *arg)
{
    long id = (long)arg;
    pthread_mutex_lock(&lock);
    ready++;
    pthread_cond_signal(&arrivals);
    while (!go)
        pthread_cond_wait(&start_line, &lock);
    pthread_mutex_unlock(&lock);

    for (long i = 0; i < iterations; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return (void *)(id + 1000);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    iterations = argc > 2 ? atol(argv[2]) : 10000;
    if (n < 1 || n > 1000 || iterations < 0) {
        fprintf(stderr, "usage: threads [NTHREADS 1..1000] [ITERATIONS]\n");
        return 2;
    }
    pthread_t *t = calloc(n, sizeof *t);
    if (!t) {
        perror("calloc");
        return 1;
    }
    printf("threads: %d threads x %ld increments\n", n, iterations);
    for (long i = 0; i < n; i++) {
        int err = pthread_create(&t[i], NULL, worker, (void *)i);
        if (err) {
            printf("pthread_create failed: error %d\n", err);
            return 1;
        }
    }

    // Wait at the start line until all are there, then release them together.
    pthread_mutex_lock(&lock);
    while (ready < n)
        pthread_cond_wait(&arrivals, &lock);
    go = 1;
    pthread_cond_broadcast(&start_line);
    pthread_mutex_unlock(&lock);
    printf("threads: all %d ready, started\n", n);

    int ok = 1;
    for (long i = 0; i < n; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        if ((long)ret != i + 1000) {
            printf("thread %ld returned %ld, expected %ld\n", i, (long)ret, i + 1000);
            ok = 0;
        }
    }
    free(t);
    long expected = n * iterations;
    printf("counter = %ld (expected %ld)\n", counter, expected);
    ok = ok && counter == expected;
    printf("%s\n", ok ? "SUCCESS" : "FAILURE");
    return ok ? 0 : 1;
}
