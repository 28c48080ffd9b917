/*
 * store: the governance service's PostgreSQL mirror (schema/governance). The only file of
 * governance with SQL; every value is a parameter of a prepared statement or a COPY row.
 *
 * A round is written on the state thread over a db_writer_t (dbwriter.h, depth 1: the state
 * machine's rounds do not chain): BEGIN with the round's lock, one simple query with the COPYs of
 * the round's new rows (intents, neuron events, the stake history row of every neuron written,
 * replay rows), then one pipeline of prepared statements with binary array parameters (the state
 * row and the economics; the neurons upserted and removed; their hot keys, followees and maturity
 * disbursements replaced; the operations in flight upserted and removed; the intents the round
 * finished), the round guard and COMMIT. The number of statements and round trips is the same for a
 * round of one command or of thousands. Nothing is read back while serving, except the neuron event
 * history (gov_store_events, on the read pool). Loading at start restores the state machine's
 * committed state (the neurons with one binary COPY) and returns the unresolved intents, which the
 * service submits again.
 */
#ifndef NNS_GOV_STORE_H
#define NNS_GOV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "dbwriter.h"
#include "error.h"
#include "gov.h"
#include "migrations.h"
#include "replay.h"

typedef struct gov_store gov_store_t;

/* The governance migrations, the files schema/governance/NNN_name.sql, embedded at build time. */
extern const migration_set_t GOVERNANCE_MIGRATIONS;

/* How an intent the round finished ended (for the outbox's record; optional: an intent the
 * round finished without a matching entry is recorded as resolved with no outcome). */
typedef struct {
    uint64_t intent_id;
    bool is_transfer;
    bool ok;        /* transfer: the ledger made it (GET: the read succeeded) */
    bool has_block; /* transfer: its block */
    uint64_t block_index;
} gov_resolved_t;

/* What the round did besides its state machine changes. */
typedef struct {
    uint64_t now; /* the round's time, nanoseconds */
    const gov_resolved_t *resolved;
    size_t nresolved;
} gov_store_extras_t;

/* Connects (depth round connections plus a read pool of pool_size: the event history and
 * pings) and applies the migrations. NULL with err 503 on failure. */
gov_store_t *gov_store_open(const char *conninfo, unsigned pool_size, unsigned depth,
                            unsigned commit_delay_ms, nns_error_t *err)
    __attribute__((warn_unused_result));
void gov_store_close(gov_store_t **s);

/* Loads committed state into g (gov_load_info, gov_load_neuron for every neuron with its hot
 * keys, followees and disbursements, gov_load_inflight, gov_load_intent, then gov_load_done)
 * and the unexpired replay entries into rc. *fresh tells a database without governance state
 * (no genesis yet: the genesis applies then). *intents (malloc'd, the caller frees; NULL when
 * none) are the unresolved intents, oldest first. False with err (503 database, 500
 * "CorruptState" naming the table and the row, 500 OutOfMemory). */
bool gov_store_load(gov_store_t *s, gov_t *g, replay_cache_t *rc, uint64_t wall_now, bool *fresh,
                    gov_intent_t **intents, size_t *nintents, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Writes a round and sends its COMMIT without waiting: DB_COMMITTED means "sent";
 * DB_NOT_COMMITTED with err when nothing can commit; DB_UNKNOWN when the COMMIT may have
 * reached the server. x may be NULL only when the round finished no intent and now is 0. */
db_outcome_t gov_store_send_round(gov_store_t *s, const gov_round_t *r, const gov_store_extras_t *x,
                                  const replay_rec_t *replays, size_t nreplays, nns_error_t *err);
db_outcome_t gov_store_wait_round(gov_store_t *s, nns_error_t *err);
bool gov_store_round_ready(gov_store_t *s, int timeout_ms);

bool gov_store_purge_replay(gov_store_t *s, uint64_t wall_now, nns_error_t *err)
    __attribute__((warn_unused_result));
bool gov_store_ping(gov_store_t *s);
bool gov_store_reconnect(gov_store_t *s, nns_error_t *err) __attribute__((warn_unused_result));

/* ---- the neuron event history (GET /v1/neurons/{id}/events), on the read pool ---- */
#define GOV_STORE_EVENTS_MAX 100 /* events per page at most */

/* An event as recorded: seq is its position in the whole history (increasing with time), the
 * keyset cursor of the listing. */
typedef struct {
    uint64_t seq;
    gov_event_t e;
} gov_store_event_t;

/* The neuron's events with seq < before_seq (0: from the newest), newest first, at most max
 * (1..GOV_STORE_EVENTS_MAX) into out; *more tells whether older ones follow (the next page's
 * before_seq is then out[n-1].seq). Returns false with err 503 when the database cannot
 * answer. Any thread. */
bool gov_store_events(gov_store_t *s, uint64_t neuron_id, uint64_t before_seq, size_t max,
                      gov_store_event_t *out, size_t *n, bool *more, nns_error_t *err)
    __attribute__((warn_unused_result));

#endif
