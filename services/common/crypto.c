#include "crypto.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <secp256k1.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const uint8_t ED25519_DER_PREFIX[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                               0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

/* SubjectPublicKeyInfo { AlgorithmIdentifier { id-ecPublicKey, secp256k1 }, BIT STRING } of a
 * 65-byte uncompressed point (SEC 1, RFC 5480). */
static const uint8_t SECP256K1_DER_PREFIX[23] = {0x30, 0x56, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86,
                                                 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b,
                                                 0x81, 0x04, 0x00, 0x0a, 0x03, 0x42, 0x00};
_Static_assert(sizeof SECP256K1_DER_PREFIX + SECP256K1_POINT_BYTES == SECP256K1_DER_BYTES,
               "secp256k1 DER is prefix || point");

/* The digests, fetched once: EVP_sha256() would fetch on every EVP_DigestInit_ex, which costs
 * more than hashing a 100-byte message. */
static EVP_MD *g_sha256, *g_sha224;
static pthread_once_t g_fetch_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_sha224 = EVP_MD_fetch(NULL, "SHA224", NULL);
}

/* libsecp256k1's self test, run once: the library asks for it before secp256k1_context_static
 * is used (it aborts through the illegal callback when the build is broken). */
static pthread_once_t g_secp_selftest_once = PTHREAD_ONCE_INIT;

static void secp_selftest(void)
{
    secp256k1_selftest();
}

bool crypto_init(void)
{
    pthread_once(&g_fetch_once, fetch_digests);
    pthread_once(&g_secp_selftest_once, secp_selftest);
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

int key_type_of_der(const uint8_t *der, size_t len)
{
    if (len == ED25519_DER_BYTES && memcmp(der, ED25519_DER_PREFIX, sizeof ED25519_DER_PREFIX) == 0)
        return KEY_ED25519;
    if (len == SECP256K1_DER_BYTES &&
        memcmp(der, SECP256K1_DER_PREFIX, sizeof SECP256K1_DER_PREFIX) == 0)
        return KEY_SECP256K1;
    return 0;
}

/* The signing context: created and randomised once, then only read (libsecp256k1 allows
 * concurrent use of a context through const pointers). Signing needs a context other than the
 * static one; verification does not. */
static secp256k1_context *g_secp_sign;
static pthread_once_t g_secp_sign_once = PTHREAD_ONCE_INIT;

static void make_secp_sign_context(void)
{
    uint8_t seed[32];
    if (sodium_init() < 0)
        abort();
    g_secp_sign = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    randombytes_buf(seed, sizeof seed);
    if (!g_secp_sign || !secp256k1_context_randomize(g_secp_sign, seed))
        abort(); /* out of memory at start */
    sodium_memzero(seed, sizeof seed);
}

static const secp256k1_context *secp_sign_context(void)
{
    pthread_once(&g_secp_sign_once, make_secp_sign_context);
    return g_secp_sign;
}

bool ecdsa_secp256k1_point_from_secret(const uint8_t sk[32], uint8_t point[65])
{
    const secp256k1_context *ctx = secp_sign_context();
    secp256k1_pubkey pub;
    size_t len = SECP256K1_POINT_BYTES;
    if (!secp256k1_ec_seckey_verify(ctx, sk) || !secp256k1_ec_pubkey_create(ctx, &pub, sk))
        return false;
    return secp256k1_ec_pubkey_serialize(ctx, point, &len, &pub, SECP256K1_EC_UNCOMPRESSED) &&
           len == SECP256K1_POINT_BYTES;
}

void ecdsa_secp256k1_keypair_random(uint8_t sk[32], uint8_t point[65])
{
    /* A random 32-byte string is a valid key except with probability about 2^-128. */
    do
        randombytes_buf(sk, 32);
    while (!ecdsa_secp256k1_point_from_secret(sk, point));
}

void ecdsa_secp256k1_sign(const uint8_t sk[32], const uint8_t *msg, size_t len, uint8_t sig[64])
{
    uint8_t digest[32];
    secp256k1_ecdsa_signature s;
    sha256(msg, len, digest);
    if (!secp256k1_ecdsa_sign(secp_sign_context(), &s, digest, sk, NULL, NULL) ||
        !secp256k1_ecdsa_signature_serialize_compact(secp256k1_context_static, sig, &s))
        abort(); /* an invalid secret key: identities are checked when they are made */
}

bool ecdsa_secp256k1_point_valid(const uint8_t point[65])
{
    secp256k1_pubkey pub;
    return point[0] == 0x04 &&
           secp256k1_ec_pubkey_parse(secp256k1_context_static, &pub, point, SECP256K1_POINT_BYTES);
}

bool ecdsa_secp256k1_verify(const uint8_t point[65], const uint8_t *msg, size_t len,
                            const uint8_t sig[64])
{
    const secp256k1_context *ctx = secp256k1_context_static;
    secp256k1_pubkey pub;
    secp256k1_ecdsa_signature s;
    uint8_t digest[32];
    /* parse_compact refuses r or s not below the group order; verify refuses zero. */
    if (point[0] != 0x04 || !secp256k1_ec_pubkey_parse(ctx, &pub, point, SECP256K1_POINT_BYTES) ||
        !secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig))
        return false;
    /* libsecp256k1 verifies low-S only; the IC accepts both forms, so normalise first. */
    secp256k1_ecdsa_signature_normalize(ctx, &s, &s);
    sha256(msg, len, digest);
    return secp256k1_ecdsa_verify(ctx, &s, digest, &pub) == 1;
}

void ecdsa_secp256k1_der_from_point(const uint8_t point[65], uint8_t der[88])
{
    memcpy(der, SECP256K1_DER_PREFIX, sizeof SECP256K1_DER_PREFIX);
    memcpy(der + sizeof SECP256K1_DER_PREFIX, point, SECP256K1_POINT_BYTES);
}

bool ecdsa_secp256k1_point_from_der(const uint8_t *der, size_t len, uint8_t point[65])
{
    if (key_type_of_der(der, len) != KEY_SECP256K1)
        return false;
    memcpy(point, der + sizeof SECP256K1_DER_PREFIX, SECP256K1_POINT_BYTES);
    return true;
}

uint32_t crc32_of(const void *data, size_t len)
{
    return (uint32_t)crc32(0L, data, (uInt)len);
}
