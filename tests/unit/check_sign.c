/*
 * check_sign: sign_verify (DESIGN.md section 5) on good requests and on every way a request
 * can be refused: missing or malformed headers, a wrong key, a tampered method, path, query,
 * body or expiry, and an expiry outside the window [now, now + 5 minutes].
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "error.h"
#include "hex.h"
#include "principal.h"
#include "sign.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SECOND 1000000000ULL

/* Two deterministic identities: the signer and a stranger. */
typedef struct {
    uint8_t pk[ED25519_PUBLIC_KEY_BYTES];
    uint8_t sk[ED25519_SECRET_KEY_BYTES];
    uint8_t der[ED25519_DER_BYTES];
    char der_hex[2 * ED25519_DER_BYTES + 1];
} test_key_t;

static test_key_t alice, mallory;

static const uint64_t NOW = 1764000000000000000ULL;
static const char METHOD[] = "POST";
static const char PATH[] = "/v1/transfers?dry_run=false&x=1";
static const char BODY[] = "{\"to\":\"1c7a48ba6a562aa9eaa2481a9049cdf0433b9738c992d698c31d8abf89"
                           "cadc79\",\"amount_e8s\":\"100000000\",\"fee_e8s\":\"10000\"}";

static void key_from_seed_byte(uint8_t b, test_key_t *k)
{
    uint8_t seed[ED25519_SEED_BYTES];
    memset(seed, b, sizeof seed);
    ed25519_keypair_from_seed(seed, k->pk, k->sk);
    ed25519_der_from_raw(k->pk, k->der);
    hex_encode(k->der, sizeof k->der, k->der_hex);
}

static void setup(void)
{
    key_from_seed_byte(0x11, &alice);
    key_from_seed_byte(0x22, &mallory);
}

/* A signed request as a client would send it; the strings are owned by the struct. */
typedef struct {
    char expiry[24];
    char sig[129];
    sign_headers_t h;
} request_t;

/* Signs METHOD PATH BODY with k for expiry and fills the three headers. */
static void signed_request(const test_key_t *k, uint64_t expiry, request_t *r)
{
    snprintf(r->expiry, sizeof r->expiry, "%llu", (unsigned long long)expiry);
    sign_request(k->sk, METHOD, PATH, expiry, (const uint8_t *)BODY, strlen(BODY), r->sig);
    r->h.public_key_hex = k->der_hex;
    r->h.expiry = r->expiry;
    r->h.signature_hex = r->sig;
}

/* Runs sign_verify on the untampered METHOD PATH BODY at NOW. */
static bool verify(const sign_headers_t *h, sign_verified_t *v, nns_error_t *err)
{
    return sign_verify(h, METHOD, PATH, strlen(PATH), (const uint8_t *)BODY, strlen(BODY), NOW, v,
                       err);
}

/* Asserts a 401 Unauthenticated with exactly the given detail. */
static void assert_refused(bool ok, const nns_error_t *err, const char *detail)
{
    ck_assert_msg(!ok, "request accepted, expected '%s'", detail);
    ck_assert_int_eq(err->status, 401);
    ck_assert_str_eq(err->code, "Unauthenticated");
    ck_assert_str_eq(err->detail, detail);
}

/* Copies n bytes of src to dst with ASCII lower-case letters upper-cased. */
static void upper_copy(const char *src, char *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (src[i] >= 'a' && src[i] <= 'z') ? (char)(src[i] - 'a' + 'A') : src[i];
}

/* ---- success -------------------------------------------------------------------------------- */

START_TEST(sign_success)
{
    request_t r = {0};
    signed_request(&alice, NOW + 60 * SECOND, &r);
    sign_verified_t v;
    nns_error_t err = {0};
    ck_assert_msg(verify(&r.h, &v, &err), "%s", err.detail);
    ck_assert_mem_eq(v.der, alice.der, sizeof alice.der);
    principal_t want;
    principal_self_authenticating(alice.der, sizeof alice.der, &want);
    ck_assert(principal_equal(&v.signer, &want));
    ck_assert_uint_eq(v.expiry_nanos, NOW + 60 * SECOND);

    /* replay_key is SHA-256(der || signed message): the replay-cache key. */
    uint8_t buf[ED25519_DER_BYTES + SIGN_MESSAGE_BYTES], hash[32];
    memcpy(buf, alice.der, ED25519_DER_BYTES);
    sign_message(METHOD, PATH, strlen(PATH), NOW + 60 * SECOND, (const uint8_t *)BODY,
                 strlen(BODY), buf + ED25519_DER_BYTES);
    sha256(buf, sizeof buf, hash);
    ck_assert_mem_eq(v.replay_key, hash, sizeof hash);

    /* A byte-identical resend has the same key; another expiry does not. */
    sign_verified_t v2;
    ck_assert(verify(&r.h, &v2, &err));
    ck_assert_mem_eq(v2.replay_key, v.replay_key, 32);
    request_t r3 = {0};
    signed_request(&alice, NOW + 61 * SECOND, &r3);
    ck_assert(verify(&r3.h, &v2, &err));
    ck_assert(memcmp(v2.replay_key, v.replay_key, 32) != 0);

    /* the same request signed by another key is another replay entry */
    request_t r4 = {0};
    signed_request(&mallory, NOW + 60 * SECOND, &r4);
    sign_verified_t v4;
    ck_assert(verify(&r4.h, &v4, &err));
    ck_assert(memcmp(v4.replay_key, v.replay_key, 32) != 0);
}
END_TEST

START_TEST(sign_success_empty_body_and_upper_hex)
{
    const char *path = "/v1/neurons?controller=2vxsx-fae";
    char sig[129];
    sign_request(alice.sk, "GET", path, NOW, NULL, 0, sig);
    sign_headers_t h = {.public_key_hex = alice.der_hex, .expiry = "1764000000000000000",
                        .signature_hex = sig};
    sign_verified_t v;
    nns_error_t err = {0};
    /* expiry == now is still valid; a NULL and an empty body are the same. */
    ck_assert_msg(sign_verify(&h, "GET", path, strlen(path), NULL, 0, NOW, &v, &err), "%s",
                  err.detail);
    ck_assert(sign_verify(&h, "GET", path, strlen(path), (const uint8_t *)"", 0, NOW, &v, &err));
    /* Header hex is accepted in any case: only the decoded bytes are signed. */
    char upper_key[sizeof alice.der_hex], upper_sig[129];
    upper_copy(alice.der_hex, upper_key, sizeof upper_key);
    upper_copy(sig, upper_sig, sizeof upper_sig);
    sign_headers_t hu = {.public_key_hex = upper_key, .expiry = h.expiry,
                         .signature_hex = upper_sig};
    ck_assert(sign_verify(&hu, "GET", path, strlen(path), NULL, 0, NOW, &v, &err));
    /* The path is length-bounded: what follows path_len is not part of the request. */
    char longer[64];
    snprintf(longer, sizeof longer, "%s#ignored", path);
    ck_assert(sign_verify(&h, "GET", longer, strlen(path), NULL, 0, NOW, &v, &err));
}
END_TEST

START_TEST(sign_expiry_window_edges)
{
    request_t r = {0};
    sign_verified_t v;
    nns_error_t err = {0};
    signed_request(&alice, NOW + SIGN_MAX_FUTURE_NANOS, &r); /* exactly 5 minutes ahead */
    ck_assert_msg(verify(&r.h, &v, &err), "%s", err.detail);
    signed_request(&alice, NOW, &r);
    ck_assert_msg(verify(&r.h, &v, &err), "%s", err.detail);
}
END_TEST

/* ---- wrong key, bad or tampered signature -------------------------------------------------- */

START_TEST(sign_wrong_key)
{
    request_t r = {0};
    signed_request(&mallory, NOW + 60 * SECOND, &r);
    r.h.public_key_hex = alice.der_hex; /* claims to be alice, signed by mallory */
    sign_verified_t v;
    nns_error_t err = {0};
    assert_refused(verify(&r.h, &v, &err), &err, "bad signature");
}
END_TEST

START_TEST(sign_bad_signature_hex)
{
    request_t r = {0};
    signed_request(&alice, NOW + 60 * SECOND, &r);
    sign_verified_t v;
    nns_error_t err = {0};
    const char *malformed = "malformed header 'X-Signature': expected 128 hex digits";

    char sig[160];
    snprintf(sig, sizeof sig, "%s", r.sig);
    sig[17] = 'g';
    r.h.signature_hex = sig;
    assert_refused(verify(&r.h, &v, &err), &err, malformed);

    snprintf(sig, sizeof sig, "%.127s", r.sig);
    assert_refused(verify(&r.h, &v, &err), &err, malformed);
    snprintf(sig, sizeof sig, "%s00", r.sig);
    assert_refused(verify(&r.h, &v, &err), &err, malformed);
    snprintf(sig, sizeof sig, "%s ", r.sig);
    assert_refused(verify(&r.h, &v, &err), &err, malformed);
    r.h.signature_hex = "";
    assert_refused(verify(&r.h, &v, &err), &err, malformed);

    /* Well-formed but wrong: one flipped bit. */
    snprintf(sig, sizeof sig, "%s", r.sig);
    sig[5] = sig[5] == '0' ? '1' : '0';
    r.h.signature_hex = sig;
    assert_refused(verify(&r.h, &v, &err), &err, "bad signature");
}
END_TEST

START_TEST(sign_tampered_body)
{
    request_t r = {0};
    signed_request(&alice, NOW + 60 * SECOND, &r);
    char body[sizeof BODY];
    memcpy(body, BODY, sizeof BODY);
    body[strlen(body) - 3] = '1'; /* a different fee */
    sign_verified_t v;
    nns_error_t err = {0};
    assert_refused(sign_verify(&r.h, METHOD, PATH, strlen(PATH), (const uint8_t *)body,
                               strlen(body), NOW, &v, &err),
                   &err, "bad signature");
    /* A truncated body and an empty one. */
    assert_refused(sign_verify(&r.h, METHOD, PATH, strlen(PATH), (const uint8_t *)BODY,
                               strlen(BODY) - 1, NOW, &v, &err),
                   &err, "bad signature");
    assert_refused(sign_verify(&r.h, METHOD, PATH, strlen(PATH), NULL, 0, NOW, &v, &err), &err,
                   "bad signature");
}
END_TEST

START_TEST(sign_tampered_path)
{
    request_t r = {0};
    signed_request(&alice, NOW + 60 * SECOND, &r);
    sign_verified_t v;
    nns_error_t err = {0};
    static const char *const paths[] = {
        "/v1/approvals?dry_run=false&x=1",  /* another endpoint */
        "/v1/Transfers?dry_run=false&x=1",  /* case matters */
        "/v1/transfers/?dry_run=false&x=1", /* no normalisation */
        "/v1/transfers%3Fdry_run=false&x=1",
        "/ledger/v1/transfers?dry_run=false&x=1", /* the prefix must be stripped before */
    };
    for (size_t i = 0; i < ARRAY_LEN(paths); i++)
        assert_refused(sign_verify(&r.h, METHOD, paths[i], strlen(paths[i]),
                                   (const uint8_t *)BODY, strlen(BODY), NOW, &v, &err),
                       &err, "bad signature");
    /* The method is signed too. */
    assert_refused(sign_verify(&r.h, "PUT", PATH, strlen(PATH), (const uint8_t *)BODY,
                               strlen(BODY), NOW, &v, &err),
                   &err, "bad signature");
}
END_TEST

START_TEST(sign_tampered_query)
{
    request_t r = {0};
    signed_request(&alice, NOW + 60 * SECOND, &r);
    sign_verified_t v;
    nns_error_t err = {0};
    static const char *const paths[] = {
        "/v1/transfers?dry_run=true&x=1",  /* changed value */
        "/v1/transfers?x=1&dry_run=false", /* re-ordered: no canonicalisation */
        "/v1/transfers?dry_run=false&x=1&x=2",
        "/v1/transfers?dry_run=false",
        "/v1/transfers",
    };
    for (size_t i = 0; i < ARRAY_LEN(paths); i++)
        assert_refused(sign_verify(&r.h, METHOD, paths[i], strlen(paths[i]),
                                   (const uint8_t *)BODY, strlen(BODY), NOW, &v, &err),
                       &err, "bad signature");
}
END_TEST

START_TEST(sign_tampered_expiry)
{
    request_t r = {0};
    signed_request(&alice, NOW + 60 * SECOND, &r);
    snprintf(r.expiry, sizeof r.expiry, "%llu", (unsigned long long)(NOW + 61 * SECOND));
    sign_verified_t v;
    nns_error_t err = {0};
    assert_refused(verify(&r.h, &v, &err), &err, "bad signature");
}
END_TEST

/* ---- expiry window ------------------------------------------------------------------------- */

START_TEST(sign_expired)
{
    request_t r = {0};
    signed_request(&alice, NOW - 1, &r);
    sign_verified_t v;
    nns_error_t err = {0};
    assert_refused(verify(&r.h, &v, &err), &err, "request expired");
    signed_request(&alice, 0, &r);
    assert_refused(verify(&r.h, &v, &err), &err, "request expired");
    /* Cheap checks come first: an expired request with a broken signature is "expired". */
    signed_request(&alice, NOW - SECOND, &r);
    r.sig[0] = r.sig[0] == 'a' ? 'b' : 'a';
    assert_refused(verify(&r.h, &v, &err), &err, "request expired");
}
END_TEST

START_TEST(sign_expiry_too_far)
{
    request_t r = {0};
    signed_request(&alice, NOW + SIGN_MAX_FUTURE_NANOS + 1, &r);
    sign_verified_t v;
    nns_error_t err = {0};
    assert_refused(verify(&r.h, &v, &err), &err, "expiry too far in the future");
    r.h.expiry = "18446744073709551615"; /* UINT64_MAX: valid number, far too late */
    assert_refused(verify(&r.h, &v, &err), &err, "expiry too far in the future");
}
END_TEST

/* ---- missing and malformed headers --------------------------------------------------------- */

START_TEST(sign_missing_headers)
{
    request_t r = {0};
    signed_request(&alice, NOW + 60 * SECOND, &r);
    sign_verified_t v;
    nns_error_t err = {0};
    sign_headers_t h = r.h;
    h.public_key_hex = NULL;
    assert_refused(verify(&h, &v, &err), &err, "missing header 'X-Public-Key'");
    h = r.h;
    h.expiry = NULL;
    assert_refused(verify(&h, &v, &err), &err, "missing header 'X-Expiry'");
    h = r.h;
    h.signature_hex = NULL;
    assert_refused(verify(&h, &v, &err), &err, "missing header 'X-Signature'");
    sign_headers_t none = {0};
    ck_assert(!verify(&none, &v, &err));
    ck_assert_int_eq(err.status, 401);
}
END_TEST

START_TEST(sign_malformed_expiry)
{
    static const char *const bad[] = {
        "12a", "-1", "99999999999999999999999", "18446744073709551616", /* UINT64_MAX + 1 */
        "", "+1764000060000000000", " 1764000060000000000", "1764000060000000000 ",
        "0x1", "1.5", "1e18", "01764000060000000000", /* zero-padded: could never verify */
    };
    request_t r = {0};
    signed_request(&alice, NOW + 60 * SECOND, &r);
    sign_verified_t v;
    nns_error_t err = {0};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        r.h.expiry = bad[i];
        assert_refused(verify(&r.h, &v, &err), &err,
                       "malformed header 'X-Expiry': expected nanoseconds as decimal digits");
    }
}
END_TEST

START_TEST(sign_malformed_public_key)
{
    request_t r = {0};
    signed_request(&alice, NOW + 60 * SECOND, &r);
    sign_verified_t v;
    nns_error_t err = {0};
    const char *malformed = "malformed header 'X-Public-Key': expected 88 hex digits";
    char key[200];

    snprintf(key, sizeof key, "%.86s", alice.der_hex); /* 43 bytes */
    r.h.public_key_hex = key;
    assert_refused(verify(&r.h, &v, &err), &err, malformed);
    snprintf(key, sizeof key, "%s", alice.der_hex + 24); /* raw 32-byte key, no DER */
    assert_refused(verify(&r.h, &v, &err), &err, malformed);
    snprintf(key, sizeof key, "%s", alice.der_hex);
    key[87] = 'x';
    assert_refused(verify(&r.h, &v, &err), &err, malformed);
    r.h.public_key_hex = "";
    assert_refused(verify(&r.h, &v, &err), &err, malformed);

    /* Right length, not an Ed25519 SubjectPublicKeyInfo. */
    snprintf(key, sizeof key, "%s", alice.der_hex);
    key[13] = '4'; /* OID 1.3.101.112 -> 1.3.101.113 (Ed448) */
    r.h.public_key_hex = key;
    assert_refused(verify(&r.h, &v, &err), &err,
                   "header 'X-Public-Key' is not an Ed25519 DER public key");
}
END_TEST

/* ---- runner --------------------------------------------------------------------------------- */

static Suite *sign_suite(void)
{
    Suite *s = suite_create("sign");
    TCase *tc = tcase_create("verify");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, sign_success);
    tcase_add_test(tc, sign_success_empty_body_and_upper_hex);
    tcase_add_test(tc, sign_expiry_window_edges);
    tcase_add_test(tc, sign_wrong_key);
    tcase_add_test(tc, sign_bad_signature_hex);
    tcase_add_test(tc, sign_tampered_body);
    tcase_add_test(tc, sign_tampered_path);
    tcase_add_test(tc, sign_tampered_query);
    tcase_add_test(tc, sign_tampered_expiry);
    tcase_add_test(tc, sign_expired);
    tcase_add_test(tc, sign_expiry_too_far);
    tcase_add_test(tc, sign_missing_headers);
    tcase_add_test(tc, sign_malformed_expiry);
    tcase_add_test(tc, sign_malformed_public_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (!crypto_init()) {
        fprintf(stderr, "check_sign: crypto_init failed\n");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(sign_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
