/*
 * keyfile: Ed25519 identities on disk.
 *
 * A secret key file is a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), the format dfx writes for
 * an Ed25519 identity, so `dfx identity export` output can be used as is. Loading accepts
 * PKCS#8 v1 (as `openssl genpkey -algorithm ed25519` writes it) and v2 with the public key (as
 * dfx/ring write it, with the [1] tag explicit or implicit; the public key must match the
 * seed); saving writes v1. Encrypted keys and other key types are refused, never prompted for.
 * A public key file holds the hex of the 44-byte DER public key and a newline. Files are read
 * and written with OpenSSL's PEM routines. Every file is written to a temporary file and
 * moved into place, so readers never see half a key; secret files have mode 0600.
 * identity_t is a plain value holding the secret key: callers that care wipe it after use.
 * All functions accept a NULL err (the detail is then dropped).
 */
#ifndef NNS_KEYFILE_H
#define NNS_KEYFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"
#include "principal.h"

typedef struct {
    uint8_t sk[ED25519_SECRET_KEY_BYTES]; /* libsodium layout: seed || public key */
    uint8_t pk[ED25519_PUBLIC_KEY_BYTES];
    uint8_t der[ED25519_DER_BYTES];
    principal_t principal; /* self-authenticating principal of der */
} identity_t;

/* Fills id from a 32-byte seed. Cannot fail. crypto_init() must have run. */
void identity_from_seed(const uint8_t seed[32], identity_t *id);

/* Generates a fresh random identity. Cannot fail (aborts if libsodium has no entropy). */
void identity_generate(identity_t *id);

/* Reads a PKCS#8 Ed25519 PEM file. Returns false with err (400 "BadKey") when the file cannot be
 * read or is not an Ed25519 private key. */
bool identity_load(const char *path, identity_t *id, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Writes id as PKCS#8 PEM with mode 0600; fails (err 500 "Io") if the file exists and
 * overwrite is false, or on any I/O error. */
bool identity_save(const char *path, const identity_t *id, bool overwrite, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Writes hex(der) and a newline to path (mode 0644), replacing any existing file; false with
 * err 500 "Io" on any I/O error. */
bool public_key_save(const char *path, const uint8_t der[ED25519_DER_BYTES], nns_error_t *err)
    __attribute__((warn_unused_result));

/* Reads a public key file written by public_key_save (trailing whitespace allowed). Returns
 * false with err 400 "BadKey" when the file cannot be read or does not hold an Ed25519 DER. */
bool public_key_load(const char *path, uint8_t der[ED25519_DER_BYTES], nns_error_t *err)
    __attribute__((warn_unused_result));

/* Loads DIR/<name>.key, creating it (mode 0600) when missing, and DIR (mode 0700) when
 * missing too; (re)writes DIR/<name>.pub when it is missing or does not match. An existing key
 * file that cannot be loaded is reported (err 400 "BadKey"), never replaced; I/O failures give
 * err 500 "Io". When two processes create the same key at once, both end up with the winner's. */
bool identity_load_or_create(const char *dir, const char *name, identity_t *id, nns_error_t *err)
    __attribute__((warn_unused_result));

#endif
