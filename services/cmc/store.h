/*
 * store: the cycles minting service's PostgreSQL mirror (schema/cmc). The only file of the cmc
 * with SQL; every value is a parameter of a prepared statement or a COPY row.
 *
 * A round is written on the state thread over a db_writer_t (dbwriter.h, depth 1: the state
 * machine's rounds do not chain): BEGIN with the round's lock, the COPY of the round's replay
 * rows, then one pipeline of prepared statements (the counters and rates, the statuses, the
 * notifications in flight, the new intents of the outbox and the ones the round resolved, the
 * registry, the subnet lists, the limiters), the round guard and COMMIT. The per-row tables
 * (statuses, notifications in flight, intents and their resolution, canisters, cycles
 * accounts) take one statement per table and round whatever the round's size, every column a
 * binary array parameter read through unnest (deletions: = ANY of the round's keys): a
 * statement per row cost PostgreSQL an executor start and its CHECK constraints' preparation
 * each. The round connections prefer indexes (enable_seqscan off): the prepared statements'
 * generic plans, made while the tables were small, would otherwise scan them whole. Nothing is
 * read back while serving: every read is answered from memory. Loading at start restores the state
 * machine's committed state and returns the unresolved intents, which the service submits
 * again.
 */
#ifndef NNS_CMC_STORE_H
#define NNS_CMC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmc.h"
#include "db.h"
#include "dbstore.h"
#include "error.h"
#include "migrations.h"
#include "replay.h"

typedef struct cmc_store cmc_store_t;

/* The cmc's migrations, the files schema/cmc/NNN_name.sql, embedded at build time. */
extern const migration_set_t CMC_MIGRATIONS;

/* How an intent the round finished ended (for the outbox's record). */
typedef struct {
    uint64_t intent_id;
    bool is_transfer;
    bool ok;        /* transfer: the ledger made it */
    bool has_block; /* transfer: its block */
    uint64_t block_index;
} cmc_resolved_t;

/* A rate the round accepted, and who set it ("governance", "rate-oracle", "genesis"). */
typedef struct {
    cmc_rate_t rate;
    const char *source;
} cmc_rate_set_t;

/* What the round did besides its state machine changes. */
typedef struct {
    uint64_t now; /* the round's time, nanoseconds */
    const cmc_resolved_t *resolved;
    size_t nresolved;
    const cmc_rate_set_t *rates;
    size_t nrates;
    cmc_cycles_t minted; /* cycles the round minted (total_cycles_minted grew by this) */
} cmc_store_extras_t;

/* Connects (depth round connections plus a pool of pool_size for pings) and applies the
 * migrations. NULL with err 503 on failure. */
cmc_store_t *cmc_store_open(const char *conninfo, unsigned pool_size, unsigned depth,
                            unsigned commit_delay_ms, nns_error_t *err)
    __attribute__((warn_unused_result));
void cmc_store_close(cmc_store_t **s);
/* Its connections, for the skeleton (service_use_store()). */
db_store_t *cmc_store_db(cmc_store_t *s);

/* Loads committed state into c and the unexpired replay entries into rc. *fresh tells a
 * database without the cmc's state row (the genesis applies then). *intents (malloc'd, the
 * caller frees; NULL when none) are the unresolved intents, oldest first. False with err (503
 * database, 500 "CorruptState"). */
bool cmc_store_load(cmc_store_t *s, cmc_t *c, replay_cache_t *rc, uint64_t wall_now, bool *fresh,
                    cmc_intent_t **intents, size_t *nintents, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Writes a round and sends its COMMIT without waiting: DB_COMMITTED means "sent";
 * DB_NOT_COMMITTED with err when nothing can commit; DB_UNKNOWN when the COMMIT may have
 * reached the server. */
db_outcome_t cmc_store_send_round(cmc_store_t *s, const cmc_round_t *r, const cmc_store_extras_t *x,
                                  const replay_rec_t *replays, size_t nreplays, nns_error_t *err);
db_outcome_t cmc_store_wait_round(cmc_store_t *s, nns_error_t *err);
bool cmc_store_round_ready(cmc_store_t *s, int timeout_ms);

#endif
