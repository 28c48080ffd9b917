#include "crypto.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

_Static_assert(sizeof(sha256_ctx_t) >= sizeof(crypto_hash_sha256_state), "sha256_ctx_t too small");

static const uint8_t ED25519_DER_PREFIX[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                               0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

bool crypto_init(void)
{
    return sodium_init() >= 0;
}

void sha256(const void *data, size_t len, uint8_t out[32])
{
    crypto_hash_sha256(out, data, len);
}

void sha256_init(sha256_ctx_t *ctx)
{
    crypto_hash_sha256_init((crypto_hash_sha256_state *)(void *)ctx->opaque);
}

void sha256_update(sha256_ctx_t *ctx, const void *data, size_t len)
{
    crypto_hash_sha256_update((crypto_hash_sha256_state *)(void *)ctx->opaque, data, len);
}

void sha256_final(sha256_ctx_t *ctx, uint8_t out[32])
{
    crypto_hash_sha256_final((crypto_hash_sha256_state *)(void *)ctx->opaque, out);
}

void sha224_parts(const void *const *parts, const size_t *lens, size_t nparts, uint8_t out[28])
{
    /* EVP with a per-thread reusable context: SHA-224 is on the hot path of account parsing. */
    static _Thread_local EVP_MD_CTX *ctx;
    if (!ctx)
        ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha224(), NULL) != 1)
        abort();
    for (size_t i = 0; i < nparts; i++)
        EVP_DigestUpdate(ctx, parts[i], lens[i]);
    EVP_DigestFinal_ex(ctx, out, &n);
}

void sha224(const void *data, size_t len, uint8_t out[28])
{
    sha224_parts(&data, &len, 1, out);
}

void ed25519_keypair_from_seed(const uint8_t seed[32], uint8_t pk[32], uint8_t sk[64])
{
    crypto_sign_seed_keypair(pk, sk, seed);
}

void ed25519_keypair_random(uint8_t pk[32], uint8_t sk[64])
{
    crypto_sign_keypair(pk, sk);
}

void ed25519_sign(const uint8_t sk[64], const uint8_t *msg, size_t len, uint8_t sig[64])
{
    crypto_sign_detached(sig, NULL, msg, len, sk);
}

bool ed25519_verify(const uint8_t pk[32], const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

void ed25519_der_from_raw(const uint8_t pk[32], uint8_t der[44])
{
    memcpy(der, ED25519_DER_PREFIX, sizeof ED25519_DER_PREFIX);
    memcpy(der + sizeof ED25519_DER_PREFIX, pk, 32);
}

bool ed25519_raw_from_der(const uint8_t *der, size_t len, uint8_t pk[32])
{
    if (len != ED25519_DER_BYTES || memcmp(der, ED25519_DER_PREFIX, sizeof ED25519_DER_PREFIX) != 0)
        return false;
    memcpy(pk, der + sizeof ED25519_DER_PREFIX, 32);
    return true;
}

uint32_t crc32_of(const void *data, size_t len)
{
    return (uint32_t)crc32(0L, data, (uInt)len);
}
