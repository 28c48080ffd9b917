#include "crypto.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const uint8_t ED25519_DER_PREFIX[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                               0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

/* The digests, fetched once: EVP_sha256() would fetch on every EVP_DigestInit_ex, which costs
 * more than hashing a 100-byte message. */
static EVP_MD *g_sha256, *g_sha224;
static pthread_once_t g_fetch_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_sha224 = EVP_MD_fetch(NULL, "SHA224", NULL);
}

bool crypto_init(void)
{
    pthread_once(&g_fetch_once, fetch_digests);
    return sodium_init() >= 0 && g_sha256 && g_sha224;
}

/* The thread's digest context is freed when the thread ends (a key with a destructor); the
 * thread-local pointer keeps the lookup free. */
static pthread_key_t g_ctx_key;
static pthread_once_t g_ctx_key_once = PTHREAD_ONCE_INIT;

static void free_thread_ctx(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void make_ctx_key(void)
{
    if (pthread_key_create(&g_ctx_key, free_thread_ctx) != 0)
        abort();
}

/* A digest context of the calling thread, reused by every one-shot hash it makes. */
static EVP_MD_CTX *thread_ctx(const EVP_MD *md)
{
    static _Thread_local EVP_MD_CTX *ctx;
    if (!ctx) {
        pthread_once(&g_ctx_key_once, make_ctx_key);
        ctx = EVP_MD_CTX_new();
        if (ctx && pthread_setspecific(g_ctx_key, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            ctx = NULL;
        }
    }
    if (!ctx || !md || EVP_DigestInit_ex(ctx, md, NULL) != 1)
        abort(); /* out of memory, or crypto_init() never ran */
    return ctx;
}

void sha256(const void *data, size_t len, uint8_t out[32])
{
    EVP_MD_CTX *ctx = thread_ctx(g_sha256);
    EVP_DigestUpdate(ctx, data, len);
    EVP_DigestFinal_ex(ctx, out, NULL);
}

void sha256_init(sha256_ctx_t *ctx)
{
    ctx->md = EVP_MD_CTX_new();
    if (!ctx->md || !g_sha256 || EVP_DigestInit_ex(ctx->md, g_sha256, NULL) != 1)
        abort();
}

void sha256_update(sha256_ctx_t *ctx, const void *data, size_t len)
{
    EVP_DigestUpdate(ctx->md, data, len);
}

void sha256_final(sha256_ctx_t *ctx, uint8_t out[32])
{
    EVP_DigestFinal_ex(ctx->md, out, NULL);
    EVP_MD_CTX_free(ctx->md);
    ctx->md = NULL;
}

void sha224_parts(const void *const *parts, const size_t *lens, size_t nparts, uint8_t out[28])
{
    EVP_MD_CTX *ctx = thread_ctx(g_sha224);
    for (size_t i = 0; i < nparts; i++)
        EVP_DigestUpdate(ctx, parts[i], lens[i]);
    EVP_DigestFinal_ex(ctx, out, NULL);
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
