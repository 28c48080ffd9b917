/*
 * Unit tests of the bounds on hostile clients (issue 9): the refusal budget (budget.h) and the
 * replay cache's memory ceiling (replay.h).
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "crypto.h"
#include "replay.h"

#define SEC 1000000000ULL

static void key_of(uint32_t i, uint8_t key[32])
{
    sha256(&i, sizeof i, key);
}

/* A burst of per_minute refusals is allowed, the next write is not; the budget comes back at
 * per_minute a minute, and Retry-After says when. */
START_TEST(test_budget_burst_then_refill)
{
    budget_t *b = budget_new(60, 1024); /* one a second */
    ck_assert_ptr_nonnull(b);
    const uint8_t who[] = "signer-a";
    uint64_t t = 1000 * SEC;
    unsigned wait = 0;
    for (int i = 0; i < 60; i++) {
        ck_assert(budget_admit(b, BUDGET_SIGNER, who, sizeof who, t, &wait));
        budget_charge(b, BUDGET_SIGNER, who, sizeof who, 1, t);
    }
    ck_assert(!budget_admit(b, BUDGET_SIGNER, who, sizeof who, t, &wait));
    ck_assert_uint_eq(wait, 1);
    /* another subject, and the same bytes as an address, are untouched */
    const uint8_t other[] = "signer-b";
    ck_assert(budget_admit(b, BUDGET_SIGNER, other, sizeof other, t, NULL));
    ck_assert(budget_admit(b, BUDGET_ADDRESS, who, sizeof who, t, NULL));
    /* a second later one more is allowed, not two */
    ck_assert(budget_admit(b, BUDGET_SIGNER, who, sizeof who, t + SEC, NULL));
    budget_charge(b, BUDGET_SIGNER, who, sizeof who, 1, t + SEC);
    ck_assert(!budget_admit(b, BUDGET_SIGNER, who, sizeof who, t + SEC, &wait));
    /* debt: 30 more refusals in flight at once are paid for, 30 s */
    budget_charge(b, BUDGET_SIGNER, who, sizeof who, 30, t + SEC);
    ck_assert(!budget_admit(b, BUDGET_SIGNER, who, sizeof who, t + 20 * SEC, &wait));
    ck_assert_uint_ge(wait, 10);
    ck_assert(budget_admit(b, BUDGET_SIGNER, who, sizeof who, t + 33 * SEC, NULL));
    /* and never more than a burst is saved up */
    ck_assert(budget_admit(b, BUDGET_SIGNER, who, sizeof who, t + 3600 * SEC, NULL));
    budget_charge(b, BUDGET_SIGNER, who, sizeof who, 60, t + 3600 * SEC);
    ck_assert(!budget_admit(b, BUDGET_SIGNER, who, sizeof who, t + 3600 * SEC, NULL));
    budget_destroy(&b);
    ck_assert_ptr_null(b);
}
END_TEST

/* A fresh subject per refusal (a new key per request) cannot grow the table past its slots,
 * and a subject in debt is not pushed out by subjects that only ever made one refusal once
 * those have refilled. */
START_TEST(test_budget_table_is_bounded)
{
    budget_t *b = budget_new(10, 1024);
    ck_assert_ptr_nonnull(b);
    uint64_t t = 5 * SEC;
    const uint8_t bad[] = "persistent";
    budget_charge(b, BUDGET_ADDRESS, bad, sizeof bad, 10, t);
    for (uint32_t i = 0; i < 200000; i++) {
        uint8_t k[32];
        key_of(i, k);
        budget_charge(b, BUDGET_SIGNER, k, 29, 1, t + i * 1000000ULL); /* 1 ms apart */
    }
    ck_assert_uint_le(budget_subjects(b), 64 * 64); /* slots rounded to whole shards */
    ck_assert_uint_ge(budget_subjects(b), 500);
    budget_destroy(&b);
    ck_assert_ptr_null(budget_new(0, 10)); /* no budget is no table */
}
END_TEST

typedef struct {
    budget_t *b;
    int id;
} worker_t;

static void *charge_many(void *arg)
{
    worker_t *w = arg;
    for (uint32_t i = 0; i < 20000; i++) {
        uint8_t k[32];
        key_of(i % 512, k);
        budget_charge(w->b, BUDGET_SIGNER, k, 29, 1, (uint64_t)i * 1000);
        (void)budget_admit(w->b, BUDGET_ADDRESS, k, 4, (uint64_t)i * 1000, NULL);
    }
    return NULL;
}

/* Threads charging and admitting at once (ThreadSanitizer: no race). */
START_TEST(test_budget_concurrent)
{
    budget_t *b = budget_new(1000000, 4096);
    ck_assert_ptr_nonnull(b);
    pthread_t th[4];
    worker_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){b, i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, charge_many, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_le(budget_subjects(b), 512);
    budget_destroy(&b);
}
END_TEST

static void on_waiter(void *waiter, int status, const char *body, size_t len, bool committed)
{
    (void)waiter;
    (void)status;
    (void)body;
    (void)len;
    (void)committed;
}

/* Past the ceiling a new key is REPLAY_FULL and nothing is created; committed answers are still
 * answered (replay_begin and replay_peek), and purging makes room again. */
START_TEST(test_replay_ceiling)
{
    replay_cache_t *c = replay_cache_new(on_waiter);
    ck_assert_ptr_nonnull(c);
    replay_set_ceiling(c, 64 * 1024);
    const char answer[] = "{\"status\":422,\"code\":\"InsufficientFunds\",\"detail\":\"x\"}";
    int status;
    char *body = NULL;
    size_t len;
    uint8_t k[32];
    uint32_t n = 0;
    for (;; n++) {
        key_of(n, k);
        replay_lookup_t r = replay_begin(c, k, 1000, NULL, &status, &body, &len);
        if (r == REPLAY_FULL)
            break;
        ck_assert_int_eq(r, REPLAY_NEW);
        replay_commit(c, k, 422, answer, sizeof answer - 1);
        ck_assert_uint_lt(n, 100000);
    }
    ck_assert_uint_gt(n, 100);
    ck_assert_uint_le(replay_bytes(c), 64 * 1024);
    ck_assert_uint_eq(replay_count(c), n);
    /* the refused key left nothing behind: still unknown */
    ck_assert_int_eq(replay_peek(c, k, &status, &body, &len), REPLAY_NEW);
    /* an earlier committed answer is still given */
    uint8_t first[32];
    key_of(0, first);
    ck_assert_int_eq(replay_begin(c, first, 1000, NULL, &status, &body, &len), REPLAY_COMMITTED);
    ck_assert_int_eq(status, 422);
    ck_assert_str_eq(body, answer);
    free(body);
    ck_assert_int_eq(replay_peek(c, first, &status, &body, &len), REPLAY_COMMITTED);
    free(body);
    /* expired entries purged: room again, and the bytes all given back */
    ck_assert_uint_eq(replay_purge(c, 2000), n);
    ck_assert_uint_eq(replay_bytes(c), 0);
    ck_assert_int_eq(replay_begin(c, k, 3000, NULL, &status, &body, &len), REPLAY_NEW);
    ck_assert_int_eq(replay_peek(c, k, &status, &body, &len), REPLAY_WAITING);
    replay_abandon(c, k, 503, "", 0);
    ck_assert_uint_eq(replay_bytes(c), 0);
    /* no ceiling: never full */
    replay_set_ceiling(c, 0);
    for (uint32_t i = 0; i < 2 * n; i++) {
        key_of(1000000 + i, k);
        ck_assert_int_eq(replay_begin(c, k, 1000, NULL, &status, &body, &len), REPLAY_NEW);
    }
    replay_cache_destroy(&c);
}
END_TEST

int main(void)
{
    if (!crypto_init())
        return EXIT_FAILURE;
    Suite *s = suite_create("budget");
    TCase *tc = tcase_create("hostile clients");
    tcase_add_test(tc, test_budget_burst_then_refill);
    tcase_add_test(tc, test_budget_table_is_bounded);
    tcase_add_test(tc, test_budget_concurrent);
    tcase_add_test(tc, test_replay_ceiling);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
