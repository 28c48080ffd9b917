/*
 * ledger: the ICP ledger's state machine (spec/ledger.md sections 3 and 4). Pure: no I/O.
 *
 * Committed state (ledger_t): balances keyed by the 28-byte account hash (with each account's
 * transaction count), the token pool (u64::MAX - total supply), supply counters, the chain tip,
 * and the deduplication window (transaction hash -> block index, in block order).
 *
 * Changes happen in rounds. ledger_round_begin() opens a round; each ledger_apply_*() checks a
 * command against committed state plus the round's earlier changes and, on success, records the
 * new block in the round. The round is then either merged with ledger_round_commit() (after the
 * store committed it to PostgreSQL) or dropped with ledger_round_discard(); committed state never
 * holds anything that was not committed. A round may begin while earlier ones are still being
 * committed: it then sees their changes (it is applied on top of them), they are merged in the
 * order they began, and a discarded round takes every later one with it (the later ones are
 * discarded first). Only the state thread opens rounds and commits;
 * readers (ledger_balance, ledger_info) may run on any thread at any time (rwlock).
 *
 * Life cycle: ledger_new() -> [ledger_load_*() while loading] -> rounds -> ledger_destroy(&l).
 */
#ifndef NNS_LEDGER_H
#define NNS_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "block.h"
#include "error.h"
#include "principal.h"

#define LEDGER_DEFAULT_FEE 10000ULL
#define LEDGER_DEFAULT_WINDOW_NANOS (86400ULL * 1000000000ULL)
#define LEDGER_DEFAULT_MAX_IN_WINDOW 3000000ULL
#define LEDGER_PERMITTED_DRIFT_NANOS (60ULL * 1000000000ULL)
#define LEDGER_MAX_PURGE 100000

typedef struct {
    uint64_t fee_e8s;
    uint64_t window_nanos;
    uint64_t max_in_window;
    account_id_t minting_account;
    char token_symbol[16];
    char token_name[64];
} ledger_config_t;

typedef struct ledger ledger_t;
typedef struct ledger_round ledger_round_t;

typedef enum { TRANSFER_LEGACY, TRANSFER_ICRC1 } transfer_kind_t;

/* A transfer command, as parsed and authenticated by the API. */
typedef struct {
    transfer_kind_t kind;
    principal_t caller;
    uint8_t from_subaccount[SUBACCOUNT_BYTES]; /* zero = default */
    account_id_t to;
    uint64_t amount;
    bool has_fee; /* legacy: always true */
    uint64_t fee;
    uint64_t memo; /* legacy only */
    bool has_icrc1_memo;
    uint8_t icrc1_memo_len;
    uint8_t icrc1_memo[ICRC1_MEMO_MAX];
    bool has_created_at_time;
    uint64_t created_at_time;
} transfer_args_t;

/* An ICRC-2 approve command. */
typedef struct {
    principal_t caller;
    uint8_t from_subaccount[SUBACCOUNT_BYTES];
    principal_t spender_owner; /* self-approval is checked on principals */
    account_id_t spender;
    uint64_t amount;
    bool has_expected_allowance;
    uint64_t expected_allowance;
    bool has_expires_at;
    uint64_t expires_at;
    bool has_fee;
    uint64_t fee;
    bool has_icrc1_memo;
    uint8_t icrc1_memo_len;
    uint8_t icrc1_memo[ICRC1_MEMO_MAX];
    bool has_created_at_time;
    uint64_t created_at_time;
} approve_args_t;

/* An ICRC-2 transfer_from command: the caller (with spender_subaccount) spends from `from`. */
typedef struct {
    principal_t caller;
    uint8_t spender_subaccount[SUBACCOUNT_BYTES];
    account_id_t from;
    account_id_t to;
    uint64_t amount;
    bool has_fee;
    uint64_t fee;
    bool has_icrc1_memo;
    uint8_t icrc1_memo_len;
    uint8_t icrc1_memo[ICRC1_MEMO_MAX];
    bool has_created_at_time;
    uint64_t created_at_time;
} transfer_from_args_t;

/* An allowance the round set (the last value per (owner, spender) pair). */
typedef struct {
    account_id_t owner;
    account_id_t spender;
    uint64_t allowance; /* 0: removed */
    bool has_expires_at;
    uint64_t expires_at;
} ledger_allowance_rec_t;

/* A block the round appended, with everything the store mirrors. */
typedef struct {
    uint64_t height;
    block_t block;
    uint8_t hash[32];
    uint8_t tx_hash[32];
    uint8_t encoded[BLOCK_ENCODED_MAX];
    size_t encoded_len;
} ledger_block_rec_t;

/* A balance the round changed. */
typedef struct {
    account_id_t account;
    uint64_t balance;
    uint64_t tx_count;
} ledger_balance_rec_t;

/* Committed counters, for GET /v1/ledger and /v1/supply. */
typedef struct {
    uint64_t chain_length;
    bool has_tip;
    uint8_t tip_hash[32];
    uint64_t tip_timestamp;
    uint64_t total_supply, minted, burned, fees_burned;
    uint64_t accounts, remembered_transactions, allowances;
    size_t memory_bytes;
} ledger_info_t;

/* Returns NULL on allocation failure. cfg is copied. */
ledger_t *ledger_new(const ledger_config_t *cfg);
void ledger_destroy(ledger_t **l);
const ledger_config_t *ledger_config(const ledger_t *l);

/* --- loading committed state (state thread, before serving) --- */
/* Sets an account's committed balance and transaction count. False on allocation failure. */
bool ledger_load_balance(ledger_t *l, const account_id_t *id, uint64_t balance, uint64_t count)
    __attribute__((warn_unused_result));
/* Sets the chain tip and supply counters. */
void ledger_load_tip(ledger_t *l, uint64_t chain_length, const uint8_t tip_hash[32],
                     uint64_t tip_timestamp, uint64_t minted, uint64_t burned, uint64_t fees);
/* Remembers a committed transaction for deduplication (in block order). */
bool ledger_load_dedup(ledger_t *l, const uint8_t tx_hash[32], uint64_t height,
                       uint64_t block_timestamp) __attribute__((warn_unused_result));
/* Sets a committed allowance (amount 0 is ignored). */
bool ledger_load_allowance(ledger_t *l, const ledger_allowance_rec_t *a)
    __attribute__((warn_unused_result));
/* Checks loaded state: the balances add up to the total supply implied by the counters.
 * False with err 500 "CorruptState" otherwise. */
bool ledger_check(ledger_t *l, nns_error_t *err) __attribute__((warn_unused_result));

/* --- reads (any thread) --- */
/* Committed balance and transaction count (0, 0 for an unknown account). */
void ledger_balance(ledger_t *l, const account_id_t *id, uint64_t *balance, uint64_t *count);
void ledger_info(ledger_t *l, ledger_info_t *out);
/* Committed allowance of (owner, spender) at domain time now: an expired allowance is 0 with no
 * expiry. */
void ledger_allowance(ledger_t *l, const account_id_t *owner, const account_id_t *spender,
                      uint64_t now, uint64_t *allowance, bool *has_expires_at,
                      uint64_t *expires_at);

/* --- rounds (state thread) --- */
/* Opens a round on top of committed state and every round begun before it and not yet merged
 * or dropped. Returns NULL on allocation failure. */
ledger_round_t *ledger_round_begin(ledger_t *l);

/* Applies a transfer at domain time now. On success returns true with *height the new block's
 * index. On refusal returns false with err filled (the IC error names and payloads of
 * spec/ledger.md 3.3-3.5, HTTP status per API.md); the round is unchanged. */
bool ledger_apply_transfer(ledger_t *l, ledger_round_t *r, const transfer_args_t *args,
                           uint64_t now, uint64_t *height, nns_error_t *err)
    __attribute__((warn_unused_result));

/* ICRC-2 approve (spec/ledger.md 3.6): the approver pays the fee; errors BadFee, InsufficientFunds,
 * Expired, AllowanceChanged, the time and duplicate errors, and 400 InvalidTransaction for self
 * approval or an approval from the minting account. */
bool ledger_apply_approve(ledger_t *l, ledger_round_t *r, const approve_args_t *args, uint64_t now,
                          uint64_t *height, nns_error_t *err) __attribute__((warn_unused_result));

/* ICRC-2 transfer_from (spec/ledger.md 3.6): the allowance is debited by amount + fee (amount for
 * a burn) unless the spender is the owner; errors as ICRC-1 plus InsufficientAllowance. */
bool ledger_apply_transfer_from(ledger_t *l, ledger_round_t *r, const transfer_from_args_t *args,
                                uint64_t now, uint64_t *height, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Mints amount to `to` (genesis and governance): a Mint block with no created_at_time. */
bool ledger_apply_mint(ledger_t *l, ledger_round_t *r, const account_id_t *to, uint64_t amount,
                       uint64_t now, uint64_t *height, nns_error_t *err)
    __attribute__((warn_unused_result));

/* What the round changed, for the store (borrowed, valid until commit/discard). */
const ledger_block_rec_t *ledger_round_blocks(const ledger_round_t *r, size_t *n);
/* Fills *out with a malloc'd array of the changed balances (NULL when none); the caller frees
 * it. Returns false on allocation failure. */
bool ledger_round_balances(const ledger_round_t *r, ledger_balance_rec_t **out, size_t *n)
    __attribute__((warn_unused_result));
/* Fills *out with a malloc'd array of the allowances the round changed (the last value per
 * pair; NULL when none); the caller frees it. Returns false on allocation failure. */
bool ledger_round_allowances(const ledger_round_t *r, ledger_allowance_rec_t **out, size_t *n)
    __attribute__((warn_unused_result));
/* The round's resulting counters. */
void ledger_round_info(const ledger_round_t *r, ledger_info_t *out);

/* Merges the round, which must be the oldest open one, into committed state and frees it.
 * Aborts the process if memory runs out half-way (crash-only: the restart reloads the
 * committed state from PostgreSQL). */
void ledger_round_commit(ledger_t *l, ledger_round_t **r);
/* Drops the round, which must be the newest open one; committed state is untouched. */
void ledger_round_discard(ledger_t *l, ledger_round_t **r);

#endif
