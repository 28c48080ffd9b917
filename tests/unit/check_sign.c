/*
 * check_sign: sign_verify (DESIGN.md section 5) on good requests and on every way a request
 * can be refused: missing or malformed headers, a wrong key, a tampered method, path, query,
 * body or expiry, and an expiry outside the window [now, now + 5 minutes]; and secp256k1
 * requests against shared/spec/secp256k1-vectors.json (made with @dfinity/identity-secp256k1):
 * the worked request verifies, and so does its high-S twin; a wrong signature, and r or s out
 * of range, do not.
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
    sign_message(METHOD, PATH, strlen(PATH), NOW + 60 * SECOND, (const uint8_t *)BODY, strlen(BODY),
                 buf + ED25519_DER_BYTES);
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
    sign_headers_t h = {
        .public_key_hex = alice.der_hex, .expiry = "1764000000000000000", .signature_hex = sig};
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
    sign_headers_t hu = {
        .public_key_hex = upper_key, .expiry = h.expiry, .signature_hex = upper_sig};
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
        assert_refused(sign_verify(&r.h, METHOD, paths[i], strlen(paths[i]), (const uint8_t *)BODY,
                                   strlen(BODY), NOW, &v, &err),
                       &err, "bad signature");
    /* The method is signed too. */
    assert_refused(sign_verify(&r.h, "PUT", PATH, strlen(PATH), (const uint8_t *)BODY, strlen(BODY),
                               NOW, &v, &err),
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
        "/v1/transfers?dry_run=false&x=1&x=2", "/v1/transfers?dry_run=false", "/v1/transfers",
    };
    for (size_t i = 0; i < ARRAY_LEN(paths); i++)
        assert_refused(sign_verify(&r.h, METHOD, paths[i], strlen(paths[i]), (const uint8_t *)BODY,
                                   strlen(BODY), NOW, &v, &err),
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
        "12a",
        "-1",
        "99999999999999999999999",
        "18446744073709551616", /* UINT64_MAX + 1 */
        "",
        "+1764000060000000000",
        " 1764000060000000000",
        "1764000060000000000 ",
        "0x1",
        "1.5",
        "1e18",
        "01764000060000000000", /* zero-padded: could never verify */
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
    const char *malformed =
        "malformed header 'X-Public-Key': expected 88 hex digits (Ed25519) or 176 (secp256k1)";
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
                   "header 'X-Public-Key' is not an Ed25519 or secp256k1 DER public key");
}
END_TEST

/* ---- secp256k1 ------------------------------------------------------------------------------ */

/* shared/spec/secp256k1-vectors.json, "signed_request" (and identity 1's principal). */
static const char K1_SECRET_HEX[] =
    "1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d";
static const char K1_DER_HEX[] =
    "3056301006072a8648ce3d020106052b8104000a03420004f255ba58f0a89c443d0c5640d05ea156"
    "dae365f242ba85c175b7694f3b257908126f6bf0f696241191d0fb544e31ecc5ad35fa8cdbb5630848bc36a0627913"
    "51";
static const char K1_PRINCIPAL[] =
    "gzz6w-6mgxc-ljs46-rd4db-abceu-zxzup-gdg3k-7d4pe-n7ukc-s5s7r-3ae";
static const char K1_OTHER_DER_HEX[] =
    "3056301006072a8648ce3d020106052b8104000a03420004b16b9419011ff7e2257c6dc44511ed9c"
    "355a13063300a5b8eaa83c95542c9b36cdc3347a9f53fa4d804c9aa3a25e82bbae2336f24bdb580f8346f9784d047d"
    "ea";
static const char K1_PATH[] = "/v1/transfers";
static const char K1_EXPIRY[] = "1764000120000000000";
static const char K1_BODY[] =
    "{\"to\":\"433a2e2483ba09c9fc4ce9ba474d3973398c6227b005fd3af8e70c1fce44ee9"
    "2\",\"amount_e8s\":\"100000000\",\"fee_e8s\":\"10000\",\"memo\":\"1\",\"created_at_time\":"
    "\"1764000000000000000\"}";
static const char K1_MESSAGE_HEX[] =
    "106963702d726573742d726571756573740c640a9407fb910a406b29a7b125d8"
    "1256730ab9b8f6b288dc81f638e54f633e";
static const char K1_SIGNATURE_HEX[] =
    "d7f6d2a322d803cb139448c6f1234f0b48df0085617f5be14839b9318fc09a4c"
    "78f031c97a244cc2869c386bacacd9c551dcd12cf8a5f6d1dc93bb1a3cdd6e52";
/* The group order n of secp256k1 (SEC 2), big-endian. */
static const uint8_t K1_ORDER[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

static uint64_t k1_expiry(void)
{
    return strtoull(K1_EXPIRY, NULL, 10);
}

/* Verifies the vector's request with the given key and signature headers, a minute before its
 * expiry. */
static bool k1_verify(const char *der_hex, const char *sig_hex, const char *body,
                      sign_verified_t *v, nns_error_t *err)
{
    sign_headers_t h = {der_hex, K1_EXPIRY, sig_hex};
    return sign_verify(&h, "POST", K1_PATH, strlen(K1_PATH), (const uint8_t *)body, strlen(body),
                       k1_expiry() - 60 * SECOND, v, err);
}

/* a = b - a over 32-byte big-endian numbers (b >= a). */
static void sub_from(const uint8_t b[32], uint8_t a[32])
{
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = b[i] - a[i] - borrow;
        borrow = d < 0;
        a[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

START_TEST(secp256k1_vector_verifies)
{
    uint8_t msg[SIGN_MESSAGE_BYTES], want_msg[SIGN_MESSAGE_BYTES], der[SECP256K1_DER_BYTES];
    sign_message("POST", K1_PATH, strlen(K1_PATH), k1_expiry(), (const uint8_t *)K1_BODY,
                 strlen(K1_BODY), msg);
    ck_assert_int_eq(hex_decode(K1_MESSAGE_HEX, strlen(K1_MESSAGE_HEX), want_msg, sizeof want_msg),
                     SIGN_MESSAGE_BYTES);
    ck_assert_mem_eq(msg, want_msg, sizeof msg);

    sign_verified_t v;
    nns_error_t err = {0};
    ck_assert_msg(k1_verify(K1_DER_HEX, K1_SIGNATURE_HEX, K1_BODY, &v, &err), "%s", err.detail);
    ck_assert_int_eq(v.key_type, KEY_SECP256K1);
    ck_assert_uint_eq(v.der_len, SECP256K1_DER_BYTES);
    ck_assert_int_eq(hex_decode(K1_DER_HEX, strlen(K1_DER_HEX), der, sizeof der),
                     SECP256K1_DER_BYTES);
    ck_assert_mem_eq(v.der, der, sizeof der);
    char text[PRINCIPAL_TEXT_MAX];
    principal_to_text(&v.signer, text);
    ck_assert_str_eq(text, K1_PRINCIPAL);
    ck_assert_uint_eq(v.expiry_nanos, k1_expiry());

    /* replay key = SHA-256(88-byte DER || message) */
    uint8_t buf[SECP256K1_DER_BYTES + SIGN_MESSAGE_BYTES], hash[32];
    memcpy(buf, der, sizeof der);
    memcpy(buf + sizeof der, msg, sizeof msg);
    sha256(buf, sizeof buf, hash);
    ck_assert_mem_eq(v.replay_key, hash, 32);

    /* Upper-case hex in both headers is the same request. */
    char der_upper[2 * SECP256K1_DER_BYTES + 1], sig_upper[129];
    upper_copy(K1_DER_HEX, der_upper, sizeof der_upper);
    upper_copy(K1_SIGNATURE_HEX, sig_upper, sizeof sig_upper);
    sign_verified_t v2;
    ck_assert_msg(k1_verify(der_upper, sig_upper, K1_BODY, &v2, &err), "%s", err.detail);
    ck_assert_mem_eq(v2.replay_key, v.replay_key, 32);
}
END_TEST

START_TEST(secp256k1_signs_as_the_reference_library)
{
    /* RFC 6979 makes ECDSA deterministic: the same key and message give the vector's bytes. */
    uint8_t sk[32], point[SECP256K1_POINT_BYTES], der[SECP256K1_DER_BYTES];
    char sig[129], der_hex[2 * SECP256K1_DER_BYTES + 1];
    ck_assert_int_eq(hex_decode(K1_SECRET_HEX, strlen(K1_SECRET_HEX), sk, sizeof sk), 32);
    ck_assert(ecdsa_secp256k1_point_from_secret(sk, point));
    ecdsa_secp256k1_der_from_point(point, der);
    hex_encode(der, sizeof der, der_hex);
    ck_assert_str_eq(der_hex, K1_DER_HEX);
    sign_request_secp256k1(sk, "POST", K1_PATH, k1_expiry(), (const uint8_t *)K1_BODY,
                           strlen(K1_BODY), sig);
    ck_assert_str_eq(sig, K1_SIGNATURE_HEX);
}
END_TEST

START_TEST(secp256k1_high_s_verifies)
{
    /* (r, n - s) is the same signature in its other, high-S, form; the IC accepts it. */
    uint8_t sig[64];
    char sig_hex[129];
    ck_assert_int_eq(hex_decode(K1_SIGNATURE_HEX, 128, sig, sizeof sig), 64);
    ck_assert_int_lt(sig[32], 0x80); /* the vector is low-S */
    sub_from(K1_ORDER, sig + 32);
    ck_assert_int_ge(sig[32], 0x80);
    hex_encode(sig, sizeof sig, sig_hex);
    sign_verified_t low, high;
    nns_error_t err = {0};
    ck_assert(k1_verify(K1_DER_HEX, K1_SIGNATURE_HEX, K1_BODY, &low, &err));
    ck_assert_msg(k1_verify(K1_DER_HEX, sig_hex, K1_BODY, &high, &err), "%s", err.detail);
    /* The replay key leaves the signature out: both forms are one request. */
    ck_assert_mem_eq(high.replay_key, low.replay_key, 32);
}
END_TEST

START_TEST(secp256k1_wrong_signature_fails)
{
    sign_verified_t v;
    nns_error_t err = {0};
    char sig_hex[129];

    snprintf(sig_hex, sizeof sig_hex, "%s", K1_SIGNATURE_HEX);
    sig_hex[10] = sig_hex[10] == '0' ? '1' : '0'; /* r changed */
    assert_refused(k1_verify(K1_DER_HEX, sig_hex, K1_BODY, &v, &err), &err, "bad signature");
    snprintf(sig_hex, sizeof sig_hex, "%s", K1_SIGNATURE_HEX);
    sig_hex[127] = sig_hex[127] == '0' ? '1' : '0'; /* s changed */
    assert_refused(k1_verify(K1_DER_HEX, sig_hex, K1_BODY, &v, &err), &err, "bad signature");
    /* another identity's key, a changed body */
    assert_refused(k1_verify(K1_OTHER_DER_HEX, K1_SIGNATURE_HEX, K1_BODY, &v, &err), &err,
                   "bad signature");
    assert_refused(k1_verify(K1_DER_HEX, K1_SIGNATURE_HEX, "{}", &v, &err), &err, "bad signature");
    /* an Ed25519 signature of the same message under the secp256k1 key */
    char ed_sig[129];
    sign_request(alice.sk, "POST", K1_PATH, k1_expiry(), (const uint8_t *)K1_BODY, strlen(K1_BODY),
                 ed_sig);
    assert_refused(k1_verify(K1_DER_HEX, ed_sig, K1_BODY, &v, &err), &err, "bad signature");
}
END_TEST

START_TEST(secp256k1_out_of_range_fails)
{
    sign_verified_t v;
    nns_error_t err = {0};
    uint8_t good[64], sig[64];
    char sig_hex[129];
    ck_assert_int_eq(hex_decode(K1_SIGNATURE_HEX, 128, good, sizeof good), 64);
    /* r or s equal to n, above n, all ones, or zero: never a valid signature. */
    for (int half = 0; half < 2; half++)
        for (int c = 0; c < 4; c++) {
            memcpy(sig, good, sizeof sig);
            uint8_t *x = sig + 32 * half;
            if (c == 0)
                memcpy(x, K1_ORDER, 32);
            else if (c == 1) {
                memcpy(x, K1_ORDER, 32);
                x[31]++; /* n + 1 */
            } else
                memset(x, c == 2 ? 0xff : 0x00, 32);
            hex_encode(sig, sizeof sig, sig_hex);
            assert_refused(k1_verify(K1_DER_HEX, sig_hex, K1_BODY, &v, &err), &err,
                           "bad signature");
        }
    /* s + n (does not fit 32 bytes) is not representable; n - s is the high-S test above. */
}
END_TEST

START_TEST(secp256k1_malformed_public_key)
{
    sign_verified_t v;
    nns_error_t err = {0};
    char key[2 * SECP256K1_DER_BYTES + 3];
    /* a point not on the curve: y changed */
    snprintf(key, sizeof key, "%s", K1_DER_HEX);
    key[175] = key[175] == '0' ? '1' : '0';
    assert_refused(k1_verify(key, K1_SIGNATURE_HEX, K1_BODY, &v, &err), &err,
                   "header 'X-Public-Key' is not a point on secp256k1");
    /* a compressed point (0x02) in the uncompressed slot */
    snprintf(key, sizeof key, "%s", K1_DER_HEX);
    key[47] = '2';
    assert_refused(k1_verify(key, K1_SIGNATURE_HEX, K1_BODY, &v, &err), &err,
                   "header 'X-Public-Key' is not a point on secp256k1");
    /* another curve's OID (prime256v1) with the same length */
    snprintf(key, sizeof key, "%s", K1_DER_HEX);
    memcpy(key + 28, "2a8648ce3d030107", 16);
    assert_refused(k1_verify(key, K1_SIGNATURE_HEX, K1_BODY, &v, &err), &err,
                   "header 'X-Public-Key' is not an Ed25519 or secp256k1 DER public key");
    /* one byte short, one byte long */
    snprintf(key, sizeof key, "%.174s", K1_DER_HEX);
    assert_refused(k1_verify(key, K1_SIGNATURE_HEX, K1_BODY, &v, &err), &err,
                   "malformed header 'X-Public-Key': expected 88 hex digits (Ed25519) or 176 "
                   "(secp256k1)");
    snprintf(key, sizeof key, "%s00", K1_DER_HEX);
    assert_refused(k1_verify(key, K1_SIGNATURE_HEX, K1_BODY, &v, &err), &err,
                   "malformed header 'X-Public-Key': expected 88 hex digits (Ed25519) or 176 "
                   "(secp256k1)");
}
END_TEST

START_TEST(secp256k1_fresh_keys_round_trip)
{
    /* A random key signs with low S, and its requests verify like any other. */
    uint8_t sk[32], point[SECP256K1_POINT_BYTES], der[SECP256K1_DER_BYTES], sig[64];
    char der_hex[2 * SECP256K1_DER_BYTES + 1], sig_hex[129];
    for (int i = 0; i < 20; i++) {
        ecdsa_secp256k1_keypair_random(sk, point);
        ecdsa_secp256k1_der_from_point(point, der);
        hex_encode(der, sizeof der, der_hex);
        sign_request_secp256k1(sk, "POST", K1_PATH, k1_expiry(), (const uint8_t *)K1_BODY,
                               strlen(K1_BODY), sig_hex);
        ck_assert_int_eq(hex_decode(sig_hex, 128, sig, sizeof sig), 64);
        ck_assert_int_lt(sig[32], 0x80);
        sign_verified_t v;
        nns_error_t err = {0};
        ck_assert_msg(k1_verify(der_hex, sig_hex, K1_BODY, &v, &err), "%s", err.detail);
    }
    /* zero and n are not secret keys */
    memset(sk, 0, sizeof sk);
    ck_assert(!ecdsa_secp256k1_point_from_secret(sk, point));
    ck_assert(!ecdsa_secp256k1_point_from_secret(K1_ORDER, point));
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
    tc = tcase_create("secp256k1");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, secp256k1_vector_verifies);
    tcase_add_test(tc, secp256k1_signs_as_the_reference_library);
    tcase_add_test(tc, secp256k1_high_s_verifies);
    tcase_add_test(tc, secp256k1_wrong_signature_fails);
    tcase_add_test(tc, secp256k1_out_of_range_fails);
    tcase_add_test(tc, secp256k1_malformed_public_key);
    tcase_add_test(tc, secp256k1_fresh_keys_round_trip);
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
