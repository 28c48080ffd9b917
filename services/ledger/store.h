/*
 * store: the ledger's PostgreSQL mirror. The only file of the ledger with SQL.
 *
 * Writes happen on the state thread over the round connections of a db_writer_t (dbwriter.h):
 * ledger_store_send_round() writes everything a round changed (blocks, history rows, balances,
 * account owners, the chain counters, replay-cache entries) in one transaction, in four round
 * trips whatever its size (one simple query with the binary COPYs of blocks, history and replay
 * rows; one pipeline of prepared upserts with binary array parameters, the round guard and the
 * COMMIT), and ledger_store_wait_round() reads the oldest round's outcome; the next round is
 * written while one commits, and nothing is answered before its commit. Reads (lists, history,
 * search) run on the HTTP threads over a small connection pool. Loading at start restores the
 * ledger's committed state and verifies the chain's tip.
 */
#ifndef NNS_LEDGER_STORE_H
#define NNS_LEDGER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "db.h"
#include "dbstore.h"
#include "error.h"
#include "ledger.h"
#include "replay.h"

typedef struct ledger_store ledger_store_t;

/* An (account, owner, subaccount) fact learnt from a request, for a principal's account list. */
typedef struct {
    account_id_t account;
    principal_t owner;
    uint8_t subaccount[SUBACCOUNT_BYTES];
} owner_fact_t;

/* A block as stored: raw protobuf bytes plus its hashes. */
typedef struct {
    uint64_t height;
    uint8_t hash[32];
    uint8_t tx_hash[32];
    uint8_t raw[BLOCK_ENCODED_MAX];
    size_t raw_len;
} stored_block_t;

/* A principal's account as known to the ledger. */
typedef struct {
    account_id_t account;
    uint8_t subaccount[SUBACCOUNT_BYTES];
} owned_account_t;

/* The ledger's migrations, the files schema/ledger/NNN_name.sql, embedded at build time
 * (deploy/embed-sql.sh). */
extern const migration_set_t LEDGER_MIGRATIONS;

/* Connects (depth round connections plus a read pool of pool_size) and applies migrations;
 * read_only (a replica) applies none, has no round connections and only checks that the
 * schema is there. commit_delay_ms: dbwriter.h (benchmarks). Returns NULL with err 503 on
 * failure. */
ledger_store_t *ledger_store_open(const char *conninfo, unsigned pool_size, bool read_only,
                                  unsigned depth, unsigned commit_delay_ms, nns_error_t *err)
    __attribute__((warn_unused_result));
void ledger_store_close(ledger_store_t **s);
/* Its connections, for the skeleton (service_use_store()). */
db_store_t *ledger_store_db(ledger_store_t *s);

/* Loads committed state into l and committed replay entries (unexpired at wall_now) into rc;
 * verifies the tip (the last blocks' hashes and parent links and the chain counters) and the
 * balances against the supply. dedup_from is the oldest block timestamp whose transactions are
 * remembered. Returns false with err (503 database, 500 "CorruptState"). */
bool ledger_store_load(ledger_store_t *s, ledger_t *l, replay_cache_t *rc, uint64_t dedup_from,
                       uint64_t wall_now, nns_error_t *err) __attribute__((warn_unused_result));

/* Writes what a round holds so far that takes no lock another round waits for: BEGIN with the
 * round's lock (its first call), then the blocks, history rows and replay rows not written
 * yet. Called again after the round took more commands, it writes only theirs.
 * DB_COMMITTED means "written so far"; DB_NOT_COMMITTED with err 503 when nothing of the round
 * can commit (the transaction is rolled back). */
db_outcome_t ledger_store_copy_round(ledger_store_t *s, const ledger_round_t *r,
                                     const replay_rec_t *replays, size_t nreplays,
                                     nns_error_t *err);
/* Rolls back a round written by ledger_store_copy_round() and not sent (nothing when none). */
void ledger_store_abandon_round(ledger_store_t *s, const nns_error_t *why);
/* Writes the rest of a round (ledger_store_copy_round() for rows not written yet, then the
 * upserts) and sends its COMMIT without waiting: DB_COMMITTED means "sent" (wait for it
 * with ledger_store_wait_round()); DB_NOT_COMMITTED with err 503 when nothing can commit;
 * DB_UNKNOWN when the COMMIT may have reached the server (the caller must stop and reload). */
db_outcome_t ledger_store_send_round(ledger_store_t *s, const ledger_round_t *r,
                                     const owner_fact_t *owners, size_t nowners,
                                     const replay_rec_t *replays, size_t nreplays,
                                     nns_error_t *err);
/* The outcome of the oldest round sent (dbwriter.h: db_writer_wait). */
db_outcome_t ledger_store_wait_round(ledger_store_t *s, nns_error_t *err);
/* Whether that outcome has arrived, waiting up to timeout_ms (dbwriter.h: db_writer_ready). */
bool ledger_store_round_ready(ledger_store_t *s, int timeout_ms);

/* Sends a round and waits for it (the genesis). On failure returns false with err 503: nothing
 * committed, unless *fatal, which tells that the outcome is unknown (the COMMIT was sent and no
 * answer to it came): the caller must then stop and reload from the database rather than guess. A
 * connection that cannot be used again is closed; db_store_reconnect() opens another.
 * A round whose COMMIT the server confirmed counts as committed even when the connection
 * breaks just after. */
bool ledger_store_commit_round(ledger_store_t *s, const ledger_round_t *r,
                               const owner_fact_t *owners, size_t nowners,
                               const replay_rec_t *replays, size_t nreplays, bool *fatal,
                               nns_error_t *err) __attribute__((warn_unused_result));

/* Cumulative time spent in each part of committing rounds, for /metrics: fills nanos (read
 * atomically: any thread) and *names (static), returns how many phases there are. */
#define LEDGER_STORE_PHASES 4
size_t ledger_store_phases(ledger_store_t *s, const char *const **names,
                           uint64_t nanos[LEDGER_STORE_PHASES]);

/* The columns ledger_store_block_rows() writes, in order. */
#define LEDGER_BLOCKS_COLUMNS                                                                      \
    "ledger.blocks (height, hash, parent_hash, timestamp_nanos, tx_hash, op_type, from_account, "  \
    "to_account, spender_account, amount_e8s, fee_e8s, allowance_e8s, expected_allowance_e8s, "    \
    "expires_at_nanos, memo, icrc1_memo, created_at_time_nanos, raw)"
#define LEDGER_HISTORY_COLUMNS "ledger.account_history (account, height)"

/* Appends one block's ledger.blocks row and its ledger.account_history rows (one per distinct
 * account it names) to blocks and history, in binary COPY format (each buffer begun with
 * copybuf_bin_begin()). The one definition of those rows: the dataset generator of the scale
 * benchmark uses it too. Cannot fail (a buffer that runs out of memory records it). */
void ledger_store_block_rows(copybuf_t *blocks, copybuf_t *history, const ledger_block_rec_t *rec);

/* --- reads (HTTP threads); each fills a malloc'd array the caller frees --- */
/* Blocks by height: descending from below `before` (UINT64_MAX = from the tip), or ascending
 * from `start` when ascending. At most limit. */
bool ledger_store_blocks(ledger_store_t *s, bool ascending, uint64_t from, unsigned limit,
                         stored_block_t **out, size_t *n, nns_error_t *err)
    __attribute__((warn_unused_result));
/* One block; *n = 0 when there is no such block. */
bool ledger_store_block(ledger_store_t *s, uint64_t height, stored_block_t **out, size_t *n,
                        nns_error_t *err) __attribute__((warn_unused_result));
/* Optional filters of an account's history. */
typedef struct {
    unsigned op_types; /* bit (1 << op_kind_t) per wanted type; 0 = all */
    bool has_from_time, has_to_time, has_counterparty;
    uint64_t from_time;        /* block timestamp >= from_time (ns) */
    uint64_t to_time;          /* block timestamp < to_time (ns) */
    account_id_t counterparty; /* the block also names this account */
} history_filter_t;

/* An account's blocks, newest first, with heights below `before`, filtered (filter may be
 * NULL). When the page is not empty, *oldest is the smallest height naming the account
 * (*has_oldest tells); the same query fetches it. */
bool ledger_store_history(ledger_store_t *s, const account_id_t *account, uint64_t before,
                          unsigned limit, const history_filter_t *filter, stored_block_t **out,
                          size_t *n, uint64_t *oldest, bool *has_oldest, nns_error_t *err)
    __attribute__((warn_unused_result));
/* The smallest block height naming the account; false *found when none. */
bool ledger_store_oldest(ledger_store_t *s, const account_id_t *account, uint64_t *height,
                         bool *found, nns_error_t *err) __attribute__((warn_unused_result));
/* Blocks holding a transaction hash. */
bool ledger_store_by_tx_hash(ledger_store_t *s, const uint8_t tx_hash[32], stored_block_t **out,
                             size_t *n, nns_error_t *err) __attribute__((warn_unused_result));
/* Point reads for read-only instances, which keep no state in memory (a replica changes under
 * them): an account's balance and transaction count (0, 0 when unknown), the chain counters, an
 * allowance at time now (expired = 0). */
bool ledger_store_balance(ledger_store_t *s, const account_id_t *account, uint64_t *balance,
                          uint64_t *count, nns_error_t *err) __attribute__((warn_unused_result));
bool ledger_store_chain(ledger_store_t *s, ledger_info_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));
bool ledger_store_allowance(ledger_store_t *s, const account_id_t *owner,
                            const account_id_t *spender, uint64_t now, uint64_t *allowance,
                            bool *has_expires_at, uint64_t *expires_at, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Accounts of a principal known from requests, by subaccount. */
bool ledger_store_owned(ledger_store_t *s, const principal_t *owner, owned_account_t **out,
                        size_t *n, nns_error_t *err) __attribute__((warn_unused_result));

#endif
