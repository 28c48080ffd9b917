/*
 * cryptospeed: how long this machine takes, right now, for the work a signed transfer cannot
 * avoid: one Ed25519 verification and the SHA-256 digest of a body, through the services' own
 * wrappers (services/common/crypto.h: libsodium and libcrypto). The throughput benchmark prints
 * it next to its figures, because on a shared host it moves by half from one hour to the next,
 * and with it every transfers/s figure.
 * Usage: cryptospeed [--iterations N]  (default 5000). Prints "verify_us=... sha256_us=...".
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"

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
    if (!crypto_init())
        return 1;
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
    t0 = now_us();
    for (long i = 0; i < n; i++) {
        sha256(body, sizeof body, digest);
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
