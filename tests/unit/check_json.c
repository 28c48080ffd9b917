/*
 * check_json: json_parse_object() reads with yajl where it can and with jansson otherwise; the
 * two must never be told apart. Every document here, and many mutations of them, must give
 * exactly what jansson alone gives (JSON_REJECT_DUPLICATES, an object at the top): the same
 * tree with members in the same order, or a refusal.
 */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "mutate.h"

/* What jansson alone makes of doc: its compact text, or NULL when it refuses it. */
static char *jansson_reads(const char *doc, size_t len)
{
    json_t *v = json_loadb(doc, len, JSON_REJECT_DUPLICATES, NULL);
    char *text = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    return text;
}

/* Fails the test when json_parse_object() and jansson read doc differently; returns whether
 * doc was an object. */
static bool reads_alike(const char *doc, size_t len)
{
    nns_error_t err;
    json_t *v = json_parse_object((const uint8_t *)doc, len, &err);
    char *ours = v ? json_dumps(v, JSON_COMPACT) : NULL;
    char *theirs = jansson_reads(doc, len);
    ck_assert_msg((ours == NULL) == (theirs == NULL), "one reader refused, one read %s: %.*s",
                  ours ? ours : theirs, (int)len, doc);
    if (ours)
        ck_assert_str_eq(ours, theirs);
    else
        ck_assert_int_eq(err.status, 400);
    free(ours);
    free(theirs);
    json_decref(v);
    return v != NULL;
}

static const char *const SEEDS[] = {
    "{\"to_account\":\"abcde-fghij-klmno-pqrst-uvwxy-zabcd-efghi-jklmn-opqrs-tuvwx-yae\","
    "\"amount_e8s\":\"1\",\"fee_e8s\":\"10000\",\"created_at_time\":\"1796400000000000123\","
    "\"icrc1_memo\":\"0000000000000012\"}",
    "{\"spender\": {\"owner\": \"aaaaa-aa\", \"subaccount\": null}, \"amount_e8s\": \"5\","
    " \"expires_at\": 12, \"flags\": [true, false, null, [], {}], \"x\": -0.5e3}",
    "{\"n\": [1, -0, 1.5, 1e400, 12345678901234567890123, 9223372036854775807, "
    "-9223372036854775808]}",
    "{\"s\": \"tab\\tnl\\n quote\\\" back\\\\ slash\\/ \\b\\f\\r\", \"e\": \"\xc3\xa9\"}",
    "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":[[[[[[\"deep\"]]]]]]}}}}}",
    " \t\r\n{ } \n",
};

START_TEST(seeds_read_alike)
{
    for (size_t i = 0; i < sizeof SEEDS / sizeof SEEDS[0]; i++)
        reads_alike(SEEDS[i], strlen(SEEDS[i]));
    static const char *const more[] = {
        "",
        "[]",
        "\"s\"",
        "1",
        "{\"a\":1,\"a\":2}",
        "{\"a\":1}{}",
        "{\"a\":1} x",
        "{\v}",
        "{\"a\":\"\\u00e9\"}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\x01\"}",
        "{\"a\":\"\xc0\xaf\"}",
        "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":+1}",
        "{/*c*/}",
        "{\"a\":[1,]}",
        "{\"a\":tru}",
        "{\"\xc3\xa9\":1}",
        "{} \"",
        "{}\"abc}",
        "{\"a\":{}} \"",
        "{}\t\r\n ",
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        reads_alike(more[i], strlen(more[i]));
}
END_TEST

START_TEST(deep_and_long_documents_read_alike)
{
    char doc[5000], *p = doc;
    for (int i = 0; i < 1000; i++)
        *p++ = i == 0 ? '{' : '[', p += i == 0 ? sprintf(p, "\"k\":") : 0;
    for (int i = 999; i > 0; i--)
        *p++ = ']';
    *p++ = '}';
    ck_assert(reads_alike(doc, (size_t)(p - doc)));
    char key[400];
    memset(key, 'k', sizeof key);
    int n = snprintf(doc, sizeof doc, "{\"%.*s\":1,\"%.*s\":2}", 300, key, 127, key);
    ck_assert(reads_alike(doc, (size_t)n));
}
END_TEST

START_TEST(mutations_read_alike)
{
    static const char alphabet[] =
        "\"\\{}[],: \t\n\r\v\fu0123456789.eE+-/abnrtfl\x01\x7f\xc3\xa9\xc0\xff\xed";
    const size_t nalpha = sizeof alphabet - 1 + 1; /* and NUL */
    unsigned long long x = 2463534242ULL;          /* xorshift64: the same mutations every run */
    size_t objects = 0;
    char doc[512];
    for (int round = 0; round < 300000; round++) {
        const char *seed = SEEDS[round % (sizeof SEEDS / sizeof SEEDS[0])];
        size_t len = strlen(seed);
        memcpy(doc, seed, len);
        mutate(doc, &len, sizeof doc, 1 + round % 3, &x, alphabet, nalpha);
        objects += reads_alike(doc, len);
    }
    ck_assert_uint_gt(objects, 10000); /* the mutations reached documents both read */
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("parse_object");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, seeds_read_alike);
    tcase_add_test(tc, deep_and_long_documents_read_alike);
    tcase_add_test(tc, mutations_read_alike);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(json_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
