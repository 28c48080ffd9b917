/*
 * workpool: a few threads that help a caller run n independent items in parallel (fork-join).
 *
 * workpool_run() queues the job, runs items itself, and returns once every item has run: the
 * caller is never idle while helpers work, and a job costs no extra thread when the pool is busy
 * with other callers' jobs. Items may run on any thread, in any order; fn must be thread-safe.
 * Used where one request carries much CPU work (a batch of 100 signatures), so that it spreads
 * over every core instead of staying on the HTTP thread that received it; workpool_submit()
 * hands such a request over whole, so that the HTTP thread goes on serving its other
 * connections meanwhile.
 */
#ifndef NNS_WORKPOOL_H
#define NNS_WORKPOOL_H

#include <stddef.h>

typedef struct workpool workpool_t;
typedef void (*workpool_fn)(void *ctx, size_t i);

/* Starts threads helpers (0: a pool that never helps; every job runs on its caller). Returns NULL
 * on failure. */
workpool_t *workpool_new(unsigned threads) __attribute__((warn_unused_result));

/* Runs fn(ctx, i) for every i in [0, n), on the caller and the pool's threads; returns when all
 * have returned. Thread-safe: several callers may run jobs at once. */
void workpool_run(workpool_t *pool, size_t n, workpool_fn fn, void *ctx);

/* Queues fn(ctx, 0) to run once on a pool thread and returns at once: for work that must not hold
 * up its caller (an HTTP thread with other connections to serve). fn may itself call
 * workpool_run(). In a pool without threads, after workpool_drain(), or out of memory, fn runs
 * on the caller before this returns. */
void workpool_submit(workpool_t *pool, workpool_fn fn, void *ctx);

/* Waits until every function submitted so far has returned; from then on workpool_submit() runs
 * functions on their callers. Safe on NULL. */
void workpool_drain(workpool_t *pool);

/* Drains the pool, stops the threads (jobs in progress are finished by their callers) and frees
 * it. Safe on NULL; sets *pool to NULL. */
void workpool_destroy(workpool_t **pool);

#endif
