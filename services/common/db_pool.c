#include "db_pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "db.h"

struct db_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    unsigned size, nfree;
    PGconn **conns; /* conns[0..nfree) are free */
};

db_pool_t *db_pool_new(const char *conninfo, unsigned size, nns_error_t *err)
{
    db_pool_t *p = calloc(1, sizeof *p);
    if (!p || !(p->conns = calloc(size, sizeof *p->conns))) {
        free(p);
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    p->size = size;
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
        PQfinish(p->conns[i]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
    free(p->conns);
    free(p);
    *pool = NULL;
}

PGconn *db_pool_get(db_pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->nfree == 0)
        pthread_cond_wait(&p->freed, &p->lock);
    PGconn *c = p->conns[--p->nfree];
    pthread_mutex_unlock(&p->lock);
    return c;
}

void db_pool_put(db_pool_t *p, PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK)
        PQreset(conn);
    pthread_mutex_lock(&p->lock);
    p->conns[p->nfree++] = conn;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}
