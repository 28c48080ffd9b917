/*
 * Unit tests of call.{c,h}: the transfer body the ledger's own body parser reads back, the
 * transaction hash of an intended transfer against the block the ledger's state machine makes
 * for it (transfer, burn, mint), answer classification (TxDuplicate, TxTooOld and its lookup,
 * retries, final refusals), and the runner against a scripted HTTP server on loopback (retries
 * with back-off, TxTooOld looked up by hash, bounded pending, a prompt stop with a call in
 * flight).
 */
#include <arpa/inet.h>
#include <check.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "body.h"
#include "call.h"
#include "crypto.h"
#include "hex.h"
#include "ledger.h"

#define T0 1700000000000000000ULL
#define SEC 1000000000ULL
#define FEE 10000ULL

static identity_t me;
static principal_t gov;
static account_id_t mint_acc;

static void setup(void)
{
    uint8_t seed[32];
    sha256("call-unit", 9, seed);
    identity_from_seed(seed, &me);
    principal_canister(CANISTER_GOVERNANCE, &gov);
    account_id_of(&gov, NULL, &mint_acc);
}

static void address_of(const principal_t *p, const uint8_t *sub, uint8_t out[32])
{
    account_id_t a;
    account_id_of(p, sub, &a);
    account_id_to_address(&a, out);
}

static call_transfer_t sample_transfer(void)
{
    call_transfer_t t = {
        .amount_e8s = 123456789, .fee_e8s = FEE, .memo = 42, .created_at_time = T0 + 5};
    principal_t to;
    uint8_t der[44] = {0};
    der[43] = 7;
    principal_self_authenticating(der, sizeof der, &to);
    address_of(&to, NULL, t.to);
    return t;
}

/* ---- body ------------------------------------------------------------------------------ */

START_TEST(test_body_is_what_the_ledger_reads)
{
    call_transfer_t t = sample_transfer();
    char body[CALL_TRANSFER_BODY_MAX], to_hex[65];
    hex_encode(t.to, 32, to_hex);
    size_t n = call_transfer_body(&t, body, sizeof body);
    ck_assert_uint_gt(n, 0);
    char want[CALL_TRANSFER_BODY_MAX];
    snprintf(want, sizeof want,
             "{\"to\":\"%s\",\"amount_e8s\":\"123456789\",\"fee_e8s\":\"10000\",\"memo\":\"42\","
             "\"created_at_time\":\"1700000000000000005\"}",
             to_hex);
    ck_assert_str_eq(body, want);
    ck_assert_uint_eq(n, strlen(want));

    /* the ledger's own parser (services/ledger/body.c) reads every field back */
    t.has_from_subaccount = true;
    memset(t.from_subaccount, 0xab, sizeof t.from_subaccount);
    t.memo = UINT64_MAX;
    t.amount_e8s = UINT64_MAX;
    n = call_transfer_body(&t, body, sizeof body);
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(body, "\"from_subaccount\":\"abababab"));
    ledger_op_t op;
    memset(&op, 0, sizeof op);
    nns_error_t err;
    nns_error_clear(&err);
    ck_assert_msg(
        ledger_body_parse((const uint8_t *)body, n, ledger_body_transfer, &me.principal, &op, &err),
        "refused: %s %s", err.code, err.detail);
    const transfer_args_t *a = &op.u.transfer;
    ck_assert_int_eq(a->kind, TRANSFER_LEGACY);
    ck_assert_uint_eq(a->amount, UINT64_MAX);
    ck_assert_uint_eq(a->fee, FEE);
    ck_assert_uint_eq(a->memo, UINT64_MAX);
    ck_assert(a->has_created_at_time);
    ck_assert_uint_eq(a->created_at_time, T0 + 5);
    ck_assert_mem_eq(a->from_subaccount, t.from_subaccount, 32);
    ck_assert_mem_eq(a->to.hash, t.to + 4, 28);

    /* too small a buffer: 0, never a truncated body */
    ck_assert_uint_eq(call_transfer_body(&t, body, n), 0);
    ck_assert_uint_eq(call_transfer_body(&t, body, n + 1), n);
}
END_TEST

/* ---- hash of the intended transfer = tx_hash of the block the ledger makes ------------ */

/* Applies body (as the ledger's API would) for caller in a fresh ledger where caller's account
 * (with sub) holds funds, and returns the block's tx_hash and its encoded operation kind. */
static void ledger_block_of(const call_transfer_t *t, const principal_t *caller,
                            uint8_t tx_hash[32], op_kind_t *kind)
{
    ledger_config_t cfg = {.fee_e8s = FEE,
                           .window_nanos = 86400ULL * SEC,
                           .max_in_window = 3000000,
                           .minting_account = mint_acc};
    ledger_t *l = ledger_new(&cfg);
    ck_assert_ptr_nonnull(l);
    nns_error_t err;
    nns_error_clear(&err);
    uint64_t h;
    account_id_t from;
    account_id_of(caller, t->has_from_subaccount ? t->from_subaccount : NULL, &from);
    ledger_round_t *r = ledger_round_begin(l);
    if (!account_id_equal(&from, &mint_acc))
        ck_assert(ledger_apply_mint(l, r, &from, 1000000000000ULL, T0, &h, &err));
    ledger_round_commit(l, &r);

    char body[CALL_TRANSFER_BODY_MAX];
    size_t n = call_transfer_body(t, body, sizeof body);
    ledger_op_t op;
    memset(&op, 0, sizeof op);
    ck_assert(ledger_body_parse((const uint8_t *)body, n, ledger_body_transfer, caller, &op, &err));
    r = ledger_round_begin(l);
    ck_assert_msg(ledger_apply_transfer(l, r, &op.u.transfer, T0 + 10 * SEC, &h, &err),
                  "refused: %s %s", err.code, err.detail);
    size_t nb;
    const ledger_block_rec_t *b = ledger_round_blocks(r, &nb);
    ck_assert_uint_eq(nb, 1);
    memcpy(tx_hash, b[0].tx_hash, 32);
    *kind = b[0].block.tx.op.kind;
    /* the same transaction again is a duplicate of that block: what the runner resolves on */
    ck_assert(!ledger_apply_transfer(l, r, &op.u.transfer, T0 + 11 * SEC, &h, &err));
    ck_assert_str_eq(err.code, "TxDuplicate");
    ledger_round_discard(l, &r);
    ledger_destroy(&l);
}

START_TEST(test_tx_hash_matches_the_ledgers_block)
{
    uint8_t want[32], got[32];
    op_kind_t kind;

    call_transfer_t t = sample_transfer();
    ledger_block_of(&t, &me.principal, want, &kind);
    call_transfer_tx_hash(&t, &me.principal, got);
    ck_assert_int_eq(kind, OP_TRANSFER);
    ck_assert_mem_eq(got, want, 32);

    /* from a subaccount */
    t.has_from_subaccount = true;
    memset(t.from_subaccount, 3, 32);
    ledger_block_of(&t, &me.principal, want, &kind);
    call_transfer_tx_hash(&t, &me.principal, got);
    ck_assert_mem_eq(got, want, 32);
    /* and a different subaccount is a different transaction */
    t.from_subaccount[31] = 4;
    call_transfer_tx_hash(&t, &me.principal, got);
    ck_assert_mem_ne(got, want, 32);

    /* a burn: to the minting account, fee 0 (the cmc's) */
    call_transfer_t burn = sample_transfer();
    account_id_to_address(&mint_acc, burn.to);
    burn.fee_e8s = 0;
    ledger_block_of(&burn, &me.principal, want, &kind);
    call_transfer_tx_hash(&burn, &me.principal, got);
    ck_assert_int_eq(kind, OP_BURN);
    ck_assert_mem_eq(got, want, 32);

    /* a mint: from the minting account, signed as governance, fee 0 */
    call_transfer_t mint = sample_transfer();
    mint.fee_e8s = 0;
    ledger_block_of(&mint, &gov, want, &kind);
    call_transfer_tx_hash(&mint, &gov, got);
    ck_assert_int_eq(kind, OP_MINT);
    ck_assert_mem_eq(got, want, 32);

    /* the caller matters: the same transfer from another principal hashes differently */
    call_transfer_tx_hash(&mint, &me.principal, got);
    ck_assert_mem_ne(got, want, 32);
}
END_TEST

/* ---- classification -------------------------------------------------------------------- */

START_TEST(test_classify_transfer_answers)
{
    call_class_t k;
    call_classify(CALL_TRANSFER, 200, "{\"block_index\":\"7\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_RESOLVED);
    ck_assert(k.has_block_index);
    ck_assert_uint_eq(k.block_index, 7);
    ck_assert(!k.duplicate);

    call_classify(CALL_TRANSFER, 200, "{\"block_index\":7}", &k); /* a number breaks the rule */
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
    ck_assert_str_eq(k.error, "BadResponse");

    call_classify(
        CALL_TRANSFER, 409,
        "{\"type\":\"urn:nns:problem:TxDuplicate\",\"status\":409,\"code\":\"TxDuplicate\","
        "\"duplicate_of\":\"18446744073709551615\"}",
        &k);
    ck_assert_int_eq(k.step, CALL_STEP_RESOLVED);
    ck_assert(k.duplicate);
    ck_assert(k.has_block_index);
    ck_assert_uint_eq(k.block_index, UINT64_MAX);

    call_classify(CALL_TRANSFER, 409, "{\"code\":\"TxDuplicate\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
    ck_assert_str_eq(k.error, "BadResponse");

    call_classify(CALL_TRANSFER, 409, "{\"code\":\"Processing\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
    ck_assert_str_eq(k.error, "Processing");

    call_classify(CALL_TRANSFER, 422,
                  "{\"code\":\"TxTooOld\",\"allowed_window_nanos\":\"86400000000000\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_LOOKUP);

    call_classify(CALL_TRANSFER, 422, "{\"code\":\"InsufficientFunds\",\"balance_e8s\":\"5\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
    ck_assert_str_eq(k.error, "InsufficientFunds");
    ck_assert(!k.has_block_index);

    call_classify(CALL_TRANSFER, 401, "not json", &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
    ck_assert_str_eq(k.error, "HttpError");

    static const long transient[] = {0, 500, 502, 503, 504, 408, 429};
    for (size_t i = 0; i < sizeof transient / sizeof *transient; i++) {
        call_classify(CALL_TRANSFER, transient[i], "{\"code\":\"Unavailable\"}", &k);
        ck_assert_msg(k.step == CALL_STEP_RETRY, "status %ld is retried", transient[i]);
        call_classify(CALL_GET, transient[i], NULL, &k);
        ck_assert_int_eq(k.step, CALL_STEP_RETRY);
    }
}
END_TEST

START_TEST(test_classify_get_answers)
{
    call_class_t k;
    call_classify(CALL_GET, 200, "{\"height\":\"3\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_RESOLVED);
    ck_assert(!k.has_block_index);
    call_classify(CALL_GET, 404, "{\"code\":\"NotFound\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
    ck_assert_str_eq(k.error, "NotFound");
    /* TxDuplicate and TxTooOld mean something only for a transfer */
    call_classify(CALL_GET, 409, "{\"code\":\"TxDuplicate\",\"duplicate_of\":\"1\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
    ck_assert_str_eq(k.error, "TxDuplicate");
    call_classify(CALL_GET, 422, "{\"code\":\"TxTooOld\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
}
END_TEST

START_TEST(test_classify_lookup_answers)
{
    uint8_t h[32];
    char hx[65], body[512];
    sha256("tx", 2, h);
    hex_encode(h, 32, hx);
    call_class_t k;
    snprintf(body, sizeof body,
             "{\"tx_hash\":\"%s\",\"items\":[{\"height\":\"12\",\"tx_hash\":\"%s\"},"
             "{\"height\":\"9\",\"tx_hash\":\"%s\"}]}",
             hx, hx, hx);
    call_classify_lookup(200, body, h, &k);
    ck_assert_int_eq(k.step, CALL_STEP_RESOLVED);
    ck_assert_uint_eq(k.block_index, 9); /* the first block that holds it */

    uint8_t other[32];
    sha256("other", 5, other);
    call_classify_lookup(200, body, other, &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
    ck_assert_str_eq(k.error, "BadResponse");

    call_classify_lookup(404, "{\"code\":\"NotFound\"}", h, &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
    ck_assert_str_eq(k.error, "TxTooOld");
    call_classify_lookup(503, NULL, h, &k);
    ck_assert_int_eq(k.step, CALL_STEP_RETRY);
    call_classify_lookup(0, NULL, h, &k);
    ck_assert_int_eq(k.step, CALL_STEP_RETRY);
    call_classify_lookup(400, "{\"code\":\"BadRequest\"}", h, &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
    ck_assert_str_eq(k.error, "BadRequest");
}
END_TEST

START_TEST(test_intent_check)
{
    call_intent_t in = {.id = 1, .kind = CALL_GET};
    nns_error_t err;
    snprintf(in.base_url, sizeof in.base_url, "http://127.0.0.1:8081");
    snprintf(in.path, sizeof in.path, "/v1/blocks/3");
    ck_assert(call_intent_check(&in, &err));
    snprintf(in.path, sizeof in.path, "/v1/blocks/3 HTTP/1.1\r\nX: y");
    ck_assert(!call_intent_check(&in, &err));
    ck_assert_int_eq(err.status, 400);
    snprintf(in.path, sizeof in.path, "/admin");
    ck_assert(!call_intent_check(&in, &err));
    snprintf(in.path, sizeof in.path, "/v1/ledger");
    snprintf(in.base_url, sizeof in.base_url, "ftp://127.0.0.1");
    ck_assert(!call_intent_check(&in, &err));
    memset(in.base_url, 'h', sizeof in.base_url); /* no terminator */
    ck_assert(!call_intent_check(&in, &err));

    snprintf(in.base_url, sizeof in.base_url, "https://ledger.example/ledger");
    in.kind = CALL_TRANSFER;
    in.transfer = sample_transfer();
    ck_assert(call_intent_check(&in, &err));
    in.transfer.to[0] ^= 1; /* checksum */
    ck_assert(!call_intent_check(&in, &err));
    ck_assert_str_eq(err.code, "InvalidAccount");
    in.kind = 0;
    ck_assert(!call_intent_check(&in, &err));

    /* a POST: a /v1/ path and a JSON object body of bounded size */
    call_intent_t p = {.id = 2, .kind = CALL_POST};
    snprintf(p.base_url, sizeof p.base_url, "http://127.0.0.1:8082");
    snprintf(p.path, sizeof p.path, "/v1/cycles/conversion-rate");
    ck_assert(!call_intent_check(&p, &err)); /* no body */
    ck_assert_int_eq(err.status, 400);
    p.body = "{\"xdr_permyriad_per_icp\":\"35000\"}";
    ck_assert(call_intent_check(&p, &err));
    p.body = "[1,2]";
    ck_assert(!call_intent_check(&p, &err)); /* not an object */
    p.body = "{\"a\":";
    ck_assert(!call_intent_check(&p, &err));
    size_t big = CALL_POST_BODY_MAX + 1;
    char *huge = malloc(big + 1);
    ck_assert_ptr_nonnull(huge);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = 0;
    p.body = huge;
    ck_assert(!call_intent_check(&p, &err)); /* one byte too long */
    huge[0] = '{';
    huge[1] = '}';
    huge[2] = 0;
    ck_assert(call_intent_check(&p, &err));
    free(huge);
    p.body = "{}";
    snprintf(p.path, sizeof p.path, "/v1/x y");
    ck_assert(!call_intent_check(&p, &err));
}
END_TEST

START_TEST(test_classify_post_answers)
{
    call_class_t k;
    call_classify(CALL_POST, 200, "{\"xdr_permyriad_per_icp\":\"35000\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_RESOLVED);
    ck_assert(!k.has_block_index);
    call_classify(CALL_POST, 400, "{\"code\":\"InvalidRate\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED);
    ck_assert_str_eq(k.error, "InvalidRate");
    call_classify(CALL_POST, 409, "{\"code\":\"TxDuplicate\",\"duplicate_of\":\"1\"}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_REFUSED); /* a transfer's answer only */
    call_classify(CALL_POST, 0, NULL, &k);
    ck_assert_int_eq(k.step, CALL_STEP_RETRY);
    call_classify(CALL_POST, 429, "{}", &k);
    ck_assert_int_eq(k.step, CALL_STEP_RETRY);
}
END_TEST

/* ---- the runner against a scripted server ---------------------------------------------- */

#define SCRIPT_MAX 16
typedef struct {
    unsigned status;
    char body[512];
} scripted_t;

static struct {
    pthread_mutex_t mu;
    scripted_t script[SCRIPT_MAX];
    int nscript, next;
    char paths[SCRIPT_MAX][128];
    char bodies[SCRIPT_MAX][CALL_TRANSFER_BODY_MAX];
    bool signed_[SCRIPT_MAX];
    int nreq;
    atomic_bool hold; /* answers wait while set */
    atomic_int holding;
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

typedef struct {
    char body[CALL_TRANSFER_BODY_MAX];
    size_t len;
} upload_t;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)cls, (void)method, (void)version;
    upload_t *u = *con_cls;
    if (!u) {
        *con_cls = calloc(1, sizeof *u);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*data_size) {
        size_t n =
            *data_size < sizeof u->body - 1 - u->len ? *data_size : sizeof u->body - 1 - u->len;
        memcpy(u->body + u->len, data, n);
        u->len += n;
        *data_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&srv.holding, 1);
    while (atomic_load(&srv.hold))
        usleep(5000);
    atomic_fetch_sub(&srv.holding, 1);
    pthread_mutex_lock(&srv.mu);
    scripted_t s = {503, "{\"code\":\"Unavailable\"}"};
    if (srv.next < srv.nscript)
        s = srv.script[srv.next++];
    if (srv.nreq < SCRIPT_MAX) {
        snprintf(srv.paths[srv.nreq], sizeof srv.paths[0], "%s", url);
        memcpy(srv.bodies[srv.nreq], u->body, u->len + 1);
        srv.signed_[srv.nreq] =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Signature") != NULL &&
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Public-Key") != NULL;
    }
    srv.nreq++;
    pthread_mutex_unlock(&srv.mu);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(s.body), s.body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_queue_response(conn, s.status, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static struct MHD_Daemon *fake;
static char fake_url[64];

static void script(unsigned status, const char *body)
{
    pthread_mutex_lock(&srv.mu);
    ck_assert_int_lt(srv.nscript, SCRIPT_MAX);
    srv.script[srv.nscript].status = status;
    snprintf(srv.script[srv.nscript].body, sizeof srv.script[0].body, "%s", body);
    srv.nscript++;
    pthread_mutex_unlock(&srv.mu);
}

static void fake_start(void)
{
    setup();
    pthread_mutex_lock(&srv.mu);
    srv.nscript = srv.next = srv.nreq = 0;
    pthread_mutex_unlock(&srv.mu);
    atomic_store(&srv.hold, false);
    struct sockaddr_in loopback = {
        .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    fake = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                            NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                            NULL, MHD_OPTION_SOCK_ADDR, &loopback, MHD_OPTION_END);
    ck_assert_ptr_nonnull(fake);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(fake, MHD_DAEMON_INFO_BIND_PORT);
    ck_assert_ptr_nonnull(info);
    snprintf(fake_url, sizeof fake_url, "http://127.0.0.1:%u", (unsigned)info->port);
}

static void fake_stop(void)
{
    atomic_store(&srv.hold, false);
    MHD_stop_daemon(fake);
    fake = NULL;
}

typedef struct {
    pthread_mutex_t mu;
    int n;
    call_answer_t last;
    char error[40];
    char body[1024];
} answers_t;

static void on_done(void *ctx, const call_answer_t *a)
{
    answers_t *x = ctx;
    pthread_mutex_lock(&x->mu);
    x->n++;
    x->last = *a;
    snprintf(x->error, sizeof x->error, "%s", a->error);
    snprintf(x->body, sizeof x->body, "%s", a->body);
    x->last.error = x->error;
    x->last.body = x->body;
    pthread_mutex_unlock(&x->mu);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits (at most 10 s) until the runner has nothing pending. */
static void drain(call_runner_t *r)
{
    double until = now_s() + 10;
    while (call_runner_pending(r) > 0 && now_s() < until)
        usleep(2000);
    ck_assert_uint_eq(call_runner_pending(r), 0);
}

static call_intent_t transfer_intent(uint64_t id)
{
    call_intent_t in = {.id = id, .kind = CALL_TRANSFER};
    snprintf(in.base_url, sizeof in.base_url, "%s", fake_url);
    in.transfer = sample_transfer();
    return in;
}

static const call_runner_opts_t FAST = {
    .backoff_min_ms = 5, .backoff_max_ms = 20, .connect_timeout_ms = 500, .total_timeout_ms = 5000};

START_TEST(test_runner_retries_then_resolves)
{
    answers_t x = {.mu = PTHREAD_MUTEX_INITIALIZER};
    script(503, "{\"code\":\"Unavailable\"}");
    script(500, "oops");
    script(429, "{\"code\":\"TemporarilyUnavailable\"}");
    script(200, "{\"block_index\":\"77\"}");
    call_runner_t *r = call_runner_new(&me, on_done, &x, &FAST);
    ck_assert_ptr_nonnull(r);
    call_intent_t in = transfer_intent(5);
    ck_assert(call_runner_submit(r, &in));
    drain(r);
    ck_assert_int_eq(x.n, 1);
    ck_assert_uint_eq(x.last.id, 5);
    ck_assert_int_eq(x.last.outcome, CALL_RESOLVED);
    ck_assert(x.last.has_block_index);
    ck_assert_uint_eq(x.last.block_index, 77);
    ck_assert_uint_eq(x.last.attempts, 4);
    ck_assert_int_eq(x.last.http_status, 200);
    ck_assert_str_eq(x.last.body, "{\"block_index\":\"77\"}");
    char want[CALL_TRANSFER_BODY_MAX];
    ck_assert_uint_gt(call_transfer_body(&in.transfer, want, sizeof want), 0);
    ck_assert_int_eq(srv.nreq, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(srv.paths[i], "/v1/transfers");
        ck_assert_str_eq(srv.bodies[i], want); /* the same transaction every time */
        ck_assert(srv.signed_[i]);
    }
    call_runner_stats_t st;
    call_runner_stats(r, &st);
    ck_assert_uint_eq(st.retries, 3);
    ck_assert_uint_eq(st.resolved, 1);
    call_runner_destroy(&r);
    ck_assert_ptr_null(r);
}
END_TEST

/* Answers by intent id (ids 1..8). */
typedef struct {
    pthread_mutex_t mu;
    int n;
    call_outcome_t outcome[9];
    uint64_t block[9];
    bool duplicate[9];
    uint32_t attempts[9];
} by_id_t;

static void on_done_by_id(void *ctx, const call_answer_t *a)
{
    by_id_t *x = ctx;
    pthread_mutex_lock(&x->mu);
    x->n++;
    if (a->id < 9) {
        x->outcome[a->id] = a->outcome;
        x->block[a->id] = a->block_index;
        x->duplicate[a->id] = a->duplicate;
        x->attempts[a->id] = a->attempts;
    }
    pthread_mutex_unlock(&x->mu);
}

/* Submits intent 1, holds its request at the server, queues 2, 3 and 4 behind it (one worker),
 * then lets the server answer. */
static call_runner_t *one_held_three_queued(by_id_t *x)
{
    call_runner_opts_t o = FAST;
    o.workers = 1;
    atomic_store(&srv.hold, true);
    call_runner_t *r = call_runner_new(&me, on_done_by_id, x, &o);
    ck_assert_ptr_nonnull(r);
    for (uint64_t id = 1; id <= 4; id++) {
        call_intent_t in = transfer_intent(id);
        in.transfer.created_at_time += id; /* four different transactions */
        ck_assert(call_runner_submit(r, &in));
        if (id == 1) {
            double until = now_s() + 5;
            while (atomic_load(&srv.holding) == 0 && now_s() < until)
                usleep(1000);
            ck_assert_int_eq(atomic_load(&srv.holding), 1);
        }
    }
    atomic_store(&srv.hold, false);
    drain(r);
    return r;
}

START_TEST(test_runner_batches_due_transfers)
{
    by_id_t x = {.mu = PTHREAD_MUTEX_INITIALIZER};
    script(200, "{\"block_index\":\"7\"}");
    script(200, "{\"results\":[{\"status\":200,\"block_index\":\"8\"},"
                "{\"status\":409,\"code\":\"TxDuplicate\",\"duplicate_of\":\"5\"},"
                "{\"status\":503,\"code\":\"Unavailable\"}]}");
    script(200, "{\"block_index\":\"9\"}");
    call_runner_t *r = one_held_three_queued(&x);
    ck_assert_int_eq(x.n, 4);
    ck_assert_int_eq(srv.nreq, 3);
    ck_assert_str_eq(srv.paths[0], "/v1/transfers");
    ck_assert_str_eq(srv.paths[1], "/v1/transfer-batches");
    ck_assert(!srv.signed_[1]); /* the items are signed, not the batch */
    ck_assert_str_eq(srv.paths[2], "/v1/transfers");
    ck_assert(srv.signed_[2]);
    for (int id = 1; id <= 4; id++)
        ck_assert_int_eq(x.outcome[id], CALL_RESOLVED);
    ck_assert_uint_eq(x.block[1], 7);
    ck_assert_uint_eq(x.block[2], 8);
    ck_assert_uint_eq(x.block[3], 5);
    ck_assert(x.duplicate[3]);
    ck_assert_uint_eq(x.block[4], 9); /* its item's 503: retried */
    ck_assert_uint_eq(x.attempts[4], 2);
    call_runner_destroy(&r);
}
END_TEST

START_TEST(test_runner_batch_refused_whole_sent_alone)
{
    by_id_t x = {.mu = PTHREAD_MUTEX_INITIALIZER};
    script(200, "{\"block_index\":\"7\"}");
    script(400, "{\"code\":\"BadRequest\"}"); /* the batch as a whole */
    script(200, "{\"block_index\":\"8\"}");
    script(422, "{\"code\":\"InsufficientFunds\"}");
    script(200, "{\"block_index\":\"9\"}");
    call_runner_t *r = one_held_three_queued(&x);
    ck_assert_int_eq(x.n, 4);
    ck_assert_int_eq(srv.nreq, 5);
    ck_assert_str_eq(srv.paths[1], "/v1/transfer-batches");
    for (int i = 2; i < 5; i++)
        ck_assert_str_eq(srv.paths[i], "/v1/transfers");
    ck_assert_int_eq(x.outcome[2], CALL_RESOLVED);
    ck_assert_uint_eq(x.block[2], 8);
    ck_assert_int_eq(x.outcome[3], CALL_REFUSED);
    ck_assert_int_eq(x.outcome[4], CALL_RESOLVED);
    ck_assert_uint_eq(x.block[4], 9);
    call_runner_destroy(&r);
}
END_TEST

START_TEST(test_runner_too_old_looked_up)
{
    answers_t x = {.mu = PTHREAD_MUTEX_INITIALIZER};
    call_intent_t in = transfer_intent(8);
    uint8_t h[32];
    char hx[65], found[512], path[128];
    call_transfer_tx_hash(&in.transfer, &me.principal, h);
    hex_encode(h, 32, hx);
    snprintf(found, sizeof found,
             "{\"tx_hash\":\"%s\",\"items\":[{\"height\":\"31\",\"tx_hash\":\"%s\"}]}", hx, hx);
    snprintf(path, sizeof path, "/v1/transactions/%s", hx);
    script(422, "{\"code\":\"TxTooOld\"}");
    script(503, "{\"code\":\"Unavailable\"}");
    script(200, found);
    script(422, "{\"code\":\"TxTooOld\"}");
    script(404, "{\"code\":\"NotFound\"}");
    call_runner_t *r = call_runner_new(&me, on_done, &x, &FAST);
    ck_assert_ptr_nonnull(r);
    ck_assert(call_runner_submit(r, &in));
    drain(r);
    ck_assert_int_eq(x.n, 1);
    ck_assert_int_eq(x.last.outcome, CALL_RESOLVED);
    ck_assert(x.last.looked_up);
    ck_assert_uint_eq(x.last.block_index, 31);
    ck_assert_str_eq(srv.paths[0], "/v1/transfers");
    ck_assert_str_eq(srv.paths[1], path);
    ck_assert_str_eq(srv.paths[2], path);

    /* the second time it is not found: the transfer never happened */
    ck_assert(call_runner_submit(r, &in));
    drain(r);
    ck_assert_int_eq(x.n, 2);
    ck_assert_int_eq(x.last.outcome, CALL_REFUSED);
    ck_assert_str_eq(x.last.error, "TxTooOld");
    ck_assert_int_eq(x.last.http_status, 404);
    ck_assert(!x.last.has_block_index);
    call_runner_destroy(&r);
}
END_TEST

START_TEST(test_runner_final_refusal_and_get)
{
    answers_t x = {.mu = PTHREAD_MUTEX_INITIALIZER};
    script(422, "{\"code\":\"InsufficientFunds\",\"balance_e8s\":\"3\"}");
    script(200, "{\"height\":\"4\"}");
    call_runner_t *r = call_runner_new(&me, on_done, &x, &FAST);
    ck_assert_ptr_nonnull(r);
    call_intent_t in = transfer_intent(1);
    ck_assert(call_runner_submit(r, &in));
    drain(r);
    ck_assert_int_eq(x.last.outcome, CALL_REFUSED);
    ck_assert_str_eq(x.last.error, "InsufficientFunds");
    ck_assert_int_eq(x.last.http_status, 422);
    ck_assert_uint_eq(x.last.attempts, 1);
    ck_assert_ptr_nonnull(strstr(x.last.body, "\"balance_e8s\":\"3\""));

    call_intent_t g = {.id = 2, .kind = CALL_GET};
    snprintf(g.base_url, sizeof g.base_url, "%s/", fake_url); /* a trailing '/' is dropped */
    snprintf(g.path, sizeof g.path, "/v1/blocks/4");
    ck_assert(call_runner_submit(r, &g));
    drain(r);
    ck_assert_int_eq(x.n, 2);
    ck_assert_int_eq(x.last.outcome, CALL_RESOLVED);
    ck_assert_uint_eq(x.last.id, 2);
    ck_assert_str_eq(x.last.body, "{\"height\":\"4\"}");
    ck_assert_str_eq(srv.paths[1], "/v1/blocks/4");
    ck_assert(srv.signed_[1]); /* a GET is signed unless the intent says otherwise */

    script(200, "{\"height\":\"5\"}");
    call_intent_t u = g;
    u.id = 3;
    u.unsigned_get = true;
    snprintf(u.path, sizeof u.path, "/v1/blocks/5");
    ck_assert(call_runner_submit(r, &u));
    drain(r);
    ck_assert_int_eq(x.n, 3);
    ck_assert_int_eq(x.last.outcome, CALL_RESOLVED);
    ck_assert_str_eq(srv.paths[2], "/v1/blocks/5");
    ck_assert(!srv.signed_[2]); /* unsigned_get: no X-Signature, no X-Public-Key */
    call_runner_destroy(&r);
}
END_TEST

START_TEST(test_runner_post_signed_retried_resolved)
{
    answers_t x = {.mu = PTHREAD_MUTEX_INITIALIZER};
    script(503, "{\"code\":\"Unavailable\"}");
    script(200, "{\"xdr_permyriad_per_icp\":\"35000\"}");
    script(403, "{\"code\":\"NotAuthorized\"}");
    call_runner_t *r = call_runner_new(&me, on_done, &x, &FAST);
    ck_assert_ptr_nonnull(r);
    char body[64];
    snprintf(body, sizeof body, "{\"xdr_permyriad_per_icp\":\"35000\"}");
    call_intent_t p = {.id = 5, .kind = CALL_POST, .body = body};
    snprintf(p.base_url, sizeof p.base_url, "%s", fake_url);
    snprintf(p.path, sizeof p.path, "/v1/cycles/conversion-rate");
    ck_assert(call_runner_submit(r, &p));
    memset(body, 'x', sizeof body - 1); /* the runner holds its own copy */
    drain(r);
    ck_assert_int_eq(x.n, 1);
    ck_assert_int_eq(x.last.outcome, CALL_RESOLVED);
    ck_assert_int_eq(x.last.kind, CALL_POST);
    ck_assert_uint_eq(x.last.attempts, 2); /* the 503 was retried */
    ck_assert_str_eq(x.last.body, "{\"xdr_permyriad_per_icp\":\"35000\"}");
    ck_assert_int_eq(srv.nreq, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(srv.paths[i], "/v1/cycles/conversion-rate");
        ck_assert_str_eq(srv.bodies[i], "{\"xdr_permyriad_per_icp\":\"35000\"}");
        ck_assert(srv.signed_[i]);
    }

    call_intent_t q = {.id = 6, .kind = CALL_POST, .body = "{\"subnets\":[]}"};
    snprintf(q.base_url, sizeof q.base_url, "%s", fake_url);
    snprintf(q.path, sizeof q.path, "/v1/subnets/authorized");
    ck_assert(call_runner_submit(r, &q));
    drain(r);
    ck_assert_int_eq(x.n, 2);
    ck_assert_int_eq(x.last.outcome, CALL_REFUSED);
    ck_assert_str_eq(x.last.error, "NotAuthorized");
    ck_assert_int_eq(x.last.http_status, 403);
    ck_assert_str_eq(srv.bodies[2], "{\"subnets\":[]}");

    call_intent_t bad = q;
    bad.id = 7;
    bad.body = NULL;
    ck_assert(!call_runner_submit(r, &bad)); /* a POST without a body is never queued */
    /* a POST left pending is freed with the runner (checked by make asan) */
    atomic_store(&srv.hold, true);
    call_intent_t left = q;
    left.id = 8;
    ck_assert(call_runner_submit(r, &left));
    call_runner_destroy(&r);
    atomic_store(&srv.hold, false);
}
END_TEST

START_TEST(test_runner_bounded_and_stops_promptly)
{
    answers_t x = {.mu = PTHREAD_MUTEX_INITIALIZER};
    call_runner_opts_t o = FAST;
    o.max_pending = 2;
    o.workers = 1;
    atomic_store(&srv.hold, true); /* the first call stays in flight */
    call_runner_t *r = call_runner_new(&me, on_done, &x, &o);
    ck_assert_ptr_nonnull(r);
    call_intent_t a = transfer_intent(1), b = transfer_intent(2), c = transfer_intent(3);
    ck_assert(call_runner_submit(r, &a));
    ck_assert(!call_runner_submit(r, &a)); /* the same id is pending */
    ck_assert(call_runner_submit(r, &b));
    ck_assert(!call_runner_submit(r, &c)); /* full */
    ck_assert_uint_eq(call_runner_pending(r), 2);
    call_intent_t bad = transfer_intent(4);
    bad.transfer.to[5] ^= 0x40;
    ck_assert(!call_runner_submit(r, &bad));
    double until = now_s() + 5;
    while (atomic_load(&srv.holding) == 0 && now_s() < until)
        usleep(2000);
    ck_assert_int_eq(atomic_load(&srv.holding), 1);
    double t0 = now_s();
    call_runner_destroy(&r);
    double took = now_s() - t0;
    fprintf(stderr, "call_runner_destroy with a call in flight: %.3f s\n", took);
    ck_assert_msg(took < 2.5, "destroy with a call in flight took %.2f s", took);
    ck_assert_int_eq(x.n, 0); /* abandoned, never answered */
}
END_TEST

START_TEST(test_runner_unreachable_retries_until_stopped)
{
    answers_t x = {.mu = PTHREAD_MUTEX_INITIALIZER};
    call_runner_opts_t o = FAST;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 40;
    call_runner_t *r = call_runner_new(&me, on_done, &x, &o);
    ck_assert_ptr_nonnull(r);
    call_intent_t in = transfer_intent(9);
    snprintf(in.base_url, sizeof in.base_url, "http://127.0.0.1:1"); /* refused */
    ck_assert(call_runner_submit(r, &in));
    usleep(400000);
    call_runner_stats_t st;
    call_runner_stats(r, &st);
    ck_assert_uint_ge(st.retries, 5);  /* at most 40 ms apart */
    ck_assert_uint_le(st.retries, 40); /* and at least 10 ms apart */
    ck_assert_uint_eq(call_runner_pending(r), 1);
    double t0 = now_s();
    call_runner_destroy(&r);
    ck_assert(now_s() - t0 < 1.0);
    ck_assert_int_eq(x.n, 0);
}
END_TEST

int main(void)
{
    if (!crypto_init())
        return EXIT_FAILURE;
    Suite *s = suite_create("call");
    TCase *pure = tcase_create("pure");
    tcase_add_checked_fixture(pure, setup, NULL);
    tcase_add_test(pure, test_body_is_what_the_ledger_reads);
    tcase_add_test(pure, test_tx_hash_matches_the_ledgers_block);
    tcase_add_test(pure, test_classify_transfer_answers);
    tcase_add_test(pure, test_classify_get_answers);
    tcase_add_test(pure, test_classify_lookup_answers);
    tcase_add_test(pure, test_intent_check);
    tcase_add_test(pure, test_classify_post_answers);
    suite_add_tcase(s, pure);
    TCase *runner = tcase_create("runner");
    tcase_add_checked_fixture(runner, fake_start, fake_stop);
    tcase_set_timeout(runner, 30);
    tcase_add_test(runner, test_runner_retries_then_resolves);
    tcase_add_test(runner, test_runner_too_old_looked_up);
    tcase_add_test(runner, test_runner_batches_due_transfers);
    tcase_add_test(runner, test_runner_batch_refused_whole_sent_alone);
    tcase_add_test(runner, test_runner_final_refusal_and_get);
    tcase_add_test(runner, test_runner_post_signed_retried_resolved);
    tcase_add_test(runner, test_runner_bounded_and_stops_promptly);
    tcase_add_test(runner, test_runner_unreachable_retries_until_stopped);
    suite_add_tcase(s, runner);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
