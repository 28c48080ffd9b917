/*
 * harness: the shared helpers of the end-to-end suites and the cases runner (see harness.h).
 */
#include "harness.h"

#include <check.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hex.h"
#include "sign.h"

const char *e2e_base_url;

/* ================================================================ lower layer */

typedef struct {
    char *data;
    size_t len;
    bool failed; /* an allocation failed: the exchange reports it */
} buf_t;

static void buf_append(buf_t *b, const char *p, size_t n)
{
    if (b->failed)
        return;
    char *d = realloc(b->data, b->len + n + 1);
    if (!d) {
        b->failed = true;
        return;
    }
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

bool http_exchange(const char *base, const char *method, const char *target, const char *body,
                   size_t body_len, const char *const *headers, bool chunked, resp_t *out,
                   char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    bool ok = false;
    char *url = NULL;
    struct curl_slist *list = NULL;
    buf_t rb = {0}, hb = {0};
    CURL *c = curl_easy_init();
    if (!c || asprintf(&url, "%s%s", base, target) < 0) {
        url = NULL;
        snprintf(err, cap, "out of memory");
        goto done;
    }
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
    if (rc != CURLE_OK) {
        snprintf(err, cap, "%s %s: %s", method, target, curl_easy_strerror(rc));
        goto done;
    }
    if (rb.failed || hb.failed) {
        snprintf(err, cap, "%s %s: out of memory", method, target);
        goto done;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    out->body = rb.data ? rb.data : strdup("");
    out->len = rb.len;
    out->headers = hb.data ? hb.data : strdup("");
    rb.data = hb.data = NULL;
    if (!out->body || !out->headers) {
        resp_free(out);
        snprintf(err, cap, "out of memory");
        goto done;
    }
    out->json = json_loadb(out->body, out->len, JSON_DECODE_ANY, NULL);
    ok = true;
done:
    free(rb.data);
    free(hb.data);
    curl_slist_free_all(list);
    if (c)
        curl_easy_cleanup(c);
    free(url);
    return ok;
}

void resp_free(resp_t *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

bool resp_header(const resp_t *r, const char *name, char *out, size_t cap)
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

bool is_replayed(const resp_t *r)
{
    char v[32];
    return resp_header(r, "X-Replayed", v, sizeof v) && strcmp(v, "true") == 0;
}

uint64_t wall_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * SECOND + (uint64_t)ts.tv_nsec;
}

uint64_t fresh_memo(void)
{
    uint64_t m;
    randombytes_buf(&m, sizeof m);
    return m >> 2;
}

void fresh_subaccount(uint8_t sub[SUBACCOUNT_BYTES], char *sub_hex)
{
    randombytes_buf(sub, SUBACCOUNT_BYTES);
    sub[0] = 1; /* never the default subaccount */
    if (sub_hex)
        hex_encode(sub, SUBACCOUNT_BYTES, sub_hex);
}

void identity_seeded(const char *prefix, int i, identity_t *id)
{
    char text[96];
    uint8_t seed[32];
    int n = snprintf(text, sizeof text, "%s%d", prefix, i);
    sha256(text, (size_t)n, seed);
    identity_from_seed(seed, id);
}

void account_hex_of(const principal_t *owner, const uint8_t *sub, char out[ACCOUNT_HEX_LEN + 1])
{
    account_id_t id;
    account_id_of(owner, sub, &id);
    account_id_to_hex(&id, out);
}

void icrc1_text_of(const principal_t *owner, const uint8_t *sub, char out[ICRC1_TEXT_MAX])
{
    icrc1_account_t a;
    memset(&a, 0, sizeof a);
    a.owner = *owner;
    if (sub)
        memcpy(a.subaccount, sub, SUBACCOUNT_BYTES);
    icrc1_account_to_text(&a, out);
}

void who_init(who_t *w, const identity_t *id)
{
    memset(w, 0, sizeof *w);
    w->id = *id;
    account_hex_of(&id->principal, NULL, w->hex);
    icrc1_text_of(&id->principal, NULL, w->text);
    principal_to_text(&id->principal, w->ptext);
}

void who_fresh(who_t *w)
{
    identity_t id;
    identity_generate(&id);
    who_init(w, &id);
}

bool is_digits(const char *s)
{
    return s && *s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 20;
}

bool is_lower_hex(const char *s, size_t len)
{
    return s && strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

void signed_lines(signed_t *s)
{
    snprintf(s->h_pk, sizeof s->h_pk, "X-Public-Key: %s", s->pk);
    snprintf(s->h_expiry, sizeof s->h_expiry, "X-Expiry: %s", s->expiry);
    snprintf(s->h_sig, sizeof s->h_sig, "X-Signature: %s", s->sig);
    s->lines[0] = s->h_pk;
    s->lines[1] = s->h_expiry;
    s->lines[2] = s->h_sig;
    s->lines[3] = NULL;
}

void sign_as(const identity_t *id, const char *method, const char *signed_target, const char *body,
             uint64_t expiry, signed_t *s)
{
    memset(s, 0, sizeof *s);
    hex_encode(id->der, id->der_len, s->pk);
    snprintf(s->expiry, sizeof s->expiry, "%" PRIu64, expiry);
    identity_sign_request(id, method, signed_target, expiry, (const uint8_t *)body,
                          body ? strlen(body) : 0, s->sig);
    signed_lines(s);
}

/* ================================================================ upper layer */

uint64_t u64_of(const char *s)
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

void http_send_ex(const char *method, const char *target, const char *body, size_t body_len,
                  const char *const *headers, bool chunked, resp_t *out)
{
    char err[256];
    bool ok = http_exchange(e2e_base_url, method, target, body, body_len, headers, chunked, out,
                            err, sizeof err);
    ck_assert_msg(ok, "%s", err);
}

void http_send(const char *method, const char *target, const char *body, const char *const *headers,
               resp_t *out)
{
    http_send_ex(method, target, body, body ? strlen(body) : 0, headers, false, out);
}

void get(const char *target, resp_t *r)
{
    http_send("GET", target, NULL, NULL, r);
}

void get_ok(const char *target, resp_t *r)
{
    get(target, r);
    ck_assert_msg(r->status == 200, "GET %s answered %ld: %s", target, r->status, r->body);
    ck_assert_msg(json_is_object(r->json), "GET %s: body is not a JSON object: %s", target,
                  r->body);
}

json_t *jget(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(v != NULL, "member '%s' missing", key);
    return v;
}

const char *jstr(json_t *o, const char *key)
{
    json_t *v = jget(o, key);
    ck_assert_msg(json_is_string(v), "member '%s' is not a string", key);
    return json_string_value(v);
}

uint64_t ju64(json_t *o, const char *key)
{
    json_t *v = jget(o, key);
    ck_assert_msg(json_is_string(v), "member '%s' is not a string (u64 values are strings)", key);
    return u64_of(json_string_value(v));
}

json_t *ju(uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, v);
    return json_string(s);
}

void assert_absent(json_t *o, const char *key, const char *what)
{
    ck_assert_msg(json_object_get(o, key) == NULL, "%s has a member '%s'", what, key);
}

json_t *account_obj(const char *ptext, const char *sub_hex)
{
    json_t *o = json_pack("{s:s}", "owner", ptext);
    if (sub_hex)
        json_object_set_new(o, "subaccount", json_string(sub_hex));
    return o;
}

void send_signed(const signed_t *s, const char *target, const char *body, resp_t *r)
{
    http_send("POST", target, body, s->lines, r);
}

void post_signed(const identity_t *id, const char *target, const char *body, resp_t *r)
{
    signed_t s;
    sign_as(id, "POST", target, body, wall_nanos() + 120 * SECOND, &s);
    send_signed(&s, target, body, r);
}

void post_json(const identity_t *id, const char *target, json_t *body, resp_t *r)
{
    ck_assert_ptr_nonnull(body);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ck_assert_ptr_nonnull(text);
    post_signed(id, target, text, r);
    free(text);
}

uint64_t post_json_ok(const identity_t *id, const char *target, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    ck_assert_ptr_nonnull(text);
    resp_t r;
    post_json(id, target, body, &r);
    ck_assert_msg(r.status == 200, "POST %s %s answered %ld: %s", target, text, r.status, r.body);
    ck_assert_msg(json_is_object(r.json), "answer is not an object: %s", r.body);
    uint64_t h = ju64(r.json, "block_index");
    ck_assert_msg(json_object_size(r.json) == 1, "answer has more than block_index: %s", r.body);
    free(text);
    resp_free(&r);
    return h;
}

uint64_t transfer_ok(const identity_t *id, const char *body)
{
    resp_t r;
    post_signed(id, "/v1/transfers", body, &r);
    ck_assert_msg(r.status == 200, "transfer %s answered %ld: %s", body, r.status, r.body);
    ck_assert_msg(json_is_object(r.json), "transfer answer is not an object: %s", r.body);
    uint64_t h = ju64(r.json, "block_index");
    resp_free(&r);
    return h;
}

uint64_t icrc1_send(const identity_t *id, const char *to_text, uint64_t amount)
{
    return post_json_ok(id, "/v1/transfers",
                        json_pack("{s:s, s:o}", "to_account", to_text, "amount_e8s", ju(amount)));
}

void legacy_body(char *out, size_t cap, const char *to, uint64_t amount, uint64_t fee,
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

uint64_t ledger_now(void)
{
    resp_t r;
    get_ok("/v1/identity", &r);
    uint64_t now = ju64(r.json, "now_nanos");
    resp_free(&r);
    return now;
}

uint64_t balance_count(const char *account, uint64_t *count)
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

uint64_t balance(const char *account)
{
    return balance_count(account, NULL);
}

uint64_t chain_length(void)
{
    resp_t r;
    get_ok("/v1/ledger", &r);
    uint64_t n = ju64(r.json, "chain_length");
    resp_free(&r);
    return n;
}

json_t *block_at(uint64_t h)
{
    char target[64];
    snprintf(target, sizeof target, "/v1/blocks/%" PRIu64, h);
    resp_t r;
    get_ok(target, &r);
    json_t *b = json_incref(r.json);
    resp_free(&r);
    return b;
}

json_t *block_op(json_t *block)
{
    return jget(jget(block, "transaction"), "operation");
}

void supply_of(supply_t *s)
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

void state_of(const char *account, state_t *s)
{
    resp_t r;
    get_ok("/v1/ledger", &r);
    s->chain_length = ju64(r.json, "chain_length");
    s->total_supply = ju64(r.json, "total_supply_e8s");
    resp_free(&r);
    s->balance = balance(account);
}

void assert_state_same(const char *account, const state_t *before, const char *what)
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

void assert_problem_object(json_t *o, long status, const char *code, const char *what,
                           const char *text)
{
    ck_assert_msg(json_is_object(o), "%s: problem is not a JSON object: %s", what, text);
    json_t *st = json_object_get(o, "status");
    ck_assert_msg(json_is_integer(st) && json_integer_value(st) == status,
                  "%s: problem 'status' is not %ld: %s", what, status, text);
    const char *fields[] = {"type", "title", "detail", "code"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(o, fields[i]);
        ck_assert_msg(json_is_string(v) && *json_string_value(v),
                      "%s: problem member '%s' missing or empty: %s", what, fields[i], text);
    }
    const char *c = json_string_value(json_object_get(o, "code"));
    char type[96];
    snprintf(type, sizeof type, "urn:nns:problem:%s", c);
    ck_assert_msg(strcmp(json_string_value(json_object_get(o, "type")), type) == 0,
                  "%s: problem type is not '%s': %s", what, type, text);
    if (code)
        ck_assert_msg(strcmp(c, code) == 0, "%s: code is not '%s': %s", what, code, text);
}

void assert_problem(const resp_t *r, long status, const char *code, const char *what)
{
    ck_assert_msg(r->status == status, "%s: status %ld, expected %ld: %s", what, r->status, status,
                  r->body);
    char ctype[128];
    ck_assert_msg(resp_header(r, "Content-Type", ctype, sizeof ctype) &&
                      strncmp(ctype, "application/problem+json", 24) == 0,
                  "%s: content type is not application/problem+json", what);
    assert_problem_object(r->json, status, code, what, r->body);
}

void set_time(uint64_t t, resp_t *r)
{
    char body[96];
    snprintf(body, sizeof body, "{\"now_nanos\":\"%" PRIu64 "\"}", t);
    http_send("POST", "/v1/admin/time", body, NULL, r);
}
