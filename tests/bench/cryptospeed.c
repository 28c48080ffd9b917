/*
 * cryptospeed: how long this machine takes, right now, for the work a signed transfer cannot
 * avoid: one Ed25519 verification (libsodium, as the services do) and the SHA-256 digests of
 * the signing scheme. The throughput benchmark prints it next to its figures, because on a
 * shared host it moves by half from one hour to the next, and with it every transfers/s figure.
 * Usage: cryptospeed [--iterations N]  (default 5000). Prints "verify_us=... sha256_us=...".
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    long n = 5000;
    if (argc == 3 && strcmp(argv[1], "--iterations") == 0)
        n = strtol(argv[2], NULL, 10);
    if (n <= 0 || (argc != 1 && argc != 3)) {
        fprintf(stderr, "usage: cryptospeed [--iterations N]\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    unsigned char msg[49], sig[crypto_sign_BYTES], body[300], digest[32];
    randombytes_buf(msg, sizeof msg);
    randombytes_buf(body, sizeof body);
    crypto_sign_keypair(pk, sk);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    long ok = 0;
    double t0 = now_us();
    for (long i = 0; i < n; i++)
        ok += crypto_sign_verify_detached(sig, msg, sizeof msg, pk) == 0;
    double verify = (now_us() - t0) / (double)n;
    t0 = now_us();
    for (long i = 0; i < n; i++) {
        crypto_hash_sha256(digest, body, sizeof body);
        body[0] ^= digest[0];
    }
    double sha = (now_us() - t0) / (double)n;
    if (ok != n) {
        fprintf(stderr, "cryptospeed: a valid signature did not verify\n");
        return 1;
    }
    printf("verify_us=%.1f sha256_us=%.2f\n", verify, sha);
    return 0;
}
