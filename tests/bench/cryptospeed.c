/*
 * cryptospeed: how long this machine takes, right now, for the work a signed transfer cannot
 * avoid: one Ed25519 verification and the SHA-256 digest of a body, through the services' own
 * wrappers (services/common/crypto.h: libsodium and libcrypto). The throughput benchmark prints
 * it next to its figures, because on a shared host it moves by half from one hour to the next,
 * and with it every transfers/s figure.
 * It also times one secp256k1 request verification (SHA-256 of the 49-byte message, then
 * ECDSA) both ways it could be done: with libsecp256k1 as the services do it (static context,
 * parse the 65-byte point and the r || s signature, normalise, verify: no allocation), and with
 * OpenSSL's libcrypto as a service would have to (d2i_PUBKEY of the 88-byte DER, r || s
 * re-encoded as a DER ECDSA-Sig-Value, EVP_PKEY_verify), plus OpenSSL's verify alone with the
 * key parsed once (its floor: a cache of parsed keys could not go below it).
 * Usage: cryptospeed [--iterations N] [--ed25519]  (default 5000). Prints "verify_us=...
 * sha256_us=... k1_libsecp256k1_us=... k1_openssl_us=... k1_openssl_parsed_us=...", or with
 * --ed25519 only "verify_us=..." (a short sample the throughput benchmark takes while its load
 * runs, e.g. --iterations 200 --ed25519: about 10 ms of one core). With --ed25519 the time is
 * the thread's CPU time, not the wall clock: on a machine kept busy by the load, a wall-clock
 * sample would count the time the sampler waits for a core.
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"

static clockid_t g_clock = CLOCK_MONOTONIC;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(g_clock, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One secp256k1 verification through OpenSSL, from the request's bytes: returns 1 when valid. */
static int openssl_verify(const uint8_t der[SECP256K1_DER_BYTES], const uint8_t *msg, size_t len,
                          const uint8_t sig[64])
{
    int ok = 0;
    const unsigned char *p = der;
    uint8_t digest[32], dersig[80], *q = dersig;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, SECP256K1_DER_BYTES);
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *sv = BN_bin2bn(sig + 32, 32, NULL);
    EVP_PKEY_CTX *ctx = NULL;
    if (!pkey || !s || !r || !sv || ECDSA_SIG_set0(s, r, sv) != 1)
        goto done;
    r = sv = NULL; /* owned by s */
    int dlen = i2d_ECDSA_SIG(s, &q);
    sha256(msg, len, digest);
    ctx = EVP_PKEY_CTX_new(pkey, NULL);
    ok = dlen > 0 && ctx && EVP_PKEY_verify_init(ctx) == 1 &&
         EVP_PKEY_verify(ctx, dersig, (size_t)dlen, digest, sizeof digest) == 1;
done:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    ECDSA_SIG_free(s);
    BN_free(r);
    BN_free(sv);
    return ok;
}

/* Times n secp256k1 verifications of msg: out[0] libsecp256k1 (the services' path), out[1]
 * OpenSSL from the request's bytes, out[2] OpenSSL's EVP_PKEY_verify alone with the key and
 * the DER signature prepared once. Returns false when a valid signature fails either way. */
static bool secp256k1_speeds(long n, const uint8_t msg[49], double out[3])
{
    uint8_t sk[32], point[SECP256K1_POINT_BYTES], der[SECP256K1_DER_BYTES], sig[64];
    ecdsa_secp256k1_keypair_random(sk, point);
    ecdsa_secp256k1_der_from_point(point, der);
    ecdsa_secp256k1_sign(sk, msg, 49, sig);
    long ok = 0;
    double t0 = now_us();
    for (long i = 0; i < n; i++)
        ok += ecdsa_secp256k1_verify(point, msg, 49, sig);
    out[0] = (now_us() - t0) / (double)n;
    t0 = now_us();
    for (long i = 0; i < n; i++)
        ok += openssl_verify(der, msg, 49, sig);
    out[1] = (now_us() - t0) / (double)n;

    const unsigned char *p = der;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, sizeof der);
    EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new(pkey, NULL) : NULL;
    ECDSA_SIG *s = ECDSA_SIG_new();
    uint8_t digest[32], dersig[80], *q = dersig;
    sha256(msg, 49, digest);
    int dlen = -1;
    if (s && ECDSA_SIG_set0(s, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)) == 1)
        dlen = i2d_ECDSA_SIG(s, &q);
    if (!ctx || dlen <= 0 || EVP_PKEY_verify_init(ctx) != 1) {
        fprintf(stderr, "cryptospeed: OpenSSL cannot read a secp256k1 key\n");
        return false;
    }
    t0 = now_us();
    for (long i = 0; i < n; i++) {
        uint8_t d[32];
        sha256(msg, 49, d);
        ok += EVP_PKEY_verify(ctx, dersig, (size_t)dlen, d, sizeof d) == 1;
    }
    out[2] = (now_us() - t0) / (double)n;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    ECDSA_SIG_free(s);
    OPENSSL_cleanse(sk, sizeof sk);
    if (ok != 3 * n) {
        fprintf(stderr, "cryptospeed: a valid secp256k1 signature did not verify\n");
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    long n = 5000;
    bool ed25519_only = false, bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--ed25519") == 0) {
            ed25519_only = true;
        } else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            char *end = NULL;
            n = strtol(argv[++i], &end, 10);
            bad = !end || *end || n <= 0 || n > 100000000;
        } else {
            bad = true;
        }
    }
    if (bad) {
        fprintf(stderr, "usage: cryptospeed [--iterations N] [--ed25519]\n");
        return 2;
    }
    if (!crypto_init())
        return 1;
    if (ed25519_only)
        g_clock = CLOCK_THREAD_CPUTIME_ID;
    uint8_t pk[ED25519_PUBLIC_KEY_BYTES], sk[ED25519_SECRET_KEY_BYTES];
    uint8_t msg[49], sig[ED25519_SIGNATURE_BYTES], body[300], digest[32];
    randombytes_buf(msg, sizeof msg);
    randombytes_buf(body, sizeof body);
    ed25519_keypair_random(pk, sk);
    ed25519_sign(sk, msg, sizeof msg, sig);
    long ok = 0;
    double t0 = now_us();
    for (long i = 0; i < n; i++)
        ok += ed25519_verify(pk, msg, sizeof msg, sig);
    double verify = (now_us() - t0) / (double)n;
    if (ok != n) {
        fprintf(stderr, "cryptospeed: a valid signature did not verify\n");
        return 1;
    }
    if (ed25519_only) {
        printf("verify_us=%.1f\n", verify);
        return 0;
    }
    t0 = now_us();
    for (long i = 0; i < n; i++) {
        sha256(body, sizeof body, digest);
        body[0] ^= digest[0];
    }
    double sha = (now_us() - t0) / (double)n;
    double k1[3];
    if (!secp256k1_speeds(n, msg, k1))
        return 1;
    printf("verify_us=%.1f sha256_us=%.2f k1_libsecp256k1_us=%.1f k1_openssl_us=%.1f "
           "k1_openssl_parsed_us=%.1f\n",
           verify, sha, k1[0], k1[1], k1[2]);
    return 0;
}
