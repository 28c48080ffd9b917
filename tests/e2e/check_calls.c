/*
 * End-to-end tests of calls from one service to another (services/common/call.h) against a
 * real nns-ledger, which tests/e2e/run.sh starts on a database of its own with --test-clock and
 * the genesis of `check_calls --print-genesis KEYS_DIR`.
 *
 * The caller plays the cmc: it signs with KEYS_DIR/cmc.key, which the ledger (started with
 * --keys KEYS_DIR) trusts, so the ledger sees the cmc's canister principal as the caller, and
 * the genesis funds that principal's default account. The suite checks: a transfer intent
 * resolved with its block (the block's tx_hash is the hash the runner computes), the same intent
 * again resolved through TxDuplicate with the same block, a final InsufficientFunds, GET
 * intents, the ledger stopped while an intent is submitted and started again (resolved exactly
 * once: one block), and, last because it moves the test clock a day ahead, TxTooOld looked up
 * by hash (found: the original block; never sent: refused as TxTooOld).
 *
 * Environment: E2E_LEDGER_URL (the ledger), E2E_KEYS_DIR (the keys folder), E2E_STOP_CMD and
 * E2E_START_CMD (shell commands that stop the ledger and start it again, waiting for /readyz).
 */
#include <check.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "call.h"
#include "harness.h"
#include "hex.h"

#define GENESIS_E8S 1000000000000ULL

static identity_t cmc_key;
static principal_t cmc_principal;
static char cmc_account[ACCOUNT_HEX_LEN + 1];

/* ---- answers --------------------------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    call_answer_t last;
    char error[40];
    char *body;
} answers_t;

static answers_t got = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void on_done(void *ctx, const call_answer_t *a)
{
    answers_t *x = ctx;
    pthread_mutex_lock(&x->mu);
    x->n++;
    x->last = *a;
    snprintf(x->error, sizeof x->error, "%s", a->error);
    free(x->body);
    x->body = strdup(a->body);
    x->last.error = x->error;
    x->last.body = x->body;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

static call_runner_t *runner;

static void runner_start(void)
{
    call_runner_opts_t o = {.caller = &cmc_principal,
                            .backoff_min_ms = 20,
                            .backoff_max_ms = 500,
                            .connect_timeout_ms = 1000,
                            .total_timeout_ms = 20000};
    runner = call_runner_new(&cmc_key, on_done, &got, &o);
    ck_assert_ptr_nonnull(runner);
}

static void runner_stop(void)
{
    call_runner_destroy(&runner);
}

/* Submits in and waits (at most 60 s) for its answer, copied into *a (body valid until the
 * next answer). */
static void run(const call_intent_t *in, call_answer_t *a)
{
    pthread_mutex_lock(&got.mu);
    int before = got.n;
    pthread_mutex_unlock(&got.mu);
    ck_assert_msg(call_runner_submit(runner, in), "intent %" PRIu64 " not accepted", in->id);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&got.mu);
    while (got.n == before)
        if (pthread_cond_timedwait(&got.cv, &got.mu, &until) != 0)
            break;
    int n = got.n;
    *a = got.last;
    pthread_mutex_unlock(&got.mu);
    ck_assert_msg(n == before + 1, "intent %" PRIu64 ": no answer within 60 s", in->id);
    ck_assert_uint_eq(a->id, in->id);
    /* an intent stops counting as pending once its callback has returned */
    for (int i = 0; i < 1000 && call_runner_pending(runner) > 0; i++)
        usleep(1000);
    ck_assert_uint_eq(call_runner_pending(runner), 0);
}

static uint64_t next_id = 1;

static call_intent_t transfer_intent(const char *to_hex, uint64_t amount, uint64_t created)
{
    call_intent_t in = {.id = next_id++, .kind = CALL_TRANSFER};
    snprintf(in.base_url, sizeof in.base_url, "%s", e2e_base_url);
    ck_assert_uint_eq(hex_decode(to_hex, 64, in.transfer.to, 32), 32);
    in.transfer.amount_e8s = amount;
    in.transfer.fee_e8s = FEE;
    in.transfer.memo = fresh_memo();
    in.transfer.created_at_time = created;
    return in;
}

static call_intent_t get_intent(const char *path)
{
    call_intent_t in = {.id = next_id++, .kind = CALL_GET};
    snprintf(in.base_url, sizeof in.base_url, "%s", e2e_base_url);
    snprintf(in.path, sizeof in.path, "%s", path);
    return in;
}

/* The blocks GET /v1/transactions/{hash of in} lists: their count, the first's height. */
static size_t blocks_of(const call_intent_t *in, uint64_t *height)
{
    uint8_t h[32];
    char hx[65], target[128];
    call_transfer_tx_hash(&in->transfer, &cmc_principal, h);
    hex_encode(h, 32, hx);
    snprintf(target, sizeof target, "/v1/transactions/%s", hx);
    resp_t r;
    get(target, &r);
    if (r.status == 404) {
        resp_free(&r);
        return 0;
    }
    ck_assert_msg(r.status == 200, "GET %s answered %ld: %s", target, r.status, r.body);
    json_t *items = jget(r.json, "items");
    size_t n = json_array_size(items);
    if (n > 0)
        *height = ju64(json_array_get(items, 0), "height");
    resp_free(&r);
    return n;
}

static void run_cmd(const char *env)
{
    const char *cmd = getenv(env);
    ck_assert_msg(cmd && *cmd, "%s is not set", env);
    ck_assert_msg(system(cmd) == 0, "'%s' failed", cmd);
}

/* ---- tests ----------------------------------------------------------------------------- */

START_TEST(test_transfer_resolves_and_resends_are_duplicates)
{
    who_t to;
    who_fresh(&to);
    call_intent_t in = transfer_intent(to.hex, 12345, ledger_now());
    uint64_t len_before = chain_length();
    call_answer_t a;
    run(&in, &a);
    ck_assert_msg(a.outcome == CALL_RESOLVED, "refused: %ld %s %s", a.http_status, a.error, a.body);
    ck_assert_int_eq(a.http_status, 200);
    ck_assert(a.has_block_index);
    ck_assert(!a.duplicate && !a.looked_up);
    ck_assert_str_eq(a.error, "");
    uint64_t h = a.block_index;
    ck_assert_uint_eq(chain_length(), len_before + 1);

    /* the block is the intended transfer, from the cmc's account, and its tx_hash is the hash
     * the runner computes for the intent */
    json_t *b = block_at(h);
    json_t *op = block_op(b);
    ck_assert_str_eq(jstr(op, "type"), "transfer");
    ck_assert_str_eq(jstr(op, "from"), cmc_account);
    ck_assert_str_eq(jstr(op, "to"), to.hex);
    ck_assert_uint_eq(ju64(op, "amount_e8s"), 12345);
    ck_assert_uint_eq(ju64(jget(b, "transaction"), "memo"), in.transfer.memo);
    uint8_t want[32];
    char want_hex[65];
    call_transfer_tx_hash(&in.transfer, &cmc_principal, want);
    hex_encode(want, 32, want_hex);
    ck_assert_str_eq(jstr(b, "tx_hash"), want_hex);
    json_decref(b);
    ck_assert_uint_eq(balance(to.hex), 12345);

    /* the same intent again (an answer lost, a restart): TxDuplicate, the same block */
    run(&in, &a);
    ck_assert_int_eq(a.outcome, CALL_RESOLVED);
    ck_assert(a.duplicate);
    ck_assert_int_eq(a.http_status, 409);
    ck_assert_uint_eq(a.block_index, h);
    ck_assert_ptr_nonnull(strstr(a.body, "TxDuplicate"));
    ck_assert_uint_eq(chain_length(), len_before + 1);
    ck_assert_uint_eq(balance(to.hex), 12345);
}
END_TEST

START_TEST(test_insufficient_funds_is_final)
{
    who_t to;
    who_fresh(&to);
    call_intent_t in = transfer_intent(to.hex, GENESIS_E8S * 10, ledger_now());
    uint64_t len_before = chain_length();
    call_answer_t a;
    run(&in, &a);
    ck_assert_int_eq(a.outcome, CALL_REFUSED);
    ck_assert_int_eq(a.http_status, 422);
    ck_assert_str_eq(a.error, "InsufficientFunds");
    ck_assert(!a.has_block_index);
    ck_assert_uint_eq(a.attempts, 1);
    json_t *p = json_loads(a.body, 0, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(ju64(p, "balance_e8s"), balance(cmc_account));
    json_decref(p);
    ck_assert_uint_eq(chain_length(), len_before);
    ck_assert_uint_eq(blocks_of(&in, &(uint64_t){0}), 0);
}
END_TEST

START_TEST(test_get_intents)
{
    call_intent_t in = get_intent("/v1/blocks/0");
    call_answer_t a;
    run(&in, &a);
    ck_assert_int_eq(a.outcome, CALL_RESOLVED);
    ck_assert_int_eq(a.http_status, 200);
    ck_assert(!a.has_block_index);
    json_t *b = json_loads(a.body, 0, NULL);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(ju64(b, "height"), 0);
    ck_assert_str_eq(jstr(block_op(b), "type"), "mint");
    json_decref(b);

    in = get_intent("/v1/blocks/999999999");
    run(&in, &a);
    ck_assert_int_eq(a.outcome, CALL_REFUSED);
    ck_assert_int_eq(a.http_status, 404);
    ck_assert_str_eq(a.error, "NotFound");
}
END_TEST

START_TEST(test_ledger_down_then_up_resolves_once)
{
    who_t to;
    who_fresh(&to);
    call_intent_t in = transfer_intent(to.hex, 777, ledger_now());
    uint64_t len_before = chain_length();
    call_runner_stats_t s0, s1;
    call_runner_stats(runner, &s0);
    run_cmd("E2E_STOP_CMD");
    ck_assert(call_runner_submit(runner, &in));
    sleep(1);
    call_runner_stats(runner, &s1);
    ck_assert_uint_eq(call_runner_pending(runner), 1); /* not answered while the ledger is down */
    ck_assert_uint_ge(s1.retries - s0.retries, 2);
    pthread_mutex_lock(&got.mu);
    int before = got.n;
    pthread_mutex_unlock(&got.mu);
    run_cmd("E2E_START_CMD");

    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&got.mu);
    while (got.n == before)
        if (pthread_cond_timedwait(&got.cv, &got.mu, &until) != 0)
            break;
    call_answer_t a = got.last;
    int n = got.n;
    pthread_mutex_unlock(&got.mu);
    ck_assert_int_eq(n, before + 1);
    ck_assert_uint_eq(a.id, in.id);
    ck_assert_int_eq(a.outcome, CALL_RESOLVED);
    ck_assert(a.has_block_index);
    ck_assert_uint_gt(a.attempts, 2);
    /* exactly once: one block holds the transaction, and the recipient has the amount once */
    uint64_t h = 0;
    ck_assert_uint_eq(blocks_of(&in, &h), 1);
    ck_assert_uint_eq(h, a.block_index);
    ck_assert_uint_eq(chain_length(), len_before + 1);
    ck_assert_uint_eq(balance(to.hex), 777);
}
END_TEST

/* Last: it moves the test clock a day ahead. */
START_TEST(test_too_old_is_looked_up_by_hash)
{
    who_t to;
    who_fresh(&to);
    uint64_t created = ledger_now();
    call_intent_t sent = transfer_intent(to.hex, 4242, created);
    call_intent_t never = transfer_intent(to.hex, 4343, created);
    call_answer_t a;
    run(&sent, &a);
    ck_assert_int_eq(a.outcome, CALL_RESOLVED);
    uint64_t h = a.block_index;

    resp_t r;
    set_time(created + WINDOW_NANOS + 120 * SECOND, &r); /* past the window and the drift */
    ck_assert_msg(r.status == 200, "POST /v1/admin/time answered %ld: %s", r.status, r.body);
    resp_free(&r);
    uint64_t len_before = chain_length();

    /* the caller was down longer than the window: TxTooOld, then found by its hash */
    run(&sent, &a);
    ck_assert_int_eq(a.outcome, CALL_RESOLVED);
    ck_assert(a.looked_up);
    ck_assert(!a.duplicate);
    ck_assert_uint_eq(a.block_index, h);
    ck_assert_int_eq(a.http_status, 200);
    ck_assert_uint_eq(a.attempts, 2);

    /* an intent that never reached the ledger: not found, refused as TxTooOld */
    run(&never, &a);
    ck_assert_int_eq(a.outcome, CALL_REFUSED);
    ck_assert_str_eq(a.error, "TxTooOld");
    ck_assert(a.looked_up);
    ck_assert_int_eq(a.http_status, 404);
    ck_assert(!a.has_block_index);
    ck_assert_uint_eq(chain_length(), len_before);
    ck_assert_uint_eq(balance(to.hex), 4242);

    call_runner_stats_t s;
    call_runner_stats(runner, &s);
    ck_assert_uint_eq(s.lookups, 2);
}
END_TEST

static Suite *calls_suite(void)
{
    Suite *s = suite_create("calls");
    TCase *tc = tcase_create("ledger");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, runner_start, runner_stop);
    tcase_add_test(tc, test_transfer_resolves_and_resends_are_duplicates);
    tcase_add_test(tc, test_insufficient_funds_is_final);
    tcase_add_test(tc, test_get_intents);
    tcase_add_test(tc, test_ledger_down_then_up_resolves_once);
    tcase_add_test(tc, test_too_old_is_looked_up_by_hash);
    suite_add_tcase(s, tc);
    return s;
}

static bool load_key(const char *dir)
{
    nns_error_t err;
    if (!identity_load_or_create(dir, "cmc", &cmc_key, &err)) {
        fprintf(stderr, "check_calls: cannot load '%s/cmc.key': %s\n", dir, err.detail);
        return false;
    }
    principal_canister(CANISTER_CMC, &cmc_principal);
    account_hex_of(&cmc_principal, NULL, cmc_account);
    return true;
}

int main(int argc, char **argv)
{
    if (!crypto_init()) {
        fprintf(stderr, "check_calls: cannot initialise libsodium\n");
        return 1;
    }
    if (argc == 3 && strcmp(argv[1], "--print-genesis") == 0) {
        /* creates the cmc key the ledger will trust, and funds the cmc's account */
        if (!load_key(argv[2]))
            return 1;
        printf("{\"initial_balances\": [{\"account\": \"%s\", \"amount_e8s\": \"%llu\"}], "
               "\"fee_e8s\": \"10000\", \"token_symbol\": \"ICP\", "
               "\"token_name\": \"Internet Computer\"}\n",
               cmc_account, GENESIS_E8S);
        return 0;
    }
    if (argc >= 2) {
        fprintf(stderr, "usage: check_calls [--print-genesis KEYS_DIR]\n"
                        "runs the suite against $E2E_LEDGER_URL with $E2E_KEYS_DIR/cmc.key\n");
        return 2;
    }
    e2e_base_url = getenv("E2E_LEDGER_URL");
    const char *keys = getenv("E2E_KEYS_DIR");
    if (!e2e_base_url || !*e2e_base_url || !keys || !*keys) {
        fprintf(stderr, "check_calls: set E2E_LEDGER_URL and E2E_KEYS_DIR\n");
        return 2;
    }
    if (!load_key(keys))
        return 1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "check_calls: cannot initialise libcurl\n");
        return 1;
    }
    SRunner *sr = srunner_create(calls_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    int ran = srunner_ntests_run(sr);
    srunner_free(sr);
    free(got.body);
    curl_global_cleanup();
    printf("check_calls: %d checks, %d failed\n", ran, failed);
    return failed == 0 ? 0 : 1;
}
