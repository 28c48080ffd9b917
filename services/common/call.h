/*
 * call: calls from one service to another, executed from recorded intents.
 *
 * A state machine never waits for the network. A command that needs another service records a
 * call INTENT in its round (persisted with the round's commit); after the commit the intent is
 * submitted here, the call is made over the target's public REST API signed with the service's
 * own key (DESIGN.md section 5, through client.h: the same client the nns CLI uses), and the
 * answer comes back through a callback, which the service skeleton turns into a command for
 * the state thread.
 *
 * An intent is a GET of a path (e.g. /v1/blocks/{h}), a signed POST of a JSON body to a path
 * (e.g. governance's POST /v1/cycles/conversion-rate to the cmc: the body is fixed when the
 * intent is recorded, so a resend is the same request, which the target must treat as
 * idempotent), or a legacy ledger transfer whose every field, created_at_time included, is fixed
 * when the intent is recorded: resending it is then always the same transaction, which the ledger
 * deduplicates. How answers are classified (call_classify):
 *  - 2xx resolves the call (a transfer with its block_index; a GET or a POST with the answer's
 *    body);
 *  - 409 TxDuplicate resolves a transfer with its duplicate_of: an earlier attempt committed and
 *    its answer was lost;
 *  - 422 TxTooOld (the caller was down longer than the ledger's deduplication window): the
 *    transaction is looked up by its hash, GET /v1/transactions/{tx_hash}; found resolves the
 *    call with that block, 404 refuses it as "TxTooOld" (the transfer never happened and never
 *    will: the caller records a new intent);
 *  - 5xx, 408, 429, time-outs and refused connections are retried with back-off (50 ms doubling
 *    to 5 s by default, each delay drawn uniformly from its upper half), forever, until
 *    resolved or the runner stops. 429 and 408 are retried although they are 4xx: both say the
 *    same request may succeed later;
 *  - any other answer is final and refuses the call with its status, error name and body.
 *
 * The runner: a few worker threads (opts.workers, default 2), each with its own clients (one
 * libcurl easy handle per target, kept alive). Blocking calls on a few threads were chosen over
 * one curl-multi loop because calls between services are rare (one per notification, disburse
 * or mint) and short, and because it lets the CLI's client (signing, error bodies, limits) serve
 * both, with one code path. Transfers due at once to one target are sent as one
 * POST /v1/transfer-batches (up to 64 items, each signed as its POST /v1/transfers would be) and
 * each item is classified as above from its own status and body; no answer or a transient status
 * retries every item, a batch refused as a whole sends its transfers alone. Memory is bounded: at
 * most opts.max_pending intents (default 1024), in slots allocated at creation; a submit beyond
 * that returns false. Answers are delivered one at a time (the callback is never run concurrently
 * with itself) from a worker thread.
 *
 * Life cycle: call_runner_new() -> call_runner_submit() any number of times, from any thread ->
 * call_runner_destroy(&r), which stops promptly: intents waiting for their back-off are dropped
 * and a call in flight is abandoned (within about a second: libcurl's progress interval on an
 * idle connection); their callbacks never run, and none runs after destroy returns. Intents are
 * persisted by the caller, which re-submits the unresolved ones after a restart.
 */
#ifndef NNS_CALL_H
#define NNS_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "block.h"
#include "error.h"
#include "keyfile.h"
#include "metrics.h"
#include "principal.h"

#define CALL_URL_MAX 256
#define CALL_PATH_MAX 256
#define CALL_TRANSFER_BODY_MAX 512 /* the longest transfer body call_transfer_body writes */
#define CALL_POST_BODY_MAX 65536   /* bytes of a CALL_POST body, NUL excluded */

typedef enum { CALL_GET = 1, CALL_TRANSFER = 2, CALL_POST = 3 } call_kind_t;

/* A legacy transfer (POST /v1/transfers with `to`), from the signer's account. */
typedef struct {
    bool has_from_subaccount;
    uint8_t from_subaccount[SUBACCOUNT_BYTES];
    uint8_t to[32]; /* account identifier: CRC-32 checksum || 28-byte hash */
    uint64_t amount_e8s;
    uint64_t fee_e8s;
    uint64_t memo;
    uint64_t created_at_time; /* nanoseconds, fixed at intent time */
} call_transfer_t;

typedef struct {
    uint64_t id;                 /* chosen by the caller, unique among pending intents */
    char base_url[CALL_URL_MAX]; /* the target service, e.g. the --ledger URL */
    call_kind_t kind;
    char path[CALL_PATH_MAX]; /* CALL_GET, CALL_POST: path and query from /v1/ on */
    call_transfer_t transfer; /* CALL_TRANSFER */
    /* CALL_POST: the JSON body, NUL-terminated, at most CALL_POST_BODY_MAX bytes; borrowed:
     * call_runner_submit copies it (the runner owns its copy until the answer was delivered) */
    const char *body;
    /* CALL_GET: sent without a signature, for a read whose answer does not depend on the caller
     * (the cmc's block reads: an Ed25519 signature per notification saved); false signs it */
    bool unsigned_get;
} call_intent_t;

typedef enum { CALL_RESOLVED = 1, CALL_REFUSED = 2 } call_outcome_t;

/* One answer. The strings are owned by the runner and valid during the callback only. */
typedef struct {
    uint64_t id;
    call_kind_t kind;
    call_outcome_t outcome;
    long http_status;     /* of the answer that decided (the lookup's for a TxTooOld) */
    bool has_block_index; /* a resolved transfer */
    uint64_t block_index;
    bool duplicate;    /* resolved through 409 TxDuplicate */
    bool looked_up;    /* TxTooOld, then looked up by hash */
    const char *error; /* refused: the problem's code ("HttpError" without one); "" otherwise */
    const char *body;  /* the raw body of that answer, NUL-terminated ("" when none) */
    size_t body_len;
    uint32_t attempts; /* requests sent for this intent, lookups included */
} call_answer_t;

typedef void (*call_done_fn)(void *ctx, const call_answer_t *a);

typedef struct {
    int workers;             /* threads; 0: 2 */
    size_t max_pending;      /* 0: 1024 */
    long connect_timeout_ms; /* 0: 2000 */
    long total_timeout_ms;   /* 0: 30000, below the signature's 2-minute expiry */
    uint32_t backoff_min_ms; /* 0: 50 */
    uint32_t backoff_max_ms; /* 0: 5000 */
    /* The principal the target sees as the caller, which owns the transfer's from account: a
     * service key trusted by the ledger signs as its canister principal (DESIGN.md section 5).
     * NULL: the key's own self-authenticating principal. Copied. */
    const principal_t *caller;
} call_runner_opts_t;

/* ---- the pure parts ------------------------------------------------------------------- */

/* Checks an intent before it is recorded or submitted: an http(s) base URL that fits, a kind, a
 * GET or POST path starting with "/v1/" in printable ASCII without spaces, a POST body that is a
 * JSON object of at most CALL_POST_BODY_MAX bytes, a transfer's `to` with a valid checksum. Returns
 * false with err 400 "BadRequest" or "InvalidAccount" otherwise. */
bool call_intent_check(const call_intent_t *in, nns_error_t *err)
    __attribute__((warn_unused_result));

/* The JSON body of POST /v1/transfers for t (API.md; services/ledger/body.c reads it):
 * {"to","amount_e8s","fee_e8s","memo","from_subaccount"?,"created_at_time"}, u64 values as
 * strings, hex in lower case. Returns its length, or 0 when cap is too small
 * (CALL_TRANSFER_BODY_MAX always suffices). */
size_t call_transfer_body(const call_transfer_t *t, char *out, size_t cap);

/* The ledger transaction t makes when caller sends it, and its hash (block.h: the hash the
 * ledger deduplicates on and GET /v1/transactions/{tx_hash} finds). As the ledger's
 * ledger_apply_transfer (after upstream's legacy `transfer` of rs/ledger_suite/icp/ledger):
 * from the minting account (the governance principal's default account) it is a mint, to it a
 * burn (neither records a fee), otherwise a transfer. Cannot fail. */
void call_transfer_transaction(const call_transfer_t *t, const principal_t *caller,
                               transaction_t *out);
void call_transfer_tx_hash(const call_transfer_t *t, const principal_t *caller, uint8_t out[32]);

typedef enum {
    CALL_STEP_RESOLVED = 1, /* done: resolved (block_index for a transfer) */
    CALL_STEP_REFUSED,      /* done: final failure (error) */
    CALL_STEP_RETRY,        /* send the same request again after a back-off */
    CALL_STEP_LOOKUP,       /* TxTooOld: look the transaction up by its hash */
} call_step_t;

typedef struct {
    call_step_t step;
    bool has_block_index;
    uint64_t block_index;
    bool duplicate;
    char error[40]; /* REFUSED: the error name; "" otherwise */
} call_class_t;

/* Classifies the answer to a GET (kind CALL_GET), a POST (CALL_POST: exactly as a GET) or a
 * transfer (CALL_TRANSFER): status 0 means
 * no answer arrived (connection refused, time-out). body may be NULL. A 2xx transfer answer
 * without a readable block_index, or a TxDuplicate without duplicate_of, is refused as
 * "BadResponse" (the target broke the contract; retrying would not help). Cannot fail. */
void call_classify(call_kind_t kind, long status, const char *body, call_class_t *out);

/* Classifies the answer to GET /v1/transactions/{tx_hash} after a TxTooOld: 200 with a block
 * whose tx_hash is tx_hash resolves (the lowest such height), 404 refuses as "TxTooOld",
 * no answer, 5xx, 408 and 429 retry, anything else refuses with its error name. */
void call_classify_lookup(long status, const char *body, const uint8_t tx_hash[32],
                          call_class_t *out);

/* ---- the runner ----------------------------------------------------------------------- */

typedef struct call_runner call_runner_t;

/* Starts the workers. key is copied (and wiped at destroy); done is required; opts may be NULL
 * (all defaults). crypto_init() must have run. Returns NULL on allocation, thread or libcurl
 * failure. */
call_runner_t *call_runner_new(const identity_t *key, call_done_fn done, void *ctx,
                               const call_runner_opts_t *opts) __attribute__((warn_unused_result));

/* Copies the intent and queues it for a worker; never blocks on the network, thread-safe.
 * Returns false (and queues nothing) when the intent fails call_intent_check, when an intent
 * with the same id is pending, when max_pending intents are pending, or after destroy began. */
bool call_runner_submit(call_runner_t *r, const call_intent_t *in)
    __attribute__((warn_unused_result));

/* Intents submitted and not answered yet (an intent counts until its callback returned). */
size_t call_runner_pending(call_runner_t *r);

/* Counters since creation. */
typedef struct {
    uint64_t submitted, requests, retries, resolved, refused, lookups;
} call_runner_stats_t;
void call_runner_stats(call_runner_t *r, call_runner_stats_t *out);

/* Writes the counters and the pending gauge as nns_calls_* families (a metrics hook for the
 * service's GET /metrics). */
void call_runner_metrics(call_runner_t *r, metrics_t *m);

/* Stops the workers (see the life cycle above), frees *r and sets it to NULL. *r may be NULL. */
void call_runner_destroy(call_runner_t **r);

#endif
