/*
 * db_pool: a small fixed pool of PostgreSQL connections for the HTTP threads' reads (lists,
 * history, search), so the state thread's write connection never waits for a reader.
 *
 * db_pool_get() blocks until a connection is free (the pool has one per HTTP thread plus one,
 * so this is rare); every connection taken must be given back with db_pool_put(). A connection
 * found broken on return is reset. Thread-safe.
 */
#ifndef NNS_DB_POOL_H
#define NNS_DB_POOL_H

#include <libpq-fe.h>

#include "error.h"

typedef struct db_pool db_pool_t;

/* Opens size connections. Returns NULL with err 503 when any cannot be opened. */
db_pool_t *db_pool_new(const char *conninfo, unsigned size, nns_error_t *err)
    __attribute__((warn_unused_result));
void db_pool_destroy(db_pool_t **pool);

PGconn *db_pool_get(db_pool_t *pool);
void db_pool_put(db_pool_t *pool, PGconn *conn);

#endif
