/*
 * check_ledger_api: end-to-end Check suite against a live nns-ledger (shared/API.md, Ledger).
 *
 * The ledger's base URL comes from E2E_LEDGER_URL. It runs with --test-clock and a genesis that
 * funds four Ed25519 identities, identity i = identity_from_seed(SHA-256("e2e-<i>")), and one
 * secp256k1 identity (dfx's default key type), identity_from_secp256k1_secret(SHA-256("e2e-k1")),
 * with GENESIS_E8S each; `check_ledger_api --print-genesis [ACCOUNT...]` prints that genesis (the
 * extra accounts, 64-hex or ICRC-1 text, are funded the same way). When E2E_RESTART_CMD is set,
 * the replay test runs it with system() to restart the ledger between two identical requests.
 *
 * What is pure request and answer (refusals, bad bodies, bad reads, 404/405, history paging,
 * the test clock) lives in tests/cases/ledger as data; this suite keeps what needs
 * cryptography (signatures, the tip signature), concurrency, restarts, large or chunked
 * bodies, or walks a whole list. The helpers are tests/e2e/harness.c's.
 *
 * Requests go through libcurl directly, so a test controls every byte: the target, the body and
 * the signature headers (signed with sign_request()). Tests never assume absolute balances they
 * did not establish themselves: recipients are fresh random identities, memos are random, and
 * created_at_time values come from the ledger's own now_nanos (GET /v1/identity), so the tests
 * do not depend on their order and can be rerun against the same ledger.
 */
#include <check.h>
#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "account.h"
#include "crypto.h"
#include "harness.h"
#include "hex.h"
#include "keyfile.h"
#include "principal.h"
#include "sign.h"

#define NIDS 4
#define GENESIS_E8S 1000000000000ULL

static identity_t ids[NIDS];
static identity_t k1; /* secp256k1 */

/* ================================================================ local helpers */

/* ICRC-1 transfer body. to_json is the JSON of to_account (a quoted text or an object);
 * fee, memo_hex, from_sub NULL and created 0 leave the field out. */
static void icrc1_body(char *out, size_t cap, const char *to_json, uint64_t amount, const char *fee,
                       const char *memo_hex, uint64_t created, const char *from_sub)
{
    int n =
        snprintf(out, cap, "{\"to_account\":%s,\"amount_e8s\":\"%" PRIu64 "\"", to_json, amount);
    if (fee)
        n += snprintf(out + n, cap - (size_t)n, ",\"fee_e8s\":\"%s\"", fee);
    if (memo_hex)
        n += snprintf(out + n, cap - (size_t)n, ",\"icrc1_memo\":\"%s\"", memo_hex);
    if (created)
        n += snprintf(out + n, cap - (size_t)n, ",\"created_at_time\":\"%" PRIu64 "\"", created);
    if (from_sub)
        n += snprintf(out + n, cap - (size_t)n, ",\"from_subaccount\":\"%s\"", from_sub);
    snprintf(out + n, cap - (size_t)n, "}");
}

static void quoted(char *out, size_t cap, const char *text)
{
    snprintf(out, cap, "\"%s\"", text);
}

/* ================================================================ the service */

START_TEST(test_identity_shape)
{
    resp_t r;
    get_ok("/v1/identity", &r);
    char ctype[128];
    ck_assert(resp_header(&r, "Content-Type", ctype, sizeof ctype));
    ck_assert_msg(strncmp(ctype, "application/json", 16) == 0, "content type '%s'", ctype);
    ck_assert_str_eq(jstr(r.json, "service"), "ledger");
    ck_assert_str_eq(jstr(r.json, "principal"), LEDGER_PRINCIPAL);
    const char *pk = jstr(r.json, "public_key_der_hex");
    ck_assert_msg(is_lower_hex(pk, 2 * ED25519_DER_BYTES), "public key '%s'", pk);
    uint8_t der[ED25519_DER_BYTES], raw[ED25519_PUBLIC_KEY_BYTES];
    ck_assert_int_eq(hex_decode(pk, strlen(pk), der, sizeof der), ED25519_DER_BYTES);
    ck_assert(ed25519_raw_from_der(der, sizeof der, raw));
    uint64_t now = ju64(r.json, "now_nanos");
    /* the test clock starts at the wall clock and only moves forward */
    ck_assert_msg(now > 1600000000ULL * SECOND, "now_nanos %" PRIu64 " is not a date", now);
    resp_free(&r);
}
END_TEST

/* The value of the sample named exactly `series` (name and labels) in Prometheus text. */
static uint64_t metric_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtoull(p + n + 1, NULL, 10);
    }
    ck_abort_msg("metric '%s' not found", series);
    return 0;
}

START_TEST(test_metrics)
{
    resp_t r;
    get("/metrics", &r);
    ck_assert_int_eq(r.status, 200);
    char ctype[128];
    ck_assert(resp_header(&r, "Content-Type", ctype, sizeof ctype));
    ck_assert_msg(strncmp(ctype, "text/plain", 10) == 0, "content type '%s'", ctype);
    ck_assert_msg(strstr(r.body, "nns_http_requests_total") != NULL, "no nns_http_requests_total");
    ck_assert_msg(strstr(r.body, "nns_rounds_total") != NULL, "no nns_rounds_total");
    uint64_t before =
        metric_value(r.body, "nns_http_requests_total{service=\"ledger\",method=\"GET\",route=\"unmatched\",class=\"4xx\"}");
    resp_free(&r);
    /* a 404 is counted */
    get("/v1/no-such-thing", &r);
    ck_assert_int_eq(r.status, 404);
    resp_free(&r);
    get("/metrics", &r);
    uint64_t after =
        metric_value(r.body, "nns_http_requests_total{service=\"ledger\",method=\"GET\",route=\"unmatched\",class=\"4xx\"}");
    ck_assert_uint_ge(after, before + 1);
    resp_free(&r);
}
END_TEST

/* Verifies the tip signature of GET /v1/ledger with the identity's key. */
static bool tip_signature_ok(const uint8_t pk[32], uint64_t length, const char *tip_hex,
                             const char *sig_hex)
{
    uint8_t msg[1 + 14 + 8 + 32], sig[64];
    msg[0] = 14;
    memcpy(msg + 1, "icp-ledger-tip", 14);
    for (int i = 0; i < 8; i++)
        msg[15 + i] = (uint8_t)(length >> (56 - 8 * i));
    if (hex_decode(tip_hex, strlen(tip_hex), msg + 23, 32) != 32 ||
        hex_decode(sig_hex, strlen(sig_hex), sig, sizeof sig) != 64)
        return false;
    return ed25519_verify(pk, msg, sizeof msg, sig);
}

START_TEST(test_ledger_info_and_tip_signature)
{
    resp_t id, r, s;
    get_ok("/v1/identity", &id);
    get_ok("/v1/ledger", &r);
    get_ok("/v1/supply", &s);
    ck_assert_str_eq(jstr(r.json, "name"), "Internet Computer");
    ck_assert_str_eq(jstr(r.json, "symbol"), "ICP");
    json_t *dec = jget(r.json, "decimals");
    ck_assert_msg(json_is_integer(dec) && json_integer_value(dec) == 8, "decimals is not 8");
    ck_assert_str_eq(jstr(r.json, "fee_e8s"), "10000");
    ck_assert_str_eq(jstr(r.json, "minting_account"), MINTING_ACCOUNT);
    uint64_t length = ju64(r.json, "chain_length");
    ck_assert_uint_ge(length, NIDS);
    ck_assert_uint_eq(ju64(r.json, "total_supply_e8s"), ju64(s.json, "total_supply_e8s"));
    const char *tip = jstr(r.json, "tip_hash");
    const char *sig = jstr(r.json, "tip_signature");
    ck_assert_msg(is_lower_hex(tip, 64), "tip_hash '%s'", tip);
    ck_assert_msg(is_lower_hex(sig, 128), "tip_signature '%s'", sig);

    /* the tip is the last block's hash */
    json_t *last = block_at(length - 1);
    ck_assert_str_eq(jstr(last, "hash"), tip);
    json_decref(last);

    uint8_t der[ED25519_DER_BYTES], pk[32];
    const char *pk_hex = jstr(id.json, "public_key_der_hex");
    ck_assert_int_eq(hex_decode(pk_hex, strlen(pk_hex), der, sizeof der), ED25519_DER_BYTES);
    ck_assert(ed25519_raw_from_der(der, sizeof der, pk));
    ck_assert_msg(tip_signature_ok(pk, length, tip, sig), "tip signature does not verify");
    /* and it binds the length */
    ck_assert(!tip_signature_ok(pk, length + 1, tip, sig));
    resp_free(&id);
    resp_free(&r);
    resp_free(&s);
}
END_TEST

/* ================================================================ transfers */

/* The account entry of GET /v1/principals/{p}/accounts with that identifier, or NULL. */
static json_t *principal_account(json_t *list, const char *account_hex)
{
    json_t *accounts = jget(list, "accounts"), *a;
    size_t i;
    ck_assert(json_is_array(accounts));
    json_array_foreach(accounts, i, a)
    {
        if (strcmp(jstr(a, "account_identifier"), account_hex) == 0)
            return a;
    }
    return NULL;
}

/* A secp256k1 identity (88-byte DER key, r || s ECDSA signatures) transfers like an Ed25519 one:
 * alone, and as an item of POST /v1/transfer-batches. */
START_TEST(test_secp256k1_transfer)
{
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_hex[65], body[BODY_MAX];
    account_hex_of(&k1.principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    uint64_t from0 = balance(from_hex), amount = 5000000;

    legacy_body(body, sizeof body, to_hex, amount, FEE, fresh_memo(), ledger_now(), NULL);
    uint64_t h = transfer_ok(&k1, body);
    ck_assert_uint_eq(balance(from_hex), from0 - amount - FEE);
    ck_assert_uint_eq(balance(to_hex), amount);
    char target[64];
    resp_t r;
    snprintf(target, sizeof target, "/v1/blocks/%" PRIu64, h);
    get_ok(target, &r);
    ck_assert_msg(strstr(r.body, from_hex) != NULL, "block %" PRIu64 " lacks the sender: %s", h,
                  r.body);
    resp_free(&r);

    /* a batch of one item signed by the secp256k1 key */
    signed_t sg;
    legacy_body(body, sizeof body, to_hex, amount, FEE, fresh_memo(), ledger_now(), NULL);
    sign_as(&k1, "POST", "/v1/transfers", body, wall_nanos() + 120 * SECOND, &sg);
    ck_assert_uint_eq(strlen(sg.pk), 2 * SECP256K1_DER_BYTES);
    json_t *item = json_pack("{s:s, s:s, s:s, s:s}", "public_key_der_hex", sg.pk, "expiry_nanos",
                             sg.expiry, "signature_hex", sg.sig, "body", body);
    json_t *o = json_pack("{s:[o]}", "transfers", item);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    ck_assert_ptr_nonnull(text);
    http_send("POST", "/v1/transfer-batches", text, NULL, &r);
    free(text);
    ck_assert_msg(r.status == 200, "batch answered %ld: %s", r.status, r.body);
    json_t *res = json_array_get(jget(r.json, "results"), 0);
    ck_assert_msg(json_is_object(res) &&
                      json_integer_value(json_object_get(res, "status")) == 200,
                  "batch item refused: %s", r.body);
    resp_free(&r);
    ck_assert_uint_eq(balance(from_hex), from0 - 2 * (amount + FEE));
    ck_assert_uint_eq(balance(to_hex), 2 * amount);

    /* a wrong signature from the same key is refused with 401 */
    legacy_body(body, sizeof body, to_hex, amount, FEE, fresh_memo(), ledger_now(), NULL);
    sign_as(&k1, "POST", "/v1/transfers", body, wall_nanos() + 120 * SECOND, &sg);
    sg.sig[5] = sg.sig[5] == '0' ? '1' : '0';
    signed_lines(&sg);
    http_send("POST", "/v1/transfers", body, sg.lines, &r);
    ck_assert_msg(r.status == 401, "tampered secp256k1 signature answered %ld: %s", r.status,
                  r.body);
    resp_free(&r);
    ck_assert_uint_eq(balance(from_hex), from0 - 2 * (amount + FEE));
}
END_TEST

START_TEST(test_legacy_transfer)
{
    const identity_t *from = &ids[0];
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_hex[65], to_text[ICRC1_TEXT_MAX], body[BODY_MAX], target[256];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    icrc1_text_of(&to.principal, NULL, to_text);
    uint64_t from_count0, amount = 123456789, memo = fresh_memo();
    uint64_t from0 = balance_count(from_hex, &from_count0);
    supply_t s0, s1;
    supply_of(&s0);
    uint64_t now = ledger_now();

    legacy_body(body, sizeof body, to_hex, amount, FEE, memo, now, NULL);
    uint64_t h = transfer_ok(from, body);

    /* both sides, by hex and by ICRC-1 text */
    uint64_t from_count1, to_count;
    ck_assert_uint_eq(balance_count(from_hex, &from_count1), from0 - amount - FEE);
    ck_assert_uint_eq(from_count1, from_count0 + 1);
    ck_assert_uint_eq(balance_count(to_hex, &to_count), amount);
    ck_assert_uint_eq(to_count, 1);
    resp_t r;
    snprintf(target, sizeof target, "/v1/accounts/%s", to_text);
    get_ok(target, &r);
    ck_assert_str_eq(jstr(r.json, "account_identifier"), to_hex);
    ck_assert_str_eq(jstr(r.json, "icrc1_account"), to_text);
    ck_assert_uint_eq(ju64(r.json, "balance_e8s"), amount);
    ck_assert_uint_eq(ju64(r.json, "transaction_count"), 1);
    resp_free(&r);
    snprintf(target, sizeof target, "/v1/accounts/%s", to_hex);
    get_ok(target, &r);
    ck_assert_str_eq(jstr(r.json, "account_identifier"), to_hex);
    resp_free(&r);

    /* the block */
    snprintf(target, sizeof target, "/v1/blocks/%" PRIu64, h);
    get_ok(target, &r);
    json_t *b = r.json;
    ck_assert_uint_eq(ju64(b, "height"), h);
    const char *hash = jstr(b, "hash");
    ck_assert_msg(is_lower_hex(hash, 64), "hash '%s'", hash);
    json_t *parent = block_at(h - 1);
    ck_assert_str_eq(jstr(b, "parent_hash"), jstr(parent, "hash"));
    json_decref(parent);
    /* the test clock stands still, but block timestamps never go below the tip's */
    ck_assert_uint_ge(ju64(b, "timestamp"), now);
    json_t *tx = jget(b, "transaction");
    json_t *op = jget(tx, "operation");
    ck_assert_str_eq(jstr(op, "type"), "transfer");
    ck_assert_str_eq(jstr(op, "from"), from_hex);
    ck_assert_str_eq(jstr(op, "to"), to_hex);
    ck_assert_uint_eq(ju64(op, "amount_e8s"), amount);
    ck_assert_uint_eq(ju64(op, "fee_e8s"), FEE);
    ck_assert_uint_eq(ju64(tx, "memo"), memo);
    ck_assert_uint_eq(ju64(tx, "created_at_time"), now);
    ck_assert_msg(json_object_get(tx, "icrc1_memo") == NULL, "legacy block has an icrc1_memo");
    char tx_hash[65];
    snprintf(tx_hash, sizeof tx_hash, "%s", jstr(b, "tx_hash"));
    ck_assert_msg(is_lower_hex(tx_hash, 64), "tx_hash '%s'", tx_hash);
    char etag[128], cache[128], expected_etag[80];
    snprintf(expected_etag, sizeof expected_etag, "\"%s\"", hash);
    ck_assert_msg(resp_header(&r, "ETag", etag, sizeof etag), "block has no ETag");
    ck_assert_str_eq(etag, expected_etag);
    ck_assert_msg(resp_header(&r, "Cache-Control", cache, sizeof cache), "no Cache-Control");
    ck_assert_msg(strstr(cache, "immutable") != NULL, "Cache-Control '%s'", cache);
    resp_free(&r);

    /* found by its transaction hash */
    snprintf(target, sizeof target, "/v1/transactions/%s", tx_hash);
    get_ok(target, &r);
    json_t *items = jget(r.json, "items"), *it;
    size_t i;
    bool found = false;
    ck_assert(json_is_array(items));
    json_array_foreach(items, i, it)
    {
        ck_assert_str_eq(jstr(it, "tx_hash"), tx_hash);
        if (ju64(it, "height") == h)
            found = true;
    }
    ck_assert_msg(found, "block %" PRIu64 " not among the transaction's blocks", h);
    resp_free(&r);

    /* an upper-case hash in the path finds it too; the answer names it in lower case */
    char upper[65];
    for (size_t k = 0; k < 64; k++)
        upper[k] = (char)toupper((unsigned char)tx_hash[k]);
    upper[64] = '\0';
    snprintf(target, sizeof target, "/v1/transactions/%s", upper);
    get_ok(target, &r);
    ck_assert_str_eq(jstr(r.json, "tx_hash"), tx_hash);
    resp_free(&r);

    /* supply: the fee is burned, nothing minted */
    supply_of(&s1);
    ck_assert_uint_eq(s1.total, s0.total - FEE);
    ck_assert_uint_eq(s1.fees, s0.fees + FEE);
    ck_assert_uint_eq(s1.minted, s0.minted);
    ck_assert_uint_eq(s1.burned, s0.burned);

    /* the sender's principal lists its default account with its balance */
    char ptext[PRINCIPAL_TEXT_MAX];
    principal_to_text(&from->principal, ptext);
    snprintf(target, sizeof target, "/v1/principals/%s/accounts", ptext);
    get_ok(target, &r);
    ck_assert_str_eq(jstr(r.json, "principal"), ptext);
    ck_assert_str_eq(jstr(r.json, "default_account_identifier"), from_hex);
    json_t *a = principal_account(r.json, from_hex);
    ck_assert_msg(a != NULL, "default account not listed: %s", r.body);
    ck_assert_uint_eq(ju64(a, "balance_e8s"), from0 - amount - FEE);
    resp_free(&r);
}
END_TEST

START_TEST(test_self_transfer_costs_the_fee)
{
    const identity_t *from = &ids[0];
    char hex[65], body[BODY_MAX];
    account_hex_of(&from->principal, NULL, hex);
    uint64_t c0, c1, b0 = balance_count(hex, &c0);
    legacy_body(body, sizeof body, hex, 5000, FEE, fresh_memo(), ledger_now(), NULL);
    uint64_t h = transfer_ok(from, body);
    ck_assert_uint_eq(balance_count(hex, &c1), b0 - FEE);
    ck_assert_uint_eq(c1, c0 + 1);
    json_t *b = block_at(h);
    ck_assert_str_eq(jstr(block_op(b), "from"), hex);
    ck_assert_str_eq(jstr(block_op(b), "to"), hex);
    json_decref(b);
}
END_TEST

/* u64 values travel as strings end to end: the largest memo, and a zero amount (legal: the
 * fee is still paid). */
START_TEST(test_u64_extremes)
{
    const identity_t *from = &ids[3];
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_hex[65], body[BODY_MAX];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    uint64_t b0 = balance(from_hex), now = ledger_now();
    legacy_body(body, sizeof body, to_hex, 0, FEE, UINT64_MAX, now, NULL);
    uint64_t h = transfer_ok(from, body);
    json_t *b = block_at(h);
    ck_assert_str_eq(jstr(jget(b, "transaction"), "memo"), "18446744073709551615");
    ck_assert_str_eq(jstr(block_op(b), "amount_e8s"), "0");
    json_decref(b);
    ck_assert_uint_eq(balance(from_hex), b0 - FEE);
    uint64_t count;
    ck_assert_uint_eq(balance_count(to_hex, &count), 0);
    ck_assert_uint_eq(count, 1);
    /* the same block through the account's history (served from PostgreSQL) */
    char target[256];
    snprintf(target, sizeof target, "/v1/accounts/%s/transactions", to_hex);
    resp_t r;
    get_ok(target, &r);
    json_t *item = json_array_get(jget(r.json, "items"), 0);
    ck_assert_ptr_nonnull(item);
    ck_assert_uint_eq(ju64(item, "height"), h);
    ck_assert_str_eq(jstr(jget(item, "transaction"), "memo"), "18446744073709551615");
    resp_free(&r);
}
END_TEST

START_TEST(test_icrc1_transfer)
{
    const identity_t *from = &ids[1];
    identity_t to;
    identity_generate(&to);
    uint8_t sub[SUBACCOUNT_BYTES];
    fresh_subaccount(sub, NULL);
    char from_hex[65], to_hex[65], sub_hex[65], to_sub_hex[65], ptext[PRINCIPAL_TEXT_MAX],
        sub_text[ICRC1_TEXT_MAX], to_json[512], body[BODY_MAX], target[512];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    account_hex_of(&to.principal, sub, to_sub_hex);
    hex_encode(sub, SUBACCOUNT_BYTES, sub_hex);
    principal_to_text(&to.principal, ptext);
    icrc1_text_of(&to.principal, sub, sub_text);
    uint64_t from0 = balance(from_hex), now = ledger_now();

    /* (a) to_account as text, fee omitted, with an icrc1_memo */
    quoted(to_json, sizeof to_json, ptext);
    icrc1_body(body, sizeof body, to_json, 1000, NULL, "deadbeef", now, NULL);
    uint64_t ha = transfer_ok(from, body);
    ck_assert_uint_eq(balance(to_hex), 1000);
    json_t *b = block_at(ha);
    json_t *tx = jget(b, "transaction");
    ck_assert_str_eq(jstr(block_op(b), "type"), "transfer");
    ck_assert_str_eq(jstr(block_op(b), "from"), from_hex);
    ck_assert_str_eq(jstr(block_op(b), "to"), to_hex);
    ck_assert_uint_eq(ju64(block_op(b), "fee_e8s"), FEE);
    ck_assert_str_eq(jstr(tx, "icrc1_memo"), "deadbeef");
    ck_assert_uint_eq(ju64(tx, "memo"), 0);
    ck_assert_uint_eq(ju64(tx, "created_at_time"), now);
    json_decref(b);

    /* (b) to_account as {owner, subaccount}, with the fee given */
    snprintf(to_json, sizeof to_json, "{\"owner\":\"%s\",\"subaccount\":\"%s\"}", ptext, sub_hex);
    icrc1_body(body, sizeof body, to_json, 2000, "10000", NULL, 0, NULL);
    uint64_t hb = transfer_ok(from, body);
    b = block_at(hb);
    ck_assert_str_eq(jstr(block_op(b), "to"), to_sub_hex);
    ck_assert_msg(json_object_get(jget(b, "transaction"), "created_at_time") == NULL,
                  "ICRC-1 block without created_at_time got one");
    json_decref(b);

    /* (c) to_account as subaccount text */
    quoted(to_json, sizeof to_json, sub_text);
    icrc1_body(body, sizeof body, to_json, 3000, NULL, NULL, 0, NULL);
    transfer_ok(from, body);

    uint64_t count;
    ck_assert_uint_eq(balance_count(to_sub_hex, &count), 5000);
    ck_assert_uint_eq(count, 2);
    resp_t r;
    snprintf(target, sizeof target, "/v1/accounts/%s", sub_text);
    get_ok(target, &r);
    ck_assert_str_eq(jstr(r.json, "account_identifier"), to_sub_hex);
    ck_assert_str_eq(jstr(r.json, "icrc1_account"), sub_text);
    ck_assert_uint_eq(ju64(r.json, "balance_e8s"), 5000);
    resp_free(&r);
    ck_assert_uint_eq(balance(to_hex), 1000);
    ck_assert_uint_eq(balance(from_hex), from0 - 6000 - 3 * FEE);

    /* the recipient's principal lists both accounts */
    snprintf(target, sizeof target, "/v1/principals/%s/accounts", ptext);
    get_ok(target, &r);
    ck_assert_str_eq(jstr(r.json, "default_account_identifier"), to_hex);
    json_t *def = principal_account(r.json, to_hex);
    ck_assert_msg(def != NULL, "default account not listed: %s", r.body);
    ck_assert_uint_eq(ju64(def, "balance_e8s"), 1000);
    json_t *s = principal_account(r.json, to_sub_hex);
    ck_assert_msg(s != NULL, "subaccount not listed: %s", r.body);
    ck_assert_uint_eq(ju64(s, "balance_e8s"), 5000);
    ck_assert_str_eq(jstr(s, "subaccount"), sub_hex);
    ck_assert_str_eq(jstr(s, "icrc1_account"), sub_text);
    resp_free(&r);
}
END_TEST

START_TEST(test_from_subaccount)
{
    const identity_t *owner = &ids[2];
    identity_t to1, to2;
    identity_generate(&to1);
    identity_generate(&to2);
    uint8_t sub[SUBACCOUNT_BYTES];
    fresh_subaccount(sub, NULL);
    char sub_hex[65], own_sub_hex[65], sub_text[ICRC1_TEXT_MAX], to1_hex[65], to2_hex[65],
        ptext[PRINCIPAL_TEXT_MAX], to_json[256], body[BODY_MAX], target[256];
    hex_encode(sub, SUBACCOUNT_BYTES, sub_hex);
    account_hex_of(&owner->principal, sub, own_sub_hex);
    icrc1_text_of(&owner->principal, sub, sub_text);
    account_hex_of(&to1.principal, NULL, to1_hex);
    account_hex_of(&to2.principal, NULL, to2_hex);

    /* fund the owner's own subaccount */
    quoted(to_json, sizeof to_json, sub_text);
    icrc1_body(body, sizeof body, to_json, 50000, NULL, NULL, 0, NULL);
    transfer_ok(owner, body);
    ck_assert_uint_eq(balance(own_sub_hex), 50000);

    /* ICRC-1 from the subaccount */
    char to1_text[ICRC1_TEXT_MAX];
    icrc1_text_of(&to1.principal, NULL, to1_text);
    quoted(to_json, sizeof to_json, to1_text);
    icrc1_body(body, sizeof body, to_json, 20000, NULL, NULL, 0, sub_hex);
    uint64_t h = transfer_ok(owner, body);
    ck_assert_uint_eq(balance(own_sub_hex), 50000 - 20000 - FEE);
    ck_assert_uint_eq(balance(to1_hex), 20000);
    json_t *b = block_at(h);
    ck_assert_str_eq(jstr(block_op(b), "from"), own_sub_hex);
    json_decref(b);

    /* legacy from the subaccount */
    legacy_body(body, sizeof body, to2_hex, 5000, FEE, fresh_memo(), ledger_now(), sub_hex);
    h = transfer_ok(owner, body);
    ck_assert_uint_eq(balance(own_sub_hex), 50000 - 20000 - FEE - 5000 - FEE);
    ck_assert_uint_eq(balance(to2_hex), 5000);
    b = block_at(h);
    ck_assert_str_eq(jstr(block_op(b), "from"), own_sub_hex);
    json_decref(b);

    /* the owner's principal lists the subaccount */
    principal_to_text(&owner->principal, ptext);
    snprintf(target, sizeof target, "/v1/principals/%s/accounts", ptext);
    resp_t r;
    get_ok(target, &r);
    json_t *a = principal_account(r.json, own_sub_hex);
    ck_assert_msg(a != NULL, "subaccount not listed: %s", r.body);
    ck_assert_uint_eq(ju64(a, "balance_e8s"), 5000);
    ck_assert_str_eq(jstr(a, "subaccount"), sub_hex);
    resp_free(&r);
}
END_TEST

START_TEST(test_burn)
{
    const identity_t *from = &ids[2];
    char hex[65], body[BODY_MAX], to_json[64];
    account_hex_of(&from->principal, NULL, hex);
    uint64_t b0 = balance(hex);
    supply_t s0, s1;
    supply_of(&s0);
    legacy_body(body, sizeof body, MINTING_ACCOUNT, 10000, 0, fresh_memo(), ledger_now(), NULL);
    uint64_t h = transfer_ok(from, body);
    quoted(to_json, sizeof to_json, GOVERNANCE_PRINCIPAL);
    icrc1_body(body, sizeof body, to_json, 20000, NULL, NULL, 0, NULL);
    uint64_t h2 = transfer_ok(from, body);
    ck_assert_uint_eq(balance(hex), b0 - 30000);
    supply_of(&s1);
    ck_assert_uint_eq(s1.burned, s0.burned + 30000);
    ck_assert_uint_eq(s1.total, s0.total - 30000);
    ck_assert_uint_eq(s1.fees, s0.fees);
    json_t *b = block_at(h);
    ck_assert_str_eq(jstr(block_op(b), "type"), "burn");
    ck_assert_str_eq(jstr(block_op(b), "from"), hex);
    ck_assert_uint_eq(ju64(block_op(b), "amount_e8s"), 10000);
    ck_assert_msg(json_object_get(block_op(b), "to") == NULL, "a burn has no 'to'");
    json_decref(b);
    b = block_at(h2);
    ck_assert_str_eq(jstr(block_op(b), "type"), "burn");
    json_decref(b);
}
END_TEST

/* ================================================================ history and blocks */

/* One page of GET /v1/blocks; returns the heights in *hs (up to cap) and the next cursor. */
static size_t blocks_page(const char *query, uint64_t *hs, size_t cap, char *next, size_t next_cap,
                          uint64_t *length)
{
    char target[256];
    snprintf(target, sizeof target, "/v1/blocks%s", query);
    resp_t r;
    get_ok(target, &r);
    json_t *items = jget(r.json, "items"), *it;
    size_t i, n = 0;
    ck_assert(json_is_array(items));
    json_array_foreach(items, i, it)
    {
        ck_assert_uint_lt(n, cap);
        hs[n++] = ju64(it, "height");
        ck_assert_msg(is_lower_hex(jstr(it, "hash"), 64), "block hash");
    }
    if (length)
        *length = ju64(r.json, "chain_length");
    json_t *nc = jget(r.json, "next_cursor");
    if (json_is_null(nc)) {
        *next = '\0';
    } else {
        ck_assert_msg(json_is_string(nc), "next_cursor is neither a string nor null");
        ck_assert_msg(*json_string_value(nc), "next_cursor is empty");
        char *esc = curl_easy_escape(NULL, json_string_value(nc), 0);
        snprintf(next, next_cap, "%s", esc);
        curl_free(esc);
    }
    resp_free(&r);
    return n;
}

START_TEST(test_blocks_paging)
{
    uint64_t hs[600], length, expect;
    char next[128], query[256];
    size_t n = blocks_page("?limit=2", hs, 600, next, sizeof next, &length);
    ck_assert_uint_ge(length, NIDS);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(hs[0], length - 1);
    ck_assert_uint_eq(hs[1], length - 2);
    ck_assert_msg(*next, "a full page of an older chain has no cursor");
    /* follow the cursor to the end: contiguous, newest first, no duplicates */
    expect = length - 3;
    size_t seen = 2, pages = 1;
    while (*next) {
        snprintf(query, sizeof query, "?limit=2&cursor=%s", next);
        n = blocks_page(query, hs, 600, next, sizeof next, NULL);
        pages++;
        ck_assert_msg(pages < 100000, "block list does not end");
        for (size_t i = 0; i < n; i++) {
            ck_assert_uint_eq(hs[i], expect);
            expect--;
            seen++;
        }
        if (n == 0)
            break;
    }
    /* new blocks may not appear meanwhile: tests run one at a time */
    ck_assert_uint_eq(seen, length);

    /* ascending from 0 */
    n = blocks_page("?start=0&limit=3", hs, 600, next, sizeof next, NULL);
    ck_assert_uint_eq(n, 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_uint_eq(hs[i], i);
    ck_assert_msg(*next, "ascending page without cursor");
    snprintf(query, sizeof query, "?limit=3&cursor=%s", next);
    n = blocks_page(query, hs, 600, next, sizeof next, NULL);
    ck_assert_uint_eq(n, 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_uint_eq(hs[i], 3 + i);

    /* the last height ascending: one block, no cursor */
    snprintf(query, sizeof query, "?start=%" PRIu64, length - 1);
    n = blocks_page(query, hs, 600, next, sizeof next, NULL);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(hs[0], length - 1);
    ck_assert_msg(!*next, "cursor past the tip");

    /* block 0: the first genesis mint, without parent */
    json_t *b = block_at(0);
    ck_assert(json_is_null(jget(b, "parent_hash")));
    ck_assert_str_eq(jstr(block_op(b), "type"), "mint");
    ck_assert_uint_eq(ju64(block_op(b), "amount_e8s"), GENESIS_E8S);
    char hex[65];
    account_hex_of(&ids[0].principal, NULL, hex);
    ck_assert_str_eq(jstr(block_op(b), "to"), hex);
    json_decref(b);
}
END_TEST

/* ================================================================ refusals */

/* ================================================================ bad input */

/* A signed transfer whose body pads out to about 300 KB. */
static char *oversized_body(const char *to_hex)
{
    size_t pad = 300 * 1024;
    char *body = malloc(pad + 256);
    ck_assert_ptr_nonnull(body);
    int n = snprintf(body, 256,
                     "{\"to\":\"%s\",\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\","
                     "\"pad\":\"",
                     to_hex);
    memset(body + n, 'x', pad);
    snprintf(body + (size_t)n + pad, 8, "\"}");
    return body;
}

START_TEST(test_body_too_large)
{
    const identity_t *from = &ids[0];
    char from_hex[65], to_hex[65];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&ids[1].principal, NULL, to_hex);
    char *body = oversized_body(to_hex);
    state_t before;
    state_of(from_hex, &before);
    signed_t s;
    sign_as(from, "POST", "/v1/transfers", body, wall_nanos() + 120 * SECOND, &s);
    resp_t r;
    http_send_ex("POST", "/v1/transfers", body, strlen(body), s.lines, false, &r);
    assert_problem(&r, 413, NULL, "signed 300 KB body");
    resp_free(&r);
    http_send_ex("POST", "/v1/transfers", body, strlen(body), NULL, false, &r);
    assert_problem(&r, 413, NULL, "unsigned 300 KB body");
    resp_free(&r);
    /* without Content-Length: the limit holds while reading */
    http_send_ex("POST", "/v1/transfers", body, strlen(body), s.lines, true, &r);
    assert_problem(&r, 413, NULL, "chunked 300 KB body");
    resp_free(&r);
    assert_state_same(from_hex, &before, "413");
    free(body);
    /* the service still answers */
    get_ok("/readyz", &r);
    resp_free(&r);
}
END_TEST

/* ================================================================ signatures */

typedef enum {
    SIG_NONE,
    SIG_NO_SIGNATURE_HEADER,
    SIG_NO_PUBLIC_KEY_HEADER,
    SIG_WRONG_KEY,
    SIG_BAD_SIGNATURE,
    SIG_MALFORMED_SIGNATURE,
    SIG_MALFORMED_KEY,
    SIG_TAMPERED_BODY,
    SIG_TAMPERED_PATH,
    SIG_TAMPERED_QUERY,
    SIG_TAMPERED_METHOD,
    SIG_EXPIRED,
    SIG_TOO_FAR_AHEAD,
    SIG_EXPIRY_NOT_A_NUMBER,
    SIG_NCASES
} sig_case_t;

static const char *const SIG_CASE_NAMES[SIG_NCASES] = {
    "no signature headers",
    "no X-Signature",
    "no X-Public-Key",
    "signed by another key",
    "bad signature",
    "malformed signature",
    "malformed public key",
    "tampered body",
    "signed with a query, sent without",
    "signed without a query, sent with one",
    "signed for PUT, sent as POST",
    "expired",
    "expiry more than 5 minutes ahead",
    "expiry not a number",
};

START_TEST(test_signature_refused)
{
    sig_case_t kind = (sig_case_t)_i;
    const char *what = SIG_CASE_NAMES[kind];
    const identity_t *from = &ids[0];
    char from_hex[65], to_hex[65], body[BODY_MAX], body2[BODY_MAX];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&ids[1].principal, NULL, to_hex);
    uint64_t memo = fresh_memo(), now = ledger_now(), wall = wall_nanos();
    legacy_body(body, sizeof body, to_hex, 1, FEE, memo, now, NULL);
    legacy_body(body2, sizeof body2, to_hex, 2, FEE, memo, now, NULL);
    const char *sent_body = body, *target = "/v1/transfers";
    signed_t s;
    uint64_t expiry = wall + 120 * SECOND;
    if (kind == SIG_EXPIRED)
        expiry = wall - SECOND;
    if (kind == SIG_TOO_FAR_AHEAD)
        expiry = wall + 360 * SECOND;
    sign_as(from, kind == SIG_TAMPERED_METHOD ? "PUT" : "POST",
            kind == SIG_TAMPERED_PATH ? "/v1/transfers?x=1" : "/v1/transfers", body, expiry, &s);
    const char *const *lines = s.lines;
    const char *only[3] = {NULL, NULL, NULL};
    switch (kind) {
    case SIG_NONE:
        lines = NULL;
        break;
    case SIG_NO_SIGNATURE_HEADER:
        only[0] = s.h_pk;
        only[1] = s.h_expiry;
        lines = only;
        break;
    case SIG_NO_PUBLIC_KEY_HEADER:
        only[0] = s.h_expiry;
        only[1] = s.h_sig;
        lines = only;
        break;
    case SIG_WRONG_KEY:
        hex_encode(ids[1].der, ids[1].der_len, s.pk);
        signed_lines(&s);
        break;
    case SIG_BAD_SIGNATURE:
        s.sig[10] = s.sig[10] == '0' ? '1' : '0';
        signed_lines(&s);
        break;
    case SIG_MALFORMED_SIGNATURE:
        s.sig[10] = 'z';
        signed_lines(&s);
        break;
    case SIG_MALFORMED_KEY:
        s.pk[0] = s.pk[0] == '0' ? '1' : '0'; /* no longer the Ed25519 DER prefix */
        signed_lines(&s);
        break;
    case SIG_TAMPERED_BODY:
        sent_body = body2;
        break;
    case SIG_TAMPERED_QUERY:
        target = "/v1/transfers?x=1";
        break;
    case SIG_EXPIRY_NOT_A_NUMBER:
        snprintf(s.expiry, sizeof s.expiry, "soon");
        signed_lines(&s);
        break;
    default:
        break;
    }
    state_t before;
    state_of(from_hex, &before);
    resp_t r;
    http_send("POST", target, sent_body, lines, &r);
    assert_problem(&r, 401, "Unauthenticated", what);
    resp_free(&r);
    assert_state_same(from_hex, &before, what);
}
END_TEST

/* The same request, correctly signed, is accepted: the refusals above are the tampering's. */
START_TEST(test_signature_accepted)
{
    const identity_t *from = &ids[0];
    char to_hex[65], body[BODY_MAX];
    account_hex_of(&ids[1].principal, NULL, to_hex);
    legacy_body(body, sizeof body, to_hex, 1, FEE, fresh_memo(), ledger_now(), NULL);
    signed_t s;
    /* the expiry window is inclusive up to 5 minutes; 4 minutes is well inside */
    sign_as(from, "POST", "/v1/transfers?x=1", body, wall_nanos() + 240 * SECOND, &s);
    resp_t r;
    send_signed(&s, "/v1/transfers?x=1", body, &r);
    ck_assert_msg(r.status == 200, "signed with its query: %ld %s", r.status, r.body);
    resp_free(&r);
}
END_TEST

/* ================================================================ replay */

START_TEST(test_replay_committed)
{
    const identity_t *from = &ids[1];
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_hex[65], body[BODY_MAX];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    legacy_body(body, sizeof body, to_hex, 31337, FEE, fresh_memo(), ledger_now(), NULL);
    signed_t s;
    sign_as(from, "POST", "/v1/transfers", body, wall_nanos() + 120 * SECOND, &s);
    resp_t first, again;
    send_signed(&s, "/v1/transfers", body, &first);
    ck_assert_msg(first.status == 200, "transfer answered %ld: %s", first.status, first.body);
    ck_assert_msg(!is_replayed(&first), "the original answer is marked replayed");
    state_t before;
    state_of(from_hex, &before);
    for (int i = 0; i < 2; i++) {
        send_signed(&s, "/v1/transfers", body, &again);
        ck_assert_int_eq(again.status, first.status);
        ck_assert_str_eq(again.body, first.body);
        ck_assert_msg(is_replayed(&again), "resend %d without X-Replayed: true", i + 1);
        resp_free(&again);
    }
    assert_state_same(from_hex, &before, "replay");
    ck_assert_uint_eq(balance(to_hex), 31337);
    resp_free(&first);
}
END_TEST

START_TEST(test_replay_refused)
{
    const identity_t *from = &ids[1];
    char from_hex[65], to_hex[65], body[BODY_MAX];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&ids[2].principal, NULL, to_hex);
    legacy_body(body, sizeof body, to_hex, 1, 1, fresh_memo(), ledger_now(), NULL);
    signed_t s;
    sign_as(from, "POST", "/v1/transfers", body, wall_nanos() + 120 * SECOND, &s);
    resp_t first, again;
    send_signed(&s, "/v1/transfers", body, &first);
    assert_problem(&first, 422, "BadFee", "fee 1");
    ck_assert_msg(!is_replayed(&first), "the original answer is marked replayed");
    state_t before;
    state_of(from_hex, &before);
    send_signed(&s, "/v1/transfers", body, &again);
    assert_problem(&again, 422, "BadFee", "replayed fee 1");
    ck_assert_str_eq(again.body, first.body);
    ck_assert_msg(is_replayed(&again), "resend without X-Replayed: true");
    resp_free(&again);
    resp_free(&first);
    assert_state_same(from_hex, &before, "replayed refusal");
}
END_TEST

/* Two signers sending the same body with the same expiry sign the same message, but their
 * requests are not byte-identical (X-Public-Key and X-Signature differ): the second is a new
 * request of another caller and must run, not be answered with the first caller's result. */
START_TEST(test_replay_is_per_signer)
{
    identity_t to;
    identity_generate(&to);
    char a_hex[65], b_hex[65], to_hex[65], body[BODY_MAX];
    account_hex_of(&ids[0].principal, NULL, a_hex);
    account_hex_of(&ids[1].principal, NULL, b_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    legacy_body(body, sizeof body, to_hex, 2222, FEE, fresh_memo(), ledger_now(), NULL);
    uint64_t expiry = wall_nanos() + 120 * SECOND;
    signed_t sa, sb;
    sign_as(&ids[0], "POST", "/v1/transfers", body, expiry, &sa);
    sign_as(&ids[1], "POST", "/v1/transfers", body, expiry, &sb);
    uint64_t b0 = balance(b_hex);
    resp_t ra, rb;
    send_signed(&sa, "/v1/transfers", body, &ra);
    ck_assert_msg(ra.status == 200, "first signer answered %ld: %s", ra.status, ra.body);
    send_signed(&sb, "/v1/transfers", body, &rb);
    ck_assert_msg(!is_replayed(&rb),
                  "another signer's request was answered from the replay cache with the first "
                  "signer's result %s",
                  rb.body);
    ck_assert_msg(rb.status == 200, "second signer answered %ld: %s", rb.status, rb.body);
    ck_assert_msg(strcmp(ra.body, rb.body) != 0, "both signers got the same block: %s", rb.body);
    ck_assert_uint_eq(balance(b_hex), b0 - 2222 - FEE);
    ck_assert_uint_eq(balance(to_hex), 2 * 2222);
    resp_free(&ra);
    resp_free(&rb);
}
END_TEST

/* One of the identical requests of test_replay_concurrent, sent from a thread of its own. */
typedef struct {
    const char *body;
    const signed_t *s;
    pthread_barrier_t *start;
    resp_t r;
    bool ok;
    char err[256];
} concurrent_t;

static void *send_concurrent(void *arg)
{
    concurrent_t *c = arg;
    pthread_barrier_wait(c->start);
    c->ok = http_exchange(e2e_base_url, "POST", "/v1/transfers", c->body, strlen(c->body),
                          c->s->lines, false, &c->r, c->err, sizeof c->err);
    return NULL;
}

/* Identical requests sent at once: one runs, the others wait for it and get its answer. */
START_TEST(test_replay_concurrent)
{
    enum { N = 8 };
    const identity_t *from = &ids[3];
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_hex[65], body[BODY_MAX];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    legacy_body(body, sizeof body, to_hex, 999, FEE, fresh_memo(), ledger_now(), NULL);
    signed_t s;
    sign_as(from, "POST", "/v1/transfers", body, wall_nanos() + 120 * SECOND, &s);
    state_t before;
    state_of(from_hex, &before);

    pthread_barrier_t start;
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, N), 0);
    concurrent_t c[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        c[i] = (concurrent_t){.body = body, .s = &s, .start = &start};
        ck_assert_int_eq(pthread_create(&t[i], NULL, send_concurrent, &c[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    int originals = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_msg(c[i].ok, "request %d: %s", i, c[i].err);
        ck_assert_msg(c[i].r.status == 200, "request %d answered %ld: %s", i, c[i].r.status,
                      c[i].r.body);
        ck_assert_str_eq(c[i].r.body, c[0].r.body);
        if (!is_replayed(&c[i].r))
            originals++;
    }
    ck_assert_msg(originals == 1, "%d of %d identical requests ran", originals, N);
    for (int i = 0; i < N; i++)
        resp_free(&c[i].r);
    state_t after;
    state_of(from_hex, &after);
    ck_assert_uint_eq(after.chain_length, before.chain_length + 1);
    ck_assert_uint_eq(after.balance, before.balance - 999 - FEE);
    ck_assert_uint_eq(balance(to_hex), 999);
}
END_TEST

START_TEST(test_replay_survives_restart)
{
    const char *cmd = getenv("E2E_RESTART_CMD");
    if (!cmd || !*cmd) {
        fprintf(stderr, "test_replay_survives_restart: E2E_RESTART_CMD not set, skipped\n");
        return;
    }
    const identity_t *from = &ids[2];
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_hex[65], body[BODY_MAX], bad[BODY_MAX];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    uint64_t now = ledger_now();
    legacy_body(body, sizeof body, to_hex, 4444, FEE, fresh_memo(), now, NULL);
    legacy_body(bad, sizeof bad, to_hex, 4444, 3, fresh_memo(), now, NULL);
    signed_t s, sb;
    sign_as(from, "POST", "/v1/transfers", body, wall_nanos() + 240 * SECOND, &s);
    sign_as(from, "POST", "/v1/transfers", bad, wall_nanos() + 240 * SECOND, &sb);
    resp_t first, first_bad, again;
    send_signed(&s, "/v1/transfers", body, &first);
    ck_assert_msg(first.status == 200, "transfer answered %ld: %s", first.status, first.body);
    send_signed(&sb, "/v1/transfers", bad, &first_bad);
    assert_problem(&first_bad, 422, "BadFee", "fee 3");
    state_t before;
    state_of(from_hex, &before);
    resp_t id0, id1;
    get_ok("/v1/identity", &id0);

    int rc = system(cmd);
    ck_assert_msg(rc == 0, "restart command '%s' failed (%d)", cmd, rc);

    /* the service kept its key (--keys) */
    get_ok("/v1/identity", &id1);
    ck_assert_str_eq(jstr(id1.json, "public_key_der_hex"), jstr(id0.json, "public_key_der_hex"));
    resp_free(&id0);
    resp_free(&id1);

    send_signed(&s, "/v1/transfers", body, &again);
    ck_assert_msg(again.status == 200, "resend after restart answered %ld: %s", again.status,
                  again.body);
    ck_assert_str_eq(again.body, first.body);
    ck_assert_msg(is_replayed(&again), "resend after restart without X-Replayed: true");
    resp_free(&again);
    send_signed(&sb, "/v1/transfers", bad, &again);
    assert_problem(&again, 422, "BadFee", "refusal resent after restart");
    ck_assert_str_eq(again.body, first_bad.body);
    ck_assert_msg(is_replayed(&again), "refusal resent after restart without X-Replayed: true");
    resp_free(&again);
    assert_state_same(from_hex, &before, "replay after restart");
    ck_assert_uint_eq(balance(to_hex), 4444);

    /* the restarted ledger still deduplicates: a new signature of the same transfer */
    signed_t s2;
    sign_as(from, "POST", "/v1/transfers", body, wall_nanos() + 200 * SECOND, &s2);
    send_signed(&s2, "/v1/transfers", body, &again);
    assert_problem(&again, 409, "TxDuplicate", "same transfer, new signature, after restart");
    ck_assert_uint_eq(ju64(again.json, "duplicate_of"), ju64(first.json, "block_index"));
    resp_free(&again);
    resp_free(&first);
    resp_free(&first_bad);
}
END_TEST

/* ================================================================ test clock */

/* ================================================================ suite */

static Suite *ledger_api_suite(void)
{
    Suite *s = suite_create("ledger_api");
    TCase *tc;

    tc = tcase_create("service");
    tcase_add_test(tc, test_identity_shape);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_ledger_info_and_tip_signature);
    suite_add_tcase(s, tc);

    tc = tcase_create("transfers");
    tcase_add_test(tc, test_legacy_transfer);
    tcase_add_test(tc, test_secp256k1_transfer);
    tcase_add_test(tc, test_self_transfer_costs_the_fee);
    tcase_add_test(tc, test_u64_extremes);
    tcase_add_test(tc, test_icrc1_transfer);
    tcase_add_test(tc, test_from_subaccount);
    tcase_add_test(tc, test_burn);
    suite_add_tcase(s, tc);

    tc = tcase_create("history");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_blocks_paging);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_input");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_body_too_large);
    suite_add_tcase(s, tc);

    tc = tcase_create("signatures");
    tcase_add_loop_test(tc, test_signature_refused, 0, SIG_NCASES);
    tcase_add_test(tc, test_signature_accepted);
    suite_add_tcase(s, tc);

    tc = tcase_create("replay");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_replay_committed);
    tcase_add_test(tc, test_replay_refused);
    tcase_add_test(tc, test_replay_is_per_signer);
    tcase_add_test(tc, test_replay_concurrent);
    tcase_add_test(tc, test_replay_survives_restart);
    suite_add_tcase(s, tc);

    return s;
}

/* The genesis of run.sh: the four test identities (identity 3 as ICRC-1 text, the others as
 * account identifiers) and any extra accounts given, GENESIS_E8S each. */
static int print_genesis(int argc, char **argv)
{
    json_t *balances = json_array();
    for (int i = 0; i < NIDS; i++) {
        char account[ICRC1_TEXT_MAX];
        if (i == NIDS - 1)
            icrc1_text_of(&ids[i].principal, NULL, account);
        else
            account_hex_of(&ids[i].principal, NULL, account);
        json_array_append_new(
            balances, json_pack("{s:s, s:s}", "account", account, "amount_e8s", "1000000000000"));
    }
    char k1_account[65];
    account_hex_of(&k1.principal, NULL, k1_account);
    json_array_append_new(balances, json_pack("{s:s, s:s}", "account", k1_account, "amount_e8s",
                                              "1000000000000"));
    for (int i = 0; i < argc; i++) {
        account_id_t id;
        nns_error_t err;
        if (!account_parse_any(argv[i], &id, NULL, NULL, &err)) {
            fprintf(stderr, "check_ledger_api: bad account '%s': %s\n", argv[i], err.detail);
            json_decref(balances);
            return 2;
        }
        json_array_append_new(
            balances, json_pack("{s:s, s:s}", "account", argv[i], "amount_e8s", "1000000000000"));
    }
    json_t *g = json_pack("{s:o, s:s, s:s, s:s}", "initial_balances", balances, "fee_e8s", "10000",
                          "token_symbol", "ICP", "token_name", "Internet Computer");
    char *text = g ? json_dumps(g, JSON_INDENT(2)) : NULL;
    json_decref(g);
    if (!text)
        return 1;
    puts(text);
    free(text);
    return 0;
}

int main(int argc, char **argv)
{
    if (!crypto_init()) {
        fprintf(stderr, "check_ledger_api: cannot initialise libsodium\n");
        return 1;
    }
    for (int i = 0; i < NIDS; i++)
        identity_seeded("e2e-", i, &ids[i]);
    uint8_t k1_secret[32];
    sha256("e2e-k1", 6, k1_secret);
    if (!identity_from_secp256k1_secret(k1_secret, &k1)) {
        fprintf(stderr, "check_ledger_api: SHA-256(\"e2e-k1\") is not a secp256k1 key\n");
        return 1;
    }
    if (argc >= 2 && strcmp(argv[1], "--print-genesis") == 0)
        return print_genesis(argc - 2, argv + 2);
    if (argc >= 2) {
        fprintf(stderr, "usage: check_ledger_api [--print-genesis [ACCOUNT...]]\n"
                        "runs the suite against $E2E_LEDGER_URL\n");
        return 2;
    }
    e2e_base_url = getenv("E2E_LEDGER_URL");
    if (!e2e_base_url || !*e2e_base_url) {
        fprintf(stderr, "check_ledger_api: set E2E_LEDGER_URL to the ledger's base URL\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "check_ledger_api: cannot initialise libcurl\n");
        return 1;
    }
    SRunner *sr = srunner_create(ledger_api_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    curl_global_cleanup();
    printf("check_ledger_api: %d checks, %d failed\n", run, failed);
    return failed == 0 ? 0 : 1;
}
