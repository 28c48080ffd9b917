#include "db_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "sign.h"

#define BACKOFF_MIN_NANOS (50ULL * 1000000ULL)
#define BACKOFF_MAX_NANOS (2000ULL * 1000000ULL)

/* A connection and the statements prepared on it (by db_pool_exec_prepared). */
typedef struct {
    PGconn *conn; /* NULL: to reconnect */
    const db_pool_stmt_t *prepared[DB_POOL_PREPARED_MAX];
    unsigned nprepared;
} slot_t;

struct db_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    char *conninfo;
    unsigned size, nfree;
    slot_t *conns;     /* conns[0..nfree) are free */
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
        if (!(p->conns[i].conn = db_connect(conninfo, err))) {
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
        if (p->conns[i].conn)
            PQfinish(p->conns[i].conn);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
    free(p->conns);
    free(p->conninfo);
    free(p);
    *pool = NULL;
}

/* Takes a free slot (its conn NULL: the slot must reconnect). */
static slot_t take(db_pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->nfree == 0)
        pthread_cond_wait(&p->freed, &p->lock);
    slot_t sl = p->conns[--p->nfree];
    pthread_mutex_unlock(&p->lock);
    return sl;
}

/* Gives a slot back; a broken connection is closed and the slot left to reconnect. */
static void give(db_pool_t *p, slot_t sl)
{
    if (sl.conn && PQstatus(sl.conn) != CONNECTION_OK) {
        PQfinish(sl.conn);
        sl.conn = NULL;
    }
    if (!sl.conn)
        sl.nprepared = 0;
    pthread_mutex_lock(&p->lock);
    p->conns[p->nfree++] = sl;
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

/* Runs stmt on sl's connection, in text (sql) or prepared form (preparing it first on a
 * connection that has not yet, when there is room for one more). */
static PGresult *run(slot_t *sl, const char *sql, const db_pool_stmt_t *stmt, int nparams,
                     const char *const *params, int result_format, nns_error_t *err)
{
    if (!stmt)
        return params ? db_exec(sl->conn, sql, nparams, params, err)
                      : db_script(sl->conn, sql, err);
    bool ready = false;
    for (unsigned i = 0; i < sl->nprepared && !ready; i++)
        ready = sl->prepared[i] == stmt;
    if (!ready && sl->nprepared < DB_POOL_PREPARED_MAX) {
        if (!db_prepare(sl->conn, stmt->name, stmt->sql, stmt->nparams, err))
            return NULL;
        sl->prepared[sl->nprepared++] = stmt;
        ready = true;
    }
    PGresult *r =
        ready ? PQexecPrepared(sl->conn, stmt->name, nparams, params, NULL, NULL, result_format)
              : PQexecParams(sl->conn, stmt->sql, nparams, NULL, params, NULL, NULL, result_format);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
        msg[strcspn(msg, "\n")] = '\0';
        nns_error_set(err, 503, "Unavailable", "database error: %s", msg);
        PQclear(r);
        return NULL;
    }
    return r;
}

static PGresult *pool_run(db_pool_t *p, const char *sql, const db_pool_stmt_t *stmt, int nparams,
                          const char *const *params, int result_format, nns_error_t *err)
{
    slot_t sl = take(p);
    bool fresh = !sl.conn;
    if (!sl.conn && !(sl.conn = reconnect(p, err))) {
        give(p, sl);
        return NULL;
    }
    PGresult *r = run(&sl, sql, stmt, nparams, params, result_format, err);
    if (!r && !fresh && PQstatus(sl.conn) != CONNECTION_OK) {
        /* the connection had gone stale (the server restarted or went away since): once more on
         * a new one, where nothing is prepared yet */
        log_debug("read connection lost: reconnecting");
        PQfinish(sl.conn);
        sl.nprepared = 0;
        sl.conn = reconnect(p, err);
        if (sl.conn)
            r = run(&sl, sql, stmt, nparams, params, result_format, err);
    }
    give(p, sl);
    return r;
}

PGresult *db_pool_exec(db_pool_t *p, const char *sql, int nparams, const char *const *params,
                       nns_error_t *err)
{
    return pool_run(p, sql, NULL, nparams, params, 0, err);
}

PGresult *db_pool_exec_prepared(db_pool_t *p, const db_pool_stmt_t *stmt, const char *const *params,
                                int result_format, nns_error_t *err)
{
    return pool_run(p, NULL, stmt, stmt->nparams, params, result_format, err);
}

bool db_pool_ping(db_pool_t *p)
{
    nns_error_t err;
    PGresult *r = db_pool_exec(p, "SELECT 1", 0, NULL, &err);
    PQclear(r);
    return r != NULL;
}

/* The replay ring's slots that hold only expired rows at wall_now, as a PostgreSQL array
 * literal ("{7,8,...}"). Window k is [k, k + 1) x DB_REPLAY_SLOT_NANOS of expiry, in slot k %
 * DB_REPLAY_SLOTS; c is the window of wall_now. A round may still write rows of windows c - 1
 * (a request that expired while its round committed) to c + 10 (SIGN_MAX_FUTURE_NANOS ahead),
 * so those 12 slots are left alone; the rows of the other 12 are at least 30 s past their
 * expiry (windows c - 2 back to c - 13), whichever turn of the ring wrote them. */
_Static_assert(DB_REPLAY_SLOTS >
                   (SIGN_MAX_FUTURE_NANOS + DB_REPLAY_SLOT_NANOS - 1) / DB_REPLAY_SLOT_NANOS + 3,
               "the replay ring has a slot that holds only expired rows");
_Static_assert(DB_REPLAY_SLOTS <= 100, "slot names have two digits (nns_replay_ring in db.c)");

static void expired_slots(uint64_t wall_now, char *out, size_t size)
{
    const uint64_t ahead =
        (SIGN_MAX_FUTURE_NANOS + DB_REPLAY_SLOT_NANOS - 1) / DB_REPLAY_SLOT_NANOS;
    const uint64_t c = wall_now / DB_REPLAY_SLOT_NANOS + DB_REPLAY_SLOTS; /* c - back >= 0 */
    size_t n = (size_t)snprintf(out, size, "{");
    for (uint64_t back = 2; back < DB_REPLAY_SLOTS - ahead && n < size; back++)
        n += (size_t)snprintf(out + n, size - n, "%s%u", back > 2 ? "," : "",
                              (unsigned)((c - back) % DB_REPLAY_SLOTS));
    if (n < size)
        snprintf(out + n, size - n, "}");
}

bool db_pool_replay_purge(db_pool_t *p, const char *table, uint64_t wall_now, size_t *emptied_bytes,
                          nns_error_t *err)
{
    *emptied_bytes = 0;
    char slots[4 * DB_REPLAY_SLOTS + 3];
    expired_slots(wall_now, slots, sizeof slots);
    const char *params[2] = {table, slots};
    PGresult *r = db_pool_exec(p,
                               "SELECT s, pg_relation_size(format('%s_%s', $1::text,"
                               " lpad(s::text, 2, '0'))::regclass)"
                               " FROM unnest($2::int[]) AS s",
                               2, params, err);
    if (!r)
        return false;
    bool ok = true;
    for (int i = 0; i < PQntuples(r) && ok; i++) {
        unsigned long long bytes = strtoull(PQgetvalue(r, i, 1), NULL, 10);
        if (!bytes)
            continue;
        /* identifiers, not values: the table's name is a constant and the slot a number */
        char sql[160];
        snprintf(sql, sizeof sql, "SET LOCAL lock_timeout = '2s'; TRUNCATE %s_%02d", table,
                 atoi(PQgetvalue(r, i, 0)));
        PGresult *t = db_pool_exec(p, sql, 0, NULL, err);
        ok = t != NULL;
        PQclear(t);
        if (ok)
            *emptied_bytes += (size_t)bytes;
    }
    PQclear(r);
    return ok;
}
