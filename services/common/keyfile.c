#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hex.h"
#include "sign.h"

/* Key files are a few hundred bytes; anything much larger is not a key file. */
#define KEYFILE_MAX_BYTES (64 * 1024)

/* The PKCS#8 fields of an Ed25519 private key, pointing into a DER buffer. */
typedef struct {
    const uint8_t *alg; /* AlgorithmIdentifier, whole TLV */
    size_t alg_len;
    const uint8_t *private_key; /* privateKey OCTET STRING, whole TLV */
    size_t private_key_len;
    const uint8_t *attributes; /* [0] attributes, whole TLV, or NULL */
    size_t attributes_len;
    const uint8_t *public_key; /* v2 [1] public key: the BIT STRING's key bytes, or NULL */
    size_t public_key_len;
} pkcs8_fields_t;

/* What dfx writes for a secp256k1 identity: the EC PARAMETERS block (the curve's OID), then the
 * SEC1 ECPrivateKey { version 1, privateKey, [0] secp256k1, [1] uncompressed point }. */
static const uint8_t SECP256K1_PARAMETERS_DER[7] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};
static const uint8_t SEC1_HEAD[7] = {0x30, 0x74, 0x02, 0x01, 0x01, 0x04, 0x20};
static const uint8_t SEC1_MIDDLE[14] = {0xa0, 0x07, 0x06, 0x05, 0x2b, 0x81, 0x04,
                                        0x00, 0x0a, 0xa1, 0x44, 0x03, 0x42, 0x00};
#define SEC1_BYTES                                                                                 \
    (sizeof SEC1_HEAD + SECP256K1_SECRET_KEY_BYTES + sizeof SEC1_MIDDLE + SECP256K1_POINT_BYTES)
_Static_assert(SEC1_BYTES == 2 + 0x74, "SEC1 length field");

void identity_from_seed(const uint8_t seed[32], identity_t *id)
{
    memset(id, 0, sizeof *id);
    id->type = KEY_ED25519;
    ed25519_keypair_from_seed(seed, id->pk, id->sk);
    ed25519_der_from_raw(id->pk, id->der);
    id->der_len = ED25519_DER_BYTES;
    principal_self_authenticating(id->der, id->der_len, &id->principal);
}

bool identity_from_secp256k1_secret(const uint8_t sk[32], identity_t *id)
{
    uint8_t point[SECP256K1_POINT_BYTES];
    if (!ecdsa_secp256k1_point_from_secret(sk, point))
        return false;
    memset(id, 0, sizeof *id);
    id->type = KEY_SECP256K1;
    memcpy(id->sk, sk, SECP256K1_SECRET_KEY_BYTES);
    ecdsa_secp256k1_der_from_point(point, id->der);
    id->der_len = SECP256K1_DER_BYTES;
    principal_self_authenticating(id->der, id->der_len, &id->principal);
    return true;
}

void identity_generate_secp256k1(identity_t *id)
{
    if (!crypto_init())
        abort(); /* as identity_generate */
    uint8_t sk[SECP256K1_SECRET_KEY_BYTES], point[SECP256K1_POINT_BYTES];
    ecdsa_secp256k1_keypair_random(sk, point);
    if (!identity_from_secp256k1_secret(sk, id))
        abort(); /* keypair_random returns valid keys only */
    OPENSSL_cleanse(sk, sizeof sk);
}

void identity_sign_request(const identity_t *id, const char *method, const char *path_and_query,
                           uint64_t expiry_nanos, const uint8_t *body, size_t body_len,
                           char sig_hex[129])
{
    if (id->type == KEY_SECP256K1)
        sign_request_secp256k1(id->sk, method, path_and_query, expiry_nanos, body, body_len,
                               sig_hex);
    else
        sign_request(id->sk, method, path_and_query, expiry_nanos, body, body_len, sig_hex);
}

const char *key_type_name(key_type_t type)
{
    return type == KEY_SECP256K1 ? "secp256k1" : "ed25519";
}

void identity_generate(identity_t *id)
{
    /* libsodium needs its RNG initialised; crypto_init is idempotent and only fails when the
     * system has no usable entropy source, where continuing would be worse than stopping. */
    if (!crypto_init())
        abort();
    uint8_t pk[ED25519_PUBLIC_KEY_BYTES], sk[ED25519_SECRET_KEY_BYTES];
    ed25519_keypair_random(pk, sk);
    identity_from_seed(sk, id); /* the first 32 bytes of sk are the seed */
    OPENSSL_cleanse(sk, sizeof sk);
}

/* Reads a whole small file into a malloc'd buffer. Returns NULL with errno set on failure
 * (EFBIG when the file is larger than KEYFILE_MAX_BYTES). The caller frees (and cleanses). */
static uint8_t *read_small_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    uint8_t *buf = malloc(KEYFILE_MAX_BYTES + 1);
    size_t n = 0;
    if (!buf)
        goto fail;
    for (;;) {
        ssize_t r = read(fd, buf + n, KEYFILE_MAX_BYTES + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto fail;
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > KEYFILE_MAX_BYTES) {
            errno = EFBIG;
            goto fail;
        }
    }
    close(fd);
    *len = n;
    return buf;
fail:;
    int saved = errno;
    if (buf) {
        OPENSSL_cleanse(buf, n);
        free(buf);
    }
    close(fd);
    errno = saved;
    return NULL;
}

/* Reads one DER TLV at *p (single-byte tag, definite length of at most 2 length bytes).
 * Returns false when it does not fit in [*p, end). On success *p moves past the TLV. */
static bool der_next(const uint8_t **p, const uint8_t *end, uint8_t *tag, const uint8_t **value,
                     size_t *value_len)
{
    const uint8_t *q = *p;
    if (end - q < 2)
        return false;
    *tag = q[0];
    size_t len = q[1];
    q += 2;
    if (len & 0x80) {
        size_t nbytes = len & 0x7f;
        if (nbytes == 0 || nbytes > 2 || (size_t)(end - q) < nbytes)
            return false;
        len = 0;
        for (size_t i = 0; i < nbytes; i++)
            len = len << 8 | *q++;
    }
    if ((size_t)(end - q) < len)
        return false;
    *value = q;
    *value_len = len;
    *p = q + len;
    return true;
}

/* Splits a PKCS#8 v1 (RFC 5208) or v2 (RFC 5958 OneAsymmetricKey) DER into its fields. Only
 * the structure is checked here; OpenSSL parses the algorithm and the key itself. The v2
 * public key is accepted both as RFC 5958 writes it ([1] IMPLICIT BIT STRING, ring >= 0.17)
 * and as older ring versions, and so older dfx identities, write it ([1] EXPLICIT BIT STRING). */
static bool pkcs8_split(const uint8_t *der, size_t len, pkcs8_fields_t *f)
{
    const uint8_t *p = der, *end = der + len, *seq, *v, *start;
    size_t seq_len, v_len;
    uint8_t tag;
    memset(f, 0, sizeof *f);
    if (!der_next(&p, end, &tag, &seq, &seq_len) || tag != 0x30 || p != end)
        return false;
    p = seq;
    end = seq + seq_len;
    /* version: 0 (v1) or 1 (v2) */
    if (!der_next(&p, end, &tag, &v, &v_len) || tag != 0x02 || v_len != 1 || v[0] > 1)
        return false;
    start = p;
    if (!der_next(&p, end, &tag, &v, &v_len) || tag != 0x30)
        return false;
    f->alg = start;
    f->alg_len = (size_t)(p - start);
    start = p;
    if (!der_next(&p, end, &tag, &v, &v_len) || tag != 0x04)
        return false;
    f->private_key = start;
    f->private_key_len = (size_t)(p - start);
    if (p < end && *p == 0xa0) {
        start = p;
        if (!der_next(&p, end, &tag, &v, &v_len))
            return false;
        f->attributes = start;
        f->attributes_len = (size_t)(p - start);
    }
    if (p < end) {
        if (!der_next(&p, end, &tag, &v, &v_len))
            return false;
        if (tag == 0xa1) { /* explicit: [1] { BIT STRING } */
            const uint8_t *inner = v, *inner_end = v + v_len;
            if (!der_next(&inner, inner_end, &tag, &v, &v_len) || tag != 0x03 || inner != inner_end)
                return false;
        } else if (tag != 0x81) {
            return false;
        }
        /* BIT STRING content: 0 unused bits, then the key */
        if (v_len < 2 || v[0] != 0)
            return false;
        f->public_key = v + 1;
        f->public_key_len = v_len - 1;
    }
    return p == end;
}

/* Re-encodes the fields as a PKCS#8 v1 DER (version 0, no public key), which every OpenSSL
 * version reads. Returns the new length, or 0 when it would not fit in cap bytes (a capacity
 * of the original DER's length + 4 always suffices). */
static size_t pkcs8_v1_encode(const pkcs8_fields_t *f, uint8_t *out, size_t cap)
{
    size_t body = 3 + f->alg_len + f->private_key_len + (f->attributes ? f->attributes_len : 0);
    size_t header = body < 0x80 ? 2 : body < 0x100 ? 3 : 4;
    if (body > 0xffff || header + body > cap)
        return 0;
    size_t n = 0;
    out[n++] = 0x30;
    if (body < 0x80) {
        out[n++] = (uint8_t)body;
    } else if (body < 0x100) {
        out[n++] = 0x81;
        out[n++] = (uint8_t)body;
    } else {
        out[n++] = 0x82;
        out[n++] = (uint8_t)(body >> 8);
        out[n++] = (uint8_t)body;
    }
    static const uint8_t version0[3] = {0x02, 0x01, 0x00};
    memcpy(out + n, version0, sizeof version0);
    n += sizeof version0;
    memcpy(out + n, f->alg, f->alg_len);
    n += f->alg_len;
    memcpy(out + n, f->private_key, f->private_key_len);
    n += f->private_key_len;
    if (f->attributes) {
        memcpy(out + n, f->attributes, f->attributes_len);
        n += f->attributes_len;
    }
    return n;
}

/* Fills id from an EC key, which must be on secp256k1. public_key: the public key the file
 * holds besides the one OpenSSL parsed (PKCS#8 v2), or NULL. */
static bool identity_from_ec_pkey(const char *path, EVP_PKEY *pkey, const uint8_t *public_key,
                                  size_t public_key_len, identity_t *id, nns_error_t *err)
{
    bool ok = false;
    BIGNUM *secret = NULL;
    char group[64];
    uint8_t sk[SECP256K1_SECRET_KEY_BYTES], encoded[SECP256K1_POINT_BYTES];
    size_t encoded_len = 0;
    identity_t made;

    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, NULL) != 1)
        group[0] = '\0';
    if (strcmp(group, "secp256k1") != 0) {
        nns_error_set(err, 400, "BadKey",
                      "key file '%s' holds an 'EC' key on curve '%s', expected an Ed25519 or "
                      "secp256k1 private key",
                      path, group[0] ? group : "unknown");
        goto fail;
    }
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &secret) != 1 ||
        BN_bn2binpad(secret, sk, sizeof sk) != (int)sizeof sk ||
        !identity_from_secp256k1_secret(sk, &made)) {
        nns_error_set(err, 400, "BadKey", "key file '%s' holds a malformed secp256k1 key", path);
        goto fail;
    }
    /* The point OpenSSL read from the file (or derived, when the file has none), and the one
     * of a PKCS#8 v2 wrapper: each must be the secret key's, compressed or not. */
    const uint8_t *point = made.der + SECP256K1_DER_BYTES - SECP256K1_POINT_BYTES;
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, encoded, sizeof encoded,
                                        &encoded_len) != 1)
        encoded_len = 0;
    for (int i = 0; i < 2; i++) {
        const uint8_t *k = i == 0 ? encoded : public_key;
        size_t k_len = i == 0 ? encoded_len : public_key_len;
        if (!k || k_len == 0)
            continue;
        bool same =
            (k_len == SECP256K1_POINT_BYTES && memcmp(k, point, k_len) == 0) ||
            (k_len == 33 && k[0] == (0x02 | (point[64] & 1)) && memcmp(k + 1, point + 1, 32) == 0);
        if (!same) {
            nns_error_set(err, 400, "BadKey",
                          "key file '%s' holds a public key that does not match its private key",
                          path);
            goto fail;
        }
    }
    *id = made;
    ok = true;
fail:
    OPENSSL_cleanse(sk, sizeof sk);
    OPENSSL_cleanse(&made, sizeof made);
    BN_clear_free(secret);
    return ok;
}

/* Fills id from a parsed private key: Ed25519, or EC on secp256k1. public_key as for
 * identity_from_ec_pkey. */
static bool identity_from_pkey(const char *path, EVP_PKEY *pkey, const uint8_t *public_key,
                               size_t public_key_len, identity_t *id, nns_error_t *err)
{
    if (EVP_PKEY_get_id(pkey) == EVP_PKEY_EC)
        return identity_from_ec_pkey(path, pkey, public_key, public_key_len, id, err);
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        const char *type = EVP_PKEY_get0_type_name(pkey);
        return nns_error_set(err, 400, "BadKey",
                             "key file '%s' holds a '%s' key, expected an Ed25519 or secp256k1 "
                             "private key",
                             path, type ? type : "unknown");
    }
    bool ok = false;
    uint8_t seed[ED25519_SEED_BYTES];
    size_t seed_len = ED25519_SEED_BYTES;
    if (EVP_PKEY_get_raw_private_key(pkey, seed, &seed_len) != 1 ||
        seed_len != ED25519_SEED_BYTES) {
        nns_error_set(err, 400, "BadKey", "key file '%s' holds a malformed Ed25519 key", path);
        goto fail;
    }
    identity_t made;
    identity_from_seed(seed, &made);
    if (public_key && (public_key_len != ED25519_PUBLIC_KEY_BYTES ||
                       memcmp(made.pk, public_key, ED25519_PUBLIC_KEY_BYTES) != 0)) {
        OPENSSL_cleanse(&made, sizeof made);
        nns_error_set(err, 400, "BadKey",
                      "key file '%s' holds a public key that does not match its private key", path);
        goto fail;
    }
    *id = made;
    OPENSSL_cleanse(&made, sizeof made);
    ok = true;
fail:
    OPENSSL_cleanse(seed, sizeof seed);
    return ok;
}

/* Fills id from the DER of a PKCS#8 private key. */
static bool identity_from_pkcs8(const char *path, const uint8_t *der, size_t der_len,
                                identity_t *id, nns_error_t *err)
{
    bool ok = false;
    uint8_t *v1 = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    EVP_PKEY *pkey = NULL;
    pkcs8_fields_t f;
    size_t v1_len;

    if (!pkcs8_split(der, der_len, &f)) {
        nns_error_set(err, 400, "BadKey", "key file '%s' is not a well-formed PKCS#8 key", path);
        goto fail;
    }
    v1 = malloc(der_len + 4);
    if (!v1 || (v1_len = pkcs8_v1_encode(&f, v1, der_len + 4)) == 0) {
        nns_error_set(err, 400, "BadKey", "key file '%s' could not be re-encoded", path);
        goto fail;
    }
    const unsigned char *cursor = v1;
    p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &cursor, (long)v1_len);
    if (p8)
        pkey = EVP_PKCS82PKEY(p8);
    if (!pkey) {
        nns_error_set(err, 400, "BadKey", "key file '%s' holds a key OpenSSL cannot read", path);
        goto fail;
    }
    ok = identity_from_pkey(path, pkey, f.public_key, f.public_key_len, id, err);
fail:
    EVP_PKEY_free(pkey);
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (v1) {
        OPENSSL_cleanse(v1, der_len + 4);
        free(v1);
    }
    return ok;
}

/* Fills id from the DER of a SEC1 ECPrivateKey ("EC PRIVATE KEY", dfx's secp256k1 form). */
static bool identity_from_sec1(const char *path, const uint8_t *der, size_t der_len, identity_t *id,
                               nns_error_t *err)
{
    const unsigned char *cursor = der;
    EVP_PKEY *pkey = d2i_PrivateKey(EVP_PKEY_EC, NULL, &cursor, (long)der_len);
    if (!pkey)
        return nns_error_set(err, 400, "BadKey",
                             "key file '%s' holds an 'EC PRIVATE KEY' OpenSSL cannot read (the "
                             "curve must be named in the key)",
                             path);
    bool ok = identity_from_pkey(path, pkey, NULL, 0, id, err);
    EVP_PKEY_free(pkey);
    return ok;
}

bool identity_load(const char *path, identity_t *id, nns_error_t *err)
{
    bool ok = false;
    size_t file_len = 0;
    uint8_t *file = NULL;
    BIO *bio = NULL;
    char *name = NULL, *header = NULL, *first_label = NULL;
    unsigned char *der = NULL;
    long der_len = 0;

    file = read_small_file(path, &file_len);
    if (!file) {
        nns_error_set(err, 400, "BadKey", "cannot read key file '%s': %s", path,
                      errno == EFBIG ? "file too large" : strerror(errno));
        goto fail;
    }
    bio = BIO_new_mem_buf(file, (int)file_len);
    if (!bio) {
        nns_error_set(err, 400, "BadKey", "cannot read key file '%s': out of memory", path);
        goto fail;
    }
    /* PEM_read_bio only decodes base64, so nothing here can prompt for a pass phrase: an
     * encrypted key ("ENCRYPTED PRIVATE KEY", or Proc-Type headers) is simply refused.
     * Take the first "PRIVATE KEY" or "EC PRIVATE KEY" block; other blocks (EC PARAMETERS,
     * certificates) are skipped, and the first label seen names what the file is when there
     * is none. */
    for (;;) {
        if (PEM_read_bio(bio, &name, &header, &der, &der_len) != 1)
            break;
        if (strcmp(name, "PRIVATE KEY") == 0 || strcmp(name, "EC PRIVATE KEY") == 0)
            break;
        if (!first_label)
            first_label = OPENSSL_strdup(name);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_clear_free(der, (size_t)der_len);
        name = header = NULL;
        der = NULL;
        der_len = 0;
    }
    if (!der) {
        if (first_label)
            nns_error_set(err, 400, "BadKey",
                          "key file '%s' holds a '%s' PEM block, expected an unencrypted Ed25519 "
                          "or secp256k1 'PRIVATE KEY' (PKCS#8) or 'EC PRIVATE KEY' (SEC1)",
                          path, first_label);
        else
            nns_error_set(err, 400, "BadKey", "key file '%s' is not a PEM file", path);
        goto fail;
    }
    if (header && *header) {
        nns_error_set(err, 400, "BadKey", "key file '%s' has PEM headers, expected none", path);
        goto fail;
    }
    if (strcmp(name, "EC PRIVATE KEY") == 0)
        ok = identity_from_sec1(path, der, (size_t)der_len, id, err);
    else
        ok = identity_from_pkcs8(path, der, (size_t)der_len, id, err);
fail:
    ERR_clear_error(); /* failed parses leave entries that would confuse later OpenSSL users */
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(first_label);
    if (der)
        OPENSSL_clear_free(der, (size_t)der_len);
    BIO_free(bio);
    if (file) {
        OPENSSL_cleanse(file, file_len);
        free(file);
    }
    return ok;
}

/* Writes data to a fresh temporary file next to path (mode `mode`, fsync'd), then moves it to
 * path: with rename() when overwrite is true, with link() otherwise so that an existing path
 * is never replaced (EEXIST). Readers see either no file or the whole file. */
static bool write_file_atomically(const char *path, const void *data, size_t len, mode_t mode,
                                  bool overwrite, nns_error_t *err)
{
    bool ok = false;
    char tmp[PATH_MAX];
    int fd = -1;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return nns_error_set(err, 500, "Io", "path '%s' is too long", path);
    fd = mkostemp(tmp, O_CLOEXEC); /* O_CREAT | O_EXCL, mode 0600 */
    if (fd < 0) {
        nns_error_set(err, 500, "Io", "cannot create a file next to '%s': %s", path,
                      strerror(errno));
        return false;
    }
    if (fchmod(fd, mode) != 0) {
        nns_error_set(err, 500, "Io", "cannot set the mode of '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, (const char *)data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            nns_error_set(err, 500, "Io", "cannot write '%s': %s", tmp, strerror(errno));
            goto fail;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        nns_error_set(err, 500, "Io", "cannot sync '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        nns_error_set(err, 500, "Io", "cannot close '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (overwrite ? rename(tmp, path) != 0 : link(tmp, path) != 0) {
        if (errno == EEXIST)
            nns_error_set(err, 500, "Io", "file '%s' already exists", path);
        else
            nns_error_set(err, 500, "Io", "cannot create '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (!overwrite)
        unlink(tmp);
    return true;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return ok;
}

bool identity_save(const char *path, const identity_t *id, bool overwrite, nns_error_t *err)
{
    bool ok = false;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    char *pem = NULL;
    long pem_len;

    uint8_t sec1[SEC1_BYTES];

    if (!overwrite && access(path, F_OK) == 0)
        return nns_error_set(err, 500, "Io", "file '%s' already exists", path);
    bio = BIO_new(BIO_s_secmem());
    bool encoded;
    if (id->type == KEY_SECP256K1) {
        /* Byte for byte what dfx writes, so the file can go back to dfx too. */
        size_t n = 0;
        memcpy(sec1 + n, SEC1_HEAD, sizeof SEC1_HEAD);
        n += sizeof SEC1_HEAD;
        memcpy(sec1 + n, id->sk, SECP256K1_SECRET_KEY_BYTES);
        n += SECP256K1_SECRET_KEY_BYTES;
        memcpy(sec1 + n, SEC1_MIDDLE, sizeof SEC1_MIDDLE);
        n += sizeof SEC1_MIDDLE;
        memcpy(sec1 + n, id->der + SECP256K1_DER_BYTES - SECP256K1_POINT_BYTES,
               SECP256K1_POINT_BYTES);
        encoded = bio &&
                  PEM_write_bio(bio, "EC PARAMETERS", "", SECP256K1_PARAMETERS_DER,
                                sizeof SECP256K1_PARAMETERS_DER) > 0 &&
                  PEM_write_bio(bio, "EC PRIVATE KEY", "", sec1, sizeof sec1) > 0;
    } else {
        pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, id->sk, ED25519_SEED_BYTES);
        encoded =
            pkey && bio && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1;
    }
    if (!encoded || (pem_len = BIO_get_mem_data(bio, &pem)) <= 0) {
        nns_error_set(err, 500, "Io", "cannot encode the key for '%s'", path);
        goto fail;
    }
    ok = write_file_atomically(path, pem, (size_t)pem_len, 0600, overwrite, err);
fail:
    OPENSSL_cleanse(sec1, sizeof sec1);
    BIO_free(bio); /* a secure-memory BIO cleanses its buffer */
    EVP_PKEY_free(pkey);
    return ok;
}

bool public_key_save(const char *path, const uint8_t der[ED25519_DER_BYTES], nns_error_t *err)
{
    char text[2 * ED25519_DER_BYTES + 2];
    hex_encode(der, ED25519_DER_BYTES, text);
    text[2 * ED25519_DER_BYTES] = '\n';
    text[2 * ED25519_DER_BYTES + 1] = '\0';
    return write_file_atomically(path, text, sizeof text - 1, 0644, true, err);
}

bool public_key_load(const char *path, uint8_t der[ED25519_DER_BYTES], nns_error_t *err)
{
    size_t len = 0;
    uint8_t *text = read_small_file(path, &len);
    uint8_t pk[ED25519_PUBLIC_KEY_BYTES];
    if (!text)
        return nns_error_set(err, 400, "BadKey", "cannot read public key file '%s': %s", path,
                             errno == EFBIG ? "file too large" : strerror(errno));
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
                       text[len - 1] == '\t'))
        len--;
    bool ok = len == 2 * ED25519_DER_BYTES &&
              hex_decode((const char *)text, len, der, ED25519_DER_BYTES) == ED25519_DER_BYTES &&
              ed25519_raw_from_der(der, ED25519_DER_BYTES, pk);
    free(text);
    if (!ok)
        return nns_error_set(
            err, 400, "BadKey",
            "public key file '%s' does not hold the hex of a 44-byte Ed25519 DER key", path);
    return true;
}

bool identity_load_or_create(const char *dir, const char *name, identity_t *id, nns_error_t *err)
{
    char key_path[PATH_MAX], pub_path[PATH_MAX];
    struct stat st;
    if (snprintf(key_path, sizeof key_path, "%s/%s.key", dir, name) >= (int)sizeof key_path ||
        snprintf(pub_path, sizeof pub_path, "%s/%s.pub", dir, name) >= (int)sizeof pub_path)
        return nns_error_set(err, 500, "Io", "path '%s/%s.key' is too long", dir, name);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return nns_error_set(err, 500, "Io", "cannot create key folder '%s': %s", dir,
                             strerror(errno));

    if (stat(key_path, &st) != 0) {
        if (errno != ENOENT)
            return nns_error_set(err, 500, "Io", "cannot read key file '%s': %s", key_path,
                                 strerror(errno));
        identity_t fresh;
        identity_generate(&fresh);
        bool saved = identity_save(key_path, &fresh, false, err);
        if (saved)
            *id = fresh;
        OPENSSL_cleanse(&fresh, sizeof fresh);
        /* Lost a race with another process creating the same key: use theirs. */
        if (!saved && access(key_path, F_OK) != 0)
            return false;
        nns_error_clear(err);
        if (!saved && !identity_load(key_path, id, err))
            return false;
    } else if (!identity_load(key_path, id, err)) {
        return false;
    }
    if (id->type != KEY_ED25519) {
        OPENSSL_cleanse(id, sizeof *id);
        return nns_error_set(err, 400, "BadKey",
                             "key file '%s' holds a secp256k1 key, expected an Ed25519 key "
                             "(service keys are Ed25519)",
                             key_path);
    }

    /* (Re)write the public key when it is missing or does not match the secret key. */
    uint8_t der[ED25519_DER_BYTES];
    if (public_key_load(pub_path, der, NULL) && memcmp(der, id->der, sizeof der) == 0)
        return true;
    return public_key_save(pub_path, id->der, err);
}
