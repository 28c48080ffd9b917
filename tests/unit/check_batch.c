/*
 * check_batch: the fast reader of transfer batches (services/ledger/batch.c) against its
 * contract: it accepts the one canonical shape, steps aside for everything else, and whenever
 * it accepts a document whose bodies are JSON objects, jansson (the general path) reads the same
 * items from it. The last test checks that on many mutations of a valid batch.
 */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "mutate.h"

#define ITEM(pk, body)                                                                             \
    "{\"public_key_der_hex\":\"" pk "\",\"expiry_nanos\":\"17\",\"signature_hex\":\"ab\","         \
    "\"body\":\"" body "\"}"

static bool read_text(const char *doc, size_t max, batch_t *b)
{
    return batch_read((const uint8_t *)doc, strlen(doc), max, b);
}

START_TEST(reads_the_canonical_shape)
{
    batch_t b;
    const char *doc = " {\n \"transfers\" : [ " ITEM(
        "00", "{\\\"a\\\":\\\"x\\/y\\\\\\\\z\\\"}") ",\t"
                                                    "{\"body\":\"{}\",\"signature_hex\":\"cd\","
                                                    "\"expiry_nanos\":\"18\","
                                                    "\"public_key_der_hex\":\"11\"} ] }\r\n";
    ck_assert(read_text(doc, 100, &b));
    ck_assert_uint_eq(b.n, 2);
    ck_assert_str_eq(b.items[0].public_key_der_hex, "00");
    ck_assert_str_eq(b.items[0].expiry_nanos, "17");
    ck_assert_str_eq(b.items[0].signature_hex, "ab");
    ck_assert_str_eq(b.items[0].body, "{\"a\":\"x/y\\\\z\"}");
    ck_assert_uint_eq(b.items[0].body_len, strlen("{\"a\":\"x/y\\\\z\"}"));
    ck_assert_str_eq(b.items[1].public_key_der_hex, "11");
    ck_assert_str_eq(b.items[1].expiry_nanos, "18");
    ck_assert_str_eq(b.items[1].signature_hex, "cd");
    ck_assert_str_eq(b.items[1].body, "{}");
    batch_free(&b);
    batch_free(&b); /* safe twice */
}
END_TEST

/* An escaped backslash before a 'u' is no \u escape: the reader keeps the fast path. */
START_TEST(an_escaped_backslash_is_no_escape)
{
    batch_t b;
    ck_assert(read_text("{\"transfers\":[{\"public_key_der_hex\":\"00\",\"expiry_nanos\":\"17\","
                        "\"signature_hex\":\"ab\",\"body\":\"{\\\"a\\\":\\\"\\\\\\\\u\\\"}\"}]}",
                        100, &b));
    ck_assert_uint_eq(b.n, 1);
    ck_assert_str_eq(b.items[0].body, "{\"a\":\"\\\\u\"}");
    batch_free(&b);
}
END_TEST

START_TEST(steps_aside_for_anything_else)
{
    static const char *const docs[] = {
        "",
        "[]",
        "{}",
        "{\"transfers\":[]}",
        "{\"transfers\":{}}",
        "{\"transfers\":null}",
        "{\"transfers\":[" ITEM("00", "{}") "],\"more\":1}",
        "{\"more\":1,\"transfers\":[" ITEM("00", "{}") "]}",
        "{\"transfers\":[" ITEM("00", "{}") "],\"transfers\":[" ITEM("00", "{}") "]}",
        "{\"transfers\":[" ITEM("00", "{}") ",]}",
        "{\"transfers\":[" ITEM("00", "{}") "]",
        "{\"transfers\":[" ITEM("00", "{}") "]}x",
        "{\"transfers\":[" ITEM("00", "{}") "]}{}",
        "{\"transfers\":[" ITEM("00", "{}") "]} \"", /* yajl alone takes it for the end */
        "{\"transfers\":[" ITEM("00", "{}") "]}\"x}",
        "{\"transfers\":[" ITEM("00", "{}") ",[]]}",
        "{\"transfers\":[" ITEM("00", "{}") ",\"x\"]}",
        "{\"transfers\":[" ITEM("00", "{}") ",{}]}",
        "{/**/\"transfers\":[" ITEM("00", "{}") "]}",
        "{\v\"transfers\":[" ITEM("00", "{}") "]}",
        "{\f\"transfers\":[" ITEM("00", "{}") "]}",
        "{\"transfers\":[" ITEM("00", "\\u007b}") "]}", /* any \u escape */
        "{\"transfers\":[" ITEM("0\\u0030", "{}") "]}",
        "{\"transfers\":[" ITEM("00", "{\\ud800}") "]}", /* a lone surrogate */
        "{\"transfers\":[" ITEM("0\x01", "{}") "]}",     /* raw control character */
        "{\"transfers\":[" ITEM("00", "{\t}") "]}",
        "{\"transfers\":[" ITEM("0\xc3\xa9", "{}") "]}", /* header not ASCII */
        "{\"transfers\":[" ITEM("00", "{\xff}") "]}",    /* not UTF-8 at all */
        "{\"transfers\":[" ITEM("00", "{}\\x") "]}",     /* unknown escape */
        "{\"transfers\":[{\"public_key_der_hex\":\"00\",\"expiry_nanos\":\"17\","
        "\"signature_hex\":\"ab\"}]}", /* a member missing */
        "{\"transfers\":[{\"public_key_der_hex\":\"00\",\"public_key_der_hex\":\"00\","
        "\"expiry_nanos\":\"17\",\"signature_hex\":\"ab\",\"body\":\"{}\"}]}",
        "{\"transfers\":[{\"public_key_der_hex\":\"00\",\"expiry_nanos\":17,"
        "\"signature_hex\":\"ab\",\"body\":\"{}\"}]}",
        "{\"transfers\":[{\"public_key_der_hex\":\"00\",\"expiry_nanos\":\"17\","
        "\"signature_hex\":\"ab\",\"body\":{}}]}",
        "{\"transfers\":[{\"public_key_der_hex\":null,\"expiry_nanos\":\"17\","
        "\"signature_hex\":\"ab\",\"body\":\"{}\"}]}",
        "{\"transfers\":[{\"public_key_der_hex\":\"00\",\"expiry_nanos\":\"17\","
        "\"signature_hex\":\"ab\",\"body\":\"{}\",\"extra\":\"x\"}]}",
        "{\"transfers\":[{\"public_key_der_hex\":\"00\",\"expiry_nanos\":\"17\","
        "\"signature_hex\":true,\"body\":\"{}\"}]}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        batch_t b;
        ck_assert_msg(!read_text(docs[i], 100, &b), "accepted document %zu: %s", i, docs[i]);
        ck_assert_ptr_null(b.items);
        ck_assert_ptr_null(b.arena);
        ck_assert_uint_eq(b.n, 0);
    }
}
END_TEST

/* A batch of n identical items. */
static char *batch_of(size_t n)
{
    static const char item[] = ITEM("00", "{}");
    char *doc = malloc(32 + n * sizeof item), *p = doc;
    p += sprintf(p, "{\"transfers\":[");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", item);
    sprintf(p, "]}");
    return doc;
}

START_TEST(at_most_max_items)
{
    char *hundred = batch_of(100), *more = batch_of(101);
    batch_t b;
    ck_assert(read_text(hundred, 100, &b));
    ck_assert_uint_eq(b.n, 100);
    batch_free(&b);
    ck_assert(!read_text(more, 100, &b));
    ck_assert(!read_text(hundred, 99, &b));
    ck_assert(!read_text(hundred, 0, &b));
    free(hundred);
    free(more);
}
END_TEST

/* The contract with the general path: when the reader accepts doc and jansson reads every body
 * as an object, jansson reads doc whole and finds the same items. Returns whether it accepted. */
static bool agrees_with_jansson(const char *doc, size_t len)
{
    batch_t b;
    if (!batch_read((const uint8_t *)doc, len, 100, &b))
        return false;
    for (size_t i = 0; i < b.n; i++) {
        json_t *body =
            json_loadb(b.items[i].body, b.items[i].body_len, JSON_REJECT_DUPLICATES, NULL);
        bool object = json_is_object(body);
        json_decref(body);
        if (!object) {
            batch_free(&b);
            return true; /* the caller takes the general path */
        }
    }
    json_error_t jerr;
    json_t *o = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_msg(o != NULL, "jansson refuses a document the reader accepted (%s): %.*s", jerr.text,
                  (int)len, doc);
    ck_assert_uint_eq(json_object_size(o), 1);
    json_t *items = json_object_get(o, "transfers");
    ck_assert_uint_eq(json_array_size(items), b.n);
    for (size_t i = 0; i < b.n; i++) {
        json_t *it = json_array_get(items, i);
        ck_assert_uint_eq(json_object_size(it), 4);
        ck_assert_str_eq(json_string_value(json_object_get(it, "public_key_der_hex")),
                         b.items[i].public_key_der_hex);
        ck_assert_str_eq(json_string_value(json_object_get(it, "expiry_nanos")),
                         b.items[i].expiry_nanos);
        ck_assert_str_eq(json_string_value(json_object_get(it, "signature_hex")),
                         b.items[i].signature_hex);
        json_t *body = json_object_get(it, "body");
        ck_assert_uint_eq(json_string_length(body), b.items[i].body_len);
        ck_assert_mem_eq(json_string_value(body), b.items[i].body, b.items[i].body_len);
    }
    json_decref(o);
    batch_free(&b);
    return true;
}

START_TEST(agrees_with_jansson_on_mutations)
{
    static const char seed[] = "{\"transfers\": [" ITEM(
        "00", "{\\\"to\\\":\\\"a\\\\\\\\b\\\"}") ","
                                                 "{\"body\": \"{\\\"x\\\": \\\"\xc3\xa9\\\"}\", "
                                                 "\"signature_hex\":\"cd\","
                                                 "\"expiry_nanos\":\"18\",\"public_key_der_hex\":"
                                                 "\"11\"}]}";
    static const char alphabet[] = "\"\\{}[],: \t\n\r\v\fu0a/\x01\x7f\xc3\xa9\xc0\xff\xed";
    const size_t nalpha = sizeof alphabet - 1 + 1; /* and NUL */
    ck_assert(agrees_with_jansson(seed, strlen(seed)));
    char doc[sizeof seed + 8];
    unsigned long long x = 88172645463325252ULL; /* xorshift64: the same mutations every run */
    size_t accepted = 0;
    for (int round = 0; round < 200000; round++) {
        size_t len = strlen(seed);
        memcpy(doc, seed, len);
        mutate(doc, &len, sizeof doc, 1 + round % 3, &x, alphabet, nalpha);
        accepted += agrees_with_jansson(doc, len);
    }
    ck_assert_uint_gt(accepted, 1000); /* the test reached documents the reader accepts */
}
END_TEST

static Suite *batch_suite(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("reader");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, reads_the_canonical_shape);
    tcase_add_test(tc, an_escaped_backslash_is_no_escape);
    tcase_add_test(tc, steps_aside_for_anything_else);
    tcase_add_test(tc, at_most_max_items);
    tcase_add_test(tc, agrees_with_jansson_on_mutations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(batch_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
