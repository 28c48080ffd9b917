/*
 * check_icrc3: ICRC-3 representation-independent value hashing against spec/ledger.md vectors
 * 30-35 (HASHINGVALUES.md), plus LEB128 edge cases, big Nats, map ordering and replacement,
 * and the ownership rules of the value API (steal on failure, destroy NULLs the pointer).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hex.h"
#include "icrc3.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void assert_hash(const icrc3_value_t *v, const char *expected)
{
    ck_assert_ptr_nonnull(v);
    uint8_t h[32];
    char text[65];
    icrc3_value_hash(v, h);
    hex_encode(h, sizeof h, text);
    ck_assert_str_eq(text, expected);
}

/* Hashes v, destroys it, checks the pointer was cleared. */
static void assert_hash_destroy(icrc3_value_t *v, const char *expected)
{
    assert_hash(v, expected);
    icrc3_value_destroy(&v);
    ck_assert_ptr_null(v);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t h[32];
    sha256(data, len, h);
    hex_encode(h, sizeof h, out);
}

static size_t unhex(const char *text, uint8_t *out, size_t cap)
{
    long n = hex_decode(text, strlen(text), out, cap);
    ck_assert_int_ge(n, 0);
    return (size_t)n;
}

/* ---- vectors 30-35 ------------------------------------------------------------------------ */

START_TEST(v30_nat)
{
    assert_hash_destroy(icrc3_nat_new(42),
                        "684888c0ebb17f374298b65ee2807526c066094c701bcc7ebbe1c1095f494fc1");
}
END_TEST

START_TEST(v31_int)
{
    assert_hash_destroy(icrc3_int_new(-42),
                        "de5a6f78116eca62d7fc5ce159d23ae6b889b365a1739ad2cf36f925a140d0cc");
}
END_TEST

START_TEST(v32_text)
{
    assert_hash_destroy(icrc3_text_new("Hello, World!"),
                        "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f");
}
END_TEST

START_TEST(v33_blob)
{
    static const uint8_t blob[] = {1, 2, 3, 4};
    assert_hash_destroy(icrc3_blob_new(blob, sizeof blob),
                        "9f64a747e1b97f131fabb6b447296c9b6f0201e79fb3c5356e6c77e89b6a806a");
}
END_TEST

START_TEST(v34_array)
{
    static const uint8_t blob[] = {5, 6};
    icrc3_value_t *a = icrc3_array_new();
    ck_assert(icrc3_array_push(a, icrc3_nat_new(3)));
    ck_assert(icrc3_array_push(a, icrc3_text_new("foo")));
    ck_assert(icrc3_array_push(a, icrc3_blob_new(blob, sizeof blob)));
    ck_assert_int_eq(icrc3_value_kind(a), ICRC3_ARRAY);
    ck_assert_uint_eq(icrc3_value_count(a), 3);
    assert_hash_destroy(a, "514a04011caa503990d446b7dec5d79e19c221ae607fb08b2848c67734d468d6");
}
END_TEST

static icrc3_value_t *map_v35(const char *const *order, size_t n)
{
    uint8_t from[32], to[32];
    size_t from_len = unhex("00abcdef0012340056789a00bcdef000012345678900abcdef01", from, 32);
    size_t to_len = unhex("00ab0def0012340056789a00bcdef000012345678900abcdef01", to, 32);
    icrc3_value_t *m = icrc3_map_new();
    ck_assert_ptr_nonnull(m);
    for (size_t i = 0; i < n; i++) {
        const char *k = order[i];
        icrc3_value_t *v = strcmp(k, "from") == 0         ? icrc3_blob_new(from, from_len)
                           : strcmp(k, "to") == 0         ? icrc3_blob_new(to, to_len)
                           : strcmp(k, "amount") == 0     ? icrc3_nat_new(42)
                           : strcmp(k, "created_at") == 0 ? icrc3_nat_new(1699218263)
                                                          : icrc3_nat_new(0);
        ck_assert(icrc3_map_set(m, k, v));
    }
    return m;
}

#define V35_HASH "c56ece650e1de4269c5bdeff7875949e3e2033f85b2d193c2ff4f7f78bdcfc75"

START_TEST(v35_map)
{
    static const char *const order[] = {"from", "to", "amount", "created_at", "memo"};
    icrc3_value_t *m = map_v35(order, ARRAY_LEN(order));
    ck_assert_int_eq(icrc3_value_kind(m), ICRC3_MAP);
    ck_assert_uint_eq(icrc3_value_count(m), 5);
    assert_hash(m, V35_HASH);
    assert_hash(m, V35_HASH); /* hashing twice (scratch reuse) gives the same result */
    icrc3_value_destroy(&m);
    ck_assert_ptr_null(m);
}
END_TEST

/* The map hash does not depend on insertion order. */
START_TEST(v35_map_any_order)
{
    static const char *const orders[][5] = {
        {"memo", "created_at", "amount", "to", "from"},
        {"amount", "memo", "from", "created_at", "to"},
        {"to", "from", "memo", "amount", "created_at"},
    };
    for (size_t i = 0; i < ARRAY_LEN(orders); i++)
        assert_hash_destroy(map_v35(orders[i], 5), V35_HASH);
}
END_TEST

START_TEST(v35_map_replace)
{
    static const char *const order[] = {"from", "to", "amount", "created_at", "memo"};
    icrc3_value_t *m = map_v35(order, ARRAY_LEN(order));
    ck_assert(icrc3_map_set(m, "amount", icrc3_text_new("not a number")));
    ck_assert_uint_eq(icrc3_value_count(m), 5);
    uint8_t h[32];
    char text[65];
    icrc3_value_hash(m, h);
    hex_encode(h, 32, text);
    ck_assert_str_ne(text, V35_HASH);
    ck_assert(icrc3_map_set(m, "amount", icrc3_nat_new(42)));
    assert_hash_destroy(m, V35_HASH);
}
END_TEST

/* ---- the encoding rules one by one -------------------------------------------------------- */

START_TEST(nat_leb128)
{
    static const struct {
        uint64_t n;
        const char *leb;
    } cases[] = {
        {0, "00"},     {1, "01"},          {127, "7f"},
        {128, "8001"}, {624485, "e58e26"}, {UINT64_MAX, "ffffffffffffffffff01"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        uint8_t leb[10], want[10];
        size_t n = icrc3_uleb128(cases[i].n, leb);
        size_t wn = unhex(cases[i].leb, want, sizeof want);
        ck_assert_uint_eq(n, wn);
        ck_assert_mem_eq(leb, want, n);
        char expected[65];
        sha256_hex(want, wn, expected);
        assert_hash_destroy(icrc3_nat_new(cases[i].n), expected);
    }
}
END_TEST

START_TEST(int_leb128)
{
    static const struct {
        int64_t i;
        const char *leb;
    } cases[] = {
        {0, "00"},
        {1, "01"},
        {-1, "7f"},
        {63, "3f"},
        {64, "c000"},
        {-64, "40"},
        {-65, "bf7f"},
        {-42, "56"},
        {-123456, "c0bb78"},
        {INT64_MAX, "ffffffffffffffffff00"},
        {INT64_MIN, "8080808080808080807f"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        uint8_t leb[10], want[10];
        size_t n = icrc3_sleb128(cases[i].i, leb);
        size_t wn = unhex(cases[i].leb, want, sizeof want);
        ck_assert_msg(n == wn && memcmp(leb, want, n) == 0, "sleb128(%lld)", (long long)cases[i].i);
        char expected[65];
        sha256_hex(want, wn, expected);
        assert_hash_destroy(icrc3_int_new(cases[i].i), expected);
    }
}
END_TEST

/* Nat from big-endian bytes: agrees with the u64 constructor, and goes beyond 64 bits. */
START_TEST(nat_big)
{
    static const uint64_t values[] = {0, 1, 127, 128, 42, 1699218263, UINT64_MAX};
    for (size_t i = 0; i < ARRAY_LEN(values); i++) {
        uint8_t be[12] = {0}; /* with leading zero bytes */
        for (int k = 0; k < 8; k++)
            be[11 - k] = (uint8_t)(values[i] >> (8 * k));
        uint8_t h1[32], h2[32];
        icrc3_value_t *a = icrc3_nat_new(values[i]), *b = icrc3_nat_new_be(be, sizeof be);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        icrc3_value_hash(a, h1);
        icrc3_value_hash(b, h2);
        ck_assert_mem_eq(h1, h2, 32);
        icrc3_value_destroy(&a);
        icrc3_value_destroy(&b);
    }
    /* empty magnitude is 0 */
    char expected[65];
    sha256_hex("\x00", 1, expected);
    assert_hash_destroy(icrc3_nat_new_be(NULL, 0), expected);

    /* 2^64 = LEB128 80 80 80 80 80 80 80 80 80 02 */
    static const uint8_t two64[] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t two64_leb[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
    sha256_hex(two64_leb, sizeof two64_leb, expected);
    assert_hash_destroy(icrc3_nat_new_be(two64, sizeof two64), expected);

    /* 2^128 - 1 = 18 x 0xff then 0x03 */
    uint8_t max128[16], max128_leb[19];
    memset(max128, 0xff, sizeof max128);
    memset(max128_leb, 0xff, 18);
    max128_leb[18] = 0x03;
    sha256_hex(max128_leb, sizeof max128_leb, expected);
    assert_hash_destroy(icrc3_nat_new_be(max128, sizeof max128), expected);
}
END_TEST

START_TEST(text_and_blob)
{
    char expected[65];
    sha256_hex("", 0, expected);
    assert_hash_destroy(icrc3_text_new(""), expected);
    assert_hash_destroy(icrc3_blob_new(NULL, 0), expected);
    /* text with an embedded NUL, via the length form */
    sha256_hex("a\0b", 3, expected);
    assert_hash_destroy(icrc3_text_new_len("a\0b", 3), expected);
    /* UTF-8 is hashed as its bytes */
    sha256_hex("\xc3\xa9", 2, expected);
    assert_hash_destroy(icrc3_text_new("\xc3\xa9"), expected);
    /* Text and Blob of the same bytes hash alike: the hash is representation-independent */
    uint8_t h1[32], h2[32];
    icrc3_value_t *t = icrc3_text_new("foo");
    icrc3_value_t *b = icrc3_blob_new((const uint8_t *)"foo", 3);
    icrc3_value_hash(t, h1);
    icrc3_value_hash(b, h2);
    ck_assert_mem_eq(h1, h2, 32);
    ck_assert_int_eq(icrc3_value_kind(t), ICRC3_TEXT);
    ck_assert_int_eq(icrc3_value_kind(b), ICRC3_BLOB);
    ck_assert_uint_eq(icrc3_value_count(t), 0);
    icrc3_value_destroy(&t);
    icrc3_value_destroy(&b);
}
END_TEST

START_TEST(empty_containers)
{
    char expected[65];
    sha256_hex("", 0, expected);
    assert_hash_destroy(icrc3_array_new(), expected);
    assert_hash_destroy(icrc3_map_new(), expected);
}
END_TEST

/* A nested value hashed by hand from the rules: Map{"a": Array[Nat 1, Map{"b": Int -1}]}. */
START_TEST(nested)
{
    uint8_t nat1[32], intm1[32], kb[32], ka[32], inner_map[32], arr[32], top[32];
    sha256("\x01", 1, nat1);
    sha256("\x7f", 1, intm1);
    sha256("b", 1, kb);
    sha256("a", 1, ka);
    uint8_t pair[64];
    memcpy(pair, kb, 32);
    memcpy(pair + 32, intm1, 32);
    sha256(pair, 64, inner_map);
    uint8_t cat[64];
    memcpy(cat, nat1, 32);
    memcpy(cat + 32, inner_map, 32);
    sha256(cat, 64, arr);
    memcpy(pair, ka, 32);
    memcpy(pair + 32, arr, 32);
    sha256(pair, 64, top);
    char expected[65];
    hex_encode(top, 32, expected);

    icrc3_value_t *inner = icrc3_map_new();
    ck_assert(icrc3_map_set(inner, "b", icrc3_int_new(-1)));
    icrc3_value_t *a = icrc3_array_new();
    ck_assert(icrc3_array_push(a, icrc3_nat_new(1)));
    ck_assert(icrc3_array_push(a, inner));
    icrc3_value_t *m = icrc3_map_new();
    ck_assert(icrc3_map_set(m, "a", a));
    assert_hash_destroy(m, expected);
}
END_TEST

/* Many entries: growth, and a sort over more than a handful of pairs. */
START_TEST(large_map_and_array)
{
    icrc3_value_t *m = icrc3_map_new(), *a = icrc3_array_new();
    sha256_ctx_t ctx;
    sha256_init(&ctx);
    for (int i = 0; i < 300; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        ck_assert(icrc3_map_set(m, key, icrc3_nat_new((uint64_t)i)));
        ck_assert(icrc3_array_push(a, icrc3_nat_new((uint64_t)i)));
        uint8_t leb[10], h[32];
        size_t n = icrc3_uleb128((uint64_t)i, leb);
        sha256(leb, n, h);
        sha256_update(&ctx, h, 32);
    }
    ck_assert_uint_eq(icrc3_value_count(m), 300);
    uint8_t want[32];
    sha256_final(&ctx, want);
    char expected[65];
    hex_encode(want, 32, expected);
    assert_hash_destroy(a, expected);

    /* the same map built in reverse order hashes alike */
    icrc3_value_t *r = icrc3_map_new();
    for (int i = 299; i >= 0; i--) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        ck_assert(icrc3_map_set(r, key, icrc3_nat_new((uint64_t)i)));
    }
    uint8_t h1[32], h2[32];
    icrc3_value_hash(m, h1);
    icrc3_value_hash(r, h2);
    ck_assert_mem_eq(h1, h2, 32);
    icrc3_value_destroy(&m);
    icrc3_value_destroy(&r);
}
END_TEST

/* ---- ownership ---------------------------------------------------------------------------- */

START_TEST(ownership_rules)
{
    /* NULL items are refused without crashing (and nothing leaks: ASan/LSan would report) */
    icrc3_value_t *a = icrc3_array_new(), *m = icrc3_map_new();
    ck_assert(!icrc3_array_push(a, NULL));
    ck_assert(!icrc3_map_set(m, "x", NULL));
    ck_assert(!icrc3_map_set(m, NULL, icrc3_nat_new(1))); /* value destroyed */
    ck_assert(!icrc3_array_push(NULL, icrc3_nat_new(1)));
    ck_assert(!icrc3_map_set(NULL, "x", icrc3_nat_new(1)));
    /* wrong container kind: the item is destroyed */
    ck_assert(!icrc3_array_push(m, icrc3_nat_new(1)));
    ck_assert(!icrc3_map_set(a, "x", icrc3_nat_new(1)));
    ck_assert_uint_eq(icrc3_value_count(a), 0);
    ck_assert_uint_eq(icrc3_value_count(m), 0);
    /* NULL inputs to constructors */
    ck_assert_ptr_null(icrc3_text_new(NULL));
    ck_assert_ptr_null(icrc3_text_new_len(NULL, 1));
    ck_assert_ptr_null(icrc3_blob_new(NULL, 1));
    ck_assert_ptr_null(icrc3_nat_new_be(NULL, 1));
    /* destroy is NULL-safe and idempotent */
    icrc3_value_destroy(&a);
    ck_assert_ptr_null(a);
    icrc3_value_destroy(&a);
    icrc3_value_destroy(NULL);
    icrc3_value_destroy(&m);
    ck_assert_ptr_null(m);
}
END_TEST

static Suite *icrc3_suite(void)
{
    Suite *s = suite_create("icrc3");

    TCase *tc = tcase_create("vectors");
    tcase_add_test(tc, v30_nat);
    tcase_add_test(tc, v31_int);
    tcase_add_test(tc, v32_text);
    tcase_add_test(tc, v33_blob);
    tcase_add_test(tc, v34_array);
    tcase_add_test(tc, v35_map);
    tcase_add_test(tc, v35_map_any_order);
    tcase_add_test(tc, v35_map_replace);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_test(tc, nat_leb128);
    tcase_add_test(tc, int_leb128);
    tcase_add_test(tc, nat_big);
    tcase_add_test(tc, text_and_blob);
    tcase_add_test(tc, empty_containers);
    tcase_add_test(tc, nested);
    tcase_add_test(tc, large_map_and_array);
    suite_add_tcase(s, tc);

    tc = tcase_create("ownership");
    tcase_add_test(tc, ownership_rules);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (!crypto_init()) {
        fprintf(stderr, "check_icrc3: crypto_init failed\n");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(icrc3_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
