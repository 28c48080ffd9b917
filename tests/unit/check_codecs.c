/*
 * check_codecs: principals, account identifiers, ICRC-1 account text and the request-signing
 * scheme against every vector of spec/ledger.md (Principals, Account identifiers, ICRC-1
 * account text), spec/vectors.json and spec/request-signing-vector.json. The JSON vectors are
 * copied in below so the suite runs without the spec folder.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "crypto.h"
#include "error.h"
#include "hex.h"
#include "principal.h"
#include "sign.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------------------------ */

/* Decodes a hex vector that must be exactly n bytes. */
static void unhex(const char *text, uint8_t *out, size_t n)
{
    ck_assert_uint_eq(strlen(text), 2 * n);
    ck_assert_int_eq(hex_decode(text, strlen(text), out, n), (long)n);
}

/* Parses a principal vector text, failing the test on error. */
static principal_t principal_of(const char *text)
{
    principal_t p;
    nns_error_t err = {0};
    ck_assert_msg(principal_from_text(text, &p, &err), "'%s': %s", text, err.detail);
    return p;
}

/* Principal from the hex of its bytes. */
static principal_t principal_of_hex(const char *hex)
{
    uint8_t bytes[PRINCIPAL_MAX_BYTES];
    size_t n = strlen(hex) / 2;
    ck_assert_uint_le(n, sizeof bytes);
    unhex(hex, bytes, n);
    principal_t p;
    nns_error_t err = {0};
    ck_assert(principal_from_bytes(bytes, n, &p, &err));
    return p;
}

static void assert_text(const principal_t *p, const char *expected)
{
    char text[PRINCIPAL_TEXT_MAX];
    size_t n = principal_to_text(p, text);
    ck_assert_str_eq(text, expected);
    ck_assert_uint_eq(n, strlen(expected));
}

/* Asserts that text fails to parse as a principal with exactly the given detail. */
static void assert_principal_error(const char *text, const char *detail)
{
    principal_t p;
    nns_error_t err = {0};
    ck_assert_msg(!principal_from_text(text, &p, &err), "'%s' parsed", text);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.code, "InvalidPrincipal");
    ck_assert_str_eq(err.detail, detail);
}

static void assert_account_hex(const account_id_t *id, const char *expected)
{
    char hex[ACCOUNT_HEX_LEN + 1];
    account_id_to_hex(id, hex);
    ck_assert_str_eq(hex, expected);
}

/* The default account identifier of a principal text. */
static void assert_default_account(const char *principal_text, const char *expected_hex)
{
    principal_t p = principal_of(principal_text);
    account_id_t id;
    account_id_of(&p, NULL, &id);
    assert_account_hex(&id, expected_hex);
    uint8_t zero[SUBACCOUNT_BYTES] = {0};
    account_id_t id0;
    account_id_of(&p, zero, &id0);
    ck_assert(account_id_equal(&id, &id0));
}

/* Asserts that ICRC-1 text fails with InvalidAccount and a detail starting with prefix. */
static void assert_icrc1_error(const char *text, const char *prefix)
{
    icrc1_account_t acc;
    nns_error_t err = {0};
    ck_assert_msg(!icrc1_account_from_text(text, &acc, &err), "'%s' parsed", text);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.code, "InvalidAccount");
    ck_assert_msg(strncmp(err.detail, prefix, strlen(prefix)) == 0, "'%s': detail '%s', want '%s'",
                  text, err.detail, prefix);
}

static void assert_icrc1_round_trip(const principal_t *owner, const uint8_t *sub,
                                    const char *expected)
{
    icrc1_account_t acc = {.owner = *owner};
    if (sub)
        memcpy(acc.subaccount, sub, SUBACCOUNT_BYTES);
    char text[ICRC1_TEXT_MAX];
    size_t n = icrc1_account_to_text(&acc, text);
    ck_assert_str_eq(text, expected);
    ck_assert_uint_eq(n, strlen(expected));

    icrc1_account_t back;
    nns_error_t err = {0};
    ck_assert_msg(icrc1_account_from_text(expected, &back, &err), "'%s': %s", expected,
                  err.detail);
    ck_assert(principal_equal(&back.owner, owner));
    ck_assert_mem_eq(back.subaccount, acc.subaccount, SUBACCOUNT_BYTES);
}

/* ---- Principals (spec/ledger.md vectors 1-13) ---------------------------------------------- */

START_TEST(principal_anonymous_v1)
{
    principal_t p = principal_of_hex("04");
    assert_text(&p, "2vxsx-fae");
    ck_assert(principal_is_anonymous(&p));
    principal_t a;
    principal_anonymous(&a);
    ck_assert(principal_equal(&a, &p));
    principal_t back = principal_of("2vxsx-fae");
    ck_assert(principal_is_anonymous(&back));
}
END_TEST

START_TEST(principal_empty_v2)
{
    principal_t p = principal_of_hex("");
    assert_text(&p, "aaaaa-aa");
    ck_assert(!principal_is_anonymous(&p));
    principal_t back = principal_of("aaaaa-aa");
    ck_assert_uint_eq(back.len, 0);
}
END_TEST

START_TEST(principal_round_trip_v3)
{
    principal_t p = principal_of_hex("c0fefed00d");
    assert_text(&p, "bfozs-kwa73-7nadi");
    principal_t back = principal_of("bfozs-kwa73-7nadi");
    ck_assert(principal_equal(&p, &back));
}
END_TEST

START_TEST(principal_bad_checksum_v4)
{
    assert_principal_error("5h74t-uga73-7nadi", "not in normal form, expected bfozs-kwa73-7nadi");
}
END_TEST

START_TEST(principal_non_canonical_v5)
{
    static const char *const forms[] = {"BFOZS-KWA73-7NADI", "bfozskwa737nadi",
                                        "bf-oz-sk-wa737-nadi"};
    for (size_t i = 0; i < ARRAY_LEN(forms); i++)
        assert_principal_error(forms[i], "not in normal form, expected bfozs-kwa73-7nadi");
}
END_TEST

START_TEST(principal_too_short_v6)
{
    assert_principal_error("", "too short");
    assert_principal_error("vpgq", "too short");
}
END_TEST

START_TEST(principal_too_long_v7)
{
    assert_principal_error("fmakz-kp753-o4zo5-ktgeh-ozsvi-qzsee-ia77x-n3tf3-vkmyq-53gkv-cdgiq",
                           "too long");
}
END_TEST

START_TEST(principal_opaque_v8)
{
    principal_t p = principal_of_hex("efcdab000000000001");
    assert_text(&p, "2chl6-4hpzw-vqaaa-aaaaa-c");
    principal_t back = principal_of("2chl6-4hpzw-vqaaa-aaaaa-c");
    ck_assert(principal_equal(&p, &back));
}
END_TEST

/* The 16-byte sequence of vectors 9 and 10, repeated. */
static const uint8_t SEQ[32] = {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55,
                                0x44, 0x33, 0x22, 0x11, 0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa,
                                0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00};

START_TEST(principal_self_authenticating_v9)
{
    principal_t p;
    principal_self_authenticating(SEQ, sizeof SEQ, &p);
    ck_assert_uint_eq(p.len, 29);
    ck_assert_uint_eq(p.bytes[28], 0x02);
    assert_text(&p, "bngem-gzprz-dtr6o-xnali-fgmfi-fjgpb-rya7j-x2idk-3eh6u-4v7tx-hqe");
}
END_TEST

START_TEST(principal_derived_v10)
{
    /* SHA-224(len(registerer) || registerer || seed) || 0x03, built here from the rules. */
    static const uint8_t seed[8] = {0xdd, 0xcc, 0xbb, 0xaa, 0xdd, 0xcc, 0xbb, 0xaa};
    uint8_t input[1 + 29 + sizeof seed];
    input[0] = 29;
    memcpy(input + 1, SEQ, 29);
    memcpy(input + 30, seed, sizeof seed);
    uint8_t bytes[29];
    sha224(input, sizeof input, bytes);
    bytes[28] = 0x03;
    principal_t p;
    nns_error_t err = {0};
    ck_assert(principal_from_bytes(bytes, sizeof bytes, &p, &err));
    assert_text(&p, "c2u3y-w273i-ols77-om7wu-jzrdm-gxxz3-b75cc-3ajdg-mauzk-hm5vh-jag");
}
END_TEST

/* Vectors 11 and 12: raw Ed25519 key -> DER -> principal -> default account. */
static void assert_ed25519_identity(const char *raw_hex, const char *principal_text,
                                    const char *account_hex)
{
    uint8_t raw[32], der[ED25519_DER_BYTES], back[32];
    unhex(raw_hex, raw, sizeof raw);
    ed25519_der_from_raw(raw, der);
    ck_assert(ed25519_raw_from_der(der, sizeof der, back));
    ck_assert_mem_eq(back, raw, sizeof raw);
    principal_t p;
    principal_self_authenticating(der, sizeof der, &p);
    assert_text(&p, principal_text);
    account_id_t id;
    account_id_of(&p, NULL, &id);
    assert_account_hex(&id, account_hex);
}

START_TEST(principal_ed25519_v11)
{
    assert_ed25519_identity("ba5242d02642aede88a5f9fe82482a9fd0b6dc25f38c729253116c6865384a9d",
                            "sp3em-jkiyw-tospm-2huim-jor4p-et4s7-ay35f-q7tnm-hi4k2-pyicb-xae",
                            "8af54f1fa09faeca18d294e0787346264f9f1d6189ed20ff14f029a160b787e8");
}
END_TEST

START_TEST(principal_ed25519_v12)
{
    assert_ed25519_identity("1b400d60aaf34eaf6dcbab9bba46001a23497886cf11066f7846933d30e5ad3f",
                            "gatzj-gfpb4-pvc5a-auwas-7whi2-6fwpf-cuazz-vpii7-yi22s-aadqu-kae",
                            "907ff6c714a545110b42982b72aa39c5b7742d610e234a9d40bf8cf624e7a70d");
}
END_TEST

/* Vector 13: the Canister ids table of spec/ledger.md (Constants). */
static const struct {
    uint64_t index;
    const char *bytes, *text;
} CANISTERS[] = {
    {0, "00000000000000000101", "rwlgt-iiaaa-aaaaa-aaaaa-cai"},
    {1, "00000000000000010101", "rrkah-fqaaa-aaaaa-aaaaq-cai"},
    {2, "00000000000000020101", "ryjl3-tyaaa-aaaaa-aaaba-cai"},
    {3, "00000000000000030101", "r7inp-6aaaa-aaaaa-aaabq-cai"},
    {4, "00000000000000040101", "rkp4c-7iaaa-aaaaa-aaaca-cai"},
    {5, "00000000000000050101", "rno2w-sqaaa-aaaaa-aaacq-cai"},
    {6, "00000000000000060101", "renrk-eyaaa-aaaaa-aaada-cai"},
    {7, "00000000000000070101", "rdmx6-jaaaa-aaaaa-aaadq-cai"},
    {8, "00000000000000080101", "qoctq-giaaa-aaaaa-aaaea-cai"},
    {11, "000000000000000b0101", "qhbym-qaaaa-aaaaa-aaafq-cai"},
    {9, "00000000000000090101", "qjdve-lqaaa-aaaaa-aaaeq-cai"},
    {12, "000000000000000c0101", "qsgjb-riaaa-aaaaa-aaaga-cai"},
    {14, "000000000000000e0101", "q4eej-kyaaa-aaaaa-aaaha-cai"},
    {15, "000000000000000f0101", "q3fc5-haaaa-aaaaa-aaahq-cai"},
};

START_TEST(principal_canister_v13)
{
    principal_t p;
    principal_canister(CANISTERS[_i].index, &p);
    principal_t expected = principal_of_hex(CANISTERS[_i].bytes);
    ck_assert(principal_equal(&p, &expected));
    assert_text(&p, CANISTERS[_i].text);
    principal_t back = principal_of(CANISTERS[_i].text);
    ck_assert(principal_equal(&p, &back));
}
END_TEST

START_TEST(principal_canister_constants)
{
    static const struct {
        int index;
        const char *text;
    } named[] = {{CANISTER_REGISTRY, "rwlgt-iiaaa-aaaaa-aaaaa-cai"},
                 {CANISTER_GOVERNANCE, "rrkah-fqaaa-aaaaa-aaaaq-cai"},
                 {CANISTER_LEDGER, "ryjl3-tyaaa-aaaaa-aaaba-cai"},
                 {CANISTER_ROOT, "r7inp-6aaaa-aaaaa-aaabq-cai"},
                 {CANISTER_CMC, "rkp4c-7iaaa-aaaaa-aaaca-cai"},
                 {CANISTER_INDEX, "qhbym-qaaaa-aaaaa-aaafq-cai"}};
    for (size_t i = 0; i < ARRAY_LEN(named); i++) {
        principal_t p;
        principal_canister((uint64_t)named[i].index, &p);
        assert_text(&p, named[i].text);
    }
}
END_TEST

/* Beyond the vectors: the other decode failures and edge cases. */
START_TEST(principal_decode_edges)
{
    assert_principal_error("bfozs-kwa01-7nadi", "not base32"); /* '0' and '1' are not base32 */
    assert_principal_error("bfozs-kwa89-7nadi", "not base32");
    /* Non-alphanumerics are dropped before decoding, so these fail only the normal form. */
    assert_principal_error(" bfozs-kwa73-7nadi", "not in normal form, expected bfozs-kwa73-7nadi");
    assert_principal_error("bfozs-kwa73-7nadi\n",
                           "not in normal form, expected bfozs-kwa73-7nadi");
    assert_principal_error("bfozs-kwa73-7nadi-", "not in normal form, expected bfozs-kwa73-7nadi");
    assert_principal_error("bfozs_kwa73_7nadi", "not in normal form, expected bfozs-kwa73-7nadi");
    assert_principal_error("bfozs-kwa73-7n\xc3\xa4" "adi",
                           "not in normal form, expected bfozs-kwa73-7nadi");
    /* A long run of base32 characters is "too long", a single bad one anywhere "not base32". */
    char big[4096];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_principal_error(big, "too long");
    big[4000] = '0';
    assert_principal_error(big, "not base32");

    principal_t p;
    nns_error_t err = {0};
    ck_assert(!principal_from_text(NULL, &p, &err));
    ck_assert_str_eq(err.detail, "too short");

    /* Length-bounded parsing reads only len bytes. */
    const char *buf = "bfozs-kwa73-7nadi/accounts";
    ck_assert(principal_from_text_n(buf, 17, &p, &err));
    assert_text(&p, "bfozs-kwa73-7nadi");
    ck_assert(!principal_from_text_n(buf, 18, &p, &err));
}
END_TEST

START_TEST(principal_from_bytes_limits)
{
    uint8_t bytes[30];
    memset(bytes, 0xab, sizeof bytes);
    principal_t p;
    nns_error_t err = {0};
    ck_assert(!principal_from_bytes(bytes, 30, &p, &err));
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.code, "InvalidPrincipal");
    ck_assert(principal_from_bytes(bytes, 29, &p, &err));
    ck_assert_uint_eq(p.len, 29);
    ck_assert(principal_from_bytes(NULL, 0, &p, &err));
    ck_assert_uint_eq(p.len, 0);
}
END_TEST

/* Every length 0..29 with pseudo-random bytes round-trips, and the text fits the buffer. */
START_TEST(principal_round_trip_all_lengths)
{
    uint32_t x = 2463534242u; /* xorshift32 */
    for (int round = 0; round < 50; round++) {
        for (size_t len = 0; len <= PRINCIPAL_MAX_BYTES; len++) {
            uint8_t bytes[PRINCIPAL_MAX_BYTES];
            for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                bytes[i] = (uint8_t)x;
            }
            principal_t p, back;
            nns_error_t err = {0};
            ck_assert(principal_from_bytes(bytes, len, &p, &err));
            char text[PRINCIPAL_TEXT_MAX];
            size_t n = principal_to_text(&p, text);
            ck_assert_uint_lt(n, PRINCIPAL_TEXT_MAX);
            ck_assert_msg(principal_from_text(text, &back, &err), "%s: %s", text, err.detail);
            ck_assert(principal_equal(&p, &back));
        }
    }
}
END_TEST

START_TEST(principal_crc32_text_checksum)
{
    char out[8];
    principal_crc32_text(0, out);
    ck_assert_str_eq(out, "aaaaaaa");
    principal_crc32_text(0xffffffffu, out);
    ck_assert_str_eq(out, "777777y");
}
END_TEST

/* ---- Account identifiers (spec/ledger.md vectors 14-18, 24) -------------------------------- */

START_TEST(account_zero_hash_v14)
{
    account_id_t zero = {{0}}, id;
    assert_account_hex(&zero, "807077e900000000000000000000000000000000000000000000000000000000");
    nns_error_t err = {0};
    const char *good = "807077e900000000000000000000000000000000000000000000000000000000";
    ck_assert(account_id_from_hex(good, strlen(good), &id, &err));
    ck_assert(account_id_equal(&id, &zero));

    const char *bad = "0000000000000000000000000000000000000000000000000000000000000000";
    ck_assert(!account_id_from_hex(bad, strlen(bad), &id, &err));
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.code, "InvalidAccount");
    ck_assert_str_eq(err.detail, "checksum failed for "
                                 "0000000000000000000000000000000000000000000000000000000000000000"
                                 ", expected check bytes 807077e9 but found 00000000");

    uint8_t addr[32];
    account_id_to_address(&zero, addr);
    ck_assert_uint_eq(addr[0], 128);
    ck_assert_uint_eq(addr[1], 112);
    ck_assert_uint_eq(addr[2], 119);
    ck_assert_uint_eq(addr[3], 233);
    ck_assert(account_id_from_address(addr, &id, &err));
    ck_assert(account_id_equal(&id, &zero));
    addr[0] ^= 1;
    ck_assert(!account_id_from_address(addr, &id, &err));
    ck_assert_str_eq(err.code, "InvalidAccount");
}
END_TEST

START_TEST(account_subaccounts_v15)
{
    principal_t p = principal_of("bwz3t-ercuj-owo6s-4adfr-sbu4o-l72hg-kfhc5-5sapm-tj6bn-3scho-uqe");
    uint8_t sub[SUBACCOUNT_BYTES] = {0};
    account_id_t id;
    account_id_of(&p, NULL, &id);
    assert_account_hex(&id, "df4ad42194201b15ecbbe66ff68559a126854d8141fd935c5bd53433c2fb28d4");
    account_id_of(&p, sub, &id);
    assert_account_hex(&id, "df4ad42194201b15ecbbe66ff68559a126854d8141fd935c5bd53433c2fb28d4");
    sub[31] = 0x01;
    account_id_of(&p, sub, &id);
    assert_account_hex(&id, "16c3ca805340f0e426023bea907488100f93d5e2a654644d5d6881c7a7b2071e");
    sub[31] = 0xff;
    account_id_of(&p, sub, &id);
    assert_account_hex(&id, "f9d8833b97d142d888d00606e2cadec4e70b9798d71c35091a20daaa14082e67");
}
END_TEST

START_TEST(account_subaccount_from_principal_v16)
{
    static const uint8_t want1[SUBACCOUNT_BYTES] = {
        29,  2,   220, 105, 83,  29, 110, 131, 117, 207, 8,  232, 14, 110, 205, 215,
        59,  147, 176, 255, 96,  204, 41, 123, 138, 63,  234, 83, 28, 2,   0,   0};
    static const uint8_t want2[SUBACCOUNT_BYTES] = {10, 0, 0, 0, 0, 0, 48, 0, 75, 1, 1};
    static const uint8_t want3[SUBACCOUNT_BYTES] = {0};
    uint8_t sub[SUBACCOUNT_BYTES];
    principal_t p = principal_of("bl375-kyc3r-uvghl-oqn24-6chib-zxm3v-z3soy-p6ygm-ff5yu-p7kkm-oae");
    subaccount_from_principal(&p, sub);
    ck_assert_mem_eq(sub, want1, SUBACCOUNT_BYTES);
    p = principal_of("kb4lg-bqaaa-aaaab-qabfq-cai");
    subaccount_from_principal(&p, sub);
    ck_assert_mem_eq(sub, want2, SUBACCOUNT_BYTES);
    p = principal_of("aaaaa-aa");
    memset(sub, 0xee, sizeof sub);
    subaccount_from_principal(&p, sub);
    ck_assert_mem_eq(sub, want3, SUBACCOUNT_BYTES);
}
END_TEST

START_TEST(account_defaults_v17)
{
    assert_default_account("aaaaa-aa",
                           "2d0e897f7e862d2b57d9bc9ea5c65f9a24ac6c074575f47898314b8d6cb0929d");
    assert_default_account("ryjl3-tyaaa-aaaaa-aaaba-cai",
                           "883eef7c44be51afe4a4420d4df4beff708f3cf2f5de5efcc9f58680bb0f3690");
    assert_default_account("mxzaz-hqaaa-aaaar-qaada-cai",
                           "eff69ed8f9fc03ceba97e6f4e1a9d1a32641fcd49aba96922c51a7dca91a4c6e");
    assert_default_account("2vxsx-fae",
                           "1c7a48ba6a562aa9eaa2481a9049cdf0433b9738c992d698c31d8abf89cadc79");

    principal_t anon = principal_of("2vxsx-fae");
    uint8_t sub[SUBACCOUNT_BYTES] = {0};
    sub[31] = 1;
    account_id_t id;
    account_id_of(&anon, sub, &id);
    assert_account_hex(&id, "b8fab0be4ad596a3739ab93e7316a8647ee72e167709441da49ce9171828629d");

    nns_error_t err = {0};
    const char *bad = "0d0e897f7e862d2b57d9bc9ea5c65f9a24ac6c074575f47898314b8d6cb0929d";
    ck_assert(!account_id_from_hex(bad, strlen(bad), &id, &err));
    ck_assert_str_eq(err.code, "InvalidAccount");
    ck_assert_msg(strncmp(err.detail, "checksum failed for ", 20) == 0, "%s", err.detail);
    ck_assert(!account_id_from_hex("abcd", 4, &id, &err));
    ck_assert_str_eq(err.detail,
                     "account identifier 'abcd' has a length of 4 but we expected a length of "
                     "64 or 56");
}
END_TEST

START_TEST(account_defaults_v18)
{
    assert_default_account("rrkah-fqaaa-aaaaa-aaaaq-cai",
                           "082ecf2e3f647ac600f43f38a68342fba5b8e68b085f02592b77f39808a8d2b5");
    assert_default_account("rkp4c-7iaaa-aaaaa-aaaca-cai",
                           "b0738c8bf587a1b67f19464b83ecd5c4c77e88e0cf64bb04b38bf38b92d15a93");
    assert_default_account("k2t6j-2nvnp-4zjm3-25dtz-6xhaa-c7boj-5gayf-oj3xs-i43lp-teztq-6ae",
                           "051b05839339f89053454a4b9865ea0452a4bffe2b1cd41f4982bad10c1e637c");
    assert_default_account("iooej-vlrze-c5tme-tn7qt-vqe7z-7bsj5-ebxlc-hlzgs-lueo3-3yast-pae",
                           "bdc4ee05d42cd0669786899f256c8fd7217fa71177bd1fa7b9534f568680a938");
}
END_TEST

START_TEST(account_hex_parsing)
{
    const char *lower = "2d0e897f7e862d2b57d9bc9ea5c65f9a24ac6c074575f47898314b8d6cb0929d";
    const char *upper = "2D0E897F7E862D2B57D9BC9EA5C65F9A24AC6C074575F47898314B8D6CB0929D";
    const char *mixed = "2d0E897f7E862d2B57d9bc9ea5c65f9a24ac6c074575f47898314b8d6cb0929D";
    account_id_t a, b, c, d;
    nns_error_t err = {0};
    ck_assert(account_id_from_hex(lower, 64, &a, &err));
    ck_assert(account_id_from_hex(upper, 64, &b, &err));
    ck_assert(account_id_from_hex(mixed, 64, &c, &err));
    ck_assert(account_id_equal(&a, &b) && account_id_equal(&a, &c));
    assert_account_hex(&b, lower);
    /* 56 digits: the bare hash, no checksum. */
    ck_assert(account_id_from_hex(lower + 8, 56, &d, &err));
    ck_assert(account_id_equal(&a, &d));
    /* Only len bytes are read. */
    char buf[80];
    snprintf(buf, sizeof buf, "%sZZZ", lower);
    ck_assert(account_id_from_hex(buf, 64, &d, &err));
    ck_assert(account_id_equal(&a, &d));

    ck_assert(!account_id_from_hex(buf, 67, &d, &err));
    ck_assert_str_eq(err.detail, "account identifier '2d0e897f7e862d2b57d9bc9ea5c65f9a24ac6c074575"
                                 "f47898314b8d6cb0929dZZZ' is not hex");
    ck_assert(!account_id_from_hex(lower, 63, &d, &err));
    ck_assert_msg(strstr(err.detail, "has a length of 63 but we expected a length of 64 or 56"),
                  "%s", err.detail);
    ck_assert(!account_id_from_hex("", 0, &d, &err));
    ck_assert_str_eq(err.detail,
                     "account identifier '' has a length of 0 but we expected a length of 64 "
                     "or 56");
    /* Raw bytes never reach the detail; long subjects are cut. */
    ck_assert(!account_id_from_hex("\xff\"x", 3, &d, &err));
    ck_assert_str_eq(err.detail, "account identifier '?\"x' is not hex");
    char longtext[200];
    memset(longtext, 'a', sizeof longtext);
    ck_assert(!account_id_from_hex(longtext, sizeof longtext, &d, &err));
    ck_assert_msg(strstr(err.detail, "...' has a length of 200"), "%s", err.detail);
}
END_TEST

START_TEST(account_legacy_ids_v24)
{
    principal_t p = principal_of("k2t6j-2nvnp-4zjm3-25dtz-6xhaa-c7boj-5gayf-oj3xs-i43lp-teztq-6ae");
    uint8_t sub[SUBACCOUNT_BYTES];
    for (int i = 0; i < SUBACCOUNT_BYTES; i++)
        sub[i] = (uint8_t)(i + 1);
    account_id_t id;
    account_id_of(&p, sub, &id);
    assert_account_hex(&id, "5b9ac1a26d7b26369d8c6739e6560bbae57b4368073a92169dcfa726d7146939");
    memset(sub, 0, sizeof sub);
    sub[31] = 1;
    account_id_of(&p, sub, &id);
    assert_account_hex(&id, "11b9a9ff4992b540fe4a6b2146993fa15329650dc4ffe873c7c024c39d5de8d1");
    icrc1_account_t acc = {.owner = p};
    memcpy(acc.subaccount, sub, sizeof sub);
    account_id_t id2;
    account_id_of_icrc1(&acc, &id2);
    ck_assert(account_id_equal(&id, &id2));
}
END_TEST

/* ---- ICRC-1 account text (spec/ledger.md vectors 19-23) ------------------------------------ */

#define P_TEXT "k2t6j-2nvnp-4zjm3-25dtz-6xhaa-c7boj-5gayf-oj3xs-i43lp-teztq-6ae"

START_TEST(icrc1_default_v19)
{
    principal_t p = principal_of(P_TEXT);
    uint8_t zero[SUBACCOUNT_BYTES] = {0};
    assert_icrc1_round_trip(&p, NULL, P_TEXT);
    assert_icrc1_round_trip(&p, zero, P_TEXT);
    ck_assert(subaccount_is_default(zero));
}
END_TEST

START_TEST(icrc1_full_subaccount_v20)
{
    principal_t p = principal_of(P_TEXT);
    uint8_t sub[SUBACCOUNT_BYTES];
    for (int i = 0; i < SUBACCOUNT_BYTES; i++)
        sub[i] = (uint8_t)(i + 1);
    ck_assert(!subaccount_is_default(sub));
    assert_icrc1_round_trip(&p, sub,
                            P_TEXT "-dfxgiyy.102030405060708090a0b0c0d0e0f10"
                                   "1112131415161718191a1b1c1d1e1f20");
}
END_TEST

START_TEST(icrc1_short_subaccount_v21)
{
    principal_t p = principal_of(P_TEXT);
    uint8_t sub[SUBACCOUNT_BYTES] = {0};
    sub[31] = 1;
    assert_icrc1_round_trip(&p, sub, P_TEXT "-6cc627i.1");
}
END_TEST

START_TEST(icrc1_default_v22)
{
    const char *text = "iooej-vlrze-c5tme-tn7qt-vqe7z-7bsj5-ebxlc-hlzgs-lueo3-3yast-pae";
    principal_t p = principal_of(text);
    assert_icrc1_round_trip(&p, NULL, text);
}
END_TEST

START_TEST(icrc1_decode_errors_v23)
{
    assert_icrc1_error(P_TEXT "-q6bn32y.", "not canonical");
    assert_icrc1_error(P_TEXT "-6cc627i.01", "not canonical");
    /* "P.1": the Rust implementation's MissingChecksum, the Motoko reference's bad_checksum. */
    assert_icrc1_error(P_TEXT ".1", "missing checksum");
    assert_icrc1_error(P_TEXT "-6cc627j.1", "bad checksum");
    assert_icrc1_error(P_TEXT "-7cc627i.1", "bad checksum");
    assert_icrc1_error("k2t6j2nvnp4zjm3-25dtz6xhaac7boj5gayfoj3xs-i43lp-teztq-6ae",
                       "invalid principal");
}
END_TEST

START_TEST(icrc1_decode_edges)
{
    assert_icrc1_error("", "invalid principal: too short");
    assert_icrc1_error("2vxsx-fae.1", "missing checksum");
    assert_icrc1_error("nodash.1", "missing checksum");
    assert_icrc1_error(".1", "missing checksum");
    assert_icrc1_error(P_TEXT "-6cc627i.", "not canonical");
    assert_icrc1_error(P_TEXT "-6cc627i.0", "not canonical");
    assert_icrc1_error(P_TEXT "-6CC627I.1", "bad checksum");
    assert_icrc1_error(P_TEXT "-6cc627i.A", "malformed");
    assert_icrc1_error(P_TEXT "-6cc627i.1.1", "malformed");
    assert_icrc1_error(P_TEXT "-6cc627i.1 ", "malformed");
    assert_icrc1_error(P_TEXT "-6cc627i.1"
                              "0000000000000000000000000000000000000000000000000000000000000000",
                       "malformed");
    assert_icrc1_error(P_TEXT "-6cc627i-x.1", "missing checksum");
    assert_icrc1_error("-6cc627i.1", "invalid principal: too short");
    assert_icrc1_error("K2T6J-2NVNP-4ZJM3-25DTZ-6XHAA-C7BOJ-5GAYF-OJ3XS-I43LP-TEZTQ-6AE",
                       "invalid principal: not in normal form, expected " P_TEXT);
    assert_icrc1_error(NULL, "invalid principal: too short");
}
END_TEST

START_TEST(icrc1_parse_any)
{
    account_id_t id;
    icrc1_account_t acc;
    bool has = true;
    nns_error_t err = {0};
    const char *hex = "11b9a9ff4992b540fe4a6b2146993fa15329650dc4ffe873c7c024c39d5de8d1";
    ck_assert(account_parse_any(hex, &id, &acc, &has, &err));
    ck_assert(!has);
    assert_account_hex(&id, hex);
    ck_assert(account_parse_any(hex + 8, &id, NULL, NULL, &err));
    assert_account_hex(&id, hex);

    ck_assert(account_parse_any(P_TEXT "-6cc627i.1", &id, &acc, &has, &err));
    ck_assert(has);
    assert_account_hex(&id, hex);
    ck_assert_uint_eq(acc.subaccount[31], 1);
    ck_assert(account_parse_any(P_TEXT, &id, NULL, &has, &err));
    ck_assert(has);
    assert_account_hex(&id, "051b05839339f89053454a4b9865ea0452a4bffe2b1cd41f4982bad10c1e637c");

    ck_assert(!account_parse_any("abcd", &id, &acc, &has, &err));
    ck_assert_str_eq(err.code, "InvalidAccount");
    ck_assert_int_eq(err.status, 400);
    ck_assert(!account_parse_any(P_TEXT "-6cc627j.1", &id, &acc, &has, &err));
    ck_assert_str_eq(err.code, "InvalidAccount");
    ck_assert_str_eq(err.detail, "bad checksum");
    ck_assert(!account_parse_any("aaaaa-ab", &id, &acc, &has, &err));
    ck_assert_str_eq(err.code, "InvalidAccount");
    ck_assert(!account_parse_any("", &id, &acc, &has, &err));
    ck_assert(!account_parse_any("0d0e897f7e862d2b57d9bc9ea5c65f9a24ac6c074575f47898314b8d6cb0929d",
                                 &id, &acc, &has, &err));
}
END_TEST

/* The longest text fits ICRC1_TEXT_MAX: a 29-byte owner and a subaccount without leading 0. */
START_TEST(icrc1_longest_text)
{
    icrc1_account_t acc;
    memset(&acc, 0xff, sizeof acc);
    acc.owner.len = PRINCIPAL_MAX_BYTES;
    char text[ICRC1_TEXT_MAX];
    size_t n = icrc1_account_to_text(&acc, text);
    ck_assert_uint_eq(n, 63 + 1 + 7 + 1 + 64);
    icrc1_account_t back;
    nns_error_t err = {0};
    ck_assert(icrc1_account_from_text(text, &back, &err));
    ck_assert(principal_equal(&back.owner, &acc.owner));
    ck_assert_mem_eq(back.subaccount, acc.subaccount, SUBACCOUNT_BYTES);
}
END_TEST

/* ---- spec/vectors.json ---------------------------------------------------------------------- */

/* spec/vectors.json, entry for entry. */
static const struct { const char *seed, *raw, *der, *text, *bytes; } IDENTITIES[] = {
    {"1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e",
     "af3d20264f9c26ef085b5ce537f417d424037a0963a6386ff6d050e5bf773714",
     "302a300506032b6570032100af3d20264f9c26ef085b5ce537f417d424037a0963a6386ff6d050e5bf773714",
     "yvlqi-i6wcg-5seqj-wbnpk-h6ii6-ojp5m-eaquf-7scyj-mmpyu-kxzgv-gqe",
     "d611bb2241360b5ea3f908f392feb080850bf90b09631f8a2af9354d02"},
    {"262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445",
     "2ef12bfd4b305a75f0e14cc93836b53cfcefbbcfaf1382c347e538dca29626ed",
     "302a300506032b65700321002ef12bfd4b305a75f0e14cc93836b53cfcefbbcfaf1382c347e538dca29626ed",
     "cudsx-rdvhi-2r5dg-vfkqr-vgco6-nmic2-ps4rz-lobe5-fp6ee-ssd5v-xqe",
     "753a351e8cd52aa11a984ef3588169f2e472b7049d2bfc424a43ed6f02"},
    {"2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c",
     "fe2a31e95e9bdc19c425b6e115aa89baff604d2e3a1e34917390abe9588f07c1",
     "302a300506032b6570032100fe2a31e95e9bdc19c425b6e115aa89baff604d2e3a1e34917390abe9588f07c1",
     "276yo-aswbr-igv6b-r747t-l2p5r-o7nmm-umo2n-otjkp-b5fru-3llue-rqe",
     "560c506af831ff3f35e9fd8bbed6328c769ae9a54f0f4b1a6d6ba12302"},
    {"3435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f50515253",
     "cab51b8c445efc2f359a19e981834bc7960da70af7f01aed2c0ad96cfb225a88",
     "302a300506032b6570032100cab51b8c445efc2f359a19e981834bc7960da70af7f01aed2c0ad96cfb225a88",
     "tsbpk-5ooar-xeo25-onorl-vkrr7-ibw7k-vzclg-wm4ek-vixfa-c3owk-oqe",
     "ce046e476bae6ba2baaa31fa036faab912cd66708aaa2e500b6eb29d02"},
};
static const struct { const char *owner, *sub, *account_hex, *icrc1; } ACCOUNTS[] = {
    {"yvlqi-i6wcg-5seqj-wbnpk-h6ii6-ojp5m-eaquf-7scyj-mmpyu-kxzgv-gqe",
     NULL,
     "9e69fce3d47b706705dafc7ba56189f65b556296c83fad31bbd81b6f33206057",
     "yvlqi-i6wcg-5seqj-wbnpk-h6ii6-ojp5m-eaquf-7scyj-mmpyu-kxzgv-gqe"},
    {"yvlqi-i6wcg-5seqj-wbnpk-h6ii6-ojp5m-eaquf-7scyj-mmpyu-kxzgv-gqe",
     "0000000000000000000000000000000000000000000000000000000000000001",
     "518de44628b5a95f0ccf7763995c894be49932eeef72aa04dd79a454f1f6fff1",
     "yvlqi-i6wcg-5seqj-wbnpk-h6ii6-ojp5m-eaquf-7scyj-mmpyu-kxzgv-gqe-2sfir3i.1"},
    {"cudsx-rdvhi-2r5dg-vfkqr-vgco6-nmic2-ps4rz-lobe5-fp6ee-ssd5v-xqe",
     NULL,
     "3610d58e8ea3ba4286adfcf80f5925fa80a2805ded0d00d5f2cf794a927bd33b",
     "cudsx-rdvhi-2r5dg-vfkqr-vgco6-nmic2-ps4rz-lobe5-fp6ee-ssd5v-xqe"},
    {"cudsx-rdvhi-2r5dg-vfkqr-vgco6-nmic2-ps4rz-lobe5-fp6ee-ssd5v-xqe",
     "fe00000000000000000000000000000000000000000000000000000000000002",
     "f6014264c23d799787297618af263bff145e5af11e58b8d32d4260a30adbbfea",
     "cudsx-rdvhi-2r5dg-vfkqr-vgco6-nmic2-ps4rz-lobe5-fp6ee-ssd5v-xqe-n4tefki."
     "fe00000000000000000000000000000000000000000000000000000000000002"},
    {"276yo-aswbr-igv6b-r747t-l2p5r-o7nmm-umo2n-otjkp-b5fru-3llue-rqe",
     NULL,
     "8575e252818d717c0f679be00f7d9a44d64dceb115a7273e1ef2154074869b23",
     "276yo-aswbr-igv6b-r747t-l2p5r-o7nmm-umo2n-otjkp-b5fru-3llue-rqe"},
    {"276yo-aswbr-igv6b-r747t-l2p5r-o7nmm-umo2n-otjkp-b5fru-3llue-rqe",
     "0000000000000000000000000000000000000000000000000000000000000003",
     "fd2101b76c551f0ad95463ac3a7dcc11e1ca1a0ea06b79ff2e9df5da56d17bd1",
     "276yo-aswbr-igv6b-r747t-l2p5r-o7nmm-umo2n-otjkp-b5fru-3llue-rqe-ftpqvba.3"},
    {"tsbpk-5ooar-xeo25-onorl-vkrr7-ibw7k-vzclg-wm4ek-vixfa-c3owk-oqe",
     NULL,
     "eb95e157c3c54d1f87dcf7f56a3e374592642fab84861ce25acfababe4b0b044",
     "tsbpk-5ooar-xeo25-onorl-vkrr7-ibw7k-vzclg-wm4ek-vixfa-c3owk-oqe"},
    {"tsbpk-5ooar-xeo25-onorl-vkrr7-ibw7k-vzclg-wm4ek-vixfa-c3owk-oqe",
     "fe00000000000000000000000000000000000000000000000000000000000004",
     "4e731de6629c4fabed26a1995b2246d612001985514f2f4c818e2292c06cac78",
     "tsbpk-5ooar-xeo25-onorl-vkrr7-ibw7k-vzclg-wm4ek-vixfa-c3owk-oqe-zbptj3y."
     "fe00000000000000000000000000000000000000000000000000000000000004"},
};
static const struct {
    const char *controller;
    uint64_t memo;
    const char *sub, *account_hex;
} NEURONS[] = {
    {"yvlqi-i6wcg-5seqj-wbnpk-h6ii6-ojp5m-eaquf-7scyj-mmpyu-kxzgv-gqe", 1000,
     "4d25db69a1501e808c30d53e3fe196df856a1b3a36ca1775365d76bf6a400dce",
     "595523d4a2b58b004b57763af5eea7e674a6da2c8ae51024af37e9e945d232ff"},
    {"cudsx-rdvhi-2r5dg-vfkqr-vgco6-nmic2-ps4rz-lobe5-fp6ee-ssd5v-xqe", 1017,
     "d54c5c61ce1e9b62d1082c02ed23b931da69d49b24d6f9338fe825fc7a5be16d",
     "2b03a3fc51a7c89b2a246ea39c0bc8c96279d077231395684dad3a9fcc48d17c"},
    {"276yo-aswbr-igv6b-r747t-l2p5r-o7nmm-umo2n-otjkp-b5fru-3llue-rqe", 1034,
     "4aeb5645a455e97cf920c0653745d5dc40243dcb7be9f8ff51f21ec4860e6139",
     "286a8c30c0ac2017cb4ea6123055a9cea229fed770cf1f44fb6fabd84e12841b"},
    {"tsbpk-5ooar-xeo25-onorl-vkrr7-ibw7k-vzclg-wm4ek-vixfa-c3owk-oqe", 1051,
     "4b5d0c9992ec7ca7ea9810cddd7f9f9db471ae85e613412dfca108e3c71dd6a0",
     "41217522e73957b92c1df2de1f7b56dd64aa0a372d59052f5618209e93fb8629"},
};
static const struct { const char *text, *bytes, *account_hex; } PRINCIPALS[] = {
    {"aaaaa-aa", "",
     "2d0e897f7e862d2b57d9bc9ea5c65f9a24ac6c074575f47898314b8d6cb0929d"},
    {"2vxsx-fae", "04",
     "1c7a48ba6a562aa9eaa2481a9049cdf0433b9738c992d698c31d8abf89cadc79"},
    {"rrkah-fqaaa-aaaaa-aaaaq-cai", "00000000000000010101",
     "082ecf2e3f647ac600f43f38a68342fba5b8e68b085f02592b77f39808a8d2b5"},
    {"ryjl3-tyaaa-aaaaa-aaaba-cai", "00000000000000020101",
     "883eef7c44be51afe4a4420d4df4beff708f3cf2f5de5efcc9f58680bb0f3690"},
    {"rkp4c-7iaaa-aaaaa-aaaca-cai", "00000000000000040101",
     "b0738c8bf587a1b67f19464b83ecd5c4c77e88e0cf64bb04b38bf38b92d15a93"},
    {"qhbym-qaaaa-aaaaa-aaafq-cai", "000000000000000b0101",
     "8746f9929238255b5c0ce3a7ab6b7f117464001e272d9c6c88f5c7fb5b68f5db"},
};

START_TEST(vectors_identities)
{
    uint8_t seed[32], pk[32], sk[64], raw[32], der[ED25519_DER_BYTES], want_der[ED25519_DER_BYTES];
    unhex(IDENTITIES[_i].seed, seed, sizeof seed);
    unhex(IDENTITIES[_i].raw, raw, sizeof raw);
    unhex(IDENTITIES[_i].der, want_der, sizeof want_der);
    ed25519_keypair_from_seed(seed, pk, sk);
    ck_assert_mem_eq(pk, raw, sizeof raw);
    ed25519_der_from_raw(pk, der);
    ck_assert_mem_eq(der, want_der, sizeof der);
    principal_t p;
    principal_self_authenticating(der, sizeof der, &p);
    principal_t want = principal_of_hex(IDENTITIES[_i].bytes);
    ck_assert(principal_equal(&p, &want));
    assert_text(&p, IDENTITIES[_i].text);
    principal_t back = principal_of(IDENTITIES[_i].text);
    ck_assert(principal_equal(&back, &want));
}
END_TEST

START_TEST(vectors_accounts)
{
    principal_t p = principal_of(ACCOUNTS[_i].owner);
    uint8_t sub[SUBACCOUNT_BYTES] = {0};
    if (ACCOUNTS[_i].sub)
        unhex(ACCOUNTS[_i].sub, sub, sizeof sub);
    account_id_t id;
    account_id_of(&p, ACCOUNTS[_i].sub ? sub : NULL, &id);
    assert_account_hex(&id, ACCOUNTS[_i].account_hex);
    assert_icrc1_round_trip(&p, ACCOUNTS[_i].sub ? sub : NULL, ACCOUNTS[_i].icrc1);

    account_id_t any;
    bool has = false;
    nns_error_t err = {0};
    ck_assert(account_parse_any(ACCOUNTS[_i].icrc1, &any, NULL, &has, &err));
    ck_assert(has && account_id_equal(&any, &id));
    ck_assert(account_parse_any(ACCOUNTS[_i].account_hex, &any, NULL, &has, &err));
    ck_assert(!has && account_id_equal(&any, &id));
}
END_TEST

START_TEST(vectors_neuron_subaccounts)
{
    principal_t controller = principal_of(NEURONS[_i].controller);
    uint8_t sub[SUBACCOUNT_BYTES], want[SUBACCOUNT_BYTES];
    unhex(NEURONS[_i].sub, want, sizeof want);
    neuron_staking_subaccount(&controller, NEURONS[_i].memo, sub);
    ck_assert_mem_eq(sub, want, sizeof sub);
    principal_t governance;
    principal_canister(CANISTER_GOVERNANCE, &governance);
    account_id_t id;
    account_id_of(&governance, sub, &id);
    assert_account_hex(&id, NEURONS[_i].account_hex);
}
END_TEST

START_TEST(vectors_principals)
{
    principal_t p = principal_of_hex(PRINCIPALS[_i].bytes);
    assert_text(&p, PRINCIPALS[_i].text);
    principal_t back = principal_of(PRINCIPALS[_i].text);
    ck_assert(principal_equal(&p, &back));
    assert_default_account(PRINCIPALS[_i].text, PRINCIPALS[_i].account_hex);
}
END_TEST

/* ---- spec/request-signing-vector.json ------------------------------------------------------- */

static const char SIGN_SEED[] = "1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e";
static const char SIGN_DER[] =
    "302a300506032b6570032100af3d20264f9c26ef085b5ce537f417d424037a0963a6386ff6d050e5bf773714";
static const char SIGN_PRINCIPAL[] =
    "yvlqi-i6wcg-5seqj-wbnpk-h6ii6-ojp5m-eaquf-7scyj-mmpyu-kxzgv-gqe";
static const char SIGN_PATH[] = "/v1/transfers";
static const uint64_t SIGN_EXPIRY = 1764000120000000000ULL;
static const char SIGN_BODY[] =
    "{\"to\":\"1c7a48ba6a562aa9eaa2481a9049cdf0433b9738c992d698c31d8abf89cadc79\","
    "\"amount_e8s\":\"100000000\",\"fee_e8s\":\"10000\",\"memo\":\"7\","
    "\"created_at_time\":\"1764000000000000000\"}";
static const char SIGN_BODY_SHA256[] =
    "273ed2bba9c8a5b46b9da5ae9a012a4bb0383ee87b52180f98955e4ec3a2dc12";
static const char SIGN_CANONICAL[] =
    "POST\n/v1/transfers\n1764000120000000000\n"
    "273ed2bba9c8a5b46b9da5ae9a012a4bb0383ee87b52180f98955e4ec3a2dc12";
static const char SIGN_MESSAGE_HEX[] =
    "106963702d726573742d72657175657374"
    "c33f9e3716ef8f7fc3aa522640576e1f15f5a86a443e08f2d461764c80e4bbea";
static const char SIGN_SIGNATURE[] =
    "50339a42ca58f77e4169b348f914eed354ea8621e9e87a585f05f7f88df3c42be747ddd4eb45f368a29723e5b696a9"
    "ee884dcf3be04a3757778ead111392b102";

START_TEST(signing_vector_message)
{
    uint8_t body_hash[32];
    char body_hex[65];
    sha256(SIGN_BODY, strlen(SIGN_BODY), body_hash);
    hex_encode(body_hash, sizeof body_hash, body_hex);
    ck_assert_str_eq(body_hex, SIGN_BODY_SHA256);

    /* The message is the domain separator and the SHA-256 of the canonical string. */
    uint8_t want[SIGN_MESSAGE_BYTES], canonical_hash[32];
    unhex(SIGN_MESSAGE_HEX, want, sizeof want);
    sha256(SIGN_CANONICAL, strlen(SIGN_CANONICAL), canonical_hash);
    ck_assert_mem_eq(want + 17, canonical_hash, 32);
    ck_assert_mem_eq(want, "\x10icp-rest-request", 17);

    uint8_t msg[SIGN_MESSAGE_BYTES];
    sign_message("POST", SIGN_PATH, strlen(SIGN_PATH), SIGN_EXPIRY, (const uint8_t *)SIGN_BODY,
                 strlen(SIGN_BODY), msg);
    ck_assert_mem_eq(msg, want, sizeof msg);
}
END_TEST

START_TEST(signing_vector_signature)
{
    uint8_t seed[32], pk[32], sk[64], der[ED25519_DER_BYTES], want_der[ED25519_DER_BYTES];
    unhex(SIGN_SEED, seed, sizeof seed);
    unhex(SIGN_DER, want_der, sizeof want_der);
    ed25519_keypair_from_seed(seed, pk, sk);
    ed25519_der_from_raw(pk, der);
    ck_assert_mem_eq(der, want_der, sizeof der);
    principal_t p;
    principal_self_authenticating(der, sizeof der, &p);
    assert_text(&p, SIGN_PRINCIPAL);

    char sig_hex[129];
    sign_request(sk, "POST", SIGN_PATH, SIGN_EXPIRY, (const uint8_t *)SIGN_BODY,
                 strlen(SIGN_BODY), sig_hex);
    ck_assert_str_eq(sig_hex, SIGN_SIGNATURE); /* Ed25519 is deterministic */
}
END_TEST

START_TEST(signing_vector_verify)
{
    sign_headers_t h = {.public_key_hex = SIGN_DER, .expiry = "1764000120000000000",
                        .signature_hex = SIGN_SIGNATURE};
    sign_verified_t v;
    nns_error_t err = {0};
    uint64_t now = SIGN_EXPIRY - 120ULL * 1000000000ULL;
    ck_assert_msg(sign_verify(&h, "POST", SIGN_PATH, strlen(SIGN_PATH), (const uint8_t *)SIGN_BODY,
                              strlen(SIGN_BODY), now, &v, &err),
                  "%s", err.detail);
    uint8_t want_der[ED25519_DER_BYTES], msg[SIGN_MESSAGE_BYTES], hash[32];
    unhex(SIGN_DER, want_der, sizeof want_der);
    ck_assert_mem_eq(v.der, want_der, sizeof want_der);
    assert_text(&v.signer, SIGN_PRINCIPAL);
    ck_assert_uint_eq(v.expiry_nanos, SIGN_EXPIRY);
    unhex(SIGN_MESSAGE_HEX, msg, sizeof msg);
    uint8_t keyed[ED25519_DER_BYTES + SIGN_MESSAGE_BYTES];
    memcpy(keyed, want_der, ED25519_DER_BYTES);
    memcpy(keyed + ED25519_DER_BYTES, msg, SIGN_MESSAGE_BYTES);
    sha256(keyed, sizeof keyed, hash);
    ck_assert_mem_eq(v.replay_key, hash, sizeof hash);
}
END_TEST

/* ---- runner --------------------------------------------------------------------------------- */

static Suite *codecs_suite(void)
{
    Suite *s = suite_create("codecs");

    TCase *tc = tcase_create("principal");
    tcase_add_test(tc, principal_anonymous_v1);
    tcase_add_test(tc, principal_empty_v2);
    tcase_add_test(tc, principal_round_trip_v3);
    tcase_add_test(tc, principal_bad_checksum_v4);
    tcase_add_test(tc, principal_non_canonical_v5);
    tcase_add_test(tc, principal_too_short_v6);
    tcase_add_test(tc, principal_too_long_v7);
    tcase_add_test(tc, principal_opaque_v8);
    tcase_add_test(tc, principal_self_authenticating_v9);
    tcase_add_test(tc, principal_derived_v10);
    tcase_add_test(tc, principal_ed25519_v11);
    tcase_add_test(tc, principal_ed25519_v12);
    tcase_add_loop_test(tc, principal_canister_v13, 0, (int)ARRAY_LEN(CANISTERS));
    tcase_add_test(tc, principal_canister_constants);
    tcase_add_test(tc, principal_decode_edges);
    tcase_add_test(tc, principal_from_bytes_limits);
    tcase_add_test(tc, principal_round_trip_all_lengths);
    tcase_add_test(tc, principal_crc32_text_checksum);
    suite_add_tcase(s, tc);

    tc = tcase_create("account_id");
    tcase_add_test(tc, account_zero_hash_v14);
    tcase_add_test(tc, account_subaccounts_v15);
    tcase_add_test(tc, account_subaccount_from_principal_v16);
    tcase_add_test(tc, account_defaults_v17);
    tcase_add_test(tc, account_defaults_v18);
    tcase_add_test(tc, account_hex_parsing);
    tcase_add_test(tc, account_legacy_ids_v24);
    suite_add_tcase(s, tc);

    tc = tcase_create("icrc1_text");
    tcase_add_test(tc, icrc1_default_v19);
    tcase_add_test(tc, icrc1_full_subaccount_v20);
    tcase_add_test(tc, icrc1_short_subaccount_v21);
    tcase_add_test(tc, icrc1_default_v22);
    tcase_add_test(tc, icrc1_decode_errors_v23);
    tcase_add_test(tc, icrc1_decode_edges);
    tcase_add_test(tc, icrc1_parse_any);
    tcase_add_test(tc, icrc1_longest_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("vectors_json");
    tcase_add_loop_test(tc, vectors_identities, 0, (int)ARRAY_LEN(IDENTITIES));
    tcase_add_loop_test(tc, vectors_accounts, 0, (int)ARRAY_LEN(ACCOUNTS));
    tcase_add_loop_test(tc, vectors_neuron_subaccounts, 0, (int)ARRAY_LEN(NEURONS));
    tcase_add_loop_test(tc, vectors_principals, 0, (int)ARRAY_LEN(PRINCIPALS));
    suite_add_tcase(s, tc);

    tc = tcase_create("signing_vector");
    tcase_add_test(tc, signing_vector_message);
    tcase_add_test(tc, signing_vector_signature);
    tcase_add_test(tc, signing_vector_verify);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (!crypto_init()) {
        fprintf(stderr, "check_codecs: crypto_init failed\n");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(codecs_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
