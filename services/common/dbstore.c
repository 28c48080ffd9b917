#include "dbstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A round connection's preparation (db_writer_prepare_fn). */
static bool prepare_round_conn(PGconn *conn, void *ctx, nns_error_t *err)
{
    const db_store_t *d = ctx;
    if (d->cfg.round_setup && !db_command(conn, d->cfg.round_setup, 0, NULL, err))
        return false;
    for (size_t i = 0; i < d->cfg.nround_sql; i++) {
        const db_prepared_t *q = &d->cfg.round_sql[i];
        if (!db_prepare(conn, q->name, q->sql, q->nparams, err))
            return false;
    }
    return true;
}

/* A replica reads what a writer made: the service's replay table is its first migration's. */
static bool schema_present(db_store_t *d, nns_error_t *err)
{
    const char *params[1] = {d->replay_table};
    PGresult *r = db_exec(d->loader, "SELECT to_regclass($1) IS NOT NULL", 1, params, err);
    if (!r)
        return false;
    bool present = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!present)
        nns_error_set(err, 503, "Unavailable",
                      "the database has no %s schema yet: start a writer first",
                      d->cfg.migrations->service);
    return present;
}

bool db_store_open(db_store_t *d, const db_store_config_t *cfg, nns_error_t *err)
{
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    int n = snprintf(d->replay_table, sizeof d->replay_table, "%s.replay_cache",
                     cfg->migrations->service);
    if (n < 0 || (size_t)n >= sizeof d->replay_table) {
        nns_error_set(err, 500, "Internal", "service name too long: %s", cfg->migrations->service);
        return false;
    }
    if (!(d->conninfo = strdup(cfg->conninfo ? cfg->conninfo : ""))) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return false;
    }
    d->cfg.conninfo = d->conninfo;
    db_writer_config_t wc = {.conninfo = d->conninfo,
                             .service = cfg->migrations->service,
                             .depth = cfg->depth,
                             .commit_delay_ms = cfg->commit_delay_ms,
                             .prepare = prepare_round_conn,
                             .ctx = d};
    bool ok =
        (d->loader = db_connect(d->conninfo, err)) != NULL &&
        (cfg->read_only ? schema_present(d, err) : db_migrate(d->loader, cfg->migrations, err)) &&
        (d->pool = db_pool_new(d->conninfo, cfg->pool_size, err)) != NULL &&
        (cfg->read_only || (d->writer = db_writer_open(&wc, err)) != NULL);
    if (!ok)
        db_store_close(d);
    return ok;
}

void db_store_loaded(db_store_t *d)
{
    if (d->loader)
        PQfinish(d->loader);
    d->loader = NULL;
}

void db_store_close(db_store_t *d)
{
    db_store_loaded(d);
    db_writer_close(&d->writer);
    db_pool_destroy(&d->pool);
    free(d->conninfo);
    d->conninfo = NULL;
}

bool db_store_ping(db_store_t *d)
{
    return db_pool_ping(d->pool);
}

bool db_store_reconnect(db_store_t *d, nns_error_t *err)
{
    return !d->writer || db_writer_reconnect(d->writer, err);
}

bool db_store_purge_replay(db_store_t *d, uint64_t wall_now, size_t *emptied_bytes,
                           nns_error_t *err)
{
    return db_pool_replay_purge(d->pool, d->replay_table, wall_now, emptied_bytes, err);
}
