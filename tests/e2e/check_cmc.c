/*
 * End-to-end tests of the cycles minting service with the real ledger (tests/e2e/cmc.sh starts
 * both with --test-clock and one keys folder; the ledger's genesis is `check_cmc
 * --print-genesis`, and the cmc's --rate-oracle is `check_cmc --print-oracle`).
 *
 * What the contract asks of the notify flows, checked on the ledger's own books: a TPUP
 * transfer and its notify credit the cycles, burn the ICP and lower the total supply by the
 * amount plus the user's transfer fee; a CREA notify creates a canister controlled by the
 * caller; a memo that means nothing is refunded less one fee; the minting limiter refuses and
 * refunds past its limit (the test clock opens the next window); 100 concurrent notifies of one
 * block process it, or refund it, exactly once (one burn or one refund block on the ledger).
 * Also the signed rates: the signature verifies with libsodium against the cmc's key of
 * GET /v1/identity (shared/API.md, "Signed rates").
 *
 * Identities are made from fixed seeds ("cmc-e2e-user<i>", "cmc-e2e-oracle") so that the genesis
 * printed before the ledger starts funds the same keys the suite signs with. The suite moves
 * both test clocks forward only (never back), and every test reads what it compares before it
 * acts, so the tests do not depend on one another's amounts.
 *
 * Environment: E2E_LEDGER_URL, E2E_CMC_URL.
 */
#include <check.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "hex.h"

#define ICP 100000000ULL
#define USERS 8
#define USER_E8S (100000ULL * ICP)
#define CREA 0x41455243ULL
#define TPUP 0x50555054ULL
#define CYCLES_LIMIT 150000000000000000ULL
#define CONCURRENT 100

static const char *ledger_url, *cmc_url;
static identity_t users[USERS], oracle;

static void make_identities(void)
{
    for (int i = 0; i < USERS; i++)
        identity_seeded("cmc-e2e-user", i, &users[i]);
    identity_seeded("cmc-e2e-oracle", 0, &oracle);
}

/* ---- the two services --------------------------------------------------------------------- */

static void at_ledger(void)
{
    e2e_base_url = ledger_url;
}

static void at_cmc(void)
{
    e2e_base_url = cmc_url;
}

static uint64_t cmc_now(void)
{
    at_cmc();
    uint64_t t = ledger_now(); /* GET /v1/identity of the service at e2e_base_url */
    at_ledger();
    return t;
}

/* Moves both test clocks to the later of the two plus delta nanoseconds; returns that time. */
static uint64_t advance(uint64_t delta)
{
    at_ledger();
    uint64_t a = ledger_now(), b = cmc_now();
    uint64_t t = (a > b ? a : b) + delta;
    resp_t r;
    set_time(t, &r);
    ck_assert_msg(r.status == 200, "ledger clock: %ld %s", r.status, r.body);
    resp_free(&r);
    at_cmc();
    set_time(t, &r);
    ck_assert_msg(r.status == 200, "cmc clock: %ld %s", r.status, r.body);
    resp_free(&r);
    at_ledger();
    return t;
}

/* POST target to the cmc signed by id; the answer in r. */
static void cmc_post(const identity_t *id, const char *target, json_t *body, resp_t *r)
{
    at_cmc();
    post_json(id, target, body, r);
    at_ledger();
}

static void cmc_get_ok(const char *target, resp_t *r)
{
    at_cmc();
    get_ok(target, r);
    at_ledger();
}

/* The current rate as (timestamp_seconds, rate). */
static void current_rate(uint64_t *ts, uint64_t *rate)
{
    resp_t r;
    cmc_get_ok("/v1/cycles/conversion-rate", &r);
    *ts = ju64(r.json, "timestamp_seconds");
    if (rate)
        *rate = ju64(r.json, "xdr_permyriad_per_icp");
    resp_free(&r);
}

/* The oracle sets the rate, stamped one second after the current one. */
static void set_rate(uint64_t rate)
{
    uint64_t ts;
    current_rate(&ts, NULL);
    resp_t r;
    cmc_post(
        &oracle, "/v1/cycles/conversion-rate",
        json_pack("{s:o, s:o}", "timestamp_seconds", ju(ts + 1), "xdr_permyriad_per_icp", ju(rate)),
        &r);
    ck_assert_msg(r.status == 200, "set rate %" PRIu64 ": %ld %s", rate, r.status, r.body);
    resp_free(&r);
}

/* The deposit account (64 hex) for purpose and a principal. */
static void deposit_account(const char *purpose, const char *principal, char out[65])
{
    char target[256];
    snprintf(target, sizeof target, "/v1/cycles/deposit-account?purpose=%s&principal=%s", purpose,
             principal);
    resp_t r;
    cmc_get_ok(target, &r);
    const char *a = jstr(r.json, "account_identifier");
    ck_assert_msg(strlen(a) == 64, "deposit account '%s'", a);
    memcpy(out, a, 65);
    resp_free(&r);
}

/* A legacy transfer of amount with memo from id to the account; returns its block. Each one
 * gets its own created_at_time (the ledger's now plus a counter): under the frozen test clock
 * two equal transfers would otherwise be the ledger's duplicates. */
static uint64_t pay(const identity_t *id, const char *to, uint64_t amount, uint64_t memo)
{
    static uint64_t seq;
    char body[BODY_MAX];
    at_ledger();
    legacy_body(body, sizeof body, to, amount, FEE, memo, ledger_now() - 1000000 + ++seq, NULL);
    at_ledger();
    return transfer_ok(id, body);
}

static void principal_text_of(const identity_t *id, char out[PRINCIPAL_TEXT_MAX])
{
    principal_to_text(&id->principal, out);
}

/* A CREA transfer of amount by id and its notify; the new canister's id into can. */
static void create_canister(const identity_t *id, uint64_t amount, char can[PRINCIPAL_TEXT_MAX])
{
    char me[PRINCIPAL_TEXT_MAX], dep[65];
    principal_text_of(id, me);
    deposit_account("create", me, dep);
    uint64_t b = pay(id, dep, amount, CREA);
    resp_t r;
    cmc_post(id, "/v1/cycles/notify-create-canister",
             json_pack("{s:o, s:s}", "block_index", ju(b), "controller", me), &r);
    ck_assert_msg(r.status == 200, "notify-create-canister: %ld %s", r.status, r.body);
    snprintf(can, PRINCIPAL_TEXT_MAX, "%s", jstr(r.json, "canister_id"));
    resp_free(&r);
}

static uint64_t canister_cycles(const char *can)
{
    char target[128];
    snprintf(target, sizeof target, "/v1/canisters/%s", can);
    resp_t r;
    cmc_get_ok(target, &r);
    uint64_t c = ju64(r.json, "cycles");
    resp_free(&r);
    return c;
}

/* The notify-top-up body of block b for canister can. */
static json_t *top_up_body(uint64_t b, const char *can)
{
    return json_pack("{s:o, s:s}", "block_index", ju(b), "canister_id", can);
}

/* ---- signed rates ------------------------------------------------------------------------- */

/* Checks `signature` of a rate answer: Ed25519 by the cmc's key over len(domain) || domain ||
 * timestamp_seconds (u64 BE) || xdr_permyriad_per_icp (u64 BE). */
static void assert_rate_signed(const char *target, const char *domain)
{
    resp_t id;
    cmc_get_ok("/v1/identity", &id);
    uint8_t der[64];
    const char *der_hex = jstr(id.json, "public_key_der_hex");
    long der_len = hex_decode(der_hex, strlen(der_hex), der, sizeof der);
    ck_assert_msg(der_len == 44, "cmc public key '%s'", der_hex);
    resp_free(&id);

    resp_t r;
    cmc_get_ok(target, &r);
    uint64_t ts = ju64(r.json, "timestamp_seconds"), rate = ju64(r.json, "xdr_permyriad_per_icp");
    const char *sig_hex = jstr(r.json, "signature");
    uint8_t sig[crypto_sign_BYTES];
    ck_assert_msg(hex_decode(sig_hex, strlen(sig_hex), sig, sizeof sig) == (long)sizeof sig,
                  "%s: signature '%s'", target, sig_hex);
    uint8_t msg[1 + 32 + 16];
    size_t n = strlen(domain);
    msg[0] = (uint8_t)n;
    memcpy(msg + 1, domain, n);
    for (int i = 0; i < 8; i++) {
        msg[1 + n + (size_t)i] = (uint8_t)(ts >> (56 - 8 * i));
        msg[1 + n + 8 + (size_t)i] = (uint8_t)(rate >> (56 - 8 * i));
    }
    /* the raw Ed25519 key is the DER's last 32 bytes */
    ck_assert_msg(crypto_sign_verify_detached(sig, msg, 1 + n + 16, der + 12) == 0,
                  "%s: the signature does not verify over domain '%s' (answer %s)", target, domain,
                  r.body);
    /* and a signature over another domain must not verify: the domains are really separate */
    msg[1] ^= 0x01;
    ck_assert_msg(crypto_sign_verify_detached(sig, msg, 1 + n + 16, der + 12) != 0,
                  "%s: the signature verifies over a changed message", target);
    resp_free(&r);
}

START_TEST(test_rates_are_signed)
{
    advance(SECOND);
    set_rate(1000000);
    assert_rate_signed("/v1/cycles/conversion-rate", "icp-xdr-rate");
    assert_rate_signed("/v1/cycles/average-conversion-rate", "icp-xdr-rate-average");
}
END_TEST

/* ---- the flows ---------------------------------------------------------------------------- */

START_TEST(test_create_canister_controlled_by_caller)
{
    const identity_t *u = &users[0];
    char me[PRINCIPAL_TEXT_MAX], can[PRINCIPAL_TEXT_MAX];
    principal_text_of(u, me);
    set_rate(1000000);
    create_canister(u, ICP, can);
    char target[128];
    snprintf(target, sizeof target, "/v1/canisters/%s", can);
    resp_t r;
    cmc_get_ok(target, &r);
    ck_assert_str_eq(jstr(r.json, "canister_id"), can);
    json_t *ctl = jget(r.json, "controllers");
    ck_assert_msg(json_array_size(ctl) == 1 && json_is_string(json_array_get(ctl, 0)) &&
                      strcmp(json_string_value(json_array_get(ctl, 0)), me) == 0,
                  "controllers of %s: %s", can, r.body);
    char subnet[PRINCIPAL_TEXT_MAX];
    snprintf(subnet, sizeof subnet, "%s", jstr(r.json, "subnet"));
    resp_free(&r);
    /* created on a default subnet: the caller has no authorized list */
    cmc_get_ok("/v1/subnets", &r);
    json_t *defaults = jget(r.json, "default_subnets");
    bool found = false;
    for (size_t i = 0; i < json_array_size(defaults); i++) {
        const char *d = json_string_value(json_array_get(defaults, i));
        found |= d && strcmp(d, subnet) == 0;
    }
    ck_assert_msg(found, "subnet %s is not a default subnet: %s", subnet, r.body);
    resp_free(&r);
}
END_TEST

START_TEST(test_top_up_burns_and_credits)
{
    const identity_t *u = &users[1];
    char me[PRINCIPAL_TEXT_MAX], can[PRINCIPAL_TEXT_MAX], dep[65], acct[65];
    principal_text_of(u, me);
    account_hex_of(&u->principal, NULL, acct);
    set_rate(1000000);
    create_canister(u, ICP, can);
    uint64_t c0 = canister_cycles(can);
    deposit_account("top-up", can, dep);

    supply_t s0, s1;
    supply_of(&s0);
    uint64_t b0 = balance(acct);
    uint64_t amount = 3 * ICP + 12345;
    uint64_t blk = pay(u, dep, amount, TPUP);
    resp_t r;
    cmc_post(u, "/v1/cycles/notify-top-up", top_up_body(blk, can), &r);
    ck_assert_msg(r.status == 200, "notify-top-up: %ld %s", r.status, r.body);
    /* cycles = e8s x rate at 10^12 cycles per XDR (spec/cmc.md 2.2) */
    ck_assert_uint_eq(ju64(r.json, "cycles"), amount * 1000000ULL);
    resp_free(&r);

    supply_of(&s1);
    ck_assert_msg(s1.total == s0.total - amount - FEE,
                  "supply %" PRIu64 " -> %" PRIu64 ": expected down by %" PRIu64, s0.total,
                  s1.total, (uint64_t)(amount + FEE));
    ck_assert_uint_eq(s1.burned, s0.burned + amount);
    ck_assert_uint_eq(s1.fees, s0.fees + FEE);
    ck_assert_uint_eq(balance(acct), b0 - amount - FEE);
    ck_assert_uint_eq(balance(dep), 0);
    ck_assert_uint_eq(canister_cycles(can), c0 + amount * 1000000ULL);
    /* the burn is the block after the transfer, from the deposit account */
    json_t *burn = block_at(blk + 1);
    json_t *op = block_op(burn);
    ck_assert_str_eq(jstr(op, "type"), "burn");
    ck_assert_str_eq(jstr(op, "from"), dep);
    ck_assert_uint_eq(ju64(op, "amount_e8s"), amount);
    json_decref(burn);
}
END_TEST

START_TEST(test_unknown_memo_refunded_less_one_fee)
{
    const identity_t *u = &users[2];
    char can[PRINCIPAL_TEXT_MAX], dep[65], acct[65];
    account_hex_of(&u->principal, NULL, acct);
    snprintf(can, sizeof can, "%s", GOVERNANCE_PRINCIPAL);
    deposit_account("top-up", can, dep);
    supply_t s0, s1;
    supply_of(&s0);
    uint64_t b0 = balance(acct);
    uint64_t blk = pay(u, dep, 5 * ICP, 0xDEADBEEFULL);
    resp_t r;
    cmc_post(u, "/v1/cycles/notify-top-up", top_up_body(blk, can), &r);
    assert_problem(&r, 422, "Refunded", "notify of a meaningless memo");
    uint64_t refund = ju64(r.json, "refund_block_index");
    ck_assert_msg(strstr(r.body, "0xdeadbeef") != NULL, "the reason names the memo: %s", r.body);
    resp_free(&r);
    json_t *blk_json = block_at(refund);
    json_t *op = block_op(blk_json);
    ck_assert_str_eq(jstr(op, "type"), "transfer");
    ck_assert_str_eq(jstr(op, "from"), dep);
    ck_assert_str_eq(jstr(op, "to"), acct);
    ck_assert_uint_eq(ju64(op, "amount_e8s"), 5 * ICP - FEE);
    json_decref(blk_json);
    ck_assert_uint_eq(balance(acct), b0 - 2 * FEE);
    ck_assert_uint_eq(balance(dep), 0);
    supply_of(&s1);
    ck_assert_uint_eq(s1.total, s0.total - 2 * FEE);
    ck_assert_uint_eq(s1.burned, s0.burned);
}
END_TEST

/* Waits (up to 10 s) for block h to exist, then asserts it burns amount from account from. */
static void assert_burn_lands(uint64_t h, const char *from, uint64_t amount)
{
    for (int i = 0; i < 100 && chain_length() <= h; i++) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(chain_length() > h, "no block %" PRIu64 " (the burn) after 10 s", h);
    json_t *b = block_at(h);
    json_t *op = block_op(b);
    ck_assert_str_eq(jstr(op, "type"), "burn");
    ck_assert_str_eq(jstr(op, "from"), from);
    ck_assert_uint_eq(ju64(op, "amount_e8s"), amount);
    json_decref(b);
}

/* minted_in_window of GET /v1/cycles/minting-limit */
static uint64_t minted_in_window(void)
{
    resp_t r;
    cmc_get_ok("/v1/cycles/minting-limit", &r);
    ck_assert_uint_eq(ju64(r.json, "limit"), CYCLES_LIMIT);
    uint64_t m = ju64(r.json, "minted_in_window");
    resp_free(&r);
    return m;
}

START_TEST(test_limiter_refuses_and_refunds)
{
    const identity_t *u = &users[3];
    char can[PRINCIPAL_TEXT_MAX], dep[65], acct[65];
    account_hex_of(&u->principal, NULL, acct);
    set_rate(1000000);
    create_canister(u, ICP, can);
    deposit_account("top-up", can, dep);
    /* two hours on: every earlier minting is out of the 1-hour window */
    advance(7200 * SECOND);
    ck_assert_uint_eq(minted_in_window(), 0);
    /* 10^9 permyriad: 1 ICP is 10^17 cycles, so a second ICP passes the 1.5 x 10^17 limit */
    set_rate(1000000000);
    uint64_t c0 = canister_cycles(can);
    uint64_t first = pay(u, dep, ICP, TPUP);
    resp_t r;
    cmc_post(u, "/v1/cycles/notify-top-up", top_up_body(first, can), &r);
    ck_assert_msg(r.status == 200, "first top-up: %ld %s", r.status, r.body);
    ck_assert_uint_eq(ju64(r.json, "cycles"), 100000000000000000ULL);
    resp_free(&r);
    ck_assert_uint_eq(minted_in_window(), 100000000000000000ULL);

    uint64_t b0 = balance(acct);
    uint64_t second = pay(u, dep, ICP, TPUP);
    cmc_post(u, "/v1/cycles/notify-top-up", top_up_body(second, can), &r);
    assert_problem(&r, 422, "Refunded", "a top-up past the minting limit");
    ck_assert_msg(strstr(r.body, "please try again later") != NULL, "limiter text: %s", r.body);
    uint64_t refund = ju64(r.json, "refund_block_index");
    resp_free(&r);
    /* refunded less the top-up refund fee (20 000) and the ledger fee; then the 20 000 are
     * burned from the deposit account. The Refunded answer comes only once that burn landed
     * (main.rs refund_icp awaits burn_and_log), so the burn's block is there already. */
    json_t *b = block_at(refund);
    ck_assert_uint_eq(ju64(block_op(b), "amount_e8s"), ICP - 30000);
    json_decref(b);
    ck_assert_msg(chain_length() > refund + 1, "the Refunded answer came before the burn landed");
    assert_burn_lands(refund + 1, dep, 20000);
    ck_assert_uint_eq(balance(acct), b0 - ICP - FEE + (ICP - 30000));
    ck_assert_uint_eq(canister_cycles(can), c0 + 100000000000000000ULL);
    ck_assert_uint_eq(minted_in_window(), 100000000000000000ULL);

    /* an hour and a minute later the window has room again */
    advance(3660 * SECOND);
    uint64_t third = pay(u, dep, ICP, TPUP);
    cmc_post(u, "/v1/cycles/notify-top-up", top_up_body(third, can), &r);
    ck_assert_msg(r.status == 200, "top-up in the next window: %ld %s", r.status, r.body);
    resp_free(&r);
    ck_assert_uint_eq(canister_cycles(can), c0 + 2 * 100000000000000000ULL);
    set_rate(1000000);
    advance(7200 * SECOND);
}
END_TEST

/* ---- 100 concurrent notifies of one block --------------------------------------------------- */

typedef struct {
    const identity_t *id;
    const char *body;
    uint64_t n;
    long status;
    char answer[512];
} notify_job_t;

static void *notify_thread(void *arg)
{
    notify_job_t *j = arg;
    signed_t s;
    /* each its own expiry: 100 different requests, not replays of one */
    sign_as(j->id, "POST", "/v1/cycles/notify-top-up", j->body, wall_nanos() + 120 * SECOND + j->n,
            &s);
    resp_t r;
    char err[256];
    if (!http_exchange(cmc_url, "POST", "/v1/cycles/notify-top-up", j->body, strlen(j->body),
                       s.lines, false, &r, err, sizeof err)) {
        j->status = -1;
        snprintf(j->answer, sizeof j->answer, "%s", err);
        return NULL;
    }
    j->status = r.status;
    snprintf(j->answer, sizeof j->answer, "%s", r.body);
    resp_free(&r);
    return NULL;
}

/* Sends CONCURRENT notifies of body at once; counts 200s, 422 Refunded and 409 Processing (and
 * 503, a request that outlived its bound: the notification goes on). Anything else fails. */
static void notify_storm(const identity_t *id, const char *body, int *ok, int *refunded)
{
    static notify_job_t jobs[CONCURRENT];
    pthread_t th[CONCURRENT];
    for (int i = 0; i < CONCURRENT; i++) {
        jobs[i] = (notify_job_t){.id = id, .body = body, .n = (uint64_t)i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, notify_thread, &jobs[i]), 0);
    }
    *ok = *refunded = 0;
    for (int i = 0; i < CONCURRENT; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < CONCURRENT; i++) {
        const notify_job_t *j = &jobs[i];
        ck_assert_msg(j->status == 200 || j->status == 409 || j->status == 422 || j->status == 503,
                      "notify %d: %ld %s", i, j->status, j->answer);
        if (j->status == 409)
            ck_assert_msg(strstr(j->answer, "Processing") != NULL, "409: %s", j->answer);
        if (j->status == 422)
            ck_assert_msg(strstr(j->answer, "Refunded") != NULL, "422: %s", j->answer);
        *ok += j->status == 200;
        *refunded += j->status == 422;
    }
}

/* Notifies body until the answer is final (not Processing, not 503), at most ~20 s. */
static void notify_final(const identity_t *id, const char *body, resp_t *r)
{
    for (int tries = 0; tries < 200; tries++) {
        json_error_t jerr;
        cmc_post(id, "/v1/cycles/notify-top-up", json_loads(body, 0, &jerr), r);
        if (r->status != 409 && r->status != 503)
            return;
        resp_free(r);
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    ck_abort_msg("notification of %s still not final after 20 s", body);
}

START_TEST(test_concurrent_notifies_burn_once)
{
    const identity_t *u = &users[4];
    char can[PRINCIPAL_TEXT_MAX], dep[65];
    set_rate(1000000);
    create_canister(u, ICP, can);
    deposit_account("top-up", can, dep);
    uint64_t c0 = canister_cycles(can);
    uint64_t blk = pay(u, dep, 2 * ICP, TPUP);
    uint64_t len0 = chain_length();
    char body[256];
    snprintf(body, sizeof body, "{\"block_index\":\"%" PRIu64 "\",\"canister_id\":\"%s\"}", blk,
             can);
    int ok, refunded;
    notify_storm(u, body, &ok, &refunded);
    ck_assert_msg(refunded == 0, "%d refunded", refunded);
    resp_t r;
    notify_final(u, body, &r);
    ck_assert_msg(r.status == 200, "final notify: %ld %s", r.status, r.body);
    ck_assert_uint_eq(ju64(r.json, "cycles"), 2 * ICP * 1000000ULL);
    resp_free(&r);
    /* exactly one burn on the ledger, exactly one credit on the canister */
    ck_assert_msg(chain_length() == len0 + 1, "%" PRIu64 " blocks after the storm, expected 1",
                  chain_length() - len0);
    json_t *b = block_at(len0);
    ck_assert_str_eq(jstr(block_op(b), "type"), "burn");
    ck_assert_uint_eq(ju64(block_op(b), "amount_e8s"), 2 * ICP);
    json_decref(b);
    ck_assert_uint_eq(canister_cycles(can), c0 + 2 * ICP * 1000000ULL);
    ck_assert_uint_eq(balance(dep), 0);
}
END_TEST

START_TEST(test_concurrent_notifies_refund_once)
{
    const identity_t *u = &users[5];
    char dep[65], acct[65];
    account_hex_of(&u->principal, NULL, acct);
    deposit_account("top-up", GOVERNANCE_PRINCIPAL, dep);
    uint64_t blk = pay(u, dep, ICP, 4242);
    uint64_t b0 = balance(acct), len0 = chain_length();
    char body[256];
    snprintf(body, sizeof body, "{\"block_index\":\"%" PRIu64 "\",\"canister_id\":\"%s\"}", blk,
             GOVERNANCE_PRINCIPAL);
    int ok, refunded;
    notify_storm(u, body, &ok, &refunded);
    ck_assert_msg(ok == 0, "%d answered 200 for a meaningless memo", ok);
    resp_t r;
    notify_final(u, body, &r);
    assert_problem(&r, 422, "Refunded", "the final notify");
    ck_assert_uint_eq(ju64(r.json, "refund_block_index"), len0);
    resp_free(&r);
    ck_assert_msg(chain_length() == len0 + 1, "%" PRIu64 " blocks after the storm, expected 1",
                  chain_length() - len0);
    ck_assert_uint_eq(balance(acct), b0 + ICP - FEE);
    ck_assert_uint_eq(balance(dep), 0);
}
END_TEST

static Suite *cmc_suite(void)
{
    Suite *s = suite_create("cmc");
    TCase *tc = tcase_create("flows");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rates_are_signed);
    tcase_add_test(tc, test_create_canister_controlled_by_caller);
    tcase_add_test(tc, test_top_up_burns_and_credits);
    tcase_add_test(tc, test_unknown_memo_refunded_less_one_fee);
    tcase_add_test(tc, test_concurrent_notifies_burn_once);
    tcase_add_test(tc, test_concurrent_notifies_refund_once);
    tcase_add_test(tc, test_limiter_refuses_and_refunds);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (!crypto_init()) {
        fprintf(stderr, "check_cmc: cannot initialise libsodium\n");
        return 1;
    }
    make_identities();
    if (argc == 2 && strcmp(argv[1], "--print-genesis") == 0) {
        printf("{\"initial_balances\": [");
        for (int i = 0; i < USERS; i++) {
            char a[ACCOUNT_HEX_LEN + 1];
            account_hex_of(&users[i].principal, NULL, a);
            printf("%s{\"account\": \"%s\", \"amount_e8s\": \"%llu\"}", i ? ", " : "", a, USER_E8S);
        }
        printf("], \"fee_e8s\": \"10000\", \"token_symbol\": \"ICP\", "
               "\"token_name\": \"Internet Computer\"}\n");
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--print-oracle") == 0) {
        char p[PRINCIPAL_TEXT_MAX];
        principal_to_text(&oracle.principal, p);
        puts(p);
        return 0;
    }
    if (argc >= 2) {
        fprintf(stderr, "usage: check_cmc [--print-genesis | --print-oracle]\n"
                        "runs the suite against $E2E_LEDGER_URL and $E2E_CMC_URL\n");
        return 2;
    }
    ledger_url = getenv("E2E_LEDGER_URL");
    cmc_url = getenv("E2E_CMC_URL");
    if (!ledger_url || !*ledger_url || !cmc_url || !*cmc_url) {
        fprintf(stderr, "check_cmc: set E2E_LEDGER_URL and E2E_CMC_URL\n");
        return 2;
    }
    e2e_base_url = ledger_url;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "check_cmc: cannot initialise libcurl\n");
        return 1;
    }
    SRunner *sr = srunner_create(cmc_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    int ran = srunner_ntests_run(sr);
    srunner_free(sr);
    curl_global_cleanup();
    printf("check_cmc: %d checks, %d failed\n", ran, failed);
    return failed == 0 ? 0 : 1;
}
