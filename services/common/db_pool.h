/*
 * db_pool: a small fixed pool of PostgreSQL connections for the HTTP threads' reads (lists,
 * history, search), so the state thread's write connection never waits for a reader.
 *
 * db_pool_exec() takes a free connection (waiting when every one is taken, which is rare: the
 * pool has one per HTTP thread plus one), runs one statement and gives the connection back.
 * The pool outlives a database outage: a connection found broken is closed, and the slot is
 * reconnected on its next use; a statement that failed because its connection had gone stale
 * (the server restarted since) runs once more on a new connection, since a read can safely run
 * twice. While the database cannot be reached, connection attempts back off (50 ms doubling to
 * 2 s, for the whole pool) and a statement that needs one fails at once instead of waiting.
 * Thread-safe.
 */
#ifndef NNS_DB_POOL_H
#define NNS_DB_POOL_H

#include <libpq-fe.h>

#include "db.h"
#include "error.h"

typedef struct db_pool db_pool_t;

/* Opens size connections to conninfo (copied). Returns NULL with err 503 when any cannot be
 * opened. */
db_pool_t *db_pool_new(const char *conninfo, unsigned size, nns_error_t *err)
    __attribute__((warn_unused_result));
void db_pool_destroy(db_pool_t **pool);

/* db_exec() on a pool connection: the result (the caller PQclear()s it) when the status is
 * COMMAND_OK or TUPLES_OK, else NULL with err 503 (the server's message, or "database
 * unreachable" while connecting fails or backs off). Never blocks on a connect longer than
 * db_connect() does. */
/* True when the database answers a pool connection (a service's /readyz). */
bool db_pool_ping(db_pool_t *pool);

/* Empties the slots of a replay table (db.h: the ring of DB_REPLAY_SLOTS partitions) that hold
 * only rows expired at wall_now, on pool connections, so the purge never holds up the state
 * thread's: each slot that has rows is truncated (waiting at most 2 s for its lock; a slot that
 * a round still writes to is left for the next purge). table: the parent, e.g.
 * "ledger.replay_cache", a constant. *emptied_bytes: the size of what was emptied. False with
 * err. */
bool db_pool_replay_purge(db_pool_t *pool, const char *table, uint64_t wall_now,
                          size_t *emptied_bytes, nns_error_t *err)
    __attribute__((warn_unused_result));

/* A statement without parameters (params NULL) runs in the simple protocol: sql may be several
 * statements, run as one transaction, and the result is the last one's. */
PGresult *db_pool_exec(db_pool_t *pool, const char *sql, int nparams, const char *const *params,
                       nns_error_t *err) __attribute__((warn_unused_result));

/* A statement the pool prepares on each of its connections at its first use there (a
 * connection made again prepares it again): parsed and planned once per connection, not once
 * per call. name must be unique among a pool's statements; the struct must outlive the pool
 * (a static). */
typedef struct {
    const char *name;
    const char *sql;
    int nparams;
} db_pool_stmt_t;

/* At most this many statements are kept prepared on a connection; further ones run unprepared. */
#define DB_POOL_PREPARED_MAX 16

/* db_pool_exec() of a prepared statement (stmt->nparams text parameters). result_format 0 asks
 * for text results, 1 for binary ones (PQexecPrepared). */
PGresult *db_pool_exec_prepared(db_pool_t *pool, const db_pool_stmt_t *stmt,
                                const char *const *params, int result_format, nns_error_t *err)
    __attribute__((warn_unused_result));

#endif
