/*
 * cmc: the cycles minting service's state machine (spec/cmc.md sections 1-6). Pure: no I/O, no
 * threads of its own, no clock reads (every time is an argument, in Unix nanoseconds unless the
 * name says seconds).
 *
 * Committed state (cmc_t): the current ICP/XDR rate, the 60-slot daily cache, the 30-day average,
 * the legacy maturity modulation, the daily rate history (the first accepted rate of each UTC
 * day, the last CMC_HISTORY_KEEP days), the notification status of each block index, the
 * notifications in flight and their intents, the two minting limiters, the counters (total
 * cycles minted, cycles held by the cmc, purge horizon, intent and cycles-ledger block counters),
 * the subnet lists (default, authorized per principal, typed) with the canister-id ranges per
 * subnet, and the registry of canisters and cycles-ledger accounts.
 *
 * Changes happen in rounds, as in the ledger: cmc_round_begin() opens a round; each
 * cmc_apply_*() checks a command against committed state plus the round's earlier changes and
 * records its changes in the round; cmc_round_commit() merges the round (after the store wrote
 * it) and cmc_round_discard() drops it. Reads (cmc_rate, cmc_notification, cmc_canister, ...)
 * see committed state only and may run on any thread (rwlock); rounds, applies and commits run
 * on the state thread only.
 *
 * A notification is a flow of commands and intents; the state machine never waits:
 *   1. cmc_apply_notify(): prechecks, purge, horizon and status of the block; on a fresh block
 *      it marks the block Processing and emits a FETCH_BLOCK intent.
 *   2. the service layer fetches the block from the ledger and calls cmc_apply_block_fetched():
 *      type, destination, memo (automatic refund of a memo that means nothing), conversion,
 *      the minting limit, the checks of the deposit or creation; it emits a TRANSFER intent (a
 *      burn on success, a refund on failure) or finishes the notification.
 *   3. the service layer executes the transfer on the ledger and calls cmc_apply_transfer_done():
 *      after a burn the cycles go to the canister / the new canister / the cycles-ledger account
 *      and the result is cached; after a refund the extra fee is burned by one more TRANSFER
 *      intent (phase BURN_FEE) and the Refunded result is cached only once that burn ended, as
 *      upstream's refund_icp awaits burn_and_log before it returns; a failed refund clears the
 *      status. With nothing to refund the whole amount is burned, and the answer also waits for
 *      that burn.
 * Intents are returned in the round (cmc_round_intents) with everything fixed at intent time;
 * the service persists them with the round and executes them after the commit, then reports
 * each with block_fetched / transfer_done (an intent is finished exactly once).
 *
 * Life cycle: cmc_new() -> [cmc_load_*() while loading] -> rounds -> cmc_destroy(&c).
 * Errors are nns_error_t: the NotifyError names as `code` with the statuses of API.md.
 */
#ifndef NNS_CMC_H
#define NNS_CMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "error.h"
#include "principal.h"

typedef unsigned __int128 cmc_cycles_t;

/* Text of a u128 in decimal; returns out. */
char *u128_text(cmc_cycles_t v, char out[40]);

/* ---- constants (spec/cmc.md, Constants) ---- */
#define CMC_TRANSFER_FEE 10000ULL /* DEFAULT_TRANSFER_FEE, also the minimum burn */
#define CMC_TOP_UP_REFUND_FEE 20000ULL
#define CMC_CREATE_REFUND_FEE 40000ULL
#define CMC_MINT_REFUND_FEE 20000ULL
#define CMC_MEMO_CREATE_CANISTER 0x41455243ULL /* "CREA" */
#define CMC_MEMO_TOP_UP_CANISTER 0x50555054ULL /* "TPUP" */
#define CMC_MEMO_MINT_CYCLES 0x544e494dULL     /* "MINT" */
#define CMC_DEFAULT_CYCLES_PER_XDR 1000000000000ULL
#define CMC_DEFAULT_RATE_TIMESTAMP 1620633600ULL
#define CMC_DEFAULT_RATE 1000000ULL
#define CMC_CACHE_SLOTS 60
#define CMC_AVERAGE_DAYS 30
#define CMC_HISTORY_KEEP 1000 /* days of rate history kept in memory (at least 400) */
#define CMC_MAX_NOTIFY_HISTORY 1000000
#define CMC_MAX_NOTIFY_PURGE 100000
#define CMC_CYCLES_LIMIT ((cmc_cycles_t)150000000000000000ULL) /* per CMC_LIMIT_MAX_AGE s */
#define CMC_LIMIT_RESOLUTION 60
#define CMC_LIMIT_MAX_AGE 3600
#define CMC_SRC_CYCLES_LIMIT ((cmc_cycles_t)500000000000000000ULL)
#define CMC_SRC_LIMIT_RESOLUTION 3600
#define CMC_SRC_LIMIT_MAX_AGE 2629800
#define CMC_CYCLES_LEDGER_FEE 100000000ULL
#define CMC_CREATION_FEE 500000000000ULL
#define CMC_DEPOSIT_MEMO_MAX 32
#define CMC_MAX_CONTROLLERS 10
#define CMC_SUBNET_TYPE_MAX 64          /* bytes of a subnet type name, NUL included */
#define CMC_REASON_MAX 240              /* bytes of a cached Refunded reason, NUL included */
#define CMC_CANISTER_RANGE (1ULL << 20) /* canister ids per subnet range */
#define CMC_MODULATION_MIN (-500)
#define CMC_MODULATION_MAX 500

/* NNS canister indices the cmc names (constants/src/lib.rs). */
#define CMC_NNS_DAPP_INDEX 8
#define CMC_TEST_NNS_DAPP_INDEX 12
#define CMC_SUBNET_RENTAL_INDEX 13

/* NotifyError Other codes (cmc.did). */
enum {
    CMC_OTHER_INTERNAL = 1,
    CMC_OTHER_FAILED_TO_FETCH_BLOCK = 2,
    CMC_OTHER_REFUND_FAILED = 3,
    CMC_OTHER_BAD_SUBNET_SELECTION = 4,
    CMC_OTHER_UNAUTHORIZED = 5,
    CMC_OTHER_DEPOSIT_MEMO_TOO_LONG = 6,
};

typedef struct {
    principal_t cmc_id;       /* the cmc's principal: deposit accounts are (cmc_id, S) */
    bool has_minting_account; /* burns go here; without it burns are skipped */
    account_id_t minting_account;
    bool has_cycles_ledger; /* without it notify_mint_cycles refunds */
    uint64_t cycles_per_xdr;
    uint64_t last_purged_notification; /* the initial purge horizon */
    size_t max_notifications;          /* purge above this many statuses */
    size_t max_purge;                  /* statuses purged per notify at most */
    cmc_cycles_t cycles_limit;         /* base limiter: per limit_max_age seconds */
    uint64_t limit_resolution, limit_max_age;
    cmc_cycles_t src_cycles_limit; /* Subnet Rental limiter */
    uint64_t src_limit_resolution, src_limit_max_age;
    cmc_cycles_t creation_fee; /* cycles a created canister costs */
    cmc_cycles_t cycles_ledger_fee;
} cmc_config_t;

/* The production values of spec/cmc.md: cmc_id = canister 4, no minting account, a cycles
 * ledger, horizon 0. Cannot fail. */
void cmc_config_default(cmc_config_t *cfg);

/* ---- rates (rate.c) ---- */
typedef struct {
    uint64_t timestamp_seconds;
    uint64_t xdr_permyriad_per_icp;
} cmc_rate_t;

/* One day of the rate history: the first accepted rate of that UTC day. */
typedef struct {
    uint64_t day; /* timestamp_seconds / 86400 */
    uint64_t timestamp_seconds;
    uint64_t xdr_permyriad_per_icp;
} cmc_rate_day_t;

typedef enum { CMC_ROLE_NONE = 0, CMC_ROLE_GOVERNANCE, CMC_ROLE_RATE_ORACLE } cmc_role_t;

/* floor(e8s * rate * cycles_per_xdr / 10^12) in 128-bit arithmetic (lib.rs
 * TokensToCycles::to_cycles). Cannot fail: e8s * rate always fits in 128 bits; should the
 * product with cycles_per_xdr not fit (never with 10^12 and real supplies), the result
 * saturates. */
cmc_cycles_t cmc_to_cycles(uint64_t e8s, uint64_t xdr_permyriad_per_icp, uint64_t cycles_per_xdr);

/* The 30-day average at time t_seconds over a 60-slot cache (compute_average_icp_xdr_rate_at_time):
 * false when no slot is in (today - 30, today]. */
bool cmc_average_at(const cmc_rate_t cache[CMC_CACHE_SLOTS], uint64_t t_seconds, cmc_rate_t *out);

/* The legacy maturity modulation at t_seconds, in permyriad (compute_maturity_modulation). */
int32_t cmc_maturity_modulation_at(const cmc_rate_t cache[CMC_CACHE_SLOTS], uint64_t t_seconds);

/* maturity_e8s * (10000 + modulation) / 10000, floor (governance's apply of the modulation). */
uint64_t cmc_apply_maturity_modulation(uint64_t maturity_e8s, int32_t modulation_permyriad);

/* refund_icp's arithmetic: to_refund = amount - fee - extra_fee when positive (then extra_fee
 * is burned), otherwise nothing is refunded and the whole amount is burned. *burn is the amount
 * to burn before the minimum-burn rule (a burn below CMC_TRANSFER_FEE is skipped). */
void cmc_refund_split(uint64_t amount, uint64_t extra_fee, uint64_t *refund, uint64_t *burn);

/* ---- limiter (limiter.c; limiter.rs) ---- */
#define CMC_LIMITER_MAX_WINDOWS 800 /* enough for max_age / resolution + 2 of both limiters */

typedef struct {
    uint64_t window; /* floor(seconds / resolution) */
    cmc_cycles_t count;
} cmc_limiter_window_t;

/* A sliding-window counter: plain data, copied by value. */
typedef struct {
    uint64_t resolution, max_age; /* seconds */
    cmc_cycles_t total;
    size_t n; /* windows in use, oldest first */
    cmc_limiter_window_t w[CMC_LIMITER_MAX_WINDOWS];
} cmc_limiter_t;

void cmc_limiter_init(cmc_limiter_t *l, uint64_t resolution, uint64_t max_age);
/* Drops windows older than max_age at now_seconds. */
void cmc_limiter_purge(cmc_limiter_t *l, uint64_t now_seconds);
/* Purges, then adds c to the newest window when it is not older than now (times in the past go
 * to the newest window) or to a new window. When every window is in use (a resolution too fine
 * for max_age) the newest window takes the count. Cannot fail. */
void cmc_limiter_add(cmc_limiter_t *l, uint64_t now_seconds, cmc_cycles_t c);
/* Purges; false (and nothing added) when total + c > limit, else adds c. */
bool cmc_limiter_check_and_add(cmc_limiter_t *l, uint64_t now_seconds, cmc_cycles_t c,
                               cmc_cycles_t limit);

/* ---- memos, accounts and ids ---- */
/* The effective memo of a block (get_u64_memo): the legacy memo when non-zero, else an 8-byte
 * ICRC-1 memo read little-endian, else 0. */
uint64_t cmc_effective_memo(uint64_t memo, bool has_icrc1_memo, size_t icrc1_memo_len,
                            const uint8_t *icrc1_memo);
bool cmc_memo_is_meaningful(uint64_t memo);

typedef enum {
    CMC_NOTIFY_TOP_UP = 1,
    CMC_NOTIFY_CREATE_CANISTER = 2,
    CMC_NOTIFY_MINT_CYCLES = 3,
} cmc_notify_kind_t;

/* The memo a notify method expects. */
uint64_t cmc_memo_of(cmc_notify_kind_t kind);
/* The 8-byte ICRC-1 memo (little-endian) of a u64 memo. */
void cmc_icrc1_memo(uint64_t memo, uint8_t out[8]);
/* The account (cmc_id, subaccount of who) where ICP for a notification about who goes. */
void cmc_deposit_account(const cmc_config_t *cfg, const principal_t *who, account_id_t *out);

/* ---- notifications ---- */
typedef enum {
    CMC_SELECT_NONE = 0,
    CMC_SELECT_SUBNET, /* SubnetSelection::Subnet{subnet} */
    CMC_SELECT_FILTER, /* SubnetSelection::Filter{subnet_type: opt} */
} cmc_select_kind_t;

/* A notify command, as parsed and authenticated by the API. */
typedef struct {
    cmc_notify_kind_t kind;
    uint64_t block_index;
    principal_t caller;
    principal_t canister_id; /* top-up: the canister to top up */
    principal_t controller;  /* create: the creator */
    bool has_subnet_type;    /* create: the deprecated subnet_type argument */
    char subnet_type[CMC_SUBNET_TYPE_MAX];
    cmc_select_kind_t select; /* create: subnet_selection */
    principal_t select_subnet;
    bool select_has_type;
    char select_type[CMC_SUBNET_TYPE_MAX];
    bool has_settings;    /* create: settings given */
    bool has_controllers; /* settings.controllers given (possibly empty) */
    uint8_t ncontrollers;
    principal_t controllers[CMC_MAX_CONTROLLERS];
    bool has_to_subaccount; /* mint */
    uint8_t to_subaccount[SUBACCOUNT_BYTES];
    bool has_deposit_memo; /* mint: the memo's real length (refused above 32) */
    size_t deposit_memo_len;
    uint8_t deposit_memo[CMC_DEPOSIT_MEMO_MAX];
} cmc_notify_args_t;

typedef enum {
    CMC_STATUS_NONE = 0, /* in a round's changes: the status was removed */
    CMC_STATUS_PROCESSING,
    CMC_STATUS_NOTIFIED_TOP_UP,
    CMC_STATUS_NOTIFIED_CREATE_CANISTER,
    CMC_STATUS_NOTIFIED_MINT,
    CMC_STATUS_NOT_MEANINGFUL_MEMO,
} cmc_status_t;

/* A finished notification's result: Ok(kind's value) or Err(Refunded). */
typedef struct {
    bool refunded;
    cmc_cycles_t cycles;       /* top-up: cycles deposited */
    principal_t canister_id;   /* create: the new canister */
    uint64_t mint_block_index; /* mint: the cycles-ledger block */
    cmc_cycles_t minted, balance;
    bool has_refund_block; /* Refunded: the ledger block of the refund, if one was sent */
    uint64_t refund_block_index;
    char reason[CMC_REASON_MAX];
} cmc_result_t;

/* The status record of one block index. `to` and `memo` are the block's checked destination and
 * effective memo, so that a repeated notify re-runs upstream's checks before the cached answer. */
typedef struct {
    uint64_t block_index;
    cmc_status_t status;
    cmc_notify_kind_t kind; /* the method that claimed the block */
    bool has_block;         /* to and memo are known (the block was fetched) */
    account_id_t to;
    uint64_t memo;
    cmc_result_t result; /* finished statuses only */
} cmc_notification_t;

typedef enum {
    CMC_PHASE_FETCH = 1, /* waiting for the block */
    CMC_PHASE_BURN,      /* success decided, burning the ICP */
    CMC_PHASE_REFUND,    /* failure decided, refunding the ICP */
    CMC_PHASE_BURN_FEE,  /* refunded (or nothing to refund): burning the extra fee or the rest */
} cmc_phase_t;

/* A notification in flight: everything transfer_done needs to finish it. */
typedef struct {
    uint64_t block_index;
    cmc_notify_args_t args;
    cmc_phase_t phase;
    uint64_t intent_id; /* the outstanding intent */
    account_id_t from;  /* the block's sender */
    account_id_t to;    /* the block's (checked) destination */
    uint64_t memo;      /* the block's effective memo */
    uint64_t amount;
    uint64_t extra_fee;    /* refund: burned after the refund */
    bool auto_refund;      /* refund of a memo that means nothing */
    bool has_refund_block; /* BURN_FEE: the refund's ledger block, when one was sent */
    uint64_t refund_block_index;
    cmc_cycles_t cycles;
    principal_t subnet; /* create: the chosen subnet */
    char reason[CMC_REASON_MAX];
} cmc_pending_t;

typedef enum { CMC_INTENT_FETCH_BLOCK = 1, CMC_INTENT_TRANSFER } cmc_intent_kind_t;
typedef enum {
    CMC_PURPOSE_NONE = 0,  /* FETCH_BLOCK */
    CMC_PURPOSE_BURN,      /* the notification's ICP, after success */
    CMC_PURPOSE_REFUND,    /* back to the sender */
    CMC_PURPOSE_BURN_REST, /* the extra fee after a refund, or an amount too small to refund */
} cmc_purpose_t;

/* Work for the service layer, fixed at intent time. A TRANSFER is a legacy transfer from
 * (cmc_id, from_subaccount) to `to`, with amount, fee (0 for burns), memo and created_at_time:
 * the round's time + the intent's sequence number in the round, raised above the previous
 * intent's when the clock did not move, so that no two transfers are ever the ledger's
 * duplicates. */
typedef struct {
    uint64_t id;
    cmc_intent_kind_t kind;
    cmc_purpose_t purpose;
    uint64_t block_index;
    uint8_t from_subaccount[SUBACCOUNT_BYTES];
    account_id_t to;
    uint64_t amount, fee, memo, created_at_time;
} cmc_intent_t;

/* A block as the ledger returned it. */
typedef enum {
    CMC_BLOCK_FOUND = 1,
    CMC_BLOCK_NOT_FOUND,
    CMC_BLOCK_FETCH_FAILED
} cmc_block_status_t;
typedef enum { CMC_OP_TRANSFER = 1, CMC_OP_MINT, CMC_OP_BURN, CMC_OP_APPROVE } cmc_op_t;
typedef struct {
    cmc_block_status_t status;
    char fetch_error[128]; /* FETCH_FAILED: why */
    cmc_op_t op;
    account_id_t from, to;
    uint64_t amount, fee, memo;
    bool has_icrc1_memo;
    uint8_t icrc1_memo_len;
    uint8_t icrc1_memo[32];
    bool has_created_at_time;
    uint64_t created_at_time;
} cmc_fetched_block_t;

/* How a transfer intent ended. */
typedef struct {
    bool ok;
    uint64_t block_index; /* ok: the ledger block */
    int64_t error_code;   /* failure: the ledger's code, for the RefundFailed text */
    char error[160];      /* failure: the ledger's message */
} cmc_transfer_result_t;

/* What a notify step decided, for the request waiting on it. */
typedef struct {
    bool finished; /* false: intent_id is pending */
    uint64_t intent_id;
    cmc_notify_kind_t kind;
    uint64_t block_index;
    bool ok; /* finished: ok -> result; else error (Refunded carries result) */
    cmc_result_t result;
    nns_error_t error;
} cmc_outcome_t;

/* ---- registry ---- */
typedef struct {
    principal_t canister_id;
    principal_t subnet;
    uint8_t ncontrollers;
    principal_t controllers[CMC_MAX_CONTROLLERS];
    cmc_cycles_t cycles;
    uint64_t created_at; /* nanos */
} cmc_canister_t;

typedef struct {
    icrc1_account_t account;
    cmc_cycles_t balance;
} cmc_cycles_account_t;

/* Subnet bookkeeping as rows (5.1): a default subnet, a subnet authorized for `who`, a subnet
 * of a type, or a type's existence (subnet unused). */
typedef enum {
    CMC_SUBNET_DEFAULT = 1,
    CMC_SUBNET_AUTHORIZED,
    CMC_SUBNET_TYPED,
    CMC_SUBNET_TYPE_DECL,
} cmc_subnet_row_kind_t;

typedef struct {
    cmc_subnet_row_kind_t kind;
    principal_t who;                /* AUTHORIZED */
    char type[CMC_SUBNET_TYPE_MAX]; /* TYPED, TYPE_DECL */
    principal_t subnet;             /* DEFAULT, AUTHORIZED, TYPED */
} cmc_subnet_row_t;

/* The canister-id range of a subnet: ids from_u64(range * CMC_CANISTER_RANGE + next). */
typedef struct {
    principal_t subnet;
    uint64_t range;
    uint64_t next;
} cmc_subnet_range_t;

/* Counters, for /metrics and the store. */
typedef struct {
    cmc_rate_t rate;
    bool has_average;
    cmc_rate_t average;
    int32_t maturity_modulation;
    cmc_rate_t cache[CMC_CACHE_SLOTS];
    uint64_t last_purged_notification;
    cmc_cycles_t total_cycles_minted;
    cmc_cycles_t held_cycles; /* minted, not yet deposited (reused before minting more) */
    uint64_t next_intent_id;
    uint64_t last_created_at; /* created_at_time of the last intent */
    uint64_t cycles_ledger_blocks;
    uint64_t next_range;
    uint64_t limiter_rejects;
    size_t notifications, in_flight, canisters, cycles_accounts;
} cmc_info_t;

typedef struct cmc cmc_t;
typedef struct cmc_round cmc_round_t;

/* Returns NULL on allocation failure. cfg is copied. The current rate and the average start at
 * the default rate (1 000 000 at 1 620 633 600). */
cmc_t *cmc_new(const cmc_config_t *cfg);
void cmc_destroy(cmc_t **c);
const cmc_config_t *cmc_config(const cmc_t *c);

/* --- loading committed state (state thread, before serving); false on allocation failure or
 * (loads of arrays) a bad value --- */
/* Counters, rates and cache as the store saved them (the cmc_info_t fields up to
 * limiter_rejects; the count fields are ignored). */
void cmc_load_info(cmc_t *c, const cmc_info_t *info);
bool cmc_load_history_day(cmc_t *c, const cmc_rate_day_t *d) __attribute__((warn_unused_result));
/* which: 0 base, 1 Subnet Rental. */
void cmc_load_limiter(cmc_t *c, int which, const cmc_limiter_t *l);
/* Load the counters (cmc_load_info) first: a status at or below the purge horizon is dropped. */
bool cmc_load_notification(cmc_t *c, const cmc_notification_t *n)
    __attribute__((warn_unused_result));
bool cmc_load_pending(cmc_t *c, const cmc_pending_t *p) __attribute__((warn_unused_result));
bool cmc_load_intent(cmc_t *c, const cmc_intent_t *i) __attribute__((warn_unused_result));
bool cmc_load_canister(cmc_t *c, const cmc_canister_t *k) __attribute__((warn_unused_result));
bool cmc_load_cycles_account(cmc_t *c, const cmc_cycles_account_t *a)
    __attribute__((warn_unused_result));
bool cmc_load_subnet_row(cmc_t *c, const cmc_subnet_row_t *row) __attribute__((warn_unused_result));
bool cmc_load_subnet_range(cmc_t *c, const cmc_subnet_range_t *range)
    __attribute__((warn_unused_result));

/* --- reads (any thread; committed state) --- */
void cmc_info(cmc_t *c, cmc_info_t *out);
void cmc_rate(cmc_t *c, cmc_rate_t *out);
/* False when no average is set. */
bool cmc_average_rate(cmc_t *c, cmc_rate_t *out);
int32_t cmc_maturity_modulation(cmc_t *c);
/* Days in [from_day, to_day], oldest first, at most max; returns how many were written. */
size_t cmc_rate_history(cmc_t *c, uint64_t from_day, uint64_t to_day, cmc_rate_day_t *out,
                        size_t max);
/* False when the block has no status. */
bool cmc_notification(cmc_t *c, uint64_t block_index, cmc_notification_t *out);
bool cmc_canister(cmc_t *c, const principal_t *id, cmc_canister_t *out);
/* The balance of a cycles-ledger account (0 when unknown); subaccount NULL = default. */
cmc_cycles_t cmc_cycles_balance(cmc_t *c, const principal_t *owner, const uint8_t *subaccount);
/* The base limiter: cycles minted in the window at now_seconds. */
void cmc_minting_limit(cmc_t *c, uint64_t now_seconds, cmc_cycles_t *limit,
                       uint64_t *window_seconds, cmc_cycles_t *minted_in_window);
/* A malloc'd copy of the subnet rows (NULL when none; the caller frees). False on allocation
 * failure. */
bool cmc_subnets(cmc_t *c, cmc_subnet_row_t **rows, size_t *n) __attribute__((warn_unused_result));

/* --- rounds (state thread) --- */
/* Returns NULL on allocation failure. */
cmc_round_t *cmc_round_begin(cmc_t *c);

/* Sets the current rate (2.3): role NONE -> 403 Unauthorized; rate 0 or a timestamp not newer
 * than the current one -> 400 InvalidRate with the upstream texts. now is the time at which
 * the average and modulation are recomputed. False with err on refusal (round unchanged) or on
 * allocation failure (500 OutOfMemory; the round must be discarded). */
bool cmc_apply_set_rate(cmc_t *c, cmc_round_t *r, cmc_role_t role, const cmc_rate_t *rate,
                        uint64_t now, nns_error_t *err) __attribute__((warn_unused_result));

/* notify_* step 1 (3.3): true with out->finished false and a FETCH_BLOCK intent when the block is
 * claimed, or out->finished with a cached Ok; false with err for every other answer: Other 4, 5,
 * 6, TransactionTooOld (422, payload block_index), Processing (409), a repeated notify's cached
 * Refunded (422, payload refund_block_index when one was sent), InvalidTransaction (400), or
 * 500 OutOfMemory (discard the round). */
bool cmc_apply_notify(cmc_t *c, cmc_round_t *r, const cmc_notify_args_t *args, uint64_t now,
                      cmc_outcome_t *out, nns_error_t *err) __attribute__((warn_unused_result));

/* The FETCH_BLOCK intent intent_id ended with block b (3.3 step 2, 3.4, 3.5). true with out
 * (finished or pending on a TRANSFER intent); false with err only when the command itself is
 * wrong (404 UnknownIntent, 409 WrongIntent) or on allocation failure (500 OutOfMemory). */
bool cmc_apply_block_fetched(cmc_t *c, cmc_round_t *r, uint64_t intent_id,
                             const cmc_fetched_block_t *b, uint64_t now, cmc_outcome_t *out,
                             nns_error_t *err) __attribute__((warn_unused_result));

/* The TRANSFER intent intent_id ended with res. true with out: finished, or pending on the next
 * TRANSFER intent (the burn of the extra fee after a refund); a burn of the rest that no
 * notification waits for finishes nothing (out->finished false, intent_id 0). False with err
 * as cmc_apply_block_fetched. */
bool cmc_apply_transfer_done(cmc_t *c, cmc_round_t *r, uint64_t intent_id,
                             const cmc_transfer_result_t *res, uint64_t now, cmc_outcome_t *out,
                             nns_error_t *err) __attribute__((warn_unused_result));

/* Governance (the service layer checks the caller). set_authorized_subnetwork_list: who NULL
 * replaces the default list, who with n = 0 removes who's list; 409 SubnetsAreAssigned when a
 * subnet has a type. */
bool cmc_apply_set_authorized_subnets(cmc_t *c, cmc_round_t *r, const principal_t *who,
                                      const principal_t *subnets, size_t n, nns_error_t *err)
    __attribute__((warn_unused_result));
/* update_subnet_type: add (409 Duplicate) or remove (404 TypeDoesNotExist, 409
 * TypeHasAssignedSubnets). */
bool cmc_apply_update_subnet_type(cmc_t *c, cmc_round_t *r, bool add, const char *type,
                                  nns_error_t *err) __attribute__((warn_unused_result));
/* change_subnet_type_assignment: add (404 TypeDoesNotExist, 409 SubnetsAreAssigned, 409
 * SubnetsAreAuthorized) or remove (404 TypeDoesNotExist, 409 SubnetsAreNotAssigned). */
bool cmc_apply_change_subnet_type_assignment(cmc_t *c, cmc_round_t *r, bool add,
                                             const principal_t *subnets, size_t n, const char *type,
                                             nns_error_t *err) __attribute__((warn_unused_result));

/* --- what the round changed, for the store (borrowed; valid until commit/discard) --- */
/* Status records written (status NONE: removed), in order of change. */
const cmc_notification_t *cmc_round_notifications(const cmc_round_t *r, size_t *n);
/* Purge horizon: true when the round raised it. The store writes the round's statuses first,
 * then deletes every status <= *horizon (a status the round wrote may be purged by a later
 * notify of the same round), and saves the horizon with the counters (cmc_round_info). */
bool cmc_round_purged(const cmc_round_t *r, uint64_t *horizon);
/* Notifications in flight written; removed[i] tells a finished one. */
const cmc_pending_t *cmc_round_pending(const cmc_round_t *r, const bool **removed, size_t *n);
/* New intents, in the order they are to be executed. */
const cmc_intent_t *cmc_round_intents(const cmc_round_t *r, size_t *n);
/* Ids of intents finished by the round. */
const uint64_t *cmc_round_finished_intents(const cmc_round_t *r, size_t *n);
const cmc_canister_t *cmc_round_canisters(const cmc_round_t *r, size_t *n);
const cmc_cycles_account_t *cmc_round_cycles_accounts(const cmc_round_t *r, size_t *n);
/* Rate days the round appended to the history. */
const cmc_rate_day_t *cmc_round_history(const cmc_round_t *r, size_t *n);
/* The round's counters and rates (as of the round). */
void cmc_round_info(const cmc_round_t *r, cmc_info_t *out);
/* The round's limiters (which: 0 base, 1 Subnet Rental); true when the round changed them. */
bool cmc_round_limiter(const cmc_round_t *r, int which, const cmc_limiter_t **out);
/* True when the round changed the subnet rows or ranges; then *rows and *ranges are the whole new
 * lists (the store replaces its copy). */
bool cmc_round_subnets(const cmc_round_t *r, const cmc_subnet_row_t **rows, size_t *nrows,
                       const cmc_subnet_range_t **ranges, size_t *nranges);

/* Merges the round into committed state and frees it. Aborts the process if memory runs out
 * half-way (crash-only: the restart reloads the committed state). */
void cmc_round_commit(cmc_t *c, cmc_round_t **r);
/* Drops the round; committed state is untouched. */
void cmc_round_discard(cmc_t *c, cmc_round_t **r);

#endif
