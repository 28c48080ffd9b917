/*
 * dbwriter: the state thread's write connections, and rounds that commit while the next one is
 * written (architecture.md section 3, "Overlapping commits").
 *
 * A round's transaction is BEGIN with the round's lock (db_writer_begin()), the store's COPYs
 * (run by the store on db_writer_conn()), then one pipeline: the round guard, the store's
 * statements, the optional commit delay and COMMIT, sent by db_writer_send() without waiting
 * for the answers. While PostgreSQL flushes round N's COMMIT, the state thread applies round
 * N+1 and writes its new rows (the COPYs, most of a round's work in PostgreSQL) on the next
 * connection (there are `depth` of them, used in turn). db_writer_wait() reads the oldest
 * round's outcome; the skeleton answers a round's requests only after its own commit and every
 * earlier one.
 *
 * The guard: public.nns_rounds holds each service's count of committed rounds. Round N (N
 * rounds committed before it) takes the advisory lock (service, N) when it begins, before the
 * state thread starts round N+1; the first statement of its pipeline,
 * public.nns_round_advance(service, N), waits for round N-1's lock (the end of its
 * transaction), then moves the count from N to N + 1 and raises unless it said N. So round
 * N+1's upserts run only after round N has ended (they never overtake N's writes to the same
 * rows, which would deadlock or lose N's update), and N+1 fails unless N committed: it can
 * never commit on top of an N that did not. New rows (COPY: blocks, history, replay rows) take
 * no lock another round waits for, so they are written while the round before commits.
 *
 * One thread (the state thread) uses a writer. Reads have their own connections (db_pool.h).
 */
#ifndef NNS_DBWRITER_H
#define NNS_DBWRITER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"

typedef struct db_writer db_writer_t;

/* Prepares what the store's rounds use on a new connection. False with err. */
typedef bool (*db_writer_prepare_fn)(PGconn *conn, void *ctx, nns_error_t *err);

typedef struct {
    const char *conninfo;
    const char *service;      /* its row of public.nns_rounds */
    unsigned depth;           /* rounds in flight at most, and connections (1: every round
                                 commits before the next is written) */
    unsigned commit_delay_ms; /* benchmarks: SELECT pg_sleep() before every COMMIT, holding the
                                 round's locks, as a slow disk would (0: none) */
    db_writer_prepare_fn prepare;
    void *ctx;
} db_writer_config_t;

/* A connection that sent a round with more parameter bytes than this (a genesis's) is replaced
 * by a new one once the round's outcome is read. */
#define DB_WRITER_RENEW_BYTES ((size_t)16 << 20)

/* Connects every connection, prepares them, and loads the round count (creating the record
 * if missing). NULL with err 503 when the database cannot be reached. */
db_writer_t *db_writer_open(const db_writer_config_t *cfg, nns_error_t *err);
/* Closes every connection (a round still in flight is rolled back by the server). */
void db_writer_close(db_writer_t **w);

/* The connection the next round writes on: idle, or NULL when it was dropped (call
 * db_writer_reconnect() first). */
PGconn *db_writer_conn(db_writer_t *w);
/* Makes the next round's connection usable: true at once when it is (no round trip),
 * otherwise connects again and prepares; false with err when the database cannot be reached. */
bool db_writer_reconnect(db_writer_t *w, nns_error_t *err);

/* Opens the next round's transaction on db_writer_conn(): BEGIN, and the round's lock, which
 * the next round's guard waits for. False with err (the connection is rolled back or dropped)
 * when it cannot. */
bool db_writer_begin(db_writer_t *w, nns_error_t *err) __attribute__((warn_unused_result));

/* After db_writer_begin() and the round's COPYs on db_writer_conn(): sends stmts, the guard, the
 * delay and COMMIT, and moves to the next connection. On failure returns the outcome:
 * DB_NOT_COMMITTED with err (the connection is rolled back, or dropped when it cannot be used
 * again), or DB_UNKNOWN when the COMMIT may have reached the server. DB_COMMITTED means "sent". */
db_outcome_t db_writer_send(db_writer_t *w, const db_stmt_t *stmts, size_t n, nns_error_t *err);

/* After a failure of BEGIN or the COPYs on db_writer_conn() (nothing of the round can commit):
 * rolls the transaction back, or drops the connection when it cannot be used again. */
void db_writer_abandon(db_writer_t *w, const nns_error_t *why);

/* Waits for the oldest round in flight and returns its outcome: DB_COMMITTED,
 * DB_NOT_COMMITTED with err (also for every round sent after one that did not commit), or
 * DB_UNKNOWN with err. */
db_outcome_t db_writer_wait(db_writer_t *w, nns_error_t *err);

/* True when the oldest round's outcome has arrived (db_writer_wait() will not block), after
 * waiting for it up to timeout_ms; false when nothing is in flight. */
bool db_writer_ready(db_writer_t *w, int timeout_ms);

#endif
