/*
 * fuzz_keyfile: key files. The first byte picks the reader: a secret key PEM (identity_load:
 * Ed25519 PKCS#8 v1 and v2, or secp256k1 as dfx writes it, SEC1 or PKCS#8) or a public key
 * file (public_key_load: hex of the DER key); the rest is the file. A loaded identity is the one
 * its secret key makes (type, public key, DER and principal); a loaded public key is an Ed25519
 * DER key.
 */
#include "crypto.h"
#include "fuzz.h"
#include "keyfile.h"

FUZZ_INIT_CRYPTO()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char path[64];
    int fd = fuzz_file(data + 1, size - 1, path);
    if (fd < 0)
        abort();
    nns_error_t err;
    if (data[0] & 1) {
        uint8_t der[ED25519_DER_BYTES], pk[ED25519_PUBLIC_KEY_BYTES];
        if (public_key_load(path, der, &err))
            FUZZ_CHECK(ed25519_raw_from_der(der, sizeof der, pk), "not an Ed25519 DER key");
        else
            FUZZ_CHECK(err.status == 400, "error %d %s", err.status, err.code);
    } else {
        identity_t id, again;
        if (identity_load(path, &id, &err)) {
            if (id.type == KEY_ED25519)
                identity_from_seed(id.sk, &again);
            else
                FUZZ_CHECK(identity_from_secp256k1_secret(id.sk, &again), "a bad secret key");
            FUZZ_CHECK(id.type == again.type && id.der_len == again.der_len &&
                           memcmp(id.der, again.der, id.der_len) == 0 &&
                           memcmp(id.pk, again.pk, sizeof id.pk) == 0 &&
                           principal_equal(&id.principal, &again.principal),
                       "the identity is not its secret key's");
        } else {
            FUZZ_CHECK(err.status == 400, "error %d %s", err.status, err.code);
        }
    }
    close(fd);
    return 0;
}
