/*
 * sign: building and verifying signed requests (DESIGN.md section 5).
 *
 * The canonical string is hashed incrementally, so nothing is allocated and the path and body
 * are never copied. Verification runs every cheap check before the signature verification
 * (Ed25519 or secp256k1 ECDSA), so a malformed or stale request costs no signature check.
 */
#include "sign.h"

#include <stdio.h>
#include <string.h>

#include "hex.h"

#define UNAUTHENTICATED "Unauthenticated"
#define ED25519_KEY_HEX_LEN (2 * ED25519_DER_BYTES)
#define SECP256K1_KEY_HEX_LEN (2 * SECP256K1_DER_BYTES)
#define SIGNATURE_HEX_LEN (2 * ED25519_SIGNATURE_BYTES)

_Static_assert(ED25519_SIGNATURE_BYTES == SECP256K1_SIGNATURE_BYTES, "one signature length");

/* Domain separator: length byte 0x10, then "icp-rest-request" (no NUL). */
static const uint8_t SIGN_DOMAIN[17] = {0x10, 'i', 'c', 'p', '-', 'r', 'e', 's', 't',
                                        '-',  'r', 'e', 'q', 'u', 'e', 's', 't'};

_Static_assert(sizeof SIGN_DOMAIN + 32 == SIGN_MESSAGE_BYTES, "message is domain || sha256");

void sign_message(const char *method, const char *path_and_query, size_t path_len,
                  uint64_t expiry_nanos, const uint8_t *body, size_t body_len,
                  uint8_t out[SIGN_MESSAGE_BYTES])
{
    uint8_t body_hash[32];
    sha256(body ? (const void *)body : "", body ? body_len : 0, body_hash);
    char body_hex[65];
    hex_encode(body_hash, sizeof body_hash, body_hex);
    char expiry[24];
    int elen = snprintf(expiry, sizeof expiry, "%llu", (unsigned long long)expiry_nanos);

    sha256_ctx_t ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, method, strlen(method));
    sha256_update(&ctx, "\n", 1);
    sha256_update(&ctx, path_and_query ? path_and_query : "", path_and_query ? path_len : 0);
    sha256_update(&ctx, "\n", 1);
    sha256_update(&ctx, expiry, (size_t)elen);
    sha256_update(&ctx, "\n", 1);
    sha256_update(&ctx, body_hex, 64);
    memcpy(out, SIGN_DOMAIN, sizeof SIGN_DOMAIN);
    sha256_final(&ctx, out + sizeof SIGN_DOMAIN);
}

void sign_request(const uint8_t sk[64], const char *method, const char *path_and_query,
                  uint64_t expiry_nanos, const uint8_t *body, size_t body_len, char sig_hex[129])
{
    uint8_t msg[SIGN_MESSAGE_BYTES];
    sign_message(method, path_and_query, strlen(path_and_query), expiry_nanos, body, body_len, msg);
    uint8_t sig[ED25519_SIGNATURE_BYTES];
    ed25519_sign(sk, msg, sizeof msg, sig);
    hex_encode(sig, sizeof sig, sig_hex);
}

void sign_request_secp256k1(const uint8_t sk[32], const char *method, const char *path_and_query,
                            uint64_t expiry_nanos, const uint8_t *body, size_t body_len,
                            char sig_hex[129])
{
    uint8_t msg[SIGN_MESSAGE_BYTES];
    sign_message(method, path_and_query, strlen(path_and_query), expiry_nanos, body, body_len, msg);
    uint8_t sig[SECP256K1_SIGNATURE_BYTES];
    ecdsa_secp256k1_sign(sk, msg, sizeof msg, sig);
    hex_encode(sig, sizeof sig, sig_hex);
}

/* Parses a strict u64 decimal: one or more ASCII digits, no sign, no spaces, no leading zero
 * (except "0" itself), no overflow. Leading zeros are refused because the canonical string
 * renders the parsed value: a zero-padded header could never verify, and saying so is clearer
 * than "bad signature". Returns false on any deviation. */
static bool parse_u64_strict(const char *s, uint64_t *out)
{
    if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool sign_verify(const sign_headers_t *h, const char *method, const char *path_and_query,
                 size_t path_len, const uint8_t *body, size_t body_len, uint64_t wall_now_nanos,
                 sign_verified_t *out, nns_error_t *err)
{
    if (!h->public_key_hex)
        return nns_error_set(err, 401, UNAUTHENTICATED, "missing header 'X-Public-Key'");
    if (!h->expiry)
        return nns_error_set(err, 401, UNAUTHENTICATED, "missing header 'X-Expiry'");
    if (!h->signature_hex)
        return nns_error_set(err, 401, UNAUTHENTICATED, "missing header 'X-Signature'");

    uint8_t der[PUBLIC_KEY_DER_MAX];
    size_t key_hex_len = strlen(h->public_key_hex);
    size_t der_len = key_hex_len / 2;
    if ((key_hex_len != ED25519_KEY_HEX_LEN && key_hex_len != SECP256K1_KEY_HEX_LEN) ||
        hex_decode(h->public_key_hex, key_hex_len, der, sizeof der) != (long)der_len)
        return nns_error_set(err, 401, UNAUTHENTICATED,
                             "malformed header 'X-Public-Key': expected %d hex digits (Ed25519) "
                             "or %d (secp256k1)",
                             ED25519_KEY_HEX_LEN, SECP256K1_KEY_HEX_LEN);
    int key_type = key_type_of_der(der, der_len);
    if (key_type == 0)
        return nns_error_set(err, 401, UNAUTHENTICATED,
                             "header 'X-Public-Key' is not an Ed25519 or secp256k1 DER public "
                             "key");
    /* Both key types carry their raw key at the end of the DER: 32 bytes, or a 65-byte point. */
    const uint8_t *raw =
        der + der_len -
        (key_type == KEY_ED25519 ? ED25519_PUBLIC_KEY_BYTES : SECP256K1_POINT_BYTES);
    if (key_type == KEY_SECP256K1 && !ecdsa_secp256k1_point_valid(raw))
        return nns_error_set(err, 401, UNAUTHENTICATED,
                             "header 'X-Public-Key' is not a point on secp256k1");

    uint64_t expiry;
    if (!parse_u64_strict(h->expiry, &expiry))
        return nns_error_set(err, 401, UNAUTHENTICATED,
                             "malformed header 'X-Expiry': expected nanoseconds as decimal "
                             "digits");
    if (expiry < wall_now_nanos)
        return nns_error_set(err, 401, UNAUTHENTICATED, "request expired");
    if (expiry - wall_now_nanos > SIGN_MAX_FUTURE_NANOS) /* no overflow: expiry >= now */
        return nns_error_set(err, 401, UNAUTHENTICATED, "expiry too far in the future");

    uint8_t sig[ED25519_SIGNATURE_BYTES];
    if (strlen(h->signature_hex) != SIGNATURE_HEX_LEN ||
        hex_decode(h->signature_hex, SIGNATURE_HEX_LEN, sig, sizeof sig) != ED25519_SIGNATURE_BYTES)
        return nns_error_set(err, 401, UNAUTHENTICATED,
                             "malformed header 'X-Signature': expected %d hex digits",
                             SIGNATURE_HEX_LEN);

    uint8_t msg[SIGN_MESSAGE_BYTES];
    sign_message(method, path_and_query, path_len, expiry, body, body_len, msg);
    if (!(key_type == KEY_ED25519 ? ed25519_verify(raw, msg, sizeof msg, sig)
                                  : ecdsa_secp256k1_verify(raw, msg, sizeof msg, sig)))
        return nns_error_set(err, 401, UNAUTHENTICATED, "bad signature");

    out->key_type = (key_type_t)key_type;
    out->der_len = der_len;
    memcpy(out->der, der, der_len);
    principal_self_authenticating(der, der_len, &out->signer);
    out->expiry_nanos = expiry;
    sha256_ctx_t key;
    sha256_init(&key);
    sha256_update(&key, der, der_len);
    sha256_update(&key, msg, sizeof msg);
    sha256_final(&key, out->replay_key);
    return true;
}
