/*
 * db: PostgreSQL plumbing shared by the services' stores: connecting, applying a service's
 * embedded migrations, running parameterized statements, and COPY FROM STDIN buffers.
 *
 * Migrations are per service: each service applies only its own set (migrations.h) and has its
 * own version record, the rows of public.nns_schema_migrations (service, name, applied_at) keyed
 * by (service, name); a service reads and writes only the rows filed under its name. Services
 * may start together: every service's migrations run under one advisory lock, so the shared
 * record table is created once and two services' migrations never interleave. A database made
 * before migrations were per service has the legacy record public.nns_schema_migrations (name,
 * applied_at), written by the ledger alone: the first db_migrate() carries it over in place, every
 * row filed under 'ledger', and applies nothing again.
 *
 * Every value goes to PostgreSQL as a parameter ($1...) or as COPY data, never pasted into SQL.
 * A copybuf_t accumulates COPY text-format rows; it owns its buffer (copybuf_free).
 */
#ifndef NNS_DB_H
#define NNS_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "migrations.h"
#include "replay.h"

/* Connects (conninfo: a libpq string or URL; NULL/"" uses the environment), giving up after
 * DB_CONNECT_TIMEOUT seconds unless conninfo sets its own connect_timeout. Returns NULL with
 * err 503 "Unavailable" on failure. */
#define DB_CONNECT_TIMEOUT "5"
PGconn *db_connect(const char *conninfo, nns_error_t *err) __attribute__((warn_unused_result));

/* Applies the migrations of set that the database has not recorded for set->service, in order,
 * each in its own transaction (with its record row) under the migration lock; first creates the
 * record or carries a legacy one over. Returns false with err 503 on failure (the failing
 * migration is rolled back, the ones before it stay). */
bool db_migrate(PGconn *conn, const migration_set_t *set, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Runs a statement with text parameters. Returns the result (caller PQclear()s it) when the
 * status is COMMAND_OK or TUPLES_OK, else NULL with err 503 and the server's message. */
PGresult *db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
                  nns_error_t *err) __attribute__((warn_unused_result));
/* db_exec() of a script without parameters, in the simple protocol: sql may be several
 * statements, run as one transaction; the result is the last one's. */
PGresult *db_script(PGconn *conn, const char *sql, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Runs a statement that returns no rows; false with err 503 on failure. */
bool db_command(PGconn *conn, const char *sql, int nparams, const char *const *params,
                nns_error_t *err) __attribute__((warn_unused_result));

/* COPY text-format rows. */
typedef struct {
    char *data;
    size_t len, cap;
    bool failed;   /* an append ran out of memory */
    unsigned idle; /* uses in a row that filled less than a quarter of it (copybuf_reset) */
} copybuf_t;

/* Empties b for the next use. Its memory is kept for that use, unless it holds more than
 * COPYBUF_KEEP bytes and COPYBUF_IDLE_USES uses in a row have each filled less than a quarter of
 * it: then it is freed, so the buffers of a rare large round (a genesis of many neurons) do not
 * stay for the service's life. */
#define COPYBUF_KEEP ((size_t)1 << 20)
#define COPYBUF_IDLE_USES 64
void copybuf_reset(copybuf_t *b);
void copybuf_free(copybuf_t *b);
void copybuf_u64(copybuf_t *b, uint64_t v);
void copybuf_bytea(copybuf_t *b, const uint8_t *bytes, size_t len);
void copybuf_sep(copybuf_t *b);    /* column separator */
void copybuf_endrow(copybuf_t *b); /* row terminator */

/* COPY binary-format rows (COPY ... WITH (FORMAT binary)): no text to format or parse. Start
 * with copybuf_bin_begin(), give each row's field count, then its fields in column order, and
 * end with copybuf_bin_end(). */
void copybuf_bin_begin(copybuf_t *b);
void copybuf_bin_row(copybuf_t *b, int nfields);
void copybuf_bin_null(copybuf_t *b);
void copybuf_bin_int4(copybuf_t *b, int32_t v);
void copybuf_bin_int8(copybuf_t *b, int64_t v);
void copybuf_bin_bytes(copybuf_t *b, const void *bytes, size_t len); /* bytea or text */
void copybuf_bin_numeric(copybuf_t *b, uint64_t v);                  /* numeric */
void copybuf_bin_end(copybuf_t *b);

/* A one-dimensional array parameter in binary format (what array_recv reads), built in a
 * copybuf: copybuf_array_begin() returns where the element count goes; each element is then
 * appended as a binary COPY field (copybuf_bin_int8, copybuf_bin_bytes, ...); copybuf_array_end()
 * records the count. Send it with format 1 and a cast in the SQL ("$1::bytea[]"). */
size_t copybuf_array_begin(copybuf_t *b, uint32_t elem_oid);
void copybuf_array_end(copybuf_t *b, size_t at, size_t count);
enum {
    DB_OID_BYTEA = 17,
    DB_OID_INT8 = 20,
    DB_OID_INT4 = 23,
    DB_OID_TEXT = 25,
    DB_OID_NUMERIC = 1700
};

/* Prepares a named statement on the connection (for db_stmt_t.prepared). False with err 503. */
bool db_prepare(PGconn *conn, const char *name, const char *sql, int nparams, nns_error_t *err)
    __attribute__((warn_unused_result));

/* One statement of a pipeline: sql, or the name of a statement prepared with db_prepare() (no
 * parsing or planning per call). lengths and formats may be NULL (all parameters text). */
typedef struct {
    const char *sql;
    const char *prepared;
    int nparams;
    const char *const *values;
    const int *lengths;
    const int *formats;
} db_stmt_t;

/* What came back from a pipeline: enough for a caller whose last statement is a COMMIT to
 * tell "committed", "nothing committed" and "nobody knows" apart (ledger store). */
typedef struct {
    size_t sent;        /* statements libpq accepted; statement `sent` (when < n) was refused and
                           may lie half-queued in libpq's buffer, the later ones were never given */
    size_t succeeded;   /* leading statements whose success the server reported */
    bool server_error;  /* statement `succeeded` failed with an error the server sent (it has an
                           SQLSTATE), or the server ended the session before answering it: the
                           server ran none of the statements after it */
    bool session_ended; /* that error ended the server's session (severity FATAL or PANIC) */
    bool synced;        /* the sync came back: the server answered every statement */
    bool sync_failed;   /* the sync could not be sent: what was queued may have reached the
                           server or not */
    bool broken;        /* the connection must not be used again (closed, or left in pipeline
                           mode or a bad state) */
} db_pipeline_outcome_t;

/* Sends every statement, then one sync, in libpq pipeline mode, and reads every result: the
 * server runs them back to back, so n statements cost one round trip instead of n. After the
 * first failure the rest are skipped by the server. Returns true when every statement
 * succeeded and the sync came back; otherwise false with err 503 naming the first error, and
 * *out says what is known (an error libpq made up itself, without an SQLSTATE, means a result
 * never came: the server may or may not have run that statement and the ones after it, unless
 * the server's last words before it closed the connection were a FATAL error or a shutdown
 * warning, which counts as that statement's error ending the session). COPY cannot take part
 * (run it before). */
bool db_pipeline(PGconn *conn, const db_stmt_t *stmts, size_t n, db_pipeline_outcome_t *out,
                 nns_error_t *err) __attribute__((warn_unused_result));

/* db_pipeline() in two halves, for a caller that works while the server runs the statements:
 * db_pipeline_send() queues them and the sync (false with *out and err when that failed: then
 * nothing can be read back), db_pipeline_poll() reads the results as they arrive. */
bool db_pipeline_send(PGconn *conn, const db_stmt_t *stmts, size_t n, db_pipeline_outcome_t *out,
                      nns_error_t *err) __attribute__((warn_unused_result));

/* Reading a pipeline's results in steps, without blocking (a state thread that does other work
 * meanwhile). Begin with {.n = statements, .answered = true}. */
typedef struct {
    size_t n, next;   /* statements; the one whose results are being read */
    bool answered;    /* every result so far came from the server */
    bool failed_stmt; /* statement `next` failed */
    bool got_result;  /* statement `next` gave a result */
    bool failed;      /* a statement failed, or (once done) the pipeline did */
    bool done;        /* every result and the sync were read: *out is final */
} db_pipeline_reader_t;
/* Reads what has arrived (everything, waiting for it, when block). True once done: the
 * pipeline succeeded unless rd->failed (with err and *out as db_pipeline() sets them). */
bool db_pipeline_poll(PGconn *conn, db_pipeline_reader_t *rd, db_pipeline_outcome_t *out,
                      nns_error_t *err, bool block);

/* What a failed pipeline whose last (n-th) statement is a COMMIT did (architecture.md section
 * 4): committed (the server answered the COMMIT), committed nothing, or nobody knows. */
typedef enum { DB_COMMITTED, DB_NOT_COMMITTED, DB_UNKNOWN } db_outcome_t;
db_outcome_t db_commit_outcome(const db_pipeline_outcome_t *out, size_t n);

/* --- a service's replay rows: its table <schema>.replay_cache (key bytea, expiry_nanos bigint,
 * status int, body text), written with the round that made the answers (replay.h) ---
 *
 * The table is a ring of DB_REPLAY_SLOTS partitions, <table>_00 to <table>_23, one per
 * DB_REPLAY_SLOT_SECONDS of expiry: a row's slot is (expiry_nanos / DB_REPLAY_SLOT_NANOS) %
 * DB_REPLAY_SLOTS, the partition key. A service's migration makes it with
 * SELECT public.nns_replay_ring('<schema>') (db_migrate() defines that function). An expiry is
 * at most 5 minutes ahead (SIGN_MAX_FUTURE_NANOS), so at any time 12 slots may hold rows still
 * to come or not yet expired, and the other 12 only expired ones: the purge
 * (db_pool_replay_purge) empties those with a TRUNCATE, where a DELETE of 30 s of rows (600,000
 * at 20,000 answers a second) cost PostgreSQL 400 ms and its WAL held up the rounds'
 * commits. */
#define DB_REPLAY_SLOT_SECONDS 30
#define DB_REPLAY_SLOTS 24
#define DB_REPLAY_SLOT_NANOS ((uint64_t)DB_REPLAY_SLOT_SECONDS * 1000000000ULL)
#define DB_REPLAY_LOAD_SQL(table)                                                                  \
    "SELECT key, expiry_nanos, status, body FROM " table " WHERE expiry_nanos >= $1"
#define DB_REPLAY_COPY_SQL(table)                                                                  \
    "COPY " table " (key, expiry_nanos, status, body) FROM STDIN WITH (FORMAT binary)"
/* Loads the rows still unexpired at wall_now into rc (load_sql: DB_REPLAY_LOAD_SQL(table));
 * a malformed row is skipped. False with err 503. */
bool db_replay_load(PGconn *conn, const char *load_sql, replay_cache_t *rc, uint64_t wall_now,
                    nns_error_t *err) __attribute__((warn_unused_result));
/* Resets b to the binary COPY data of n replay rows (for DB_REPLAY_COPY_SQL). */
void db_replay_rows(copybuf_t *b, const replay_rec_t *rp, size_t n);

/* The round record (dbwriter.h): creates public.nns_rounds and public.nns_round_advance() if
 * missing, the service's row if missing (0 rounds), and reads its count of committed rounds.
 * False with err 503. */
bool db_rounds_load(PGconn *conn, const char *service, uint64_t *committed, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Runs sql, one or more statements in one simple query ("BEGIN; COPY a FROM STDIN; COPY b FROM
 * STDIN"), sending bufs[i] as the data of its i-th COPY: the server goes from one COPY to the
 * next without waiting for a new query. False with err 503 on any failure. */
bool db_copies(PGconn *conn, const char *sql, const copybuf_t *const *bufs, size_t n,
               nns_error_t *err) __attribute__((warn_unused_result));

/* db_copies() with one COPY ("COPY t (cols) FROM STDIN"). */
bool db_copy(PGconn *conn, const char *copy_sql, const copybuf_t *b, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Formats bytes as a bytea text parameter ("\x..."); out needs 2*len+3 bytes. */
void db_bytea_param(const uint8_t *bytes, size_t len, char *out);

/* Parses a bytea value returned in text format ("\x..."); returns the byte count or -1. */
long db_bytea_value(const char *text, uint8_t *out, size_t cap);

#endif
