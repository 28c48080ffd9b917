#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "migrations.h"

#define MIGRATION_LOCK_KEY "7236115601"

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("postgres: %s", message);
}

PGconn *db_connect(const char *conninfo, nns_error_t *err)
{
    /* connect_timeout first: a connect_timeout in conninfo (expanded from dbname) overrides it */
    static const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *values[] = {DB_CONNECT_TIMEOUT, conninfo ? conninfo : "", NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (!c) {
        nns_error_set(err, 503, "Unavailable", "cannot connect to PostgreSQL: out of memory");
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    if (PQstatus(c) != CONNECTION_OK) {
        nns_error_set(err, 503, "Unavailable", "cannot connect to PostgreSQL: %s",
                      PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* The first line of a failed result's message, as err 503. */
static bool result_error(const PGresult *r, const char *what, nns_error_t *err)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
    msg[strcspn(msg, "\n")] = '\0';
    return nns_error_set(err, 503, "Unavailable", "%s: %s", what, msg);
}

static PGresult *checked(PGresult *r, nns_error_t *err)
{
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        result_error(r, "database error", err);
        PQclear(r);
        return NULL;
    }
    return r;
}

PGresult *db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
                  nns_error_t *err)
{
    return checked(PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0), err);
}

PGresult *db_script(PGconn *conn, const char *sql, nns_error_t *err)
{
    return checked(PQexec(conn, sql), err);
}

bool db_command(PGconn *conn, const char *sql, int nparams, const char *const *params,
                nns_error_t *err)
{
    PGresult *r = db_exec(conn, sql, nparams, params, err);
    PQclear(r);
    return r != NULL;
}

/* The migration record: one row per applied migration, keyed by (service, name), so a service
 * reads and writes only its own rows. The columns keep the order of the legacy record (name,
 * applied_at) with service appended, so a carried-over record and a new one are the same table. */
static const char RECORD_DDL[] =
    "CREATE TABLE IF NOT EXISTS public.nns_schema_migrations ("
    " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), service text NOT NULL,"
    " PRIMARY KEY (service, name))";

/* Before migrations were per service, the ledger was the only service: its record was
 * public.nns_schema_migrations (name text PRIMARY KEY, applied_at), and every row of it is the
 * ledger's, whichever service finds it first. */
#define LEGACY_SERVICE "ledger"

/* BEGIN and the migration lock. One lock for every service (PostgreSQL scopes advisory locks to
 * the database): the record table is shared and created or carried over once, and migrations
 * may touch objects outside their service's schemas (analytics creates the cluster-wide role
 * analyst), so two services' migrations never interleave. They run only at start: a service
 * waits at most for another's migrations. */
static bool begin_locked(PGconn *conn, nns_error_t *err)
{
    return db_command(conn, "BEGIN", 0, NULL, err) &&
           db_command(conn, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK_KEY ")", 0, NULL, err);
}

/* Inside a locked transaction: creates the record, or carries a legacy one over in place (adds
 * service, files every row under LEGACY_SERVICE, keys the table by (service, name)); names,
 * applied_at and grants on the table are kept, nothing is applied again. False with err 503. */
static bool record_prepare(PGconn *conn, nns_error_t *err)
{
    const char *params[1] = {LEGACY_SERVICE};
    PGresult *r = NULL;
    if (!db_command(conn, RECORD_DDL, 0, NULL, err) ||
        !(r = db_exec(conn,
                      "SELECT count(*) FROM pg_attribute WHERE attrelid = "
                      "'public.nns_schema_migrations'::regclass AND attname = 'service' "
                      "AND NOT attisdropped",
                      0, NULL, err)))
        return false;
    bool legacy = strcmp(PQgetvalue(r, 0, 0), "0") == 0;
    PQclear(r);
    if (!legacy)
        return true;
    if (!db_command(conn, "ALTER TABLE public.nns_schema_migrations ADD COLUMN service text", 0,
                    NULL, err) ||
        !(r = db_exec(conn, "UPDATE public.nns_schema_migrations SET service = $1", 1, params,
                      err)))
        return false;
    log_info("migration record: carrying %s migrations over from the legacy record as '%s'",
             PQcmdTuples(r), LEGACY_SERVICE);
    PQclear(r);
    return db_command(conn,
                      "ALTER TABLE public.nns_schema_migrations ALTER COLUMN service SET NOT NULL,"
                      " DROP CONSTRAINT nns_schema_migrations_pkey,"
                      " ADD PRIMARY KEY (service, name)",
                      0, NULL, err);
}

#define STR_(x) #x
#define STR(x) STR_(x)
/* public.nns_replay_ring(schema): makes <schema>.replay_cache the ring of db.h (DB_REPLAY_SLOTS
 * partitions <schema>.replay_cache_00 and on, by (expiry_nanos / DB_REPLAY_SLOT_SECONDS s) %
 * DB_REPLAY_SLOTS): creates it, or turns a plain table of that name into it, carrying its
 * unexpired rows over; a ring already there is left as it is. Autovacuum is off on the
 * partitions: their rows are never updated or deleted, nothing plans over them, and a TRUNCATE
 * renews each within 12 minutes of use (its rows, and their transaction ids, with it). A
 * service's migration calls it (schema/ledger/006_ledger_replay_ring.sql), so the numbers live
 * here only; it is made before any migration runs. */
/* clang-format off */
static const char RING_DDL[] =
    "CREATE OR REPLACE FUNCTION public.nns_replay_ring(schema_name text) RETURNS void"
    " LANGUAGE plpgsql AS $f$ DECLARE kind char; BEGIN"
    " SELECT c.relkind INTO kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = schema_name AND c.relname = 'replay_cache';"
    " IF kind = 'p' THEN RETURN; END IF;"
    " IF kind = 'r' THEN EXECUTE format("
    "'ALTER TABLE %I.replay_cache RENAME TO replay_cache_before_ring', schema_name); END IF;"
    " EXECUTE format('CREATE TABLE %I.replay_cache (key bytea NOT NULL,"
    " expiry_nanos bigint NOT NULL CHECK (expiry_nanos >= 0), status int NOT NULL,"
    " body text NOT NULL) PARTITION BY LIST ((expiry_nanos / (" STR(DB_REPLAY_SLOT_SECONDS)
    " * 1000000000::bigint) %% " STR(DB_REPLAY_SLOTS) "))', schema_name);"
    " FOR slot IN 0.." STR(DB_REPLAY_SLOTS) " - 1 LOOP"
    " EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.replay_cache FOR VALUES IN (%s)"
    " WITH (autovacuum_enabled = false)',"
    " schema_name, 'replay_cache_' || lpad(slot::text, 2, '0'), schema_name, slot);"
    " END LOOP;"
    " IF kind = 'r' THEN EXECUTE format('INSERT INTO %1$I.replay_cache"
    " (key, expiry_nanos, status, body) SELECT key, expiry_nanos, status, body"
    " FROM %1$I.replay_cache_before_ring"
    " WHERE expiry_nanos >= (extract(epoch FROM now()) * 1e9)::bigint;"
    " DROP TABLE %1$I.replay_cache_before_ring', schema_name); END IF;"
    " END $f$;"
    "REVOKE ALL ON FUNCTION public.nns_replay_ring(text) FROM PUBLIC";
/* clang-format on */

bool db_migrate(PGconn *conn, const migration_set_t *set, nns_error_t *err)
{
    PGresult *ring = NULL;
    if (!begin_locked(conn, err) || !record_prepare(conn, err) ||
        !(ring = db_script(conn, RING_DDL, err)))
        goto fail;
    PQclear(ring);
    if (!db_command(conn, "COMMIT", 0, NULL, err))
        goto fail;
    for (unsigned long i = 0; i < set->count; i++) {
        const migration_t *m = &set->items[i];
        const char *params[2] = {set->service, m->name};
        PGresult *r = NULL;
        if (!begin_locked(conn, err) || !(r = db_exec(conn,
                                                      "SELECT 1 FROM public.nns_schema_migrations"
                                                      " WHERE service = $1 AND name = $2",
                                                      2, params, err)))
            goto fail;
        bool applied = PQntuples(r) > 0;
        PQclear(r);
        if (!applied) {
            PGresult *x = PQexec(conn, m->sql); /* embedded, trusted SQL: no values */
            if (PQresultStatus(x) != PGRES_COMMAND_OK && PQresultStatus(x) != PGRES_TUPLES_OK) {
                nns_error_set(err, 503, "Unavailable", "migration '%s/%s' failed: %s", set->service,
                              m->name, PQresultErrorMessage(x));
                PQclear(x);
                goto fail;
            }
            PQclear(x);
            if (!db_command(conn,
                            "INSERT INTO public.nns_schema_migrations (service, name)"
                            " VALUES ($1, $2)",
                            2, params, err))
                goto fail;
            log_info("applied migration '%s/%s'", set->service, m->name);
        }
        if (!db_command(conn, "COMMIT", 0, NULL, err))
            goto fail;
    }
    return true;
fail:
    PQclear(PQexec(conn, "ROLLBACK"));
    return false;
}

/* ---- COPY ---- */

static void reserve(copybuf_t *b, size_t more)
{
    if (b->failed || b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = true;
        return;
    }
    b->data = d;
    b->cap = cap;
}

static void append(copybuf_t *b, const char *s, size_t n)
{
    reserve(b, n);
    if (b->failed)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

void copybuf_reset(copybuf_t *b)
{
    /* a buffer that a rare large round grew (a genesis) is freed once many uses in a row have
     * needed little of it; one that load grows and shrinks by turns is kept */
    if (b->cap > COPYBUF_KEEP && b->len < b->cap / 4) {
        if (++b->idle >= COPYBUF_IDLE_USES) {
            free(b->data);
            b->data = NULL;
            b->cap = 0;
            b->idle = 0;
        }
    } else {
        b->idle = 0;
    }
    b->len = 0;
    b->failed = false;
}

void copybuf_free(copybuf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void copybuf_u64(copybuf_t *b, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    append(b, tmp, (size_t)n);
}

void copybuf_bytea(copybuf_t *b, const uint8_t *bytes, size_t len)
{
    /* text COPY: the bytea input "\x..." with its backslash escaped */
    reserve(b, 2 * len + 3);
    if (b->failed)
        return;
    b->data[b->len++] = '\\';
    b->data[b->len++] = '\\';
    b->data[b->len++] = 'x';
    hex_encode(bytes, len, b->data + b->len);
    b->len += 2 * len;
}

static void put_be(copybuf_t *b, uint64_t v, int bytes)
{
    char tmp[8];
    for (int i = 0; i < bytes; i++)
        tmp[i] = (char)(v >> (8 * (bytes - 1 - i)));
    append(b, tmp, (size_t)bytes);
}

void copybuf_bin_begin(copybuf_t *b)
{
    static const char signature[11] = {'P',  'G',    'C',  'O',  'P', 'Y',
                                       '\n', '\377', '\r', '\n', '\0'};
    append(b, signature, sizeof signature);
    put_be(b, 0, 4); /* flags */
    put_be(b, 0, 4); /* header extension length */
}

void copybuf_bin_row(copybuf_t *b, int nfields)
{
    put_be(b, (uint64_t)nfields, 2);
}
void copybuf_bin_null(copybuf_t *b)
{
    put_be(b, 0xffffffffu, 4);
}
void copybuf_bin_end(copybuf_t *b)
{
    put_be(b, 0xffff, 2);
}

void copybuf_bin_int4(copybuf_t *b, int32_t v)
{
    put_be(b, 4, 4);
    put_be(b, (uint32_t)v, 4);
}

void copybuf_bin_int8(copybuf_t *b, int64_t v)
{
    put_be(b, 8, 4);
    put_be(b, (uint64_t)v, 8);
}

void copybuf_bin_bytes(copybuf_t *b, const void *bytes, size_t len)
{
    put_be(b, len, 4);
    append(b, bytes, len);
}

void copybuf_bin_numeric(copybuf_t *b, uint64_t v)
{
    /* numeric_send: ndigits, weight, sign, dscale, then base-10000 digits, most significant
     * first; a u64 has at most 5 of them */
    uint16_t digits[5];
    int n = 0;
    for (uint64_t x = v; x; x /= 10000)
        digits[n++] = (uint16_t)(x % 10000);
    put_be(b, (uint64_t)(8 + 2 * n), 4);
    put_be(b, (uint64_t)n, 2);
    put_be(b, (uint64_t)(n ? n - 1 : 0), 2); /* weight */
    put_be(b, 0, 2);                         /* sign: positive */
    put_be(b, 0, 2);                         /* dscale */
    for (int i = n - 1; i >= 0; i--)
        put_be(b, digits[i], 2);
}
size_t copybuf_array_begin(copybuf_t *b, uint32_t elem_oid)
{
    put_be(b, 1, 4); /* dimensions */
    put_be(b, 0, 4); /* flags: no null bitmap needed in the binary form */
    put_be(b, elem_oid, 4);
    size_t at = b->len;
    put_be(b, 0, 4); /* element count, set by copybuf_array_end() */
    put_be(b, 1, 4); /* lower bound */
    return at;
}

void copybuf_array_end(copybuf_t *b, size_t at, size_t count)
{
    if (b->failed || at + 4 > b->len)
        return;
    for (int i = 0; i < 4; i++)
        b->data[at + (size_t)i] = (char)((uint32_t)count >> (8 * (3 - i)));
}

bool db_prepare(PGconn *conn, const char *name, const char *sql, int nparams, nns_error_t *err)
{
    PGresult *r = PQprepare(conn, name, sql, nparams, NULL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        result_error(r, "cannot prepare a statement", err);
    PQclear(r);
    return ok;
}

/* A notice receiver for the length of a pipeline: notes a message by which the server says it
 * is ending the session. libpq hands an error that arrives between two statements' results
 * to the notice receiver, not to a result, and a shutdown's warning always comes that way. */
static void note_session_end(void *arg, const PGresult *r)
{
    bool *ended = arg;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if ((sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0)) ||
        (state && (strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0)))
        *ended = true;
    quiet_notice(NULL, PQresultErrorMessage(r));
}

bool db_pipeline_send(PGconn *conn, const db_stmt_t *stmts, size_t n, db_pipeline_outcome_t *out,
                      nns_error_t *err)
{
    *out = (db_pipeline_outcome_t){0};
    if (PQenterPipelineMode(conn) != 1) {
        out->broken = true;
        return nns_error_set(err, 503, "Unavailable", "cannot enter pipeline mode: %s",
                             PQerrorMessage(conn));
    }
    for (; out->sent < n; out->sent++) {
        const db_stmt_t *s = &stmts[out->sent];
        int sent_ok = s->prepared ? PQsendQueryPrepared(conn, s->prepared, s->nparams, s->values,
                                                        s->lengths, s->formats, 0)
                                  : PQsendQueryParams(conn, s->sql, s->nparams, NULL, s->values,
                                                      s->lengths, s->formats, 0);
        if (sent_ok != 1) {
            /* part of it may be queued: no sync that would flush it, and no reading back */
            out->broken = true;
            return nns_error_set(err, 503, "Unavailable", "cannot send a statement: %s",
                                 PQerrorMessage(conn));
        }
    }
    if (PQpipelineSync(conn) != 1) {
        /* part of what was queued may have reached the server: nothing can be read back */
        out->broken = true;
        out->sync_failed = true;
        return nns_error_set(err, 503, "Unavailable", "cannot send the pipeline: %s",
                             PQerrorMessage(conn));
    }
    return true;
}

/* Without blocking: true when PQgetResult() will not block. What libpq holds already is
 * parsed first (PQisBusy), and the socket read only when that is not enough: reading first
 * could meet the end of the stream after a server's last words (a FATAL error ending its
 * session, then the connection closed) and drop the connection with those words still
 * unparsed in libpq's buffer, so that a round the server refused read as one whose outcome
 * nobody knows (and the process exited). */
static bool input_ready(PGconn *conn)
{
    if (!PQisBusy(conn))
        return true;
    PQconsumeInput(conn);
    return !PQisBusy(conn) || PQstatus(conn) != CONNECTION_OK;
}

/* Reads results until the pipeline's are all in (true), or, when !block, until the next one
 * has not arrived yet (false: call again). Each statement's results end with a NULL; the
 * sync's result comes last. An error the server sent carries an SQLSTATE; one libpq made up
 * (a failed read) does not, and then nobody knows what the server did with that statement and
 * the ones after it. */
static bool pipeline_step(PGconn *conn, db_pipeline_reader_t *rd, db_pipeline_outcome_t *out,
                          nns_error_t *err, bool block)
{
    while (rd->next < rd->n && PQstatus(conn) == CONNECTION_OK) {
        if (!block && !input_ready(conn))
            return false;
        PGresult *r = PQgetResult(conn);
        if (!r) { /* the end of statement `next`'s results: it succeeded if the server said so */
            if (rd->got_result && !rd->failed_stmt && !rd->failed && rd->answered)
                out->succeeded = rd->next + 1;
            rd->next++;
            rd->failed_stmt = false;
            rd->got_result = false;
            continue;
        }
        rd->got_result = true;
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (!rd->failed) {
                result_error(r, "database error", err);
                rd->failed = true;
            }
            if (!rd->failed_stmt && rd->answered && out->succeeded == rd->next &&
                st == PGRES_FATAL_ERROR && PQresultErrorField(r, PG_DIAG_SQLSTATE)) {
                const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
                out->server_error = true;
                out->session_ended = !sev || strcmp(sev, "ERROR") != 0;
            }
            if (st == PGRES_FATAL_ERROR && !PQresultErrorField(r, PG_DIAG_SQLSTATE))
                rd->answered = false;
            rd->failed_stmt = true;
        }
        PQclear(r);
    }
    if (!block && PQstatus(conn) == CONNECTION_OK && !input_ready(conn))
        return false;
    PGresult *sync = PQstatus(conn) == CONNECTION_OK ? PQgetResult(conn) : NULL;
    out->synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    bool ok = !rd->failed;
    if (!out->synced && ok)
        ok = nns_error_set(err, 503, "Unavailable", "pipeline not completed: %s",
                           PQerrorMessage(conn));
    if (!out->synced || PQexitPipelineMode(conn) != 1) {
        out->broken = true;
        if (ok)
            ok = nns_error_set(err, 503, "Unavailable", "cannot leave pipeline mode: %s",
                               PQerrorMessage(conn));
    }
    out->broken |= PQstatus(conn) != CONNECTION_OK;
    rd->failed = !ok || out->broken;
    rd->done = true;
    return true;
}

bool db_pipeline_poll(PGconn *conn, db_pipeline_reader_t *rd, db_pipeline_outcome_t *out,
                      nns_error_t *err, bool block)
{
    if (rd->done)
        return true;
    bool ended = false;
    PQnoticeReceiver previous = PQsetNoticeReceiver(conn, note_session_end, &ended);
    bool done = pipeline_step(conn, rd, out, err, block);
    /* The server sent its last words (a FATAL error or a shutdown warning) and closed the
     * connection before it answered statement `succeeded`: it ran nothing after that statement
     * (the byte stream is ordered, and the server process exits after such a message), like
     * an error result of that statement ending the session. */
    if (done && rd->failed && ended && !out->server_error && PQstatus(conn) != CONNECTION_OK) {
        out->server_error = true;
        out->session_ended = true;
    }
    PQsetNoticeReceiver(conn, previous, NULL); /* libpq's default receiver takes no argument */
    return done;
}

static bool pipeline_read(PGconn *conn, size_t n, db_pipeline_outcome_t *out, nns_error_t *err)
{
    db_pipeline_reader_t rd = {.n = n, .answered = true};
    (void)db_pipeline_poll(conn, &rd, out, err, true);
    return !rd.failed;
}

bool db_pipeline(PGconn *conn, const db_stmt_t *stmts, size_t n, db_pipeline_outcome_t *out,
                 nns_error_t *err)
{
    return db_pipeline_send(conn, stmts, n, out, err) && pipeline_read(conn, n, out, err);
}

db_outcome_t db_commit_outcome(const db_pipeline_outcome_t *out, size_t n)
{
    if (out->succeeded == n)
        return DB_COMMITTED; /* the server answered the COMMIT */
    /* Known to have committed nothing: the COMMIT was never handed to libpq (a statement
     * before it could not be queued), or the server reported an error for a statement before
     * the COMMIT (it runs nothing after an error, and a FATAL one ends its session), or the
     * COMMIT itself failed with an ERROR (the transaction rolled back, e.g. a deferred
     * constraint). Anything else (the COMMIT refused half-queued or its sync not flushed, no
     * answer to it or to a statement before it, a FATAL answer to the COMMIT) may have
     * committed. */
    if (out->sent + 1 < n || (out->server_error && (out->succeeded + 1 < n || !out->session_ended)))
        return DB_NOT_COMMITTED;
    return DB_UNKNOWN;
}

/* ---- replay rows ---- */

bool db_replay_load(PGconn *conn, const char *load_sql, replay_cache_t *rc, uint64_t wall_now,
                    nns_error_t *err)
{
    char now[24];
    snprintf(now, sizeof now, "%llu", (unsigned long long)wall_now);
    const char *p[1] = {now};
    PGresult *r = db_exec(conn, load_sql, 1, p, err);
    if (!r)
        return false;
    for (int i = 0; i < PQntuples(r); i++) {
        uint8_t key[32];
        char *end;
        const char *e = PQgetvalue(r, i, 1);
        unsigned long long expiry = strtoull(e, &end, 10);
        if (db_bytea_value(PQgetvalue(r, i, 0), key, 32) != 32 || end == e || *end)
            continue;
        replay_load(rc, key, expiry, atoi(PQgetvalue(r, i, 2)), PQgetvalue(r, i, 3),
                    (size_t)PQgetlength(r, i, 3));
    }
    PQclear(r);
    return true;
}

void db_replay_rows(copybuf_t *b, const replay_rec_t *rp, size_t n)
{
    copybuf_reset(b);
    copybuf_bin_begin(b);
    for (size_t i = 0; i < n; i++) {
        copybuf_bin_row(b, 4);
        copybuf_bin_bytes(b, rp[i].key, 32);
        copybuf_bin_int8(
            b, (int64_t)(rp[i].expiry_nanos > INT64_MAX ? INT64_MAX : rp[i].expiry_nanos));
        copybuf_bin_int4(b, rp[i].status);
        copybuf_bin_bytes(b, rp[i].body, rp[i].len);
    }
    copybuf_bin_end(b);
}

/* ---- the round record ---- */

/* public.nns_rounds: each service's count of committed rounds. Round k (k rounds committed
 * before it) first takes the advisory lock (hashtext(service), k) (dbwriter.c, before the
 * state thread starts the next round), and its last statement before COMMIT is
 * nns_round_advance(service, k): that waits for round k - 1's transaction to end (the shared
 * lock (hashtext(service), k - 1)), then moves the count from k to k + 1 and raises unless it
 * said k. So round k commits only on top of a committed round k - 1, whichever backend runs
 * first. The count is read with FOR UPDATE, the latest committed version. */
static const char ROUNDS_DDL[] =
    "CREATE TABLE IF NOT EXISTS public.nns_rounds ("
    " service text PRIMARY KEY, committed_rounds bigint NOT NULL);"
    "CREATE OR REPLACE FUNCTION public.nns_round_advance(svc text, n bigint) RETURNS void"
    " LANGUAGE plpgsql AS $f$ DECLARE cur bigint; BEGIN"
    " IF n > 0 THEN"
    " PERFORM pg_advisory_xact_lock_shared(hashtext(svc), ((n - 1) % 2147483647)::int);"
    " END IF;"
    " SELECT committed_rounds INTO cur FROM public.nns_rounds WHERE service = svc FOR UPDATE;"
    " IF cur IS DISTINCT FROM n THEN RAISE EXCEPTION USING ERRCODE = '40001',"
    " MESSAGE = format('round %s of %s does not follow a committed round %s', n + 1, svc, n);"
    " END IF;"
    " UPDATE public.nns_rounds SET committed_rounds = n + 1 WHERE service = svc;"
    " END $f$";

bool db_rounds_load(PGconn *conn, const char *service, uint64_t *committed, nns_error_t *err)
{
    const char *p[1] = {service};
    PGresult *r = NULL;
    if (!begin_locked(conn, err))
        goto fail;
    PGresult *x = PQexec(conn, ROUNDS_DDL); /* constant SQL: no values */
    if (PQresultStatus(x) != PGRES_COMMAND_OK) {
        result_error(x, "cannot create the round record", err);
        PQclear(x);
        goto fail;
    }
    PQclear(x);
    if (!db_command(conn,
                    "INSERT INTO public.nns_rounds (service, committed_rounds) VALUES ($1, 0)"
                    " ON CONFLICT (service) DO NOTHING",
                    1, p, err) ||
        !(r = db_exec(conn, "SELECT committed_rounds FROM public.nns_rounds WHERE service = $1", 1,
                      p, err)))
        goto fail;
    *committed = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (db_command(conn, "COMMIT", 0, NULL, err))
        return true;
fail:
    PQclear(PQexec(conn, "ROLLBACK"));
    return false;
}

void copybuf_sep(copybuf_t *b)
{
    append(b, "\t", 1);
}
void copybuf_endrow(copybuf_t *b)
{
    append(b, "\n", 1);
}

/* Sends b's rows in pieces of at most 8 MB: libpq's output buffer grows to the largest piece it
 * is given and never shrinks, so a genesis's 50 MB of rows given at once would stay allocated
 * for the connection's life. A round's rows under load are a few MB: one piece, as before. */
static bool put_copy_data(PGconn *conn, const copybuf_t *b)
{
    const size_t piece = (size_t)8 << 20;
    for (size_t at = 0; at < b->len; at += piece) {
        size_t n = b->len - at < piece ? b->len - at : piece;
        if (PQputCopyData(conn, b->data + at, (int)n) != 1)
            return false;
    }
    return true;
}

bool db_copies(PGconn *conn, const char *sql, const copybuf_t *const *bufs, size_t n,
               nns_error_t *err)
{
    for (size_t i = 0; i < n; i++)
        if (bufs[i]->failed || bufs[i]->len > INT32_MAX)
            return nns_error_set(err, 503, "Unavailable", "out of memory building COPY data");
    if (PQsendQuery(conn, sql) != 1)
        return nns_error_set(err, 503, "Unavailable", "cannot send '%.40s': %s", sql,
                             PQerrorMessage(conn));
    bool ok = true;
    size_t next = 0;
    PGresult *r;
    /* one result per statement; a COPY asks for its data (COPY_IN) before its own result */
    while ((r = PQgetResult(conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COPY_IN && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && ok)
            ok = result_error(r, "COPY failed", err);
        PQclear(r);
        if (st != PGRES_COPY_IN)
            continue;
        const copybuf_t *b = next < n && ok ? bufs[next++] : NULL;
        if (!b) {
            if (ok)
                ok = nns_error_set(err, 503, "Unavailable", "more COPYs than buffers");
            if (PQputCopyEnd(conn, "aborted") != 1)
                break; /* libpq could not end the COPY: the caller's status checks take over */
        } else if (!put_copy_data(conn, b)) {
            ok = nns_error_set(err, 503, "Unavailable", "COPY failed: %s", PQerrorMessage(conn));
            if (PQputCopyEnd(conn, "aborted") != 1)
                break;
        } else if (PQputCopyEnd(conn, NULL) != 1) {
            ok = nns_error_set(err, 503, "Unavailable", "COPY failed: %s", PQerrorMessage(conn));
            break; /* the connection is broken */
        }
    }
    if (ok && next != n)
        ok = nns_error_set(err, 503, "Unavailable", "the statements ran %zu COPYs, not %zu", next,
                           n);
    return ok;
}

bool db_copy(PGconn *conn, const char *copy_sql, const copybuf_t *b, nns_error_t *err)
{
    return db_copies(conn, copy_sql, &b, 1, err);
}

void db_bytea_param(const uint8_t *bytes, size_t len, char *out)
{
    out[0] = '\\';
    out[1] = 'x';
    hex_encode(bytes, len, out + 2);
}

long db_bytea_value(const char *text, uint8_t *out, size_t cap)
{
    if (text[0] != '\\' || text[1] != 'x')
        return -1;
    return hex_decode(text + 2, strlen(text + 2), out, cap);
}
