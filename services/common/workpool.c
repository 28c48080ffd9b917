#include "workpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct job {
    struct job *next; /* the pool's queue */
    workpool_fn fn;
    void *ctx;
    size_t n;
    _Atomic size_t next_item, done;
    unsigned helpers; /* pool threads inside the job (under the pool's lock) */
    bool queued;      /* still in the pool's queue (under the pool's lock) */
    bool detached;    /* workpool_submit(): nobody waits; the last helper out frees it */
    pthread_cond_t finished;
} job_t;

struct workpool {
    pthread_mutex_t lock;
    pthread_cond_t work;
    job_t *head, *tail;
    bool stopping;
    bool draining;       /* workpool_drain() ran: submissions run on their callers */
    size_t detached;     /* submitted functions not yet returned */
    pthread_cond_t drained;
    unsigned nthreads;
    pthread_t *threads;
};

/* Runs items until none is left to take. */
static void run_items(job_t *j)
{
    size_t i;
    while ((i = atomic_fetch_add(&j->next_item, 1)) < j->n) {
        j->fn(j->ctx, i);
        atomic_fetch_add(&j->done, 1);
    }
}

/* Takes the job out of the queue. Under the lock. */
static void unqueue(workpool_t *p, job_t *j)
{
    if (!j->queued)
        return;
    job_t **at = &p->head, *prev = NULL;
    while (*at != j) {
        prev = *at;
        at = &(*at)->next;
    }
    *at = j->next;
    if (p->tail == j)
        p->tail = prev;
    j->queued = false;
}

/* Appends a job to the queue and wakes the helpers. Under the lock. */
static void enqueue(workpool_t *p, job_t *j)
{
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_broadcast(&p->work);
}

static void *helper(void *arg)
{
    workpool_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->work, &p->lock);
        if (!p->head)
            break; /* stopping */
        job_t *j = p->head;
        j->helpers++;
        pthread_mutex_unlock(&p->lock);
        run_items(j);
        pthread_mutex_lock(&p->lock);
        unqueue(p, j); /* every item is taken: nothing more for anyone to start */
        j->helpers--;
        if (j->helpers > 0)
            continue;
        if (j->detached) { /* its one item has returned: the helper that ran it was inside */
            free(j);
            if (--p->detached == 0)
                pthread_cond_broadcast(&p->drained);
        } else { /* the caller frees the job once its items are done and no helper is inside */
            pthread_cond_signal(&j->finished);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

workpool_t *workpool_new(unsigned threads)
{
    workpool_t *p = calloc(1, sizeof *p);
    if (!p || (threads && !(p->threads = calloc(threads, sizeof *p->threads)))) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->drained, NULL);
    for (; p->nthreads < threads; p->nthreads++) {
        if (pthread_create(&p->threads[p->nthreads], NULL, helper, p) != 0) {
            workpool_destroy(&p);
            return NULL;
        }
        pthread_setname_np(p->threads[p->nthreads], "workpool"); /* for top and perf */
    }
    return p;
}

void workpool_run(workpool_t *p, size_t n, workpool_fn fn, void *ctx)
{
    if (n < 2 || p->nthreads == 0) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i);
        return;
    }
    job_t j = {.fn = fn, .ctx = ctx, .n = n, .queued = true};
    pthread_cond_init(&j.finished, NULL);
    /* the job lives on this stack: it leaves the queue, and every helper leaves it, before
     * this function returns */
    pthread_mutex_lock(&p->lock);
    enqueue(p, &j); // cppcheck-suppress autoVariables
    pthread_mutex_unlock(&p->lock);

    run_items(&j);

    pthread_mutex_lock(&p->lock);
    unqueue(p, &j);
    while (atomic_load(&j.done) < n || j.helpers > 0)
        pthread_cond_wait(&j.finished, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&j.finished);
}

void workpool_submit(workpool_t *p, workpool_fn fn, void *ctx)
{
    job_t *j = p->nthreads ? calloc(1, sizeof *j) : NULL;
    if (j) {
        *j = (job_t){.fn = fn, .ctx = ctx, .n = 1, .queued = true, .detached = true};
        pthread_mutex_lock(&p->lock);
        if (!p->draining) {
            p->detached++;
            enqueue(p, j);
            pthread_mutex_unlock(&p->lock);
            return;
        }
        pthread_mutex_unlock(&p->lock);
        free(j);
    }
    fn(ctx, 0); /* no threads, out of memory, or draining: the caller runs it */
}

void workpool_drain(workpool_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->draining = true;
    while (p->detached > 0)
        pthread_cond_wait(&p->drained, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

void workpool_destroy(workpool_t **pool)
{
    workpool_t *p = *pool;
    if (!p)
        return;
    workpool_drain(p);
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->drained);
    free(p->threads);
    free(p);
    *pool = NULL;
}
