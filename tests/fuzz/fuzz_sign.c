/*
 * fuzz_sign: the signature headers (X-Public-Key, X-Expiry, X-Signature) through sign_verify(),
 * in two modes picked by the first byte's low bit.
 *  - raw: the headers, path and body come from the input ("pk\nexpiry\nsig\npath\nbody"),
 *    checked at a fixed clock (the request-signing vector's expiry is 120 s ahead of it, so its
 *    seed verifies); a refusal is a 401 Unauthenticated.
 *  - signed: the input gives the expiry text, path and body ("expiry\npath\nbody"); the target
 *    signs them with a fixed key, Ed25519 or secp256k1 as the first byte's bit 3 says
 *    (identity_sign_request), and verifies at a clock just before the
 *    expiry. The request verifies exactly when the expiry text is canonical decimal, and then
 *    proves the key, its principal and the expiry; the same headers over another method or a
 *    changed body are refused.
 */
#include <ctype.h>
#include <errno.h>

#include "crypto.h"
#include "fuzz.h"
#include "hex.h"
#include "keyfile.h"
#include "sign.h"

#define RAW_NOW 1764000000000000000ULL

static identity_t keys[2]; /* Ed25519, secp256k1 */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!crypto_init())
        abort();
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(0x1f + i);
    identity_from_seed(seed, &keys[0]);
    if (!identity_from_secp256k1_secret(seed, &keys[1]))
        abort();
    return 0;
}

static void upper(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

/* The expiry text as a canonical u64 decimal (digits, no sign, no leading zero, no overflow). */
static bool canonical_u64(const char *s, uint64_t *v)
{
    if (!*s || strlen(s) > 20)
        return false;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    errno = 0;
    unsigned long long x = strtoull(s, NULL, 10);
    if (errno)
        return false;
    char back[24];
    snprintf(back, sizeof back, "%llu", x);
    *v = x;
    return strcmp(back, s) == 0;
}

static void raw(const uint8_t *data, size_t size)
{
    char *f[5];
    char *copy = fuzz_fields(data, size, '\n', f, 5);
    sign_headers_t h = {f[0], f[1], f[2]};
    const char *path = f[3] ? f[3] : "/v1/transfers";
    const char *body = f[4] ? f[4] : "";
    sign_verified_t out;
    nns_error_t err;
    nns_error_clear(&err);
    if (sign_verify(&h, "POST", path, strlen(path), (const uint8_t *)body, strlen(body), RAW_NOW,
                    &out, &err)) {
        FUZZ_CHECK(!nns_error_is_set(&err), "err set on success");
        FUZZ_CHECK(out.expiry_nanos >= RAW_NOW &&
                       out.expiry_nanos - RAW_NOW <= SIGN_MAX_FUTURE_NANOS,
                   "expiry outside the window");
    } else {
        FUZZ_CHECK(err.status == 401 && strcmp(err.code, "Unauthenticated") == 0, "error %d %s",
                   err.status, err.code);
    }
    free(copy);
}

static void signed_request(const uint8_t *data, size_t size, unsigned flags)
{
    char *f[3];
    char *copy = fuzz_fields(data, size, '\n', f, 3);
    const char *expiry_text = f[0];
    const char *path = f[1] ? f[1] : "/v1/transfers";
    const char *body = f[2] ? f[2] : "";
    size_t body_len = f[2] ? size - (size_t)(f[2] - copy) : 0; /* NULs included */
    uint64_t expiry = 0;
    bool canonical = canonical_u64(expiry_text, &expiry);
    const identity_t *key = &keys[(flags >> 3) & 1];
    char pk_hex[2 * PUBLIC_KEY_DER_MAX + 1], sig_hex[129];
    hex_encode(key->der, key->der_len, pk_hex);
    identity_sign_request(key, "POST", path, expiry, (const uint8_t *)body, body_len, sig_hex);
    if (flags & 2)
        upper(pk_hex);
    if (flags & 4)
        upper(sig_hex);
    sign_headers_t h = {pk_hex, expiry_text, sig_hex};
    uint64_t now = expiry > 1000 ? expiry - 1000 : 0;
    sign_verified_t out;
    nns_error_t err;
    bool ok = sign_verify(&h, "POST", path, strlen(path), (const uint8_t *)body, body_len, now,
                          &out, &err);
    FUZZ_CHECK(ok == canonical, "expiry '%s' %s: %s", expiry_text, ok ? "accepted" : "refused",
               ok ? "" : err.detail);
    if (ok) {
        FUZZ_CHECK(out.der_len == key->der_len && memcmp(out.der, key->der, key->der_len) == 0,
                   "another key");
        FUZZ_CHECK(principal_equal(&out.signer, &key->principal), "another principal");
        FUZZ_CHECK(out.expiry_nanos == expiry, "another expiry");
        FUZZ_CHECK(!sign_verify(&h, "PUT", path, strlen(path), (const uint8_t *)body, body_len, now,
                                &out, &err),
                   "verified for another method");
        FUZZ_CHECK(!sign_verify(&h, "POST", path, strlen(path), (const uint8_t *)body, body_len + 1,
                                now, &out, &err),
                   "verified for another body");
        FUZZ_CHECK(strcmp(err.detail, "bad signature") == 0, "refused as '%s'", err.detail);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        signed_request(data + 1, size - 1, data[0]);
    else
        raw(data + 1, size - 1);
    return 0;
}
