/*
 * harness: what the end-to-end suites (check_ledger_api, check_ledger_icrc2) and the cases
 * runner (tests/cases/runner.c) share, written once.
 *
 * Two layers. The lower one never aborts and does not need Check: http_exchange() sends one
 * request byte for byte and keeps the status, the body, the final header block and the body
 * parsed as JSON; resp_header() reads a header; wall_nanos(), sign_as() and the name helpers
 * (account_hex_of, icrc1_text_of, who_init) build what a request carries. The cases runner uses
 * only this layer.
 *
 * The upper layer is for Check tests: every function asserts (ck_assert) instead of returning an
 * error, so a failure ends the test with a message naming the request. It talks to the service
 * at e2e_base_url, which the suite's main() sets (from E2E_LEDGER_URL) before running.
 *
 * Ownership: a resp_t owns its body, headers and json; resp_free() releases them and may be
 * called twice. json_t values returned by block_at() are new references; jget()/jstr() borrow.
 */
#ifndef NNS_E2E_HARNESS_H
#define NNS_E2E_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "crypto.h"
#include "keyfile.h"
#include "principal.h"

#define FEE 10000ULL
#define SECOND 1000000000ULL
#define WINDOW_NANOS (86400ULL * SECOND)
#define MINTING_ACCOUNT "082ecf2e3f647ac600f43f38a68342fba5b8e68b085f02592b77f39808a8d2b5"
#define LEDGER_PRINCIPAL "ryjl3-tyaaa-aaaaa-aaaba-cai"
#define GOVERNANCE_PRINCIPAL "rrkah-fqaaa-aaaaa-aaaaq-cai"
#define BODY_MAX 2048

/* ================================================================ lower layer (no Check) */

typedef struct {
    long status;
    char *body; /* NUL-terminated; "" when the answer had none */
    size_t len;
    char *headers; /* the header block of the final response */
    json_t *json;  /* the body parsed as JSON, or NULL */
} resp_t;

/* Sends `method base+target` byte for byte (no normalisation of the target). body NULL: no
 * body; otherwise body_len bytes, with Content-Type application/json unless headers name one.
 * headers: NULL-terminated "Name: value" lines (NULL for none). chunked: send the body with
 * chunked transfer encoding. Returns false with a message in err (cap bytes) when no answer
 * arrived (out is then empty); true otherwise, with out filled (resp_free it). */
bool http_exchange(const char *base, const char *method, const char *target, const char *body,
                   size_t body_len, const char *const *headers, bool chunked, resp_t *out,
                   char *err, size_t cap) __attribute__((warn_unused_result));

void resp_free(resp_t *r);

/* The value of the response header name (case-insensitive, surrounding blanks trimmed), copied
 * to out (truncated to cap); false if absent. */
bool resp_header(const resp_t *r, const char *name, char *out, size_t cap);

/* True when the answer carries X-Replayed: true. */
bool is_replayed(const resp_t *r);

/* Nanoseconds since the epoch on the wall clock. */
uint64_t wall_nanos(void);

/* A random memo, distinct across tests and runs (the test clock is frozen, so two legacy
 * transfers with the same memo, amount and accounts would otherwise be duplicates). */
uint64_t fresh_memo(void);

/* A random subaccount, never the default one; sub_hex (may be NULL) gets its 64-hex. */
void fresh_subaccount(uint8_t sub[SUBACCOUNT_BYTES], char *sub_hex);

/* The identity made from the seed SHA-256("<prefix><i>"). */
void identity_seeded(const char *prefix, int i, identity_t *id);

void account_hex_of(const principal_t *owner, const uint8_t *sub, char out[ACCOUNT_HEX_LEN + 1]);
void icrc1_text_of(const principal_t *owner, const uint8_t *sub, char out[ICRC1_TEXT_MAX]);

/* An identity and the names of its default account. */
typedef struct {
    identity_t id;
    char hex[ACCOUNT_HEX_LEN + 1];  /* default account identifier */
    char text[ICRC1_TEXT_MAX];      /* default account as ICRC-1 text */
    char ptext[PRINCIPAL_TEXT_MAX]; /* the principal */
} who_t;

void who_init(who_t *w, const identity_t *id);
void who_fresh(who_t *w); /* a new random identity */

bool is_digits(const char *s); /* a u64 in decimal digits (at most 20) */
bool is_lower_hex(const char *s, size_t len);

/* The three signature headers of one request, and the lines to send them. */
typedef struct {
    char pk[2 * PUBLIC_KEY_DER_MAX + 1];
    char expiry[24];
    char sig[2 * ED25519_SIGNATURE_BYTES + 1];
    char h_pk[16 + 2 * PUBLIC_KEY_DER_MAX], h_expiry[64], h_sig[192];
    const char *lines[4]; /* the three header lines and NULL */
} signed_t;

/* Signs (method, signed_target, body) as id with the given expiry (body NULL: empty). */
void sign_as(const identity_t *id, const char *method, const char *signed_target, const char *body,
             uint64_t expiry, signed_t *s);

/* Rebuilds s->lines from s->pk, s->expiry and s->sig (after a test changed one of them). */
void signed_lines(signed_t *s);

/* ================================================================ upper layer (Check) */

extern const char *e2e_base_url;

uint64_t u64_of(const char *s); /* asserts decimal digits without overflow */

void http_send_ex(const char *method, const char *target, const char *body, size_t body_len,
                  const char *const *headers, bool chunked, resp_t *out);
void http_send(const char *method, const char *target, const char *body, const char *const *headers,
               resp_t *out);
void get(const char *target, resp_t *r);
void get_ok(const char *target, resp_t *r); /* asserts 200 and a JSON object */

json_t *jget(json_t *o, const char *key);     /* asserts the member exists */
const char *jstr(json_t *o, const char *key); /* asserts a string */
uint64_t ju64(json_t *o, const char *key);    /* asserts a u64 string */
json_t *ju(uint64_t v);                       /* a u64 as a JSON string, new reference */
void assert_absent(json_t *o, const char *key, const char *what);
json_t *account_obj(const char *ptext, const char *sub_hex); /* {"owner", "subaccount"?} */

/* POST target with body signed by id (wall clock + 2 minutes); send_signed sends s's lines. */
void send_signed(const signed_t *s, const char *target, const char *body, resp_t *r);
void post_signed(const identity_t *id, const char *target, const char *body, resp_t *r);
/* The same with body (stolen) as compact JSON. */
void post_json(const identity_t *id, const char *target, json_t *body, resp_t *r);
/* A signed write that must answer 200 with only a block_index; returns it. */
uint64_t post_json_ok(const identity_t *id, const char *target, json_t *body);
/* POST /v1/transfers with a text body that must succeed; returns the block index. */
uint64_t transfer_ok(const identity_t *id, const char *body);
/* An ICRC-1 transfer of amount from id to the account named by ICRC-1 text; returns the block. */
uint64_t icrc1_send(const identity_t *id, const char *to_text, uint64_t amount);

/* Legacy transfer body. created 0: no created_at_time; from_sub NULL: none. */
void legacy_body(char *out, size_t cap, const char *to, uint64_t amount, uint64_t fee,
                 uint64_t memo, uint64_t created, const char *from_sub);

uint64_t ledger_now(void);
uint64_t balance_count(const char *account, uint64_t *count); /* count may be NULL */
uint64_t balance(const char *account);
uint64_t chain_length(void);
json_t *block_at(uint64_t h);    /* GET /v1/blocks/{h}, new reference */
json_t *block_op(json_t *block); /* its transaction.operation, borrowed */

typedef struct {
    uint64_t total, minted, burned, fees;
} supply_t;
void supply_of(supply_t *s); /* asserts total = minted - burned - fees */

/* What must not move when a request is refused. */
typedef struct {
    uint64_t chain_length, balance, total_supply;
} state_t;
void state_of(const char *account, state_t *s);
void assert_state_same(const char *account, const state_t *before, const char *what);

/* A problem object: status, code (unless NULL), and type "urn:nns:problem:<code>", title and
 * detail non-empty. text: the answer, for the message. */
void assert_problem_object(json_t *o, long status, const char *code, const char *what,
                           const char *text);
/* An application/problem+json answer with status and (unless NULL) code. */
void assert_problem(const resp_t *r, long status, const char *code, const char *what);

/* POST /v1/admin/time {"now_nanos": t}, answered into r. */
void set_time(uint64_t t, resp_t *r);

#endif
