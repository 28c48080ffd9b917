/*
 * dbstore: the connections every service's store opens (architecture.md section 12), so a store
 * adds only its own SQL:
 *   - the loader: one connection for the migrations and the state read at start (the store
 *     closes it with db_store_loaded() once it has loaded);
 *   - the read pool (db_pool.h): the HTTP threads' reads, /readyz's ping and the replay purge;
 *   - the round writer (dbwriter.h): the rounds' transactions; none for a read-only replica.
 * The skeleton reaches the database through it (service_use_store()): /readyz pings the pool,
 * the state thread repairs the writer's connection, the replay purge empties the service's
 * `<service>.replay_cache` on the pool.
 */
#ifndef NNS_DBSTORE_H
#define NNS_DBSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "db_pool.h"
#include "dbwriter.h"
#include "error.h"
#include "migrations.h"

/* A statement prepared on each round connection. */
typedef struct {
    const char *name, *sql;
    int nparams;
} db_prepared_t;

typedef struct {
    const char *conninfo;              /* libpq string or URL; NULL or "": the environment */
    const migration_set_t *migrations; /* the service's (its name: the schema and rounds row) */
    unsigned pool_size;                /* read connections */
    bool read_only;                    /* a replica: no migrations, no writer; the writer's
                                          schema must be there already */
    unsigned depth, commit_delay_ms;   /* the writer's (dbwriter.h) */
    const char *round_setup;           /* run on each round connection before preparing (a
                                          SET; NULL: none) */
    const db_prepared_t *round_sql;    /* prepared on each round connection */
    size_t nround_sql;
} db_store_config_t;

typedef struct {
    db_store_config_t cfg; /* a copy; its conninfo is the copy below */
    char *conninfo;        /* for connections of the store's own, too */
    char replay_table[80]; /* "<service>.replay_cache" */
    PGconn *loader;        /* until db_store_loaded() */
    db_pool_t *pool;
    db_writer_t *writer; /* NULL: read-only */
} db_store_t;

/* Connects the loader, applies the migrations (a replica instead checks that the service's
 * replay table exists), opens the pool and the writer. False with err 503 (what was opened is
 * closed). The statements cfg points to must outlive d (statics); d must not move while open
 * (the writer prepares its new connections through it). */
bool db_store_open(db_store_t *d, const db_store_config_t *cfg, nns_error_t *err)
    __attribute__((warn_unused_result));
void db_store_close(db_store_t *d);
/* Closes the loader: the state is loaded. */
void db_store_loaded(db_store_t *d);

/* True when the database answers a pool connection (/readyz). */
bool db_store_ping(db_store_t *d);
/* Makes the writer's next connection usable (db_writer_reconnect()); true at once for a
 * replica, which has none. */
bool db_store_reconnect(db_store_t *d, nns_error_t *err) __attribute__((warn_unused_result));
/* Empties the expired slots of `<service>.replay_cache` (db_pool_replay_purge()). */
bool db_store_purge_replay(db_store_t *d, uint64_t wall_now, size_t *emptied_bytes,
                           nns_error_t *err) __attribute__((warn_unused_result));

#endif
