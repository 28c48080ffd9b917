/*
 * crypto: thin wrappers over libsodium (Ed25519) and OpenSSL's libcrypto (SHA-256, SHA-224:
 * it uses the CPU's SHA instructions, 3 to 4 times libsodium's speed on the short messages of
 * the hot path), so the rest of the code names what it needs and never implements a primitive.
 *
 * crypto_init() must run before any other call (it initialises libsodium and fetches the
 * digests); it is safe to call it again. Hash functions cannot fail once initialised.
 */
#ifndef NNS_CRYPTO_H
#define NNS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ED25519_PUBLIC_KEY_BYTES 32
#define ED25519_SECRET_KEY_BYTES 64 /* libsodium layout: seed || public key */
#define ED25519_SEED_BYTES 32
#define ED25519_SIGNATURE_BYTES 64
#define ED25519_DER_BYTES 44

/* Returns false when libsodium cannot be initialised. */
bool crypto_init(void) __attribute__((warn_unused_result));

void sha256(const void *data, size_t len, uint8_t out[32]);
void sha224(const void *data, size_t len, uint8_t out[28]);

/* Incremental SHA-256: sha256_init() allocates what sha256_final() frees, so every init must
 * meet its final. */
typedef struct { struct evp_md_ctx_st *md; } sha256_ctx_t;
void sha256_init(sha256_ctx_t *ctx);
void sha256_update(sha256_ctx_t *ctx, const void *data, size_t len);
void sha256_final(sha256_ctx_t *ctx, uint8_t out[32]);

/* Incremental SHA-224 over several parts (used for account identifiers). */
void sha224_parts(const void *const *parts, const size_t *lens, size_t nparts, uint8_t out[28]);

/* Ed25519 key pair from a 32-byte seed (RFC 8032; libsodium's crypto_sign_seed_keypair). */
void ed25519_keypair_from_seed(const uint8_t seed[32], uint8_t pk[32], uint8_t sk[64]);
/* Fresh random key pair. */
void ed25519_keypair_random(uint8_t pk[32], uint8_t sk[64]);
void ed25519_sign(const uint8_t sk[64], const uint8_t *msg, size_t len, uint8_t sig[64]);
/* Returns true when sig is a valid signature of msg by pk. */
bool ed25519_verify(const uint8_t pk[32], const uint8_t *msg, size_t len, const uint8_t sig[64])
    __attribute__((warn_unused_result));

/* The 44-byte RFC 8410 SubjectPublicKeyInfo DER of a raw Ed25519 public key. */
void ed25519_der_from_raw(const uint8_t pk[32], uint8_t der[44]);
/* Extracts the raw key from a 44-byte Ed25519 DER; false when the prefix is not Ed25519's. */
bool ed25519_raw_from_der(const uint8_t *der, size_t len, uint8_t pk[32])
    __attribute__((warn_unused_result));

/* CRC-32 (zlib's) of data. */
uint32_t crc32_of(const void *data, size_t len);

#endif
