/*
 * sign: the signed-request scheme of DESIGN.md section 5.
 *
 * canonical   = METHOD "\n" PATH_AND_QUERY "\n" EXPIRY "\n" hex(SHA-256(body))
 * message     = 0x10 "icp-rest-request" || SHA-256(canonical)            (49 bytes)
 * X-Signature = hex(Ed25519 signature of message); X-Public-Key = hex(44-byte DER key);
 *               or, for a secp256k1 key, hex(64-byte r || s ECDSA signature of
 *               SHA-256(message)); X-Public-Key = hex(88-byte DER key). Either S is accepted.
 * X-Expiry    = EXPIRY, decimal nanoseconds since the epoch.
 * PATH_AND_QUERY is the raw target from "/v1/" on, exactly as sent. Nothing here allocates.
 */
#ifndef NNS_SIGN_H
#define NNS_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"
#include "principal.h"

#define SIGN_MESSAGE_BYTES 49
#define SIGN_MAX_FUTURE_NANOS (300ULL * 1000000000ULL) /* expiry at most 5 minutes ahead */

/* Builds the 49-byte message to sign. path_and_query need not be NUL-terminated. */
void sign_message(const char *method, const char *path_and_query, size_t path_len,
                  uint64_t expiry_nanos, const uint8_t *body, size_t body_len,
                  uint8_t out[SIGN_MESSAGE_BYTES]);

/* Signs a request with Ed25519 secret key sk (libsodium layout); writes the 128-hex signature
 * and NUL. Cannot fail. */
void sign_request(const uint8_t sk[64], const char *method, const char *path_and_query,
                  uint64_t expiry_nanos, const uint8_t *body, size_t body_len, char sig_hex[129]);

/* Signs a request with secp256k1 secret key sk (a valid one: see
 * ecdsa_secp256k1_point_from_secret); writes the 128-hex r || s signature (low S) and NUL. */
void sign_request_secp256k1(const uint8_t sk[32], const char *method, const char *path_and_query,
                            uint64_t expiry_nanos, const uint8_t *body, size_t body_len,
                            char sig_hex[129]);

/* A request's signature headers as received. Any may be NULL (missing header). */
typedef struct {
    const char *public_key_hex;
    const char *expiry;
    const char *signature_hex;
} sign_headers_t;

/* What a verified request proves. */
typedef struct {
    key_type_t key_type;
    size_t der_len;                  /* 44 (Ed25519) or 88 (secp256k1) */
    uint8_t der[PUBLIC_KEY_DER_MAX]; /* the first der_len bytes */
    principal_t signer;              /* self-authenticating principal of the key */
    uint64_t expiry_nanos;
    /* The replay-cache key: SHA-256(der || signed message), without the signature, so a second
     * encoding of the same ECDSA signature (high S) is the same request. The message alone does not
     * name the signer, so two keys signing the same request must not share an entry. */
    uint8_t replay_key[32];
} sign_verified_t;

/* Verifies headers against the request, with wall_now_nanos the wall clock. Cheap checks first
 * (presence, lengths, hex, DER prefix, expiry window), the signature last. The key type
 * follows from X-Public-Key: 88 hex digits for an Ed25519 DER, 176 for a secp256k1 one. On failure
 * returns false with err 401 "Unauthenticated" and a detail naming what failed ("missing header
 * 'X-Signature'", "request expired", "expiry too far in the future", "bad signature", ...).
 * The headers must be NUL-terminated; hex is accepted in any case. X-Expiry must be plain
 * decimal digits without sign or leading zero (the signed canonical string renders the parsed
 * value) and fit in a u64. The window is inclusive: now <= expiry <= now + 5 minutes. out is
 * written only on success; err is left alone on success. */
bool sign_verify(const sign_headers_t *h, const char *method, const char *path_and_query,
                 size_t path_len, const uint8_t *body, size_t body_len, uint64_t wall_now_nanos,
                 sign_verified_t *out, nns_error_t *err) __attribute__((warn_unused_result));

#endif
