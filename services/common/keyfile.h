/*
 * keyfile: Ed25519 and secp256k1 identities on disk.
 *
 * A secret key file is a PEM as dfx writes it, so `dfx identity export` output can be used as
 * is. Ed25519: a PKCS#8 "PRIVATE KEY"; loading accepts PKCS#8 v1 (as `openssl genpkey
 * -algorithm ed25519` writes it) and v2 with the public key (as dfx/ring write it, with the [1]
 * tag explicit or implicit; the public key must match the seed); saving writes v1. secp256k1
 * (dfx's default key type): a SEC1 "EC PRIVATE KEY", with or without the "EC PARAMETERS" block
 * dfx writes before it, or the same key as PKCS#8 "PRIVATE KEY"; a public key in the file must
 * match the secret key; saving writes exactly what dfx writes (EC PARAMETERS, then SEC1 with
 * the curve and the uncompressed public key). Encrypted keys, other key types and other curves
 * are refused, never prompted for. Service keys are Ed25519 only.
 * A public key file holds the hex of the 44-byte Ed25519 DER public key and a newline. Files are
 * read and written with OpenSSL's PEM routines. Every file is written to a temporary file and moved
 * into place, so readers never see half a key; secret files have mode 0600. identity_t is a plain
 * value holding the secret key: callers that care wipe it after use. All functions accept a NULL
 * err (the detail is then dropped).
 */
#ifndef NNS_KEYFILE_H
#define NNS_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"
#include "principal.h"

typedef struct {
    key_type_t type;
    /* Ed25519: libsodium layout, seed || public key. secp256k1: the 32-byte secret key, then
     * zeros. */
    uint8_t sk[ED25519_SECRET_KEY_BYTES];
    uint8_t pk[ED25519_PUBLIC_KEY_BYTES]; /* Ed25519 only (secp256k1: the point is in der) */
    uint8_t der[PUBLIC_KEY_DER_MAX];      /* the first der_len bytes */
    size_t der_len;                       /* 44 (Ed25519) or 88 (secp256k1) */
    principal_t principal;                /* self-authenticating principal of der */
} identity_t;

/* Fills id with the Ed25519 identity of a 32-byte seed. Cannot fail. crypto_init() must have
 * run. */
void identity_from_seed(const uint8_t seed[32], identity_t *id);

/* Fills id with the secp256k1 identity of secret key sk. Returns false (id untouched) when sk
 * is not a valid secret key (zero, or not below the group order). */
bool identity_from_secp256k1_secret(const uint8_t sk[32], identity_t *id)
    __attribute__((warn_unused_result));

/* Generates a fresh random Ed25519 identity. Cannot fail (aborts if libsodium has no entropy). */
void identity_generate(identity_t *id);

/* Generates a fresh random secp256k1 identity. Cannot fail (aborts as identity_generate). */
void identity_generate_secp256k1(identity_t *id);

/* Signs a request with id's key, whichever its type (sign_request, sign_request_secp256k1):
 * writes the 128-hex signature and NUL. Cannot fail. */
void identity_sign_request(const identity_t *id, const char *method, const char *path_and_query,
                           uint64_t expiry_nanos, const uint8_t *body, size_t body_len,
                           char sig_hex[129]);

/* The key type's name: "ed25519" or "secp256k1". */
const char *key_type_name(key_type_t type);

/* Reads an Ed25519 or secp256k1 PEM key file. Returns false with err (400 "BadKey") when the
 * file cannot be read or is not such a private key. */
bool identity_load(const char *path, identity_t *id, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Writes id with mode 0600 (Ed25519: PKCS#8 PEM; secp256k1: dfx's EC PARAMETERS and SEC1 PEM);
 * fails (err 500 "Io") if the file exists and overwrite is false, or on any I/O error. */
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

/* Loads DIR/<name>.key (an Ed25519 key: any other type is err 400 "BadKey"), creating it
 * (mode 0600) when missing, and DIR (mode 0700) when
 * missing too; (re)writes DIR/<name>.pub when it is missing or does not match. An existing key
 * file that cannot be loaded is reported (err 400 "BadKey"), never replaced; I/O failures give
 * err 500 "Io". When two processes create the same key at once, both end up with the winner's. */
bool identity_load_or_create(const char *dir, const char *name, identity_t *id, nns_error_t *err)
    __attribute__((warn_unused_result));

#endif
