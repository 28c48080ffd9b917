/*
 * Unit tests of the ledger's genesis file (services/ledger/genesis.h): read once, every field
 * checked, duplicate keys refused, nothing half-read. In the allocation-failure build (make
 * alloc-fail) also every allocation of a read fails once.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocfail.h"
#include "crypto.h"
#include "genesis.h"

#define ALICE_HEX "e7a879ea563d273c46dd28c1584eaa132fad6f3e316615b3eb657d067f3519b5"

/* Writes text to a temporary file; returns its path (static buffer). */
static const char *file_of(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/check_genesis.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* Reads text as a genesis file: the result, with g and err filled. */
static bool read_text(const char *text, genesis_t *g, nns_error_t *err)
{
    const char *path = file_of(text);
    nns_error_clear(err);
    bool ok = genesis_read(path, g, err);
    unlink(path);
    return ok;
}

START_TEST(test_defaults_without_a_file)
{
    genesis_t g;
    nns_error_t err;
    ck_assert(genesis_read(NULL, &g, &err));
    ck_assert_uint_eq(g.config.fee_e8s, LEDGER_DEFAULT_FEE);
    ck_assert_str_eq(g.config.token_symbol, "ICP");
    ck_assert_uint_eq(g.nbalances, 0);
    genesis_free(&g);
}
END_TEST

START_TEST(test_reads_every_field)
{
    genesis_t g;
    nns_error_t err;
    ck_assert_msg(read_text("{\"initial_balances\": ["
                            "{\"account\": \"" ALICE_HEX "\", \"amount_e8s\": \"5\"},"
                            "{\"account\": \"2vxsx-fae\", \"amount_e8s\": \"7\"}],"
                            " \"fee_e8s\": \"20000\", \"token_symbol\": \"TST\","
                            " \"token_name\": \"Test\", \"transaction_window_seconds\": \"60\","
                            " \"max_transactions_in_window\": \"9\"}",
                            &g, &err),
                  "%s", err.detail);
    ck_assert_uint_eq(g.nbalances, 2);
    ck_assert_uint_eq(g.balances[0].amount_e8s, 5);
    ck_assert(!g.balances[0].has_owner); /* a hex account names no owner */
    ck_assert(g.balances[1].has_owner);  /* ICRC-1 text does */
    ck_assert_uint_eq(g.config.fee_e8s, 20000);
    ck_assert_str_eq(g.config.token_symbol, "TST");
    ck_assert_str_eq(g.config.token_name, "Test");
    ck_assert_uint_eq(g.config.window_nanos, 60ULL * 1000000000ULL);
    ck_assert_uint_eq(g.config.max_in_window, 9);
    genesis_free(&g);
}
END_TEST

/* Every malformed file is refused whole: InvalidGenesis naming the file, nothing kept. */
START_TEST(test_refuses_malformed_files)
{
    static const char *const bad[] = {
        "{\"fee_e8s\": \"1\", \"fee_e8s\": \"2\"}", /* duplicate key */
        "{\"initial_balances\": [{\"account\": \"" ALICE_HEX "\", \"amount_e8s\": \"1\","
        " \"amount_e8s\": \"2\"}]}", /* duplicate key in an entry */
        "{\"initial_balances\": {}}",
        "{\"initial_balances\": [7]}",
        "{\"initial_balances\": [{\"account\": \"nope\", \"amount_e8s\": \"1\"}]}",
        "{\"initial_balances\": [{\"account\": \"" ALICE_HEX "\", \"amount_e8s\": \"-1\"}]}",
        "{\"initial_balances\": [{\"account\": \"" ALICE_HEX "\"}]}",
        "{\"initial_balances\": [{\"account\": \"" ALICE_HEX "\", \"amount_e8s\": \"1\","
        " \"memo\": \"1\"}]}",
        "{\"fee\": \"1\"}",
        "{\"transaction_window_seconds\": \"0\"}",
        "[]",
        "{",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        genesis_t g;
        nns_error_t err;
        ck_assert_msg(!read_text(bad[i], &g, &err), "accepted: %s", bad[i]);
        ck_assert_int_eq(err.status, 400);
        ck_assert_str_eq(err.code, "InvalidGenesis");
        ck_assert_msg(strstr(err.detail, "genesis file") != NULL, "detail: %s", err.detail);
        ck_assert_ptr_null(g.balances);
        ck_assert_uint_eq(g.nbalances, 0);
    }
}
END_TEST

#ifdef NNS_ALLOC_FAIL
/* Each of the read's own allocations fails once: a clean 503, nothing kept (ASan: no leak). */
START_TEST(test_every_allocation_fails_once)
{
    const char *text = "{\"initial_balances\": [{\"account\": \"" ALICE_HEX
                       "\", \"amount_e8s\": \"5\"}]}";
    for (uint64_t n = 1;; n++) {
        allocfail_t counter = {.fail_at = n};
        genesis_t g;
        nns_error_t err;
        const char *path = file_of(text);
        allocfail_t *prev = allocfail_attach(&counter);
        bool ok = genesis_read(path, &g, &err);
        allocfail_attach(prev);
        unlink(path);
        if (!counter.failed) {
            ck_assert(ok);
            ck_assert_uint_ge(n, 2); /* at least one allocation was failed */
            genesis_free(&g);
            break;
        }
        ck_assert(!ok);
        ck_assert_int_eq(err.status, 503);
        ck_assert_ptr_null(g.balances);
    }
}
END_TEST
#endif

static Suite *genesis_suite(void)
{
    Suite *s = suite_create("genesis");
    TCase *tc = tcase_create("read");
    tcase_add_test(tc, test_defaults_without_a_file);
    tcase_add_test(tc, test_reads_every_field);
    tcase_add_test(tc, test_refuses_malformed_files);
#ifdef NNS_ALLOC_FAIL
    tcase_add_test(tc, test_every_allocation_fails_once);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (!crypto_init())
        return 1;
    SRunner *sr = srunner_create(genesis_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
