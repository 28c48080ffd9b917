/*
 * crypto: thin wrappers over libsodium (Ed25519), libsecp256k1 (ECDSA over secp256k1, the key
 * type dfx creates by default) and OpenSSL's libcrypto (SHA-256, SHA-224: it uses the CPU's SHA
 * instructions, 3 to 4 times libsodium's speed on the short messages of the hot path), so the
 * rest of the code names what it needs and never implements a primitive.
 *
 * crypto_init() must run before any other call (it initialises libsodium, fetches the digests
 * and runs libsecp256k1's self test); it is safe to call it again. Hash functions cannot fail
 * once initialised. secp256k1 verification uses libsecp256k1's static context: no allocation,
 * no lock, any number of threads at once. Signing and key derivation use one context created
 * (and randomised against side channels) on first use, shared read-only by all threads.
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

#define SECP256K1_SECRET_KEY_BYTES 32
#define SECP256K1_POINT_BYTES 65     /* uncompressed SEC1 point: 0x04 || x || y */
#define SECP256K1_SIGNATURE_BYTES 64 /* r || s, each 32 bytes big-endian */
#define SECP256K1_DER_BYTES 88       /* SubjectPublicKeyInfo of the uncompressed point */

#define PUBLIC_KEY_DER_MAX 88 /* the longest DER public key of any accepted key type */

/* The key types an identity may have. 0 is no key type (a DER that is neither). */
typedef enum { KEY_ED25519 = 1, KEY_SECP256K1 = 2 } key_type_t;

/* Returns false when libsodium cannot be initialised. */
bool crypto_init(void) __attribute__((warn_unused_result));

void sha256(const void *data, size_t len, uint8_t out[32]);
void sha224(const void *data, size_t len, uint8_t out[28]);

/* Incremental SHA-256: sha256_init() allocates what sha256_final() frees, so every init must
 * meet its final. */
typedef struct {
    struct evp_md_ctx_st *md;
} sha256_ctx_t;
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

/* The key type of a DER public key by its length and prefix (the key itself is not checked):
 * KEY_ED25519, KEY_SECP256K1, or 0 when it is neither. Cannot fail. */
int key_type_of_der(const uint8_t *der, size_t len);

/* The uncompressed point of secp256k1 secret key sk. Returns false when sk is not a valid
 * secret key (zero, or not below the group order). */
bool ecdsa_secp256k1_point_from_secret(const uint8_t sk[32], uint8_t point[65])
    __attribute__((warn_unused_result));
/* Fresh random secp256k1 key pair (libsodium's RNG). Cannot fail. */
void ecdsa_secp256k1_keypair_random(uint8_t sk[32], uint8_t point[65]);
/* ECDSA signature of SHA-256(msg) with sk, as r || s: deterministic (RFC 6979) and low-S, as
 * @dfinity/identity-secp256k1 signs. sk must be valid (aborts otherwise: a caller's bug). */
void ecdsa_secp256k1_sign(const uint8_t sk[32], const uint8_t *msg, size_t len, uint8_t sig[64]);
/* Returns true when sig (r || s) is a valid ECDSA signature of SHA-256(msg) by point. Like the
 * IC's verifier it accepts high-S as well as low-S signatures; r or s of zero or not below the
 * group order, and a point not on the curve, are refused. Allocates nothing. */
bool ecdsa_secp256k1_verify(const uint8_t point[65], const uint8_t *msg, size_t len,
                            const uint8_t sig[64]) __attribute__((warn_unused_result));
/* Whether point is an uncompressed point on secp256k1. */
bool ecdsa_secp256k1_point_valid(const uint8_t point[65]) __attribute__((warn_unused_result));
/* The 88-byte SubjectPublicKeyInfo DER (id-ecPublicKey, secp256k1) of an uncompressed point. */
void ecdsa_secp256k1_der_from_point(const uint8_t point[65], uint8_t der[88]);
/* The point of an 88-byte secp256k1 DER; false when the prefix is not secp256k1's (the point
 * itself is not checked: see ecdsa_secp256k1_point_valid). */
bool ecdsa_secp256k1_point_from_der(const uint8_t *der, size_t len, uint8_t point[65])
    __attribute__((warn_unused_result));

/* CRC-32 (zlib's) of data. */
uint32_t crc32_of(const void *data, size_t len);

#endif
