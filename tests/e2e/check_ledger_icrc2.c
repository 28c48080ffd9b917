/*
 * check_ledger_icrc2: end-to-end Check suite of the ledger's ICRC-2 approvals and transfer-from
 * and of transfer batches, against a live nns-ledger (shared/API.md, Ledger; docs/api.md sections
 * 5 and 6; shared/spec/ledger.md section 3.6). The ICRC-2 refusals, the history filters and the
 * CSV export are request -> answer cases in tests/cases/ledger.
 *
 * The ledger's base URL comes from E2E_LEDGER_URL. It runs with --test-clock and a genesis that
 * funds this suite's identities, identity i = identity_from_seed(SHA-256("e2e-icrc2-<i>")), with
 * at least a few ICP each: `check_ledger_icrc2 --print-accounts` prints their default accounts as
 * 64-hex account identifiers, one a line, for run.sh to put in the genesis (it passes them to
 * `check_ledger_api --print-genesis`).
 *
 * Requests go through libcurl directly and are signed with sign_request(). Tests never assume
 * absolute balances of the funded identities: counterparties are fresh random identities and
 * every check on a funded account is relative to a balance read just before. created_at_time
 * values come from the ledger's own now_nanos. The test clock is moved forward only, in the last
 * test case, by ten seconds (to expire an approval); the suite can be rerun against the same
 * ledger.
 */
#include <check.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account.h"
#include "crypto.h"
#include "harness.h"
#include "hex.h"
#include "keyfile.h"
#include "principal.h"
#include "sign.h"

#define NIDS 6

static who_t ids[NIDS];

/* ================================================================ small utilities */

/* The 64-hex identifier and ICRC-1 text of (owner, sub). */
static void sub_names(const principal_t *owner, const uint8_t *sub,
                      char hex_out[ACCOUNT_HEX_LEN + 1], char text_out[ICRC1_TEXT_MAX])
{
    account_id_t a;
    account_id_of(owner, sub, &a);
    account_id_to_hex(&a, hex_out);
    icrc1_account_t acc;
    memset(&acc, 0, sizeof acc);
    acc.owner = *owner;
    memcpy(acc.subaccount, sub, SUBACCOUNT_BYTES);
    icrc1_account_to_text(&acc, text_out);
}

/* ================================================================ HTTP */

/* ================================================================ JSON */

/* ================================================================ signing */

static void approve(const identity_t *id, json_t *body, resp_t *r)
{
    post_json(id, "/v1/approvals", body, r);
}

static uint64_t approve_ok(const identity_t *id, json_t *body)
{
    return post_json_ok(id, "/v1/approvals", body);
}

static void transfer_from(const identity_t *id, json_t *body, resp_t *r)
{
    post_json(id, "/v1/transfer-from", body, r);
}

static uint64_t transfer_from_ok(const identity_t *id, json_t *body)
{
    return post_json_ok(id, "/v1/transfer-from", body);
}

/* {"spender": text, "amount_e8s": amount} (new reference; add fields to it). */
static json_t *approve_body(const char *spender_text, uint64_t amount)
{
    return json_pack("{s:s, s:o}", "spender", spender_text, "amount_e8s", ju(amount));
}

/* {"from": text, "to": text, "amount_e8s": amount} */
static json_t *transfer_from_body(const char *from_text, const char *to_text, uint64_t amount)
{
    return json_pack("{s:s, s:s, s:o}", "from", from_text, "to", to_text, "amount_e8s", ju(amount));
}

/* ================================================================ ledger reads */

typedef struct {
    uint64_t allowance;
    bool has_expires_at;
    uint64_t expires_at;
} allow_t;

/* GET /v1/allowances/{owner}/{spender}; owner_hex/spender_hex (unless NULL) are the 64-hex
 * identifiers the answer must name. */
static void allowance_of(const char *owner, const char *spender, const char *owner_hex,
                         const char *spender_hex, allow_t *a)
{
    char target[512];
    snprintf(target, sizeof target, "/v1/allowances/%s/%s", owner, spender);
    resp_t r;
    get_ok(target, &r);
    if (owner_hex)
        ck_assert_str_eq(jstr(r.json, "owner"), owner_hex);
    if (spender_hex)
        ck_assert_str_eq(jstr(r.json, "spender"), spender_hex);
    a->allowance = ju64(r.json, "allowance_e8s");
    json_t *e = jget(r.json, "expires_at");
    a->has_expires_at = !json_is_null(e);
    a->expires_at = a->has_expires_at ? ju64(r.json, "expires_at") : 0;
    resp_free(&r);
}

static uint64_t allowance(const char *owner, const char *spender)
{
    allow_t a;
    allowance_of(owner, spender, NULL, NULL, &a);
    return a.allowance;
}

/* ---------------------------------------------------------------- history */

/* GET /v1/accounts/{account}/transactions?limit=500[&query]; asserts 200. */
static void history_get(const char *account, const char *query, resp_t *r)
{
    char target[1024];
    snprintf(target, sizeof target, "/v1/accounts/%s/transactions?limit=500%s%s", account,
             query && *query ? "&" : "", query ? query : "");
    get_ok(target, r);
}

/* The heights of a history (query as for history_get), newest first; returns how many. */
static size_t history_heights(const char *account, const char *query, uint64_t *hs, size_t cap)
{
    resp_t r;
    history_get(account, query, &r);
    json_t *items = jget(r.json, "items"), *it;
    ck_assert(json_is_array(items));
    size_t i, n = 0;
    uint64_t prev = UINT64_MAX;
    json_array_foreach(items, i, it)
    {
        uint64_t h = ju64(it, "height");
        ck_assert_msg(h < prev, "history of %s?%s is not newest first", account, query);
        prev = h;
        ck_assert_msg(n < cap, "history of %s?%s has more than %zu items", account, query, cap);
        hs[n++] = h;
    }
    resp_free(&r);
    return n;
}

/* Asserts the history (with query) is exactly the heights given, newest first. */
static void assert_history(const char *account, const char *query, const uint64_t *want,
                           size_t nwant)
{
    uint64_t hs[64];
    size_t n = history_heights(account, query, hs, 64);
    char got[512] = "", want_s[512] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), " %" PRIu64, hs[i]);
    for (size_t i = 0; i < nwant; i++)
        snprintf(want_s + strlen(want_s), sizeof want_s - strlen(want_s), " %" PRIu64, want[i]);
    bool same = n == nwant;
    for (size_t i = 0; same && i < n; i++)
        same = hs[i] == want[i];
    ck_assert_msg(same, "history of %s?%s: heights [%s ], expected [%s ]", account,
                  query ? query : "", got, want_s);
}

/* ---------------------------------------------------------------- the test clock */

static void set_clock(uint64_t t)
{
    resp_t r;
    set_time(t, &r);
    ck_assert_msg(r.status == 200, "POST /v1/admin/time %" PRIu64 " answered %ld: %s", t, r.status,
                  r.body);
    resp_free(&r);
}

/* ---------------------------------------------------------------- batches */

/* One batch item: body_signed is what the signature covers (as POST /v1/transfers), body what
 * the item carries (normally the same text). New reference. */
static json_t *batch_item_ex(const identity_t *id, const char *body, const char *body_signed,
                             const char *signed_path)
{
    signed_t s;
    sign_as(id, "POST", signed_path, body_signed, wall_nanos() + 120 * SECOND, &s);
    return json_pack("{s:s, s:s, s:s, s:s}", "public_key_der_hex", s.pk, "expiry_nanos", s.expiry,
                     "signature_hex", s.sig, "body", body);
}

static json_t *batch_item(const identity_t *id, const char *body)
{
    return batch_item_ex(id, body, body, "/v1/transfers");
}

/* POST /v1/transfer-batches {"transfers": items} (items stolen), without signature headers. */
static void post_batch(json_t *items, resp_t *r)
{
    json_t *o = json_pack("{s:o}", "transfers", items);
    ck_assert_ptr_nonnull(o);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    ck_assert_ptr_nonnull(text);
    http_send("POST", "/v1/transfer-batches", text, NULL, r);
    free(text);
}

/* The results of a 200 batch answer with n items. */
static json_t *batch_results(const resp_t *r, size_t n)
{
    ck_assert_msg(r->status == 200, "batch answered %ld: %s", r->status, r->body);
    char ctype[128];
    ck_assert_msg(resp_header(r, "Content-Type", ctype, sizeof ctype) &&
                      strncmp(ctype, "application/json", 16) == 0,
                  "batch answer content type is not application/json");
    ck_assert_msg(json_is_object(r->json), "batch answer is not an object: %s", r->body);
    json_t *results = jget(r->json, "results");
    ck_assert_msg(json_is_array(results) && json_array_size(results) == n,
                  "batch answer has not %zu results: %s", n, r->body);
    return results;
}

/* A 200 result: {"status": 200, "block_index": "<u64>"}; returns the block index. */
static uint64_t result_ok(json_t *results, size_t i, const char *text)
{
    json_t *res = json_array_get(results, i);
    ck_assert_msg(json_is_object(res), "result %zu is not an object: %s", i, text);
    json_t *st = json_object_get(res, "status");
    ck_assert_msg(json_is_integer(st) && json_integer_value(st) == 200,
                  "result %zu is not a 200: %s", i, text);
    ck_assert_msg(json_object_size(res) == 2, "result %zu has more than status and block_index: %s",
                  i, text);
    return ju64(res, "block_index");
}

static void result_problem(json_t *results, size_t i, long status, const char *code,
                           const char *text)
{
    char what[32];
    snprintf(what, sizeof what, "result %zu", i);
    assert_problem_object(json_array_get(results, i), status, code, what, text);
}

/* ================================================================ approve */

START_TEST(test_approve_text_spender)
{
    const who_t *a = &ids[0];
    who_t s;
    who_fresh(&s);
    uint64_t b0 = balance(a->hex);
    supply_t s0, s1;
    supply_of(&s0);

    uint64_t h = approve_ok(&a->id, approve_body(s.text, 500000));

    /* the approver pays exactly the fee, which is burned; the spender gets nothing */
    ck_assert_uint_eq(balance(a->hex), b0 - FEE);
    ck_assert_uint_eq(balance(s.hex), 0);
    supply_of(&s1);
    ck_assert_uint_eq(s1.total, s0.total - FEE);
    ck_assert_uint_eq(s1.fees, s0.fees + FEE);
    ck_assert_uint_eq(s1.burned, s0.burned);
    ck_assert_uint_eq(s1.minted, s0.minted);

    /* the block */
    json_t *b = block_at(h);
    json_t *op = block_op(b), *tx = jget(b, "transaction");
    ck_assert_str_eq(jstr(op, "type"), "approve");
    ck_assert_str_eq(jstr(op, "from"), a->hex);
    ck_assert_str_eq(jstr(op, "spender"), s.hex);
    ck_assert_uint_eq(ju64(op, "allowance_e8s"), 500000);
    ck_assert_uint_eq(ju64(op, "fee_e8s"), FEE);
    assert_absent(op, "to", "an approve operation");
    assert_absent(op, "amount_e8s", "an approve operation");
    assert_absent(op, "expected_allowance_e8s", "an approve without expected allowance");
    assert_absent(op, "expires_at", "an approve without expiry");
    ck_assert_uint_eq(ju64(tx, "memo"), 0);
    assert_absent(tx, "created_at_time", "an approve without created_at_time");
    assert_absent(tx, "icrc1_memo", "an approve without memo");
    json_decref(b);

    /* the allowance, by 64-hex, by ICRC-1 text and mixed */
    allow_t al;
    allowance_of(a->hex, s.hex, a->hex, s.hex, &al);
    ck_assert_uint_eq(al.allowance, 500000);
    ck_assert_msg(!al.has_expires_at, "an allowance without expiry has expires_at");
    allowance_of(a->text, s.text, a->hex, s.hex, &al);
    ck_assert_uint_eq(al.allowance, 500000);
    allowance_of(a->text, s.hex, a->hex, s.hex, &al);
    ck_assert_uint_eq(al.allowance, 500000);
    /* not the other way round */
    ck_assert_uint_eq(allowance(s.hex, a->hex), 0);

    /* both histories list the block */
    uint64_t hs[64];
    size_t n = history_heights(a->hex, "", hs, 64);
    ck_assert_msg(n > 0 && hs[0] == h, "approver's history does not start with %" PRIu64, h);
    uint64_t want[] = {h};
    assert_history(s.hex, "", want, 1);
}
END_TEST

START_TEST(test_approve_object_spender)
{
    const who_t *a = &ids[0];
    who_t s;
    who_fresh(&s);
    uint8_t sub[SUBACCOUNT_BYTES];
    char sub_hex[65], s_sub_hex[65], s_sub_text[ICRC1_TEXT_MAX];
    fresh_subaccount(sub, sub_hex);
    sub_names(&s.id.principal, sub, s_sub_hex, s_sub_text);
    uint64_t b0 = balance(a->hex);

    /* {owner, subaccount} */
    json_t *body = json_pack("{s:o, s:o, s:s}", "spender", account_obj(s.ptext, sub_hex),
                             "amount_e8s", ju(700), "icrc1_memo", "0a0b");
    uint64_t h = approve_ok(&a->id, body);
    ck_assert_uint_eq(balance(a->hex), b0 - FEE);
    json_t *b = block_at(h);
    ck_assert_str_eq(jstr(block_op(b), "spender"), s_sub_hex);
    ck_assert_uint_eq(ju64(block_op(b), "allowance_e8s"), 700);
    ck_assert_str_eq(jstr(jget(b, "transaction"), "icrc1_memo"), "0a0b");
    json_decref(b);
    allow_t al;
    allowance_of(a->hex, s_sub_hex, a->hex, s_sub_hex, &al);
    ck_assert_uint_eq(al.allowance, 700);
    allowance_of(a->text, s_sub_text, a->hex, s_sub_hex, &al);
    ck_assert_uint_eq(al.allowance, 700);
    /* the spender's default account is another account */
    ck_assert_uint_eq(allowance(a->hex, s.hex), 0);

    /* {owner} alone is the default account */
    h = approve_ok(&a->id, json_pack("{s:o, s:o}", "spender", account_obj(s.ptext, NULL),
                                     "amount_e8s", ju(800)));
    b = block_at(h);
    ck_assert_str_eq(jstr(block_op(b), "spender"), s.hex);
    json_decref(b);
    ck_assert_uint_eq(allowance(a->hex, s.hex), 800);
    ck_assert_uint_eq(allowance(a->hex, s_sub_hex), 700);
    ck_assert_uint_eq(balance(a->hex), b0 - 2 * FEE);

    /* the approval revealed the spender's subaccount */
    char target[256];
    snprintf(target, sizeof target, "/v1/principals/%s/accounts", s.ptext);
    resp_t r;
    get_ok(target, &r);
    json_t *accounts = jget(r.json, "accounts"), *acc;
    size_t i;
    bool found = false;
    json_array_foreach(accounts, i, acc)
    {
        if (strcmp(jstr(acc, "account_identifier"), s_sub_hex) == 0) {
            found = true;
            ck_assert_str_eq(jstr(acc, "subaccount"), sub_hex);
        }
    }
    ck_assert_msg(found, "the spender's subaccount is not listed: %s", r.body);
    resp_free(&r);
}
END_TEST

START_TEST(test_approve_replace_expected_and_remove)
{
    const who_t *a = &ids[0];
    who_t s, s2;
    who_fresh(&s);
    who_fresh(&s2);
    approve_ok(&a->id, approve_body(s.text, 1000));
    ck_assert_uint_eq(allowance(a->hex, s.hex), 1000);
    /* a new approval replaces the allowance, it does not add to it */
    approve_ok(&a->id, approve_body(s.text, 2000));
    ck_assert_uint_eq(allowance(a->hex, s.hex), 2000);

    /* expected_allowance_e8s that does not match: 409, nothing charged */
    state_t before;
    state_of(a->hex, &before);
    json_t *body = approve_body(s.text, 3000);
    json_object_set_new(body, "expected_allowance_e8s", ju(1000));
    resp_t r;
    approve(&a->id, body, &r);
    assert_problem(&r, 409, "AllowanceChanged", "expected 1000, current 2000");
    ck_assert_uint_eq(ju64(r.json, "current_allowance_e8s"), 2000);
    resp_free(&r);
    assert_state_same(a->hex, &before, "AllowanceChanged");
    ck_assert_uint_eq(allowance(a->hex, s.hex), 2000);

    /* matching: applied, and the block records the expectation */
    body = approve_body(s.text, 3000);
    json_object_set_new(body, "expected_allowance_e8s", ju(2000));
    uint64_t h = approve_ok(&a->id, body);
    ck_assert_uint_eq(allowance(a->hex, s.hex), 3000);
    json_t *b = block_at(h);
    ck_assert_uint_eq(ju64(block_op(b), "expected_allowance_e8s"), 2000);
    ck_assert_uint_eq(ju64(block_op(b), "allowance_e8s"), 3000);
    json_decref(b);
    ck_assert_uint_eq(balance(a->hex), before.balance - FEE);

    /* amount 0 removes the allowance (and still costs the fee) */
    h = approve_ok(&a->id, approve_body(s.text, 0));
    allow_t al;
    allowance_of(a->hex, s.hex, a->hex, s.hex, &al);
    ck_assert_uint_eq(al.allowance, 0);
    ck_assert_msg(!al.has_expires_at, "a removed allowance has expires_at");
    ck_assert_uint_eq(balance(a->hex), before.balance - 2 * FEE);
    b = block_at(h);
    ck_assert_str_eq(jstr(block_op(b), "type"), "approve");
    ck_assert_uint_eq(ju64(block_op(b), "allowance_e8s"), 0);
    json_decref(b);
    /* ... so a later transfer_from by that spender has nothing to spend */
    who_t to;
    who_fresh(&to);
    transfer_from(&s.id, transfer_from_body(a->text, to.text, 1), &r);
    assert_problem(&r, 422, "InsufficientAllowance", "after the allowance was removed");
    ck_assert_uint_eq(ju64(r.json, "allowance_e8s"), 0);
    resp_free(&r);

    /* no allowance yet: the current one is 0 */
    body = approve_body(s2.text, 100);
    json_object_set_new(body, "expected_allowance_e8s", ju(5));
    approve(&a->id, body, &r);
    assert_problem(&r, 409, "AllowanceChanged", "expected 5, no allowance");
    ck_assert_uint_eq(ju64(r.json, "current_allowance_e8s"), 0);
    resp_free(&r);
    body = approve_body(s2.text, 100);
    json_object_set_new(body, "expected_allowance_e8s", ju(0));
    approve_ok(&a->id, body);
    ck_assert_uint_eq(allowance(a->hex, s2.hex), 100);
}
END_TEST

START_TEST(test_approve_future_expiry_is_shown)
{
    const who_t *a = &ids[0];
    who_t s;
    who_fresh(&s);
    uint64_t exp_at = ledger_now() + 3600 * SECOND;
    json_t *body = approve_body(s.text, 4321);
    json_object_set_new(body, "expires_at", ju(exp_at));
    uint64_t h = approve_ok(&a->id, body);
    allow_t al;
    allowance_of(a->text, s.text, a->hex, s.hex, &al);
    ck_assert_uint_eq(al.allowance, 4321);
    ck_assert_msg(al.has_expires_at && al.expires_at == exp_at, "expires_at not %" PRIu64, exp_at);
    json_t *b = block_at(h);
    ck_assert_uint_eq(ju64(block_op(b), "expires_at"), exp_at);
    json_decref(b);
    /* a new approval without expiry replaces the expiry too */
    approve_ok(&a->id, approve_body(s.text, 4322));
    allowance_of(a->hex, s.hex, a->hex, s.hex, &al);
    ck_assert_uint_eq(al.allowance, 4322);
    ck_assert_msg(!al.has_expires_at, "the replaced expiry is still shown");
}
END_TEST

/* Byte-identical signed approvals and transfer-froms are replays: one block, one fee. */
START_TEST(test_icrc2_writes_replay)
{
    const who_t *a = &ids[0];
    who_t s, rcp;
    who_fresh(&s);
    who_fresh(&rcp);
    uint64_t b0 = balance(a->hex), c0 = chain_length();
    char body[BODY_MAX];
    snprintf(body, sizeof body, "{\"spender\":\"%s\",\"amount_e8s\":\"50000\"}", s.text);
    signed_t sg;
    sign_as(&a->id, "POST", "/v1/approvals", body, wall_nanos() + 120 * SECOND, &sg);
    resp_t r1, r2;
    http_send("POST", "/v1/approvals", body, sg.lines, &r1);
    ck_assert_msg(r1.status == 200, "approval answered %ld: %s", r1.status, r1.body);
    http_send("POST", "/v1/approvals", body, sg.lines, &r2);
    ck_assert_msg(r2.status == 200, "resent approval answered %ld: %s", r2.status, r2.body);
    ck_assert_str_eq(r2.body, r1.body);
    ck_assert_msg(is_replayed(&r2), "resent approval without X-Replayed: true");
    ck_assert_msg(!is_replayed(&r1), "the first approval is marked X-Replayed");
    resp_free(&r1);
    resp_free(&r2);
    ck_assert_uint_eq(balance(a->hex), b0 - FEE);
    ck_assert_uint_eq(chain_length(), c0 + 1);

    snprintf(body, sizeof body, "{\"from\":\"%s\",\"to\":\"%s\",\"amount_e8s\":\"1000\"}", a->text,
             rcp.text);
    sign_as(&s.id, "POST", "/v1/transfer-from", body, wall_nanos() + 120 * SECOND, &sg);
    http_send("POST", "/v1/transfer-from", body, sg.lines, &r1);
    ck_assert_msg(r1.status == 200, "transfer_from answered %ld: %s", r1.status, r1.body);
    http_send("POST", "/v1/transfer-from", body, sg.lines, &r2);
    ck_assert_str_eq(r2.body, r1.body);
    ck_assert_msg(is_replayed(&r2), "resent transfer_from without X-Replayed: true");
    resp_free(&r1);
    resp_free(&r2);
    ck_assert_uint_eq(balance(rcp.hex), 1000);
    ck_assert_uint_eq(allowance(a->hex, s.hex), 50000 - 1000 - FEE);
    ck_assert_uint_eq(chain_length(), c0 + 2);

    /* a refusal is stored too */
    snprintf(body, sizeof body, "{\"from\":\"%s\",\"to\":\"%s\",\"amount_e8s\":\"40000\"}", a->text,
             rcp.text);
    sign_as(&s.id, "POST", "/v1/transfer-from", body, wall_nanos() + 120 * SECOND, &sg);
    http_send("POST", "/v1/transfer-from", body, sg.lines, &r1);
    assert_problem(&r1, 422, "InsufficientAllowance", "40000 + fee over 39000");
    ck_assert_str_eq(jstr(r1.json, "allowance_e8s"), "39000");
    http_send("POST", "/v1/transfer-from", body, sg.lines, &r2);
    assert_problem(&r2, 422, "InsufficientAllowance", "the refusal resent");
    ck_assert_str_eq(r2.body, r1.body);
    ck_assert_msg(is_replayed(&r2), "resent refusal without X-Replayed: true");
    resp_free(&r1);
    resp_free(&r2);
    ck_assert_uint_eq(chain_length(), c0 + 2);
}
END_TEST

/* ================================================================ transfer-from */

START_TEST(test_transfer_from_moves_and_debits_allowance)
{
    const who_t *a = &ids[1];
    who_t s, rcp;
    who_fresh(&s);
    who_fresh(&rcp);
    uint64_t h0 = approve_ok(&a->id, approve_body(s.text, 100000));
    uint64_t a0 = balance(a->hex);
    supply_t s0, s1;
    supply_of(&s0);

    uint64_t h1 = transfer_from_ok(&s.id, transfer_from_body(a->text, rcp.text, 30000));
    ck_assert_uint_eq(balance(rcp.hex), 30000);
    ck_assert_uint_eq(balance(a->hex), a0 - 30000 - FEE);
    ck_assert_uint_eq(balance(s.hex), 0);
    ck_assert_uint_eq(allowance(a->hex, s.hex), 100000 - 30000 - FEE);
    supply_of(&s1);
    ck_assert_uint_eq(s1.fees, s0.fees + FEE);
    ck_assert_uint_eq(s1.total, s0.total - FEE);

    json_t *b = block_at(h1);
    json_t *op = block_op(b);
    ck_assert_str_eq(jstr(op, "type"), "transfer");
    ck_assert_str_eq(jstr(op, "from"), a->hex);
    ck_assert_str_eq(jstr(op, "to"), rcp.hex);
    ck_assert_str_eq(jstr(op, "spender"), s.hex);
    ck_assert_uint_eq(ju64(op, "amount_e8s"), 30000);
    ck_assert_uint_eq(ju64(op, "fee_e8s"), FEE);
    json_decref(b);

    /* beyond the allowance (60000 left; 50001 + fee is more) */
    state_t before;
    state_of(a->hex, &before);
    resp_t r;
    transfer_from(&s.id, transfer_from_body(a->text, rcp.text, 50001), &r);
    assert_problem(&r, 422, "InsufficientAllowance", "50001 + fee over 60000");
    ck_assert_str_eq(jstr(r.json, "allowance_e8s"), "60000");
    resp_free(&r);
    assert_state_same(a->hex, &before, "InsufficientAllowance");
    ck_assert_uint_eq(allowance(a->hex, s.hex), 60000);

    /* exactly the allowance, to an {owner} object: it is used up */
    uint64_t h2 =
        transfer_from_ok(&s.id, json_pack("{s:s, s:o, s:o}", "from", a->text, "to",
                                          account_obj(rcp.ptext, NULL), "amount_e8s", ju(50000)));
    ck_assert_uint_eq(allowance(a->hex, s.hex), 0);
    ck_assert_uint_eq(balance(rcp.hex), 80000);
    ck_assert_uint_eq(balance(a->hex), before.balance - 50000 - FEE);
    /* even a zero amount needs the fee from the allowance */
    transfer_from(&s.id, transfer_from_body(a->text, rcp.text, 0), &r);
    assert_problem(&r, 422, "InsufficientAllowance", "amount 0 with no allowance left");
    ck_assert_str_eq(jstr(r.json, "allowance_e8s"), "0");
    resp_free(&r);

    /* both the approver's and the spender's histories list the blocks */
    uint64_t hs[64];
    size_t n = history_heights(a->hex, "", hs, 64);
    ck_assert_msg(n >= 3 && hs[0] == h2 && hs[1] == h1 && hs[2] == h0,
                  "approver's history does not start with %" PRIu64 ", %" PRIu64 ", %" PRIu64, h2,
                  h1, h0);
    uint64_t spender_want[] = {h2, h1, h0};
    assert_history(s.hex, "", spender_want, 3);
    uint64_t recipient_want[] = {h2, h1};
    assert_history(rcp.hex, "", recipient_want, 2);
}
END_TEST

START_TEST(test_transfer_from_owner_subaccount)
{
    const who_t *a = &ids[1];
    who_t s, rcp;
    who_fresh(&s);
    who_fresh(&rcp);
    uint8_t sub[SUBACCOUNT_BYTES];
    char sub_hex[65], a_sub_hex[65], a_sub_text[ICRC1_TEXT_MAX];
    fresh_subaccount(sub, sub_hex);
    sub_names(&a->id.principal, sub, a_sub_hex, a_sub_text);
    icrc1_send(&a->id, a_sub_text, 100000);

    json_t *body = approve_body(s.text, 50000);
    json_object_set_new(body, "from_subaccount", json_string(sub_hex));
    uint64_t h = approve_ok(&a->id, body);
    json_t *b = block_at(h);
    ck_assert_str_eq(jstr(block_op(b), "from"), a_sub_hex);
    json_decref(b);
    ck_assert_uint_eq(balance(a_sub_hex), 100000 - FEE);
    ck_assert_uint_eq(allowance(a_sub_text, s.text), 50000);
    ck_assert_uint_eq(allowance(a->hex, s.hex), 0);

    h = transfer_from_ok(&s.id, json_pack("{s:o, s:s, s:o}", "from", account_obj(a->ptext, sub_hex),
                                          "to", rcp.text, "amount_e8s", ju(20000)));
    ck_assert_uint_eq(balance(a_sub_hex), 100000 - FEE - 20000 - FEE);
    ck_assert_uint_eq(balance(rcp.hex), 20000);
    ck_assert_uint_eq(allowance(a_sub_hex, s.hex), 50000 - 20000 - FEE);
    b = block_at(h);
    ck_assert_str_eq(jstr(block_op(b), "from"), a_sub_hex);
    ck_assert_str_eq(jstr(block_op(b), "spender"), s.hex);
    json_decref(b);
}
END_TEST

START_TEST(test_transfer_from_burn)
{
    const who_t *a = &ids[1];
    who_t s;
    who_fresh(&s);
    approve_ok(&a->id, approve_body(s.text, 50000));
    uint64_t a0 = balance(a->hex);
    supply_t s0, s1;
    supply_of(&s0);

    /* to the governance principal's default account, which is the minting account: a burn */
    uint64_t h = transfer_from_ok(&s.id, transfer_from_body(a->text, GOVERNANCE_PRINCIPAL, 20000));
    ck_assert_uint_eq(balance(a->hex), a0 - 20000);
    ck_assert_uint_eq(allowance(a->hex, s.hex), 50000 - 20000); /* the amount only */
    supply_of(&s1);
    ck_assert_uint_eq(s1.burned, s0.burned + 20000);
    ck_assert_uint_eq(s1.fees, s0.fees);
    ck_assert_uint_eq(s1.total, s0.total - 20000);
    json_t *b = block_at(h);
    json_t *op = block_op(b);
    ck_assert_str_eq(jstr(op, "type"), "burn");
    ck_assert_str_eq(jstr(op, "from"), a->hex);
    ck_assert_str_eq(jstr(op, "spender"), s.hex);
    ck_assert_uint_eq(ju64(op, "amount_e8s"), 20000);
    assert_absent(op, "to", "a burn");
    assert_absent(op, "fee_e8s", "a burn");
    json_decref(b);
}
END_TEST

START_TEST(test_transfer_from_own_account)
{
    const who_t *a = &ids[1];
    who_t rcp;
    who_fresh(&rcp);
    uint64_t a0 = balance(a->hex);
    /* from == spender: a plain transfer, no allowance needed */
    uint64_t h = transfer_from_ok(&a->id, transfer_from_body(a->text, rcp.text, 1234));
    ck_assert_uint_eq(balance(a->hex), a0 - 1234 - FEE);
    ck_assert_uint_eq(balance(rcp.hex), 1234);
    json_t *b = block_at(h);
    ck_assert_str_eq(jstr(block_op(b), "type"), "transfer");
    ck_assert_str_eq(jstr(block_op(b), "from"), a->hex);
    ck_assert_str_eq(jstr(block_op(b), "spender"), a->hex);
    json_decref(b);
}
END_TEST

/* ================================================================ batches */

START_TEST(test_batch_three_signers)
{
    who_t rcp[3];
    uint64_t b0[3];
    char body[3][BODY_MAX];
    uint64_t now = ledger_now();
    json_t *items = json_array();
    for (int i = 0; i < 3; i++) {
        who_fresh(&rcp[i]);
        b0[i] = balance(ids[2 + i].hex);
        if (i < 2) {
            legacy_body(body[i], sizeof body[i], rcp[i].hex, 1000 + (uint64_t)i, FEE, fresh_memo(),
                        now, NULL);
        } else { /* an ICRC-1 body works as well */
            snprintf(body[i], sizeof body[i], "{\"to_account\":\"%s\",\"amount_e8s\":\"1002\"}",
                     rcp[i].text);
        }
        json_array_append_new(items, batch_item(&ids[2 + i].id, body[i]));
    }
    uint64_t c0 = chain_length();
    resp_t r;
    post_batch(items, &r);
    json_t *results = batch_results(&r, 3);
    uint64_t h[3];
    for (size_t i = 0; i < 3; i++) {
        h[i] = result_ok(results, i, r.body);
        if (i > 0)
            ck_assert_msg(h[i] > h[i - 1], "results are not in order: %s", r.body);
    }
    resp_free(&r);
    ck_assert_uint_eq(chain_length(), c0 + 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(balance(rcp[i].hex), 1000 + (uint64_t)i);
        ck_assert_uint_eq(balance(ids[2 + i].hex), b0[i] - 1000 - (uint64_t)i - FEE);
        json_t *b = block_at(h[i]);
        ck_assert_str_eq(jstr(block_op(b), "from"), ids[2 + i].hex);
        ck_assert_str_eq(jstr(block_op(b), "to"), rcp[i].hex);
        json_decref(b);
    }
}
END_TEST

START_TEST(test_batch_mixed_items)
{
    who_t rcp, poor;
    who_fresh(&rcp);
    who_fresh(&poor);
    uint64_t now = ledger_now();
    char ok_body[BODY_MAX], other[BODY_MAX], poor_body[BODY_MAX], approval[BODY_MAX];
    legacy_body(ok_body, sizeof ok_body, rcp.hex, 777, FEE, fresh_memo(), now, NULL);
    legacy_body(other, sizeof other, rcp.hex, 888, FEE, fresh_memo(), now, NULL);
    legacy_body(poor_body, sizeof poor_body, rcp.hex, 1000, FEE, fresh_memo(), now, NULL);
    snprintf(approval, sizeof approval, "{\"spender\":\"%s\",\"amount_e8s\":\"5\"}", rcp.text);
    const char *malformed = "{\"to\":";
    uint64_t b2 = balance(ids[2].hex), b3 = balance(ids[3].hex), b4 = balance(ids[4].hex);
    uint64_t c0 = chain_length();

    json_t *items = json_array();
    json_array_append_new(items, batch_item(&ids[2].id, ok_body)); /* 200 */
    json_array_append_new(items,
                          batch_item_ex(&ids[3].id, other, ok_body, "/v1/transfers")); /* 401 */
    json_array_append_new(items, batch_item(&poor.id, poor_body));                     /* 422 */
    json_array_append_new(items, batch_item(&ids[4].id, malformed));                   /* 400 */
    json_array_append_new(items, json_string("not an item"));                          /* 400 */
    json_array_append_new(items,
                          batch_item_ex(&ids[4].id, other, other, "/v1/approvals")); /* 401 */
    json_array_append_new(items, batch_item(&ids[4].id, approval));                  /* 400 */
    json_array_append_new(items, json_pack("{s:s}", "body", ok_body));               /* 400 */
    resp_t r;
    post_batch(items, &r);
    json_t *results = batch_results(&r, 8);
    uint64_t h = result_ok(results, 0, r.body);
    result_problem(results, 1, 401, "Unauthenticated", r.body);
    result_problem(results, 2, 422, "InsufficientFunds", r.body);
    ck_assert_str_eq(jstr(json_array_get(results, 2), "balance_e8s"), "0");
    result_problem(results, 3, 400, "BadRequest", r.body);
    result_problem(results, 4, 400, "BadRequest", r.body);
    result_problem(results, 5, 401, "Unauthenticated", r.body);
    result_problem(results, 6, 400, "BadRequest", r.body);
    result_problem(results, 7, 400, "BadRequest", r.body);
    resp_free(&r);

    /* only the valid item landed */
    ck_assert_uint_eq(chain_length(), c0 + 1);
    ck_assert_uint_eq(balance(rcp.hex), 777);
    ck_assert_uint_eq(balance(ids[2].hex), b2 - 777 - FEE);
    ck_assert_uint_eq(balance(ids[3].hex), b3);
    ck_assert_uint_eq(balance(ids[4].hex), b4);
    ck_assert_uint_eq(allowance(ids[4].hex, rcp.hex), 0);
    json_t *b = block_at(h);
    ck_assert_uint_eq(ju64(block_op(b), "amount_e8s"), 777);
    json_decref(b);
}
END_TEST

START_TEST(test_batch_same_item_twice_and_replay)
{
    who_t rcp, poor;
    who_fresh(&rcp);
    who_fresh(&poor);
    char body[BODY_MAX], poor_body[BODY_MAX];
    legacy_body(body, sizeof body, rcp.hex, 4242, FEE, fresh_memo(), ledger_now(), NULL);
    legacy_body(poor_body, sizeof poor_body, rcp.hex, 1, FEE, fresh_memo(), ledger_now(), NULL);
    json_t *x = batch_item(&ids[3].id, body);
    json_t *y = batch_item(&poor.id, poor_body);
    uint64_t c0 = chain_length(), b0 = balance(ids[3].hex);

    /* the same item twice in one batch: the second is Processing */
    resp_t r;
    post_batch(json_pack("[O, O, O]", x, x, y), &r);
    json_t *results = batch_results(&r, 3);
    uint64_t h = result_ok(results, 0, r.body);
    result_problem(results, 1, 409, "Processing", r.body);
    result_problem(results, 2, 422, "InsufficientFunds", r.body);
    char *refusal = json_dumps(json_array_get(results, 2), JSON_COMPACT | JSON_SORT_KEYS);
    resp_free(&r);
    ck_assert_uint_eq(chain_length(), c0 + 1);
    ck_assert_uint_eq(balance(rcp.hex), 4242);
    ck_assert_uint_eq(balance(ids[3].hex), b0 - 4242 - FEE);

    /* resent in a new batch: the stored answers, nothing runs again */
    post_batch(json_pack("[O, O]", x, y), &r);
    results = batch_results(&r, 2);
    ck_assert_uint_eq(result_ok(results, 0, r.body), h);
    char *again = json_dumps(json_array_get(results, 1), JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(again, refusal);
    free(again);
    free(refusal);
    resp_free(&r);
    ck_assert_uint_eq(chain_length(), c0 + 1);
    ck_assert_uint_eq(balance(rcp.hex), 4242);

    /* the item is a signed POST /v1/transfers: sent alone, it is a replay of the batch's answer */
    signed_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.pk, sizeof s.pk, "%s", jstr(x, "public_key_der_hex"));
    snprintf(s.expiry, sizeof s.expiry, "%s", jstr(x, "expiry_nanos"));
    snprintf(s.sig, sizeof s.sig, "%s", jstr(x, "signature_hex"));
    signed_lines(&s);
    http_send("POST", "/v1/transfers", body, s.lines, &r);
    ck_assert_msg(r.status == 200, "the item sent alone answered %ld: %s", r.status, r.body);
    ck_assert_uint_eq(ju64(r.json, "block_index"), h);
    ck_assert_msg(is_replayed(&r), "the item sent alone is not marked X-Replayed");
    resp_free(&r);
    ck_assert_uint_eq(chain_length(), c0 + 1);
    json_decref(x);
    json_decref(y);

    /* the other way round: a signed POST /v1/transfers first, then the same bytes as an item */
    legacy_body(body, sizeof body, rcp.hex, 99, FEE, fresh_memo(), ledger_now(), NULL);
    sign_as(&ids[3].id, "POST", "/v1/transfers", body, wall_nanos() + 120 * SECOND, &s);
    http_send("POST", "/v1/transfers", body, s.lines, &r);
    ck_assert_msg(r.status == 200, "transfer answered %ld: %s", r.status, r.body);
    uint64_t h_single = ju64(r.json, "block_index");
    resp_free(&r);
    post_batch(json_pack("[{s:s, s:s, s:s, s:s}]", "public_key_der_hex", s.pk, "expiry_nanos",
                         s.expiry, "signature_hex", s.sig, "body", body),
               &r);
    results = batch_results(&r, 1);
    ck_assert_uint_eq(result_ok(results, 0, r.body), h_single);
    resp_free(&r);
    ck_assert_uint_eq(chain_length(), c0 + 2);
    ck_assert_uint_eq(balance(rcp.hex), 4242 + 99);
}
END_TEST

START_TEST(test_batch_bounds)
{
    uint64_t c0 = chain_length();
    resp_t r;
    post_batch(json_array(), &r);
    assert_problem(&r, 400, "BadRequest", "empty batch");
    resp_free(&r);

    json_t *items = json_array();
    for (int i = 0; i < 101; i++)
        json_array_append_new(items, json_object());
    post_batch(items, &r);
    assert_problem(&r, 400, "BadRequest", "101 items");
    resp_free(&r);

    /* 100 is the most: each (empty) item gets its own 400 */
    items = json_array();
    for (int i = 0; i < 100; i++)
        json_array_append_new(items, json_object());
    post_batch(items, &r);
    json_t *results = batch_results(&r, 100);
    for (size_t i = 0; i < 100; i++)
        result_problem(results, i, 400, "BadRequest", r.body);
    resp_free(&r);

    const char *bad[] = {"{}",
                         "[]",
                         "{\"transfers\":{}}",
                         "{\"transfers\":null}",
                         "{\"transfers\":[{}],\"extra\":1}",
                         "{\"transfers\":[",
                         "nope"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_send("POST", "/v1/transfer-batches", bad[i], NULL, &r);
        assert_problem(&r, 400, "BadRequest", bad[i]);
        resp_free(&r);
    }
    ck_assert_uint_eq(chain_length(), c0);
}
END_TEST

START_TEST(test_batch_needs_no_signature)
{
    who_t rcp;
    who_fresh(&rcp);
    char body[BODY_MAX];
    legacy_body(body, sizeof body, rcp.hex, 55, FEE, fresh_memo(), ledger_now(), NULL);
    json_t *o = json_pack("{s:[o]}", "transfers", batch_item(&ids[4].id, body));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    resp_t r;
    /* no X-Public-Key, X-Expiry or X-Signature on the batch itself */
    http_send("POST", "/v1/transfer-batches", text, NULL, &r);
    free(text);
    json_t *results = batch_results(&r, 1);
    uint64_t h = result_ok(results, 0, r.body);
    resp_free(&r);
    ck_assert_uint_eq(balance(rcp.hex), 55);
    json_t *b = block_at(h);
    ck_assert_str_eq(jstr(block_op(b), "from"), ids[4].hex);
    json_decref(b);
}
END_TEST

/* ================================================================ expiry (moves the clock) */

START_TEST(test_approve_expiry_passes)
{
    const who_t *a = &ids[5];
    who_t s, rcp;
    who_fresh(&s);
    who_fresh(&rcp);
    uint64_t exp_at = ledger_now() + 10 * SECOND;
    json_t *body = approve_body(s.text, 100000);
    json_object_set_new(body, "expires_at", ju(exp_at));
    approve_ok(&a->id, body);
    allow_t al;
    allowance_of(a->hex, s.hex, a->hex, s.hex, &al);
    ck_assert_uint_eq(al.allowance, 100000);
    ck_assert_msg(al.has_expires_at && al.expires_at == exp_at, "expires_at is not %" PRIu64,
                  exp_at);

    /* spending keeps the expiry */
    transfer_from_ok(&s.id, transfer_from_body(a->text, rcp.text, 1000));
    allowance_of(a->hex, s.hex, a->hex, s.hex, &al);
    ck_assert_uint_eq(al.allowance, 100000 - 1000 - FEE);
    ck_assert_msg(al.has_expires_at && al.expires_at == exp_at, "spending changed expires_at");

    /* one nanosecond before: still there */
    set_clock(exp_at - 1);
    ck_assert_uint_eq(allowance(a->hex, s.hex), 100000 - 1000 - FEE);
    /* at expires_at: gone */
    set_clock(exp_at);
    allowance_of(a->text, s.text, a->hex, s.hex, &al);
    ck_assert_uint_eq(al.allowance, 0);
    ck_assert_msg(!al.has_expires_at, "an expired allowance shows expires_at");
    state_t before;
    state_of(a->hex, &before);
    resp_t r;
    transfer_from(&s.id, transfer_from_body(a->text, rcp.text, 1000), &r);
    assert_problem(&r, 422, "InsufficientAllowance", "transfer_from after the expiry");
    ck_assert_str_eq(jstr(r.json, "allowance_e8s"), "0");
    resp_free(&r);
    assert_state_same(a->hex, &before, "transfer_from after the expiry");
    ck_assert_uint_eq(balance(rcp.hex), 1000);

    /* an expired allowance counts as 0 for expected_allowance_e8s */
    body = approve_body(s.text, 50000);
    json_object_set_new(body, "expected_allowance_e8s", ju(100000 - 1000 - FEE));
    approve(&a->id, body, &r);
    assert_problem(&r, 409, "AllowanceChanged", "expected the expired allowance");
    ck_assert_str_eq(jstr(r.json, "current_allowance_e8s"), "0");
    resp_free(&r);
    body = approve_body(s.text, 50000);
    json_object_set_new(body, "expected_allowance_e8s", ju(0));
    approve_ok(&a->id, body);
    allowance_of(a->hex, s.hex, a->hex, s.hex, &al);
    ck_assert_uint_eq(al.allowance, 50000);
    ck_assert_msg(!al.has_expires_at, "a new approval without expiry shows expires_at");
    transfer_from_ok(&s.id, transfer_from_body(a->text, rcp.text, 100));
    ck_assert_uint_eq(allowance(a->hex, s.hex), 50000 - 100 - FEE);
}
END_TEST

/* ================================================================ suite */

static Suite *ledger_icrc2_suite(void)
{
    Suite *s = suite_create("ledger_icrc2");
    TCase *tc;

    tc = tcase_create("approve");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_approve_text_spender);
    tcase_add_test(tc, test_approve_object_spender);
    tcase_add_test(tc, test_approve_replace_expected_and_remove);
    tcase_add_test(tc, test_approve_future_expiry_is_shown);
    tcase_add_test(tc, test_icrc2_writes_replay);
    suite_add_tcase(s, tc);

    tc = tcase_create("transfer_from");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_transfer_from_moves_and_debits_allowance);
    tcase_add_test(tc, test_transfer_from_owner_subaccount);
    tcase_add_test(tc, test_transfer_from_burn);
    tcase_add_test(tc, test_transfer_from_own_account);
    suite_add_tcase(s, tc);

    tc = tcase_create("batches");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_batch_three_signers);
    tcase_add_test(tc, test_batch_mixed_items);
    tcase_add_test(tc, test_batch_same_item_twice_and_replay);
    tcase_add_test(tc, test_batch_bounds);
    tcase_add_test(tc, test_batch_needs_no_signature);
    suite_add_tcase(s, tc);

    tc = tcase_create("history");
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    /* last: it moves the test clock ten seconds ahead */
    tc = tcase_create("expiry");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_approve_expiry_passes);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (!crypto_init()) {
        fprintf(stderr, "check_ledger_icrc2: cannot initialise libsodium\n");
        return 1;
    }
    for (int i = 0; i < NIDS; i++) {
        identity_t id;
        identity_seeded("e2e-icrc2-", i, &id);
        who_init(&ids[i], &id);
    }
    if (argc == 2 && strcmp(argv[1], "--print-accounts") == 0) {
        for (int i = 0; i < NIDS; i++)
            puts(ids[i].hex);
        return 0;
    }
    if (argc >= 2) {
        fprintf(stderr, "usage: check_ledger_icrc2 [--print-accounts]\n"
                        "runs the suite against $E2E_LEDGER_URL; --print-accounts prints the\n"
                        "accounts the genesis must fund\n");
        return 2;
    }
    e2e_base_url = getenv("E2E_LEDGER_URL");
    if (!e2e_base_url || !*e2e_base_url) {
        fprintf(stderr, "check_ledger_icrc2: set E2E_LEDGER_URL to the ledger's base URL\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "check_ledger_icrc2: cannot initialise libcurl\n");
        return 1;
    }
    SRunner *sr = srunner_create(ledger_icrc2_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    curl_global_cleanup();
    printf("check_ledger_icrc2: %d checks, %d failed\n", run, failed);
    return failed == 0 ? 0 : 1;
}
