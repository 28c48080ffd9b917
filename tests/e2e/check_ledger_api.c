/*
 * check_ledger_api: end-to-end Check suite against a live nns-ledger (shared/API.md, Ledger).
 *
 * The ledger's base URL comes from E2E_LEDGER_URL. It runs with --test-clock and a genesis that
 * funds four identities, identity i = identity_from_seed(SHA-256("e2e-<i>")), with
 * GENESIS_E8S each; `check_ledger_api --print-genesis [ACCOUNT...]` prints that genesis (the
 * extra accounts, 64-hex or ICRC-1 text, are funded the same way). When E2E_RESTART_CMD is set,
 * the replay test runs it with system() to restart the ledger between two identical requests.
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
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "account.h"
#include "crypto.h"
#include "hex.h"
#include "keyfile.h"
#include "principal.h"
#include "sign.h"

#define NIDS 4
#define GENESIS_E8S 1000000000000ULL
#define FEE 10000ULL
#define SECOND 1000000000ULL
#define WINDOW_NANOS (86400ULL * SECOND)
#define MINTING_ACCOUNT "082ecf2e3f647ac600f43f38a68342fba5b8e68b085f02592b77f39808a8d2b5"
#define LEDGER_PRINCIPAL "ryjl3-tyaaa-aaaaa-aaaba-cai"
#define GOVERNANCE_PRINCIPAL "rrkah-fqaaa-aaaaa-aaaaq-cai"
#define BODY_MAX 2048

static const char *base_url;
static identity_t ids[NIDS];

/* ================================================================ small utilities */

static uint64_t wall_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * SECOND + (uint64_t)ts.tv_nsec;
}

/* A random memo, distinct across tests and runs (the test clock is frozen, so two legacy
 * transfers with the same memo, amount and accounts would otherwise be duplicates). */
static uint64_t fresh_memo(void)
{
    uint64_t m;
    randombytes_buf(&m, sizeof m);
    return m >> 2;
}

static void fresh_subaccount(uint8_t sub[SUBACCOUNT_BYTES])
{
    randombytes_buf(sub, SUBACCOUNT_BYTES);
    sub[0] = 1; /* never the default subaccount */
}

static void account_hex_of(const principal_t *owner, const uint8_t *sub,
                           char out[ACCOUNT_HEX_LEN + 1])
{
    account_id_t id;
    account_id_of(owner, sub, &id);
    account_id_to_hex(&id, out);
}

static void icrc1_text_of(const principal_t *owner, const uint8_t *sub, char out[ICRC1_TEXT_MAX])
{
    icrc1_account_t a;
    memset(&a, 0, sizeof a);
    a.owner = *owner;
    if (sub)
        memcpy(a.subaccount, sub, SUBACCOUNT_BYTES);
    icrc1_account_to_text(&a, out);
}

static void identity_seeded(int i, identity_t *id)
{
    char text[16];
    uint8_t seed[32];
    int n = snprintf(text, sizeof text, "e2e-%d", i);
    sha256(text, (size_t)n, seed);
    identity_from_seed(seed, id);
}

static bool is_digits(const char *s)
{
    return s && *s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 20;
}

static bool is_lower_hex(const char *s, size_t len)
{
    return s && strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

static uint64_t u64_of(const char *s)
{
    ck_assert_msg(is_digits(s), "'%s' is not a u64 in decimal digits", s ? s : "(null)");
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        ck_assert_msg(v <= (UINT64_MAX - d) / 10, "'%s' overflows a u64", s);
        v = v * 10 + d;
    }
    return v;
}

/* ================================================================ HTTP */

typedef struct {
    char *data;
    size_t len;
} buf_t;

typedef struct {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char *headers; /* the header block of the final response */
    json_t *json;  /* the body parsed as JSON, or NULL */
} resp_t;

static void buf_append(buf_t *b, const char *p, size_t n)
{
    char *d = realloc(b->data, b->len + n + 1);
    if (!d)
        abort(); /* inside a libcurl callback: no longjmp out of it */
    memcpy(d + b->len, p, n);
    b->len += n;
    d[b->len] = '\0';
    b->data = d;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf_append(ud, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    buf_t *b = ud;
    if (size * n >= 5 && strncmp(p, "HTTP/", 5) == 0)
        b->len = 0; /* a new response starts (after a 100 Continue) */
    buf_append(b, p, size * n);
    return size * n;
}

static void resp_free(resp_t *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* Sends `method base_url+target` byte for byte. body NULL: no body. headers: NULL-terminated
 * "Name: value" lines (NULL for none). chunked: send the body with chunked encoding. */
static void http_send_ex(const char *method, const char *target, const char *body, size_t body_len,
                         const char *const *headers, bool chunked, resp_t *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    char *url = NULL;
    ck_assert_int_ge(asprintf(&url, "%s%s", base_url, target), 0);
    struct curl_slist *list = NULL;
    bool has_ctype = false;
    for (const char *const *h = headers; h && *h; h++) {
        list = curl_slist_append(list, *h);
        if (strncasecmp(*h, "Content-Type:", 13) == 0)
            has_ctype = true;
    }
    if (body && !has_ctype)
        list = curl_slist_append(list, "Content-Type: application/json");
    if (chunked)
        list = curl_slist_append(list, "Transfer-Encoding: chunked");
    buf_t rb = {0}, hb = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &rb);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        if (!chunked)
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    if (list)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    CURLcode rc = curl_easy_perform(c);
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, target, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    free(url);
    out->body = rb.data ? rb.data : strdup("");
    out->len = rb.len;
    out->headers = hb.data ? hb.data : strdup("");
    out->json = json_loadb(out->body, out->len, JSON_DECODE_ANY, NULL);
}

static void http_send(const char *method, const char *target, const char *body,
                      const char *const *headers, resp_t *out)
{
    http_send_ex(method, target, body, body ? strlen(body) : 0, headers, false, out);
}

/* The value of the response header name (case-insensitive), copied to out; false if absent. */
static bool resp_header(const resp_t *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
        if (linelen > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = linelen - (size_t)(v - p);
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            snprintf(out, cap, "%.*s", (int)vl, v);
            return true;
        }
        if (!eol)
            break;
        p = eol + 2;
    }
    return false;
}

static bool is_replayed(const resp_t *r)
{
    char v[32];
    return resp_header(r, "X-Replayed", v, sizeof v) && strcmp(v, "true") == 0;
}

static void get(const char *target, resp_t *r)
{
    http_send("GET", target, NULL, NULL, r);
}

/* GET target, asserting 200 and a JSON object body. */
static void get_ok(const char *target, resp_t *r)
{
    get(target, r);
    ck_assert_msg(r->status == 200, "GET %s answered %ld: %s", target, r->status, r->body);
    ck_assert_msg(json_is_object(r->json), "GET %s: body is not a JSON object: %s", target,
                  r->body);
}

/* ================================================================ JSON */

static json_t *jget(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(v != NULL, "member '%s' missing", key);
    return v;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = jget(o, key);
    ck_assert_msg(json_is_string(v), "member '%s' is not a string", key);
    return json_string_value(v);
}

/* A u64 member, which the wire rules say is a JSON string of decimal digits. */
static uint64_t ju64(json_t *o, const char *key)
{
    json_t *v = jget(o, key);
    ck_assert_msg(json_is_string(v), "member '%s' is not a string (u64 values are strings)", key);
    return u64_of(json_string_value(v));
}

/* ================================================================ signing */

typedef struct {
    char pk[2 * ED25519_DER_BYTES + 1];
    char expiry[24];
    char sig[2 * ED25519_SIGNATURE_BYTES + 1];
    char h_pk[128], h_expiry[64], h_sig[192];
    const char *lines[4]; /* the three header lines and NULL */
} signed_t;

static void signed_lines(signed_t *s)
{
    snprintf(s->h_pk, sizeof s->h_pk, "X-Public-Key: %s", s->pk);
    snprintf(s->h_expiry, sizeof s->h_expiry, "X-Expiry: %s", s->expiry);
    snprintf(s->h_sig, sizeof s->h_sig, "X-Signature: %s", s->sig);
    s->lines[0] = s->h_pk;
    s->lines[1] = s->h_expiry;
    s->lines[2] = s->h_sig;
    s->lines[3] = NULL;
}

/* Signs (method, signed_target, body) as id with the given expiry. */
static void sign_as(const identity_t *id, const char *method, const char *signed_target,
                    const char *body, uint64_t expiry, signed_t *s)
{
    memset(s, 0, sizeof *s);
    hex_encode(id->der, sizeof id->der, s->pk);
    snprintf(s->expiry, sizeof s->expiry, "%" PRIu64, expiry);
    sign_request(id->sk, method, signed_target, expiry, (const uint8_t *)body,
                 body ? strlen(body) : 0, s->sig);
    signed_lines(s);
}

static void send_signed(const signed_t *s, const char *target, const char *body, resp_t *r)
{
    http_send("POST", target, body, s->lines, r);
}

/* POST /v1/transfers signed by id, expiring in two minutes (wall clock). */
static void post_transfer(const identity_t *id, const char *body, resp_t *r)
{
    signed_t s;
    sign_as(id, "POST", "/v1/transfers", body, wall_nanos() + 120 * SECOND, &s);
    send_signed(&s, "/v1/transfers", body, r);
}

/* POST /v1/transfers that must succeed; returns the new block's index. */
static uint64_t transfer_ok(const identity_t *id, const char *body)
{
    resp_t r;
    post_transfer(id, body, &r);
    ck_assert_msg(r.status == 200, "transfer %s answered %ld: %s", body, r.status, r.body);
    ck_assert_msg(json_is_object(r.json), "transfer answer is not an object: %s", r.body);
    uint64_t h = ju64(r.json, "block_index");
    resp_free(&r);
    return h;
}

/* ================================================================ request bodies */

/* Legacy transfer body. created 0: no created_at_time; from_sub NULL: none. */
static void legacy_body(char *out, size_t cap, const char *to, uint64_t amount, uint64_t fee,
                        uint64_t memo, uint64_t created, const char *from_sub)
{
    int n = snprintf(out, cap,
                     "{\"to\":\"%s\",\"amount_e8s\":\"%" PRIu64 "\",\"fee_e8s\":\"%" PRIu64
                     "\",\"memo\":\"%" PRIu64 "\"",
                     to, amount, fee, memo);
    if (created)
        n += snprintf(out + n, cap - (size_t)n, ",\"created_at_time\":\"%" PRIu64 "\"", created);
    if (from_sub)
        n += snprintf(out + n, cap - (size_t)n, ",\"from_subaccount\":\"%s\"", from_sub);
    snprintf(out + n, cap - (size_t)n, "}");
}

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

/* ================================================================ ledger reads */

static uint64_t ledger_now(void)
{
    resp_t r;
    get_ok("/v1/identity", &r);
    uint64_t now = ju64(r.json, "now_nanos");
    resp_free(&r);
    return now;
}

/* Balance and transaction count of an account (64-hex or ICRC-1 text). */
static uint64_t balance_count(const char *account, uint64_t *count)
{
    char target[256];
    snprintf(target, sizeof target, "/v1/accounts/%s", account);
    resp_t r;
    get_ok(target, &r);
    uint64_t b = ju64(r.json, "balance_e8s");
    if (count)
        *count = ju64(r.json, "transaction_count");
    resp_free(&r);
    return b;
}

static uint64_t balance(const char *account)
{
    return balance_count(account, NULL);
}

/* GET /v1/blocks/{h} as a JSON object (new reference). */
static json_t *block_at(uint64_t h)
{
    char target[64];
    snprintf(target, sizeof target, "/v1/blocks/%" PRIu64, h);
    resp_t r;
    get_ok(target, &r);
    json_t *b = json_incref(r.json);
    resp_free(&r);
    return b;
}

static json_t *block_op(json_t *block)
{
    return jget(jget(block, "transaction"), "operation");
}

/* What must not move when a request is refused. */
typedef struct {
    uint64_t chain_length, balance, total_supply;
} state_t;

static void state_of(const char *account, state_t *s)
{
    resp_t r;
    get_ok("/v1/ledger", &r);
    s->chain_length = ju64(r.json, "chain_length");
    s->total_supply = ju64(r.json, "total_supply_e8s");
    resp_free(&r);
    s->balance = balance(account);
}

static void assert_state_same(const char *account, const state_t *before, const char *what)
{
    state_t after;
    state_of(account, &after);
    ck_assert_msg(after.chain_length == before->chain_length,
                  "%s: chain length moved from %" PRIu64 " to %" PRIu64, what, before->chain_length,
                  after.chain_length);
    ck_assert_msg(after.balance == before->balance,
                  "%s: balance moved from %" PRIu64 " to %" PRIu64, what, before->balance,
                  after.balance);
    ck_assert_msg(after.total_supply == before->total_supply, "%s: total supply moved", what);
}

/* Asserts an application/problem+json answer with status and (unless NULL) code. */
static void assert_problem(const resp_t *r, long status, const char *code, const char *what)
{
    ck_assert_msg(r->status == status, "%s: status %ld, expected %ld: %s", what, r->status, status,
                  r->body);
    char ctype[128];
    ck_assert_msg(resp_header(r, "Content-Type", ctype, sizeof ctype) &&
                      strncmp(ctype, "application/problem+json", 24) == 0,
                  "%s: content type is not application/problem+json", what);
    ck_assert_msg(json_is_object(r->json), "%s: problem body is not a JSON object: %s", what,
                  r->body);
    json_t *st = json_object_get(r->json, "status");
    ck_assert_msg(json_is_integer(st) && json_integer_value(st) == status,
                  "%s: problem 'status' is not %ld: %s", what, status, r->body);
    const char *fields[] = {"type", "title", "detail", "code"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(r->json, fields[i]);
        ck_assert_msg(json_is_string(v) && *json_string_value(v),
                      "%s: problem member '%s' missing or empty: %s", what, fields[i], r->body);
    }
    if (code)
        ck_assert_msg(strcmp(json_string_value(json_object_get(r->json, "code")), code) == 0,
                      "%s: code is not '%s': %s", what, code, r->body);
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

START_TEST(test_health_and_readiness)
{
    resp_t r;
    get_ok("/healthz", &r);
    resp_free(&r);
    get_ok("/readyz", &r);
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

typedef struct {
    uint64_t total, minted, burned, fees;
} supply_t;

static void supply_of(supply_t *s)
{
    resp_t r;
    get_ok("/v1/supply", &r);
    s->total = ju64(r.json, "total_supply_e8s");
    s->minted = ju64(r.json, "minted_e8s");
    s->burned = ju64(r.json, "burned_e8s");
    s->fees = ju64(r.json, "fees_burned_e8s");
    resp_free(&r);
    ck_assert_msg(s->total == s->minted - s->burned - s->fees,
                  "supply %" PRIu64 " != minted %" PRIu64 " - burned %" PRIu64 " - fees %" PRIu64,
                  s->total, s->minted, s->burned, s->fees);
}

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
    fresh_subaccount(sub);
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
    fresh_subaccount(sub);
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

/* Walks GET base?limit=N&cursor=... to the end. Returns the heights (malloc'd) in the order
 * served; asserts newest first, no duplicates, and a constant oldest_tx_id (returned). */
static uint64_t *walk_history(const char *account, unsigned limit, size_t *n, uint64_t *oldest,
                              uint64_t *pages)
{
    uint64_t *heights = NULL;
    size_t count = 0;
    char cursor[64] = "";
    *pages = 0;
    for (;;) {
        char target[512];
        if (*cursor)
            snprintf(target, sizeof target, "/v1/accounts/%s/transactions?limit=%u&cursor=%s",
                     account, limit, cursor);
        else
            snprintf(target, sizeof target, "/v1/accounts/%s/transactions?limit=%u", account,
                     limit);
        resp_t r;
        get_ok(target, &r);
        (*pages)++;
        ck_assert_msg(*pages < 10000, "history does not end");
        json_t *items = jget(r.json, "items"), *it;
        ck_assert(json_is_array(items));
        ck_assert_uint_le(json_array_size(items), limit);
        *oldest = ju64(r.json, "oldest_tx_id");
        size_t i;
        json_array_foreach(items, i, it)
        {
            uint64_t h = ju64(it, "height");
            if (count > 0)
                ck_assert_msg(h < heights[count - 1],
                              "history not newest first: %" PRIu64 " after %" PRIu64, h,
                              heights[count - 1]);
            heights = realloc(heights, (count + 1) * sizeof *heights);
            ck_assert_ptr_nonnull(heights);
            heights[count++] = h;
        }
        json_t *next = jget(r.json, "next_cursor");
        if (json_is_null(next)) {
            resp_free(&r);
            break;
        }
        ck_assert_msg(json_is_string(next), "next_cursor is neither a string nor null");
        ck_assert_msg(json_array_size(items) == limit, "a short page has a next_cursor");
        snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        resp_free(&r);
    }
    *n = count;
    return heights;
}

START_TEST(test_account_history_paging)
{
    const identity_t *from = &ids[3];
    identity_t to;
    identity_generate(&to);
    char to_hex[65], to_text[ICRC1_TEXT_MAX], body[BODY_MAX];
    account_hex_of(&to.principal, NULL, to_hex);
    icrc1_text_of(&to.principal, NULL, to_text);
    uint64_t made[5];
    for (int i = 0; i < 5; i++) {
        legacy_body(body, sizeof body, to_hex, 1000 + (uint64_t)i, FEE, fresh_memo(), ledger_now(),
                    NULL);
        made[i] = transfer_ok(from, body);
    }
    size_t n;
    uint64_t oldest, pages;
    uint64_t *got = walk_history(to_hex, 2, &n, &oldest, &pages);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(pages, 3);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(got[i], made[4 - i]);
    ck_assert_uint_eq(oldest, made[0]);
    free(got);

    /* the same by ICRC-1 text; a page that ends exactly at the oldest has no cursor */
    got = walk_history(to_text, 5, &n, &oldest, &pages);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(pages, 1);
    ck_assert_uint_eq(oldest, made[0]);
    free(got);

    /* the page carries the account and its balance; items are block objects */
    char target[256];
    snprintf(target, sizeof target, "/v1/accounts/%s/transactions?limit=1", to_hex);
    resp_t r;
    get_ok(target, &r);
    ck_assert_str_eq(jstr(r.json, "account_identifier"), to_hex);
    ck_assert_uint_eq(ju64(r.json, "balance_e8s"), 5 * 1000 + 10);
    json_t *item = json_array_get(jget(r.json, "items"), 0);
    ck_assert_ptr_nonnull(item);
    ck_assert_uint_eq(ju64(item, "height"), made[4]);
    ck_assert_str_eq(jstr(jget(jget(item, "transaction"), "operation"), "to"), to_hex);
    ck_assert_uint_eq(ju64(jget(jget(item, "transaction"), "operation"), "amount_e8s"), 1004);
    resp_free(&r);

    /* the sender's whole history: back to its genesis mint */
    char from_hex[65];
    account_hex_of(&from->principal, NULL, from_hex);
    got = walk_history(from_hex, 3, &n, &oldest, &pages);
    ck_assert_uint_ge(n, 6);
    ck_assert_uint_eq(got[n - 1], oldest);
    json_t *b = block_at(oldest);
    ck_assert_str_eq(jstr(block_op(b), "type"), "mint");
    ck_assert_str_eq(jstr(block_op(b), "to"), from_hex);
    json_decref(b);
    free(got);

    /* an account without history */
    identity_t nobody;
    identity_generate(&nobody);
    char nobody_hex[65];
    account_hex_of(&nobody.principal, NULL, nobody_hex);
    snprintf(target, sizeof target, "/v1/accounts/%s/transactions", nobody_hex);
    get_ok(target, &r);
    ck_assert_uint_eq(json_array_size(jget(r.json, "items")), 0);
    ck_assert(json_is_null(jget(r.json, "next_cursor")));
    ck_assert_uint_eq(ju64(r.json, "balance_e8s"), 0);
    resp_free(&r);
}
END_TEST

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

START_TEST(test_bad_fee)
{
    const identity_t *from = &ids[1];
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_hex[65], to_json[128], ptext[PRINCIPAL_TEXT_MAX], body[BODY_MAX];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    principal_to_text(&to.principal, ptext);
    state_t before;
    state_of(from_hex, &before);
    resp_t r;

    legacy_body(body, sizeof body, to_hex, 1000, 9999, fresh_memo(), ledger_now(), NULL);
    post_transfer(from, body, &r);
    assert_problem(&r, 422, "BadFee", "legacy fee 9999");
    ck_assert_str_eq(jstr(r.json, "expected_fee_e8s"), "10000");
    resp_free(&r);

    quoted(to_json, sizeof to_json, ptext);
    icrc1_body(body, sizeof body, to_json, 1000, "1", NULL, 0, NULL);
    post_transfer(from, body, &r);
    assert_problem(&r, 422, "BadFee", "ICRC-1 fee 1");
    ck_assert_str_eq(jstr(r.json, "expected_fee_e8s"), "10000");
    resp_free(&r);
    assert_state_same(from_hex, &before, "BadFee");
    ck_assert_uint_eq(balance(to_hex), 0);
}
END_TEST

START_TEST(test_insufficient_funds)
{
    identity_t poor, to;
    identity_generate(&poor);
    identity_generate(&to);
    char poor_hex[65], to_hex[65], to_json[128], ptext[PRINCIPAL_TEXT_MAX], body[BODY_MAX];
    account_hex_of(&poor.principal, NULL, poor_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    principal_to_text(&to.principal, ptext);
    quoted(to_json, sizeof to_json, ptext);
    resp_t r;

    /* an account the ledger has never seen */
    legacy_body(body, sizeof body, to_hex, 1, FEE, fresh_memo(), ledger_now(), NULL);
    post_transfer(&poor, body, &r);
    assert_problem(&r, 422, "InsufficientFunds", "empty account");
    ck_assert_str_eq(jstr(r.json, "balance_e8s"), "0");
    resp_free(&r);

    /* fund it with 30000: 25000 + fee is too much, by either kind */
    legacy_body(body, sizeof body, poor_hex, 30000, FEE, fresh_memo(), ledger_now(), NULL);
    transfer_ok(&ids[0], body);
    state_t before;
    state_of(poor_hex, &before);
    legacy_body(body, sizeof body, to_hex, 25000, FEE, fresh_memo(), ledger_now(), NULL);
    post_transfer(&poor, body, &r);
    assert_problem(&r, 422, "InsufficientFunds", "legacy 25000 + fee from 30000");
    ck_assert_str_eq(jstr(r.json, "balance_e8s"), "30000");
    resp_free(&r);
    icrc1_body(body, sizeof body, to_json, 25000, NULL, NULL, ledger_now(), NULL);
    post_transfer(&poor, body, &r);
    assert_problem(&r, 422, "InsufficientFunds", "ICRC-1 25000 + fee from 30000");
    ck_assert_str_eq(jstr(r.json, "balance_e8s"), "30000");
    resp_free(&r);
    /* amount + fee overflows a u64 */
    icrc1_body(body, sizeof body, to_json, UINT64_MAX, NULL, NULL, 0, NULL);
    post_transfer(&poor, body, &r);
    assert_problem(&r, 422, "InsufficientFunds", "amount u64::MAX");
    ck_assert_str_eq(jstr(r.json, "balance_e8s"), "30000");
    resp_free(&r);
    assert_state_same(poor_hex, &before, "InsufficientFunds");

    /* exactly amount + fee is enough */
    legacy_body(body, sizeof body, to_hex, 20000, FEE, fresh_memo(), ledger_now(), NULL);
    transfer_ok(&poor, body);
    ck_assert_uint_eq(balance(poor_hex), 0);
    ck_assert_uint_eq(balance(to_hex), 20000);
}
END_TEST

START_TEST(test_legacy_duplicate)
{
    const identity_t *from = &ids[0];
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_hex[65], body[BODY_MAX];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    legacy_body(body, sizeof body, to_hex, 7777, FEE, fresh_memo(), ledger_now(), NULL);
    signed_t s1, s2;
    uint64_t wall = wall_nanos();
    sign_as(from, "POST", "/v1/transfers", body, wall + 100 * SECOND, &s1);
    sign_as(from, "POST", "/v1/transfers", body, wall + 101 * SECOND, &s2);
    ck_assert_str_ne(s1.sig, s2.sig);
    resp_t r;
    send_signed(&s1, "/v1/transfers", body, &r);
    ck_assert_msg(r.status == 200, "first transfer answered %ld: %s", r.status, r.body);
    uint64_t h = ju64(r.json, "block_index");
    resp_free(&r);
    state_t before;
    state_of(from_hex, &before);
    send_signed(&s2, "/v1/transfers", body, &r);
    assert_problem(&r, 409, "TxDuplicate", "same created_at_time and memo");
    ck_assert_uint_eq(ju64(r.json, "duplicate_of"), h);
    ck_assert_msg(!is_replayed(&r), "a new signature was answered from the replay cache");
    resp_free(&r);
    assert_state_same(from_hex, &before, "TxDuplicate");
    ck_assert_uint_eq(balance(to_hex), 7777);
}
END_TEST

START_TEST(test_icrc1_duplicate)
{
    const identity_t *from = &ids[1];
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_json[128], ptext[PRINCIPAL_TEXT_MAX], body[BODY_MAX], memo[17];
    account_hex_of(&from->principal, NULL, from_hex);
    principal_to_text(&to.principal, ptext);
    quoted(to_json, sizeof to_json, ptext);
    snprintf(memo, sizeof memo, "%016" PRIx64, fresh_memo());
    uint64_t created = ledger_now();
    icrc1_body(body, sizeof body, to_json, 4242, NULL, memo, created, NULL);
    signed_t s1, s2;
    uint64_t wall = wall_nanos();
    sign_as(from, "POST", "/v1/transfers", body, wall + 100 * SECOND, &s1);
    sign_as(from, "POST", "/v1/transfers", body, wall + 101 * SECOND, &s2);
    resp_t r;
    send_signed(&s1, "/v1/transfers", body, &r);
    ck_assert_msg(r.status == 200, "first transfer answered %ld: %s", r.status, r.body);
    uint64_t h = ju64(r.json, "block_index");
    resp_free(&r);
    state_t before;
    state_of(from_hex, &before);
    send_signed(&s2, "/v1/transfers", body, &r);
    assert_problem(&r, 409, "Duplicate", "same ICRC-1 transaction");
    ck_assert_uint_eq(ju64(r.json, "duplicate_of"), h);
    resp_free(&r);
    assert_state_same(from_hex, &before, "Duplicate");

    /* fee omitted and fee 10000 record the same transaction (spec 3.4) */
    icrc1_body(body, sizeof body, to_json, 4242, "10000", memo, created, NULL);
    post_transfer(from, body, &r);
    assert_problem(&r, 409, "Duplicate", "same ICRC-1 transaction with the fee given");
    ck_assert_uint_eq(ju64(r.json, "duplicate_of"), h);
    resp_free(&r);
    /* another memo is another transaction */
    icrc1_body(body, sizeof body, to_json, 4242, NULL, "00", created, NULL);
    transfer_ok(from, body);
}
END_TEST

START_TEST(test_too_old)
{
    const identity_t *from = &ids[2];
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_hex[65], to_json[128], ptext[PRINCIPAL_TEXT_MAX], body[BODY_MAX];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    principal_to_text(&to.principal, ptext);
    quoted(to_json, sizeof to_json, ptext);
    state_t before;
    state_of(from_hex, &before);
    uint64_t old = ledger_now() - WINDOW_NANOS - SECOND;
    resp_t r;
    legacy_body(body, sizeof body, to_hex, 1000, FEE, fresh_memo(), old, NULL);
    post_transfer(from, body, &r);
    assert_problem(&r, 422, "TxTooOld", "legacy created 24 h + 1 s ago");
    ck_assert_uint_eq(ju64(r.json, "allowed_window_nanos"), WINDOW_NANOS);
    resp_free(&r);
    icrc1_body(body, sizeof body, to_json, 1000, NULL, NULL, old, NULL);
    post_transfer(from, body, &r);
    assert_problem(&r, 422, "TooOld", "ICRC-1 created 24 h + 1 s ago");
    resp_free(&r);
    assert_state_same(from_hex, &before, "TooOld");
}
END_TEST

START_TEST(test_created_in_future)
{
    const identity_t *from = &ids[3];
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_hex[65], to_json[128], ptext[PRINCIPAL_TEXT_MAX], body[BODY_MAX];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    principal_to_text(&to.principal, ptext);
    quoted(to_json, sizeof to_json, ptext);
    state_t before;
    state_of(from_hex, &before);
    uint64_t now = ledger_now(), future = now + 120 * SECOND;
    resp_t r;
    legacy_body(body, sizeof body, to_hex, 1000, FEE, fresh_memo(), future, NULL);
    post_transfer(from, body, &r);
    assert_problem(&r, 422, "TxCreatedInFuture", "legacy created in 2 minutes");
    ck_assert_uint_ge(ju64(r.json, "ledger_time_nanos"), now);
    ck_assert_uint_lt(ju64(r.json, "ledger_time_nanos"), future - 60 * SECOND);
    resp_free(&r);
    icrc1_body(body, sizeof body, to_json, 1000, NULL, NULL, future, NULL);
    post_transfer(from, body, &r);
    assert_problem(&r, 422, "CreatedInFuture", "ICRC-1 created in 2 minutes");
    ck_assert_uint_ge(ju64(r.json, "ledger_time_nanos"), now);
    resp_free(&r);
    assert_state_same(from_hex, &before, "CreatedInFuture");
}
END_TEST

START_TEST(test_bad_burn)
{
    const identity_t *from = &ids[0];
    char from_hex[65], body[BODY_MAX], to_json[64];
    account_hex_of(&from->principal, NULL, from_hex);
    state_t before;
    state_of(from_hex, &before);
    resp_t r;
    legacy_body(body, sizeof body, MINTING_ACCOUNT, 9999, 0, fresh_memo(), ledger_now(), NULL);
    post_transfer(from, body, &r);
    assert_problem(&r, 422, "BadBurn", "legacy burn of 9999");
    ck_assert_str_eq(jstr(r.json, "min_burn_amount_e8s"), "10000");
    resp_free(&r);
    quoted(to_json, sizeof to_json, GOVERNANCE_PRINCIPAL);
    icrc1_body(body, sizeof body, to_json, 5000, NULL, NULL, 0, NULL);
    post_transfer(from, body, &r);
    assert_problem(&r, 422, "BadBurn", "ICRC-1 burn of 5000");
    ck_assert_str_eq(jstr(r.json, "min_burn_amount_e8s"), "10000");
    resp_free(&r);
    icrc1_body(body, sizeof body, to_json, 0, NULL, NULL, 0, NULL);
    post_transfer(from, body, &r);
    assert_problem(&r, 422, "BadBurn", "ICRC-1 burn of 0");
    resp_free(&r);
    /* an ICRC-1 burn with a non-zero fee */
    icrc1_body(body, sizeof body, to_json, 50000, "10000", NULL, 0, NULL);
    post_transfer(from, body, &r);
    assert_problem(&r, 422, "BadFee", "ICRC-1 burn with fee");
    ck_assert_str_eq(jstr(r.json, "expected_fee_e8s"), "0");
    resp_free(&r);
    assert_state_same(from_hex, &before, "BadBurn");
}
END_TEST

/* ================================================================ bad input */

/* A body template: {TO} is a valid account identifier, {BADCRC} the same with a broken
 * checksum, {HASH56} its 56-digit bare hash, {TEXT} a valid ICRC-1 account text. */
typedef struct {
    const char *name;
    const char *body;
    long status;
    const char *code; /* NULL: any code */
} bad_case_t;

static const bad_case_t BAD_BODIES[] = {
    {"malformed JSON", "{\"to\":\"{TO}\",\"amount_e8s\":\"1\"", 400, "BadRequest"},
    {"empty body", "", 400, "BadRequest"},
    {"trailing data after the object",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\"} {}", 400,
     "BadRequest"},
    {"body not an object", "[\"{TO}\",\"1\"]", 400, "BadRequest"},
    {"body a string", "\"transfer\"", 400, "BadRequest"},
    {"amount as a JSON number",
     "{\"to\":\"{TO}\",\"amount_e8s\":100,\"fee_e8s\":\"10000\",\"memo\":\"1\"}", 400,
     "BadRequest"},
    {"fee as a JSON number",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"100\",\"fee_e8s\":10000,\"memo\":\"1\"}", 400,
     "BadRequest"},
    {"memo as a JSON number",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"100\",\"fee_e8s\":\"10000\",\"memo\":1}", 400,
     "BadRequest"},
    {"negative amount",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"-1\",\"fee_e8s\":\"10000\",\"memo\":\"1\"}", 400,
     "BadRequest"},
    {"fractional amount",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"1.5\",\"fee_e8s\":\"10000\",\"memo\":\"1\"}", 400,
     "BadRequest"},
    {"amount over u64",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"18446744073709551616\",\"fee_e8s\":\"10000\","
     "\"memo\":\"1\"}",
     400, "BadRequest"},
    {"ICRC-1 amount over u64",
     "{\"to_account\":\"{TEXT}\",\"amount_e8s\":\"100000000000000000000000\"}", 400, "BadRequest"},
    {"empty amount", "{\"to\":\"{TO}\",\"amount_e8s\":\"\",\"fee_e8s\":\"10000\",\"memo\":\"1\"}",
     400, "BadRequest"},
    {"amount with a space",
     "{\"to\":\"{TO}\",\"amount_e8s\":\" 1\",\"fee_e8s\":\"10000\",\"memo\":\"1\"}", 400,
     "BadRequest"},
    {"missing amount", "{\"to\":\"{TO}\",\"fee_e8s\":\"10000\",\"memo\":\"1\"}", 400, "BadRequest"},
    {"missing legacy fee", "{\"to\":\"{TO}\",\"amount_e8s\":\"1\",\"memo\":\"1\"}", 400,
     "BadRequest"},
    {"bad hex in to",
     "{\"to\":\"zz{HASH56}zzzzzz\",\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\"}", 400,
     "InvalidAccount"},
    {"bad checksum in to",
     "{\"to\":\"{BADCRC}\",\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\"}", 400,
     "InvalidAccount"},
    {"56-digit to",
     "{\"to\":\"{HASH56}\",\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\"}", 400,
     "InvalidAccount"},
    {"to as a number", "{\"to\":12,\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\"}", 400,
     NULL},
    {"to_account not an account", "{\"to_account\":\"not-an-account\",\"amount_e8s\":\"1\"}", 400,
     "InvalidAccount"},
    {"to_account as a number", "{\"to_account\":7,\"amount_e8s\":\"1\"}", 400, NULL},
    {"to_account object with a bad owner",
     "{\"to_account\":{\"owner\":\"nope\"},\"amount_e8s\":\"1\"}", 400, NULL},
    {"to_account object with an unknown field",
     "{\"to_account\":{\"owner\":\"" GOVERNANCE_PRINCIPAL "\",\"x\":1},\"amount_e8s\":\"1\"}", 400,
     "BadRequest"},
    {"to_account object with a short subaccount",
     "{\"to_account\":{\"owner\":\"" GOVERNANCE_PRINCIPAL "\",\"subaccount\":\"01\"},"
     "\"amount_e8s\":\"1\"}",
     400, "BadRequest"},
    {"icrc1_memo of 33 bytes",
     "{\"to_account\":\"{TEXT}\",\"amount_e8s\":\"1\",\"icrc1_memo\":"
     "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\"}",
     400, "BadRequest"},
    {"icrc1_memo not hex",
     "{\"to_account\":\"{TEXT}\",\"amount_e8s\":\"1\",\"icrc1_memo\":\"xyz1\"}", 400, "BadRequest"},
    {"icrc1_memo in upper case",
     "{\"to_account\":\"{TEXT}\",\"amount_e8s\":\"1\",\"icrc1_memo\":\"ABCD\"}", 400, "BadRequest"},
    {"from_subaccount of 31 bytes",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\","
     "\"from_subaccount\":\"00000000000000000000000000000000000000000000000000000000000001\"}",
     400, "BadRequest"},
    {"created_at_time as a JSON number",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\","
     "\"created_at_time\":1}",
     400, "BadRequest"},
    {"unknown field",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\",\"foo\":\"bar\"}",
     400, "BadRequest"},
    {"ICRC-1 field in a legacy transfer",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\","
     "\"icrc1_memo\":\"00\"}",
     400, "BadRequest"},
    {"both to and to_account",
     "{\"to\":\"{TO}\",\"to_account\":\"{TEXT}\",\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\","
     "\"memo\":\"1\"}",
     400, "BadRequest"},
    {"neither to nor to_account", "{\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\"}",
     400, "BadRequest"},
    {"duplicate member",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"1\",\"amount_e8s\":\"2\",\"fee_e8s\":\"10000\","
     "\"memo\":\"1\"}",
     400, "BadRequest"},
    {"invalid UTF-8",
     "{\"to\":\"{TO}\",\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"memo\":\"1\",\"x\":\"\xff\"}",
     400, "BadRequest"},
};
#define NBAD (sizeof BAD_BODIES / sizeof BAD_BODIES[0])

/* Replaces every {KEY} of template from the table; returns malloc'd text. */
static char *expand(const char *template, const char *const keys[][2], size_t nkeys)
{
    size_t cap = strlen(template) * 4 + 512, n = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    for (const char *p = template; *p;) {
        bool done = false;
        for (size_t k = 0; k < nkeys && !done; k++) {
            size_t kl = strlen(keys[k][0]);
            if (strncmp(p, keys[k][0], kl) == 0) {
                size_t vl = strlen(keys[k][1]);
                ck_assert_uint_lt(n + vl, cap);
                memcpy(out + n, keys[k][1], vl);
                n += vl;
                p += kl;
                done = true;
            }
        }
        if (!done) {
            ck_assert_uint_lt(n + 1, cap);
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

START_TEST(test_bad_body)
{
    const bad_case_t *c = &BAD_BODIES[_i];
    const identity_t *from = &ids[0];
    char from_hex[65], to_hex[65], bad_crc[65], text[ICRC1_TEXT_MAX];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&ids[1].principal, NULL, to_hex);
    icrc1_text_of(&ids[1].principal, NULL, text);
    snprintf(bad_crc, sizeof bad_crc, "%s", to_hex);
    bad_crc[0] = bad_crc[0] == '0' ? '1' : '0';
    const char *const keys[][2] = {
        {"{TO}", to_hex}, {"{BADCRC}", bad_crc}, {"{HASH56}", to_hex + 8}, {"{TEXT}", text}};
    char *body = expand(c->body, keys, sizeof keys / sizeof keys[0]);
    state_t before;
    state_of(from_hex, &before);
    resp_t r;
    post_transfer(from, body, &r);
    assert_problem(&r, c->status, c->code, c->name);
    resp_free(&r);
    assert_state_same(from_hex, &before, c->name);
    free(body);
}
END_TEST

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

START_TEST(test_unknown_path)
{
    const char *paths[] = {"/v1/nope", "/v2/ledger", "/v1/ledger/extra", "/", "/v1/blocks/1/2"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        resp_t r;
        get(paths[i], &r);
        assert_problem(&r, 404, "NotFound", paths[i]);
        resp_free(&r);
    }
    resp_t r;
    http_send("POST", "/v1/nothing", "{}", NULL, &r);
    assert_problem(&r, 404, "NotFound", "POST /v1/nothing");
    resp_free(&r);
}
END_TEST

START_TEST(test_wrong_method)
{
    struct {
        const char *method, *path, *body;
    } cases[] = {
        {"DELETE", "/v1/ledger", NULL}, {"POST", "/v1/ledger", "{}"},
        {"GET", "/v1/transfers", NULL}, {"PUT", "/v1/transfers", "{}"},
        {"POST", "/v1/blocks/0", "{}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp_t r;
        http_send(cases[i].method, cases[i].path, cases[i].body, NULL, &r);
        char what[128];
        snprintf(what, sizeof what, "%s %s", cases[i].method, cases[i].path);
        assert_problem(&r, 405, NULL, what);
        resp_free(&r);
    }
}
END_TEST

/* RFC 9110 15.5.6: a 405 response MUST carry Allow with the target's methods. */
START_TEST(test_wrong_method_allow_header)
{
    resp_t r;
    http_send("DELETE", "/v1/ledger", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    char allow[128];
    ck_assert_msg(resp_header(&r, "Allow", allow, sizeof allow),
                  "405 answer without an Allow header");
    ck_assert_msg(strstr(allow, "GET") != NULL, "Allow '%s' does not list GET", allow);
    resp_free(&r);
    http_send("GET", "/v1/transfers", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_msg(resp_header(&r, "Allow", allow, sizeof allow),
                  "405 answer without an Allow header");
    ck_assert_msg(strstr(allow, "POST") != NULL, "Allow '%s' does not list POST", allow);
    resp_free(&r);
}
END_TEST

START_TEST(test_bad_read_parameters)
{
    char hex[65], bad_crc[65], target[256];
    account_hex_of(&ids[0].principal, NULL, hex);
    snprintf(bad_crc, sizeof bad_crc, "%s", hex);
    bad_crc[0] = bad_crc[0] == '0' ? '1' : '0';
    struct {
        const char *target;
        long status;
        const char *code;
    } cases[] = {
        {"/v1/accounts/xyz", 400, "InvalidAccount"},
        {"/v1/accounts/xyz/transactions", 400, "InvalidAccount"},
        {"/v1/blocks/abc", 400, "BadRequest"},
        {"/v1/blocks/-1", 400, "BadRequest"},
        {"/v1/blocks/18446744073709551616", 400, "BadRequest"},
        {"/v1/blocks/999999999999", 404, "NotFound"},
        {"/v1/blocks?limit=abc", 400, "BadRequest"},
        {"/v1/blocks?limit=-1", 400, "BadRequest"},
        {"/v1/blocks?start=abc", 400, "BadRequest"},
        {"/v1/blocks?cursor=zzz", 400, "BadRequest"},
        {"/v1/transactions/xyz", 400, "BadRequest"},
        {"/v1/transactions/0000000000000000000000000000000000000000000000000000000000000000", 404,
         "NotFound"},
        {"/v1/principals/not-a-principal/accounts", 400, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp_t r;
        get(cases[i].target, &r);
        assert_problem(&r, cases[i].status, cases[i].code, cases[i].target);
        resp_free(&r);
    }
    resp_t r;
    snprintf(target, sizeof target, "/v1/accounts/%s", bad_crc);
    get(target, &r);
    assert_problem(&r, 400, "InvalidAccount", "account with a bad checksum");
    resp_free(&r);
    snprintf(target, sizeof target, "/v1/accounts/%s/transactions?limit=abc", hex);
    get(target, &r);
    assert_problem(&r, 400, "BadRequest", "history limit=abc");
    resp_free(&r);
    snprintf(target, sizeof target, "/v1/accounts/%s/transactions?cursor=abc", hex);
    get(target, &r);
    assert_problem(&r, 400, "BadRequest", "history cursor=abc");
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
        hex_encode(ids[1].der, sizeof ids[1].der, s.pk);
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

/* Identical requests sent at once: one runs, the others wait for it and get its answer. */
START_TEST(test_replay_concurrent)
{
    enum { N = 8 };
    const identity_t *from = &ids[3];
    identity_t to;
    identity_generate(&to);
    char from_hex[65], to_hex[65], body[BODY_MAX], url[512];
    account_hex_of(&from->principal, NULL, from_hex);
    account_hex_of(&to.principal, NULL, to_hex);
    legacy_body(body, sizeof body, to_hex, 999, FEE, fresh_memo(), ledger_now(), NULL);
    signed_t s;
    sign_as(from, "POST", "/v1/transfers", body, wall_nanos() + 120 * SECOND, &s);
    snprintf(url, sizeof url, "%s/v1/transfers", base_url);
    state_t before;
    state_of(from_hex, &before);

    CURLM *m = curl_multi_init();
    ck_assert_ptr_nonnull(m);
    CURL *h[N];
    buf_t bodies[N], heads[N];
    struct curl_slist *list = NULL;
    for (int i = 0; s.lines[i]; i++)
        list = curl_slist_append(list, s.lines[i]);
    list = curl_slist_append(list, "Content-Type: application/json");
    for (int i = 0; i < N; i++) {
        bodies[i] = (buf_t){0};
        heads[i] = (buf_t){0};
        h[i] = curl_easy_init();
        ck_assert_ptr_nonnull(h[i]);
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(h[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h[i], CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &bodies[i]);
        curl_easy_setopt(h[i], CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h[i], CURLOPT_HEADERDATA, &heads[i]);
        curl_multi_add_handle(m, h[i]);
    }
    int running = 1;
    while (running) {
        ck_assert_int_eq(curl_multi_perform(m, &running), CURLM_OK);
        if (running)
            ck_assert_int_eq(curl_multi_poll(m, NULL, 0, 1000, NULL), CURLM_OK);
    }
    int originals = 0;
    for (int i = 0; i < N; i++) {
        /* a borrowed view of the buffers, for is_replayed */
        resp_t r = {.body = bodies[i].data ? bodies[i].data : (char *)"",
                    .headers = heads[i].data ? heads[i].data : (char *)""};
        curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &r.status);
        ck_assert_msg(r.status == 200, "request %d answered %ld: %s", i, r.status, r.body);
        ck_assert_str_eq(r.body, bodies[0].data);
        if (!is_replayed(&r))
            originals++;
    }
    ck_assert_msg(originals == 1, "%d of %d identical requests ran", originals, N);
    for (int i = 0; i < N; i++) {
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
        free(bodies[i].data);
        free(heads[i].data);
    }
    curl_slist_free_all(list);
    curl_multi_cleanup(m);
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

static void set_time(uint64_t t, resp_t *r)
{
    char body[96];
    snprintf(body, sizeof body, "{\"now_nanos\":\"%" PRIu64 "\"}", t);
    http_send("POST", "/v1/admin/time", body, NULL, r);
}

START_TEST(test_clock)
{
    uint64_t now = ledger_now();
    uint64_t tip_ts = 0;
    {
        resp_t t;
        get_ok("/v1/blocks?limit=1", &t);
        tip_ts = ju64(json_array_get(jget(t.json, "items"), 0), "timestamp");
        resp_free(&t);
    }
    /* ahead of the clock and of the tip by 1.5 s: small, so a later restart's clock passes it */
    uint64_t x = (now > tip_ts ? now : tip_ts) + 1500 * 1000000ULL;
    resp_t r;
    set_time(x, &r);
    ck_assert_msg(r.status == 200, "set time answered %ld: %s", r.status, r.body);
    ck_assert_uint_eq(ju64(r.json, "now_nanos"), x);
    resp_free(&r);
    ck_assert_uint_eq(ledger_now(), x);

    /* backwards: refused, time unchanged */
    set_time(x - 1, &r);
    assert_problem(&r, 409, NULL, "clock moved backwards");
    resp_free(&r);
    ck_assert_uint_eq(ledger_now(), x);
    /* bad bodies */
    http_send("POST", "/v1/admin/time", "{\"now_nanos\":5}", NULL, &r);
    assert_problem(&r, 400, "BadRequest", "now_nanos as a number");
    resp_free(&r);
    http_send("POST", "/v1/admin/time", "{\"now\":\"5\"}", NULL, &r);
    assert_problem(&r, 400, "BadRequest", "unknown field");
    resp_free(&r);
    ck_assert_uint_eq(ledger_now(), x);

    /* a block made now carries that time; a legacy transfer without created_at_time gets it */
    identity_t to;
    identity_generate(&to);
    char to_hex[65], body[BODY_MAX];
    account_hex_of(&to.principal, NULL, to_hex);
    legacy_body(body, sizeof body, to_hex, 100, FEE, fresh_memo(), 0, NULL);
    uint64_t h = transfer_ok(&ids[3], body);
    json_t *b = block_at(h);
    ck_assert_uint_eq(ju64(b, "timestamp"), x);
    ck_assert_uint_eq(ju64(jget(b, "transaction"), "created_at_time"), x);
    json_decref(b);

    /* forward again, to the same value and beyond */
    set_time(x, &r);
    ck_assert_msg(r.status == 200, "setting the same time answered %ld", r.status);
    resp_free(&r);
    set_time(x + 7, &r);
    ck_assert_msg(r.status == 200, "moving forward answered %ld", r.status);
    resp_free(&r);
    ck_assert_uint_eq(ledger_now(), x + 7);
    legacy_body(body, sizeof body, to_hex, 100, FEE, fresh_memo(), 0, NULL);
    h = transfer_ok(&ids[3], body);
    b = block_at(h);
    ck_assert_uint_eq(ju64(b, "timestamp"), x + 7);
    json_decref(b);
}
END_TEST

/* ================================================================ suite */

static Suite *ledger_api_suite(void)
{
    Suite *s = suite_create("ledger_api");
    TCase *tc;

    tc = tcase_create("service");
    tcase_add_test(tc, test_identity_shape);
    tcase_add_test(tc, test_health_and_readiness);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_ledger_info_and_tip_signature);
    suite_add_tcase(s, tc);

    tc = tcase_create("transfers");
    tcase_add_test(tc, test_legacy_transfer);
    tcase_add_test(tc, test_self_transfer_costs_the_fee);
    tcase_add_test(tc, test_u64_extremes);
    tcase_add_test(tc, test_icrc1_transfer);
    tcase_add_test(tc, test_from_subaccount);
    tcase_add_test(tc, test_burn);
    suite_add_tcase(s, tc);

    tc = tcase_create("history");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_account_history_paging);
    tcase_add_test(tc, test_blocks_paging);
    suite_add_tcase(s, tc);

    tc = tcase_create("refusals");
    tcase_add_test(tc, test_bad_fee);
    tcase_add_test(tc, test_insufficient_funds);
    tcase_add_test(tc, test_legacy_duplicate);
    tcase_add_test(tc, test_icrc1_duplicate);
    tcase_add_test(tc, test_too_old);
    tcase_add_test(tc, test_created_in_future);
    tcase_add_test(tc, test_bad_burn);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_input");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_bad_body, 0, (int)NBAD);
    tcase_add_test(tc, test_body_too_large);
    tcase_add_test(tc, test_unknown_path);
    tcase_add_test(tc, test_wrong_method);
    tcase_add_test(tc, test_wrong_method_allow_header);
    tcase_add_test(tc, test_bad_read_parameters);
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

    tc = tcase_create("test_clock");
    tcase_add_test(tc, test_clock);
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
        identity_seeded(i, &ids[i]);
    if (argc >= 2 && strcmp(argv[1], "--print-genesis") == 0)
        return print_genesis(argc - 2, argv + 2);
    if (argc >= 2) {
        fprintf(stderr, "usage: check_ledger_api [--print-genesis [ACCOUNT...]]\n"
                        "runs the suite against $E2E_LEDGER_URL\n");
        return 2;
    }
    base_url = getenv("E2E_LEDGER_URL");
    if (!base_url || !*base_url) {
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
