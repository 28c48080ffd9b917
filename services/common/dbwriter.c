#include "dbwriter.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MAX_DEPTH 8
#define GUARD_STMT "nns_round_guard"
#define BEGIN_STMT "nns_round_begin"

typedef struct {
    PGconn *conn;
    size_t nstmts; /* statements of the round in flight on it (0: idle) */
    db_pipeline_outcome_t out;
    db_pipeline_reader_t rd; /* its results, read so far */
    nns_error_t err;         /* the first error among them */
    size_t param_bytes;      /* the parameters that round sent */
} slot_t;

struct db_writer {
    char *conninfo, *service;
    unsigned depth, commit_delay_ms;
    db_writer_prepare_fn prepare;
    void *ctx;
    slot_t slot[MAX_DEPTH];
    unsigned next, oldest; /* the next round's slot; the oldest round in flight's */
    size_t inflight;
    uint64_t committed; /* rounds the record counts */
    uint64_t sent;      /* committed, plus the rounds in flight that may commit */
    bool failed;        /* a round in flight did not commit: the later ones cannot */
};

static void drop(slot_t *s)
{
    PQfinish(s->conn);
    s->conn = NULL;
}

static bool prepare_slot(db_writer_t *w, slot_t *s, nns_error_t *err)
{
    if (!db_prepare(s->conn, GUARD_STMT, "SELECT public.nns_round_advance($1, $2)", 2, err) ||
        !db_prepare(s->conn, BEGIN_STMT,
                    "SELECT pg_advisory_xact_lock(hashtext($1), ($2::bigint % 2147483647)::int)", 2,
                    err) ||
        (w->prepare && !w->prepare(s->conn, w->ctx, err))) {
        drop(s);
        return false;
    }
    return true;
}

static bool connect_slot(db_writer_t *w, slot_t *s, nns_error_t *err)
{
    drop(s);
    return (s->conn = db_connect(w->conninfo, err)) != NULL && prepare_slot(w, s, err);
}

db_writer_t *db_writer_open(const db_writer_config_t *cfg, nns_error_t *err)
{
    db_writer_t *w = calloc(1, sizeof *w);
    if (!w || !(w->conninfo = strdup(cfg->conninfo ? cfg->conninfo : "")) ||
        !(w->service = strdup(cfg->service))) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        db_writer_close(&w);
        return NULL;
    }
    w->depth = cfg->depth < 1 ? 1 : cfg->depth > MAX_DEPTH ? MAX_DEPTH : cfg->depth;
    w->commit_delay_ms = cfg->commit_delay_ms;
    w->prepare = cfg->prepare;
    w->ctx = cfg->ctx;
    /* the round record first: the guard statement is prepared against its function */
    bool ok = (w->slot[0].conn = db_connect(w->conninfo, err)) != NULL &&
              db_rounds_load(w->slot[0].conn, w->service, &w->committed, err) &&
              prepare_slot(w, &w->slot[0], err);
    for (unsigned i = 1; ok && i < w->depth; i++)
        ok = connect_slot(w, &w->slot[i], err);
    if (!ok) {
        db_writer_close(&w);
        return NULL;
    }
    w->sent = w->committed;
    return w;
}

void db_writer_close(db_writer_t **wp)
{
    db_writer_t *w = *wp;
    if (!w)
        return;
    for (unsigned i = 0; i < MAX_DEPTH; i++)
        drop(&w->slot[i]);
    free(w->conninfo);
    free(w->service);
    free(w);
    *wp = NULL;
}

PGconn *db_writer_conn(db_writer_t *w)
{
    return w->slot[w->next].conn;
}

bool db_writer_reconnect(db_writer_t *w, nns_error_t *err)
{
    slot_t *s = &w->slot[w->next];
    if (s->conn) {
        /* reads what the server sent while idle (a termination notice) without a round trip */
        PQconsumeInput(s->conn);
        if (PQstatus(s->conn) == CONNECTION_OK && PQtransactionStatus(s->conn) == PQTRANS_IDLE)
            return true;
        log_warn("write connection unusable: connecting again");
    }
    return connect_slot(w, s, err);
}

/* After a round that committed nothing on s: rolls back, or drops a connection that cannot be
 * used again. */
static void settle(slot_t *s, const char *why)
{
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK &&
        PQpipelineStatus(s->conn) == PQ_PIPELINE_OFF) {
        PGresult *rb = PQexec(s->conn, "ROLLBACK");
        bool clean =
            PQresultStatus(rb) == PGRES_COMMAND_OK && PQtransactionStatus(s->conn) == PQTRANS_IDLE;
        PQclear(rb);
        if (clean)
            return;
    }
    if (s->conn)
        log_warn("write connection unusable after a round that did not commit: %s", why);
    drop(s);
}

bool db_writer_begin(db_writer_t *w, nns_error_t *err)
{
    slot_t *s = &w->slot[w->next];
    if (!s->conn)
        return nns_error_set(err, 503, "Unavailable", "database unreachable");
    char round[24];
    snprintf(round, sizeof round, "%llu", (unsigned long long)w->sent);
    const char *p[2] = {w->service, round};
    db_stmt_t st[2] = {{"BEGIN", NULL, 0, NULL, NULL, NULL}, {NULL, BEGIN_STMT, 2, p, NULL, NULL}};
    db_pipeline_outcome_t out;
    if (db_pipeline(s->conn, st, 2, &out, err))
        return true;
    settle(s, err->detail);
    return false;
}

void db_writer_abandon(db_writer_t *w, const nns_error_t *why)
{
    settle(&w->slot[w->next], why->detail);
}

/* The bytes of stmts' parameters: what libpq's output buffer held for them. */
static size_t param_bytes(const db_stmt_t *stmts, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < stmts[i].nparams; j++) {
            const char *v = stmts[i].values ? stmts[i].values[j] : NULL;
            if (v)
                bytes += stmts[i].formats && stmts[i].formats[j] && stmts[i].lengths
                             ? (size_t)stmts[i].lengths[j]
                             : strlen(v);
        }
    return bytes;
}

db_outcome_t db_writer_send(db_writer_t *w, const db_stmt_t *stmts, size_t n, nns_error_t *err)
{
    slot_t *s = &w->slot[w->next];
    db_stmt_t *all = malloc((n + 3) * sizeof *all);
    if (!all) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        settle(s, err->detail);
        return DB_NOT_COMMITTED;
    }
    char round[24], delay[24];
    snprintf(round, sizeof round, "%llu", (unsigned long long)w->sent);
    snprintf(delay, sizeof delay, "%u.%03u", w->commit_delay_ms / 1000, w->commit_delay_ms % 1000);
    const char *guard[2] = {w->service, round}, *sleep[1] = {delay};
    /* the guard first: the round's upserts run only once the round before it has ended, so
     * they never overtake that round's writes to the same rows */
    size_t k = 0;
    all[k++] = (db_stmt_t){NULL, GUARD_STMT, 2, guard, NULL, NULL};
    memcpy(all + k, stmts, n * sizeof *all);
    k += n;
    if (w->commit_delay_ms)
        all[k++] = (db_stmt_t){"SELECT pg_sleep($1)", NULL, 1, sleep, NULL, NULL};
    all[k++] = (db_stmt_t){"COMMIT", NULL, 0, NULL, NULL, NULL};
    bool ok = db_pipeline_send(s->conn, all, k, &s->out, err);
    free(all);
    if (!ok) {
        /* the COMMIT never reached libpq: nothing can commit; otherwise it may have left */
        db_outcome_t o = s->out.sent + 1 < k ? DB_NOT_COMMITTED : DB_UNKNOWN;
        drop(s);
        return o;
    }
    s->nstmts = k;
    s->param_bytes = param_bytes(stmts, n);
    s->rd = (db_pipeline_reader_t){.n = k, .answered = true};
    nns_error_clear(&s->err);
    w->sent++;
    w->inflight++;
    w->next = (w->next + 1) % w->depth;
    return DB_COMMITTED;
}

db_outcome_t db_writer_wait(db_writer_t *w, nns_error_t *err)
{
    if (!w->inflight) {
        nns_error_set(err, 500, "InternalError", "no round in flight");
        return DB_NOT_COMMITTED;
    }
    slot_t *s = &w->slot[w->oldest];
    size_t n = s->nstmts;
    (void)db_pipeline_poll(s->conn, &s->rd, &s->out, &s->err, true);
    *err = s->err;
    s->nstmts = 0;
    w->oldest = (w->oldest + 1) % w->depth;
    w->inflight--;
    db_outcome_t o = !s->rd.failed ? DB_COMMITTED : db_commit_outcome(&s->out, n);
    if (o == DB_COMMITTED && w->failed) {
        /* the guard makes this impossible; if it happened, memory no longer matches */
        nns_error_set(err, 503, "Unavailable",
                      "a round committed after one that did not: restarting to reload");
        o = DB_UNKNOWN;
    }
    switch (o) {
    case DB_COMMITTED:
        w->committed++;
        if (s->out.broken) {
            log_warn("write connection lost after a committed round: %s", err->detail);
            drop(s);
        } else if (s->param_bytes > DB_WRITER_RENEW_BYTES) {
            /* libpq's output buffer grew to that round's size and never shrinks: a new
             * connection gives it back (a genesis of 100,000 neurons left 67 MB) */
            nns_error_t e;
            if (connect_slot(w, s, &e))
                log_info("write connection renewed after a round of %.1f MB of parameters",
                         (double)s->param_bytes / 1e6);
            else
                log_warn("write connection not renewed after a large round: %s", e.detail);
        }
        break;
    case DB_NOT_COMMITTED:
        if (!w->failed)
            log_warn("round not committed: %s", err->detail);
        else
            nns_error_set(err, 503, "Unavailable", "an earlier round did not commit");
        w->failed = true;
        settle(s, err->detail);
        break;
    case DB_UNKNOWN:
        drop(s);
        break;
    }
    if (!w->inflight) {
        w->sent = w->committed;
        w->failed = false;
    }
    return o;
}

bool db_writer_ready(db_writer_t *w, int timeout_ms)
{
    if (!w->inflight)
        return false;
    slot_t *s = &w->slot[w->oldest];
    if (s->rd.done)
        return true;
    if (timeout_ms > 0) {
        struct pollfd p = {.fd = PQsocket(s->conn), .events = POLLIN};
        if (p.fd < 0 || poll(&p, 1, timeout_ms) == 0)
            return p.fd < 0; /* no socket: reading it will tell at once */
    }
    return db_pipeline_poll(s->conn, &s->rd, &s->out, &s->err, false);
}
