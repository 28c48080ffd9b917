/*
 * workpool: a few threads that help a caller run n independent items in parallel (fork-join).
 *
 * workpool_run() queues the job, runs items itself, and returns once every item has run: the
 * caller is never idle while helpers work, and a job costs no extra thread when the pool is busy
 * with other callers' jobs. Items may run on any thread, in any order; fn must be thread-safe.
 * Used where one request carries much CPU work (a batch of 100 signatures), so that it spreads
 * over every core instead of staying on the HTTP thread that received it.
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

/* Stops the threads (jobs in progress are finished by their callers) and frees the pool. Safe on
 * NULL; sets *pool to NULL. */
void workpool_destroy(workpool_t **pool);

#endif
