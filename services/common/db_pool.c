#include "db_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"

#define BACKOFF_MIN_NANOS (50ULL * 1000000ULL)
#define BACKOFF_MAX_NANOS (2000ULL * 1000000ULL)

struct db_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    char *conninfo;
    unsigned size, nfree;
    PGconn **conns;    /* conns[0..nfree) are free; a free slot may be NULL (to reconnect) */
    uint64_t retry_at; /* monotonic: no connect attempt before (after a failed one) */
    uint64_t backoff;
};

static uint64_t mono_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

db_pool_t *db_pool_new(const char *conninfo, unsigned size, nns_error_t *err)
{
    db_pool_t *p = calloc(1, sizeof *p);
    if (!p || !(p->conns = calloc(size, sizeof *p->conns)) ||
        !(p->conninfo = strdup(conninfo ? conninfo : ""))) {
        if (p)
            free(p->conns);
        free(p);
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    p->size = size;
    p->backoff = BACKOFF_MIN_NANOS;
    for (unsigned i = 0; i < size; i++) {
        if (!(p->conns[i] = db_connect(conninfo, err))) {
            p->nfree = i;
            db_pool_destroy(&p);
            return NULL;
        }
    }
    p->nfree = size;
    return p;
}

void db_pool_destroy(db_pool_t **pool)
{
    db_pool_t *p = *pool;
    if (!p)
        return;
    for (unsigned i = 0; i < p->nfree; i++)
        if (p->conns[i])
            PQfinish(p->conns[i]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
    free(p->conns);
    free(p->conninfo);
    free(p);
    *pool = NULL;
}

/* Takes a free slot's connection (NULL: the slot must reconnect). */
static PGconn *take(db_pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->nfree == 0)
        pthread_cond_wait(&p->freed, &p->lock);
    PGconn *c = p->conns[--p->nfree];
    pthread_mutex_unlock(&p->lock);
    return c;
}

/* Gives a slot back; a broken connection is closed and the slot left to reconnect. */
static void give(db_pool_t *p, PGconn *c)
{
    if (c && PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        c = NULL;
    }
    pthread_mutex_lock(&p->lock);
    p->conns[p->nfree++] = c;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

/* A new connection, unless attempts are backing off: NULL with err. */
static PGconn *reconnect(db_pool_t *p, nns_error_t *err)
{
    pthread_mutex_lock(&p->lock);
    bool wait = mono_nanos() < p->retry_at;
    pthread_mutex_unlock(&p->lock);
    if (wait) {
        nns_error_set(err, 503, "Unavailable", "database unreachable; retry later");
        return NULL;
    }
    PGconn *c = db_connect(p->conninfo, err);
    pthread_mutex_lock(&p->lock);
    if (c) {
        p->backoff = BACKOFF_MIN_NANOS;
        p->retry_at = 0;
    } else {
        p->retry_at = mono_nanos() + p->backoff;
        p->backoff = p->backoff * 2 > BACKOFF_MAX_NANOS ? BACKOFF_MAX_NANOS : p->backoff * 2;
    }
    pthread_mutex_unlock(&p->lock);
    return c;
}

PGresult *db_pool_exec(db_pool_t *p, const char *sql, int nparams, const char *const *params,
                       nns_error_t *err)
{
    PGconn *c = take(p);
    bool fresh = !c;
    if (!c && !(c = reconnect(p, err))) {
        give(p, NULL);
        return NULL;
    }
    PGresult *r = db_exec(c, sql, nparams, params, err);
    if (!r && !fresh && PQstatus(c) != CONNECTION_OK) {
        /* the connection had gone stale (the server restarted or went away since): once more on
         * a new one */
        log_debug("read connection lost: reconnecting");
        PQfinish(c);
        c = reconnect(p, err);
        if (c)
            r = db_exec(c, sql, nparams, params, err);
    }
    give(p, c);
    return r;
}
