/*
 * Check suite for keyfile: PKCS#8 PEM identities on disk, public key files, and the service
 * key folder. Each test runs in its own mkdtemp folder (fixture), removed afterwards.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "account.h"
#include "auth.h"
#include "hex.h"
#include "keyfile.h"

/* shared/spec/request-signing-vector.json */
static const char VECTOR_SEED_HEX[] =
    "1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e";
static const char VECTOR_DER_HEX[] =
    "302a300506032b6570032100af3d20264f9c26ef085b5ce537f417d424037a0963a6386ff6d050e5bf773714";
static const char VECTOR_PRINCIPAL[] =
    "yvlqi-i6wcg-5seqj-wbnpk-h6ii6-ojp5m-eaquf-7scyj-mmpyu-kxzgv-gqe";

/* Made with `openssl genpkey -algorithm ed25519`; its public key from
 * `openssl pkey -pubout -outform DER | xxd -p`, its principal cross-checked with an
 * independent SHA-224 + CRC-32 + base32 computation. */
static const char OPENSSL_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIEjkgCnqdt0uIBZKks5d0p/0h0dpfDNSAHWp3KS8LTiY\n"
    "-----END PRIVATE KEY-----\n";
static const char OPENSSL_PEM_DER_HEX[] =
    "302a300506032b65700321009743607e4dd51df1df280ae87f3da06428ba1577d561444b3679b8ac7779efa4";
static const char OPENSSL_PEM_PRINCIPAL[] =
    "vdzq3-rp5bj-ff6kg-lqqcq-wovjk-uvmny-trlp2-p56nk-jcamx-uzak5-vae";

/* shared/spec/secp256k1-vectors.json: secp256k1 identities made with
 * @dfinity/identity-secp256k1, the PEM dfx writes for each, and their default accounts. */
static const struct {
    const char *secret_hex, *der_hex, *principal, *account_hex, *dfx_pem;
} K1[] = {
    {"1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d",
     "3056301006072a8648ce3d020106052b8104000a03420004f255ba58f0a89c443d0c5640d05ea156dae365f2"
     "42ba85c175b7694f3b257908126f6bf0f696241191d0fb544e31ecc5ad35fa8cdbb5630848bc36a062791351",
     "gzz6w-6mgxc-ljs46-rd4db-abceu-zxzup-gdg3k-7d4pe-n7ukc-s5s7r-3ae",
     "92a6cfad5b0d9c4537c9abe5418bba70e2b73080295955da6ee68875e07292f0",
     "-----BEGIN EC PARAMETERS-----\n"
     "BgUrgQQACg==\n"
     "-----END EC PARAMETERS-----\n"
     "-----BEGIN EC PRIVATE KEY-----\n"
     "MHQCAQEEIB4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9oAcGBSuBBAAK\n"
     "oUQDQgAE8lW6WPConEQ9DFZA0F6hVtrjZfJCuoXBdbdpTzsleQgSb2vw9pYkEZHQ\n"
     "+1ROMezFrTX6jNu1YwhIvDagYnkTUQ==\n"
     "-----END EC PRIVATE KEY-----\n"},
    {"292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748",
     "3056301006072a8648ce3d020106052b8104000a03420004b16b9419011ff7e2257c6dc44511ed9c355a1306"
     "3300a5b8eaa83c95542c9b36cdc3347a9f53fa4d804c9aa3a25e82bbae2336f24bdb580f8346f9784d047dea",
     "5ulfd-uirmv-igek6-3txsc-a2btf-ybusd-n7m6o-vbxyx-q6f6b-vkcaq-lae",
     "433a2e2483ba09c9fc4ce9ba474d3973398c6227b005fd3af8e70c1fce44ee92",
     "-----BEGIN EC PARAMETERS-----\n"
     "BgUrgQQACg==\n"
     "-----END EC PARAMETERS-----\n"
     "-----BEGIN EC PRIVATE KEY-----\n"
     "MHQCAQEEICkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdIoAcGBSuBBAAK\n"
     "oUQDQgAEsWuUGQEf9+IlfG3ERRHtnDVaEwYzAKW46qg8lVQsmzbNwzR6n1P6TYBM\n"
     "mqOiXoK7riM28kvbWA+DRvl4TQR96g==\n"
     "-----END EC PRIVATE KEY-----\n"},
    {"3435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f50515253",
     "3056301006072a8648ce3d020106052b8104000a0342000498bf5e209712e9ed38a400bddce0f73aff59ada0"
     "7d83ae269cca57fee26956aa4f0a3a1d9e29ce4a435180c512e6366f3736450061473e315d93a297d29d0d5b",
     "uuw5o-izccp-y7thc-v6c6r-4f253-zbzbe-oabg5-sfhif-zzbpt-f4xf6-xae",
     "131a61e70b53740a39f057133fc24b5a6c8e6f93fc12b879b31b993eb18a9ee5",
     "-----BEGIN EC PARAMETERS-----\n"
     "BgUrgQQACg==\n"
     "-----END EC PARAMETERS-----\n"
     "-----BEGIN EC PRIVATE KEY-----\n"
     "MHQCAQEEIDQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJToAcGBSuBBAAK\n"
     "oUQDQgAEmL9eIJcS6e04pAC93OD3Ov9ZraB9g64mnMpX/uJpVqpPCjodninOSkNR\n"
     "gMUS5jZvNzZFAGFHPjFdk6KX0p0NWw==\n"
     "-----END EC PRIVATE KEY-----\n"},
};
#define NK1 (sizeof K1 / sizeof K1[0])

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_keyfile.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[512];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void path_in_dir(const char *name, char out[512])
{
    snprintf(out, 512, "%s/%s", dir, name);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

static void seed_from_hex(const char *hex, uint8_t seed[32])
{
    ck_assert_int_eq(hex_decode(hex, strlen(hex), seed, 32), 32);
}

static void assert_der_hex(const identity_t *id, const char *expected)
{
    char hex[2 * PUBLIC_KEY_DER_MAX + 1];
    hex_encode(id->der, id->der_len, hex);
    ck_assert_str_eq(hex, expected);
}

static void assert_principal(const identity_t *id, const char *expected)
{
    char text[PRINCIPAL_TEXT_MAX];
    principal_to_text(&id->principal, text);
    ck_assert_str_eq(text, expected);
}

static void assert_same_identity(const identity_t *a, const identity_t *b)
{
    ck_assert_int_eq(a->type, b->type);
    ck_assert_uint_eq(a->der_len, b->der_len);
    ck_assert_mem_eq(a->sk, b->sk, sizeof a->sk);
    ck_assert_mem_eq(a->pk, b->pk, sizeof a->pk);
    ck_assert_mem_eq(a->der, b->der, a->der_len);
    ck_assert(principal_equal(&a->principal, &b->principal));
}

/* Writes a PEM block with the given label around der. */
static void write_pem_block(const char *path, const char *label, const uint8_t *der, size_t len)
{
    BIO *bio = BIO_new_file(path, "w");
    ck_assert_ptr_nonnull(bio);
    ck_assert_int_eq(PEM_write_bio(bio, label, "", der, (long)len) > 0, 1);
    BIO_free(bio);
}

/* Writes pkey as PKCS#8 PEM ("PRIVATE KEY"), or in the key type's traditional form. */
static void write_pkey(const char *path, EVP_PKEY *pkey, bool traditional)
{
    ck_assert_ptr_nonnull(pkey);
    BIO *bio = BIO_new_file(path, "w");
    ck_assert_ptr_nonnull(bio);
    int rc = traditional
                 ? PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
    ck_assert_int_eq(rc, 1);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
}

static void assert_rejected(const char *path, const char *detail_part)
{
    identity_t id;
    nns_error_t err;
    nns_error_clear(&err);
    ck_assert(!identity_load(path, &id, &err));
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.code, "BadKey");
    ck_assert_msg(strstr(err.detail, detail_part) != NULL, "detail '%s' lacks '%s'", err.detail,
                  detail_part);
}

START_TEST(save_load_round_trip)
{
    char path[512];
    struct stat st;
    identity_t id, loaded;
    nns_error_t err;
    path_in_dir("me.key", path);

    identity_generate(&id);
    ck_assert(identity_save(path, &id, false, &err));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert(identity_load(path, &loaded, &err));
    assert_same_identity(&id, &loaded);

    /* the file is a plain PKCS#8 PEM */
    FILE *f = fopen(path, "r");
    char line[64] = "";
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_str_eq(line, "-----BEGIN PRIVATE KEY-----\n");
}
END_TEST

START_TEST(save_refuses_to_overwrite)
{
    char path[512];
    struct stat st;
    identity_t a, b, loaded;
    nns_error_t err;
    path_in_dir("me.key", path);

    identity_generate(&a);
    identity_generate(&b);
    ck_assert(identity_save(path, &a, false, &err));
    ck_assert(!identity_save(path, &b, false, &err));
    ck_assert_int_eq(err.status, 500);
    ck_assert_str_eq(err.code, "Io");
    ck_assert(strstr(err.detail, "already exists") != NULL);
    ck_assert(identity_load(path, &loaded, &err));
    assert_same_identity(&a, &loaded);

    ck_assert(identity_save(path, &b, true, &err));
    ck_assert(identity_load(path, &loaded, &err));
    assert_same_identity(&b, &loaded);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);

    /* no temporary files are left behind */
    DIR *d = opendir(dir);
    int files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        files += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(files, 1);
}
END_TEST

START_TEST(seed_vector)
{
    uint8_t seed[32];
    identity_t id, loaded;
    nns_error_t err;
    char path[512];
    seed_from_hex(VECTOR_SEED_HEX, seed);
    identity_from_seed(seed, &id);
    assert_der_hex(&id, VECTOR_DER_HEX);
    assert_principal(&id, VECTOR_PRINCIPAL);
    ck_assert_mem_eq(id.sk, seed, 32);
    ck_assert_mem_eq(id.sk + 32, id.pk, 32);

    path_in_dir("vector.key", path);
    ck_assert(identity_save(path, &id, false, &err));
    ck_assert(identity_load(path, &loaded, &err));
    assert_principal(&loaded, VECTOR_PRINCIPAL);
}
END_TEST

START_TEST(loads_openssl_genpkey_pem)
{
    char path[512];
    identity_t id;
    nns_error_t err;
    path_in_dir("openssl.pem", path);
    write_text(path, OPENSSL_PEM);
    ck_assert_msg(identity_load(path, &id, &err), "%s", err.detail);
    assert_der_hex(&id, OPENSSL_PEM_DER_HEX);
    assert_principal(&id, OPENSSL_PEM_PRINCIPAL);
}
END_TEST

/* PKCS#8 v2 (OneAsymmetricKey, with the public key) as dfx identities hold it: older ring
 * writes the public key as [1] EXPLICIT BIT STRING, ring >= 0.17 as [1] IMPLICIT. */
static size_t pkcs8_v2(const uint8_t seed[32], const uint8_t pk[32], bool explicit_tag,
                       uint8_t out[96])
{
    static const uint8_t head_explicit[] = {0x30, 0x53, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06,
                                            0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
    static const uint8_t head_implicit[] = {0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06,
                                            0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
    static const uint8_t mid_explicit[] = {0xa1, 0x23, 0x03, 0x21, 0x00};
    static const uint8_t mid_implicit[] = {0x81, 0x21, 0x00};
    size_t n = 0;
    memcpy(out, explicit_tag ? head_explicit : head_implicit, 16);
    n += 16;
    memcpy(out + n, seed, 32);
    n += 32;
    if (explicit_tag) {
        memcpy(out + n, mid_explicit, sizeof mid_explicit);
        n += sizeof mid_explicit;
    } else {
        memcpy(out + n, mid_implicit, sizeof mid_implicit);
        n += sizeof mid_implicit;
    }
    memcpy(out + n, pk, 32);
    return n + 32;
}

START_TEST(loads_pkcs8_v2)
{
    uint8_t seed[32], der[96];
    identity_t expected, id;
    nns_error_t err;
    char path[512];
    seed_from_hex(VECTOR_SEED_HEX, seed);
    identity_from_seed(seed, &expected);
    path_in_dir("v2.pem", path);

    for (int explicit_tag = 0; explicit_tag <= 1; explicit_tag++) {
        size_t len = pkcs8_v2(seed, expected.pk, explicit_tag, der);
        write_pem_block(path, "PRIVATE KEY", der, len);
        ck_assert_msg(identity_load(path, &id, &err), "%s", err.detail);
        assert_same_identity(&expected, &id);
        assert_principal(&id, VECTOR_PRINCIPAL);

        /* a public key that does not belong to the seed is refused */
        uint8_t wrong_pk[32];
        memcpy(wrong_pk, expected.pk, 32);
        wrong_pk[0] ^= 1;
        len = pkcs8_v2(seed, wrong_pk, explicit_tag, der);
        write_pem_block(path, "PRIVATE KEY", der, len);
        assert_rejected(path, "does not match");
    }
}
END_TEST

START_TEST(rejects_garbage_and_missing)
{
    char path[512];
    path_in_dir("garbage.pem", path);
    write_text(path, "this is not a key\n");
    assert_rejected(path, "not a PEM file");

    write_text(path, "");
    assert_rejected(path, "not a PEM file");

    /* right label, wrong contents */
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    write_pem_block(path, "PRIVATE KEY", junk, sizeof junk);
    assert_rejected(path, "not a well-formed PKCS#8 key");

    path_in_dir("missing.pem", path);
    assert_rejected(path, "cannot read key file");
}
END_TEST

START_TEST(rejects_other_key_types)
{
    char path[512];
    path_in_dir("other.pem", path);

    write_pkey(path, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024), false);
    assert_rejected(path, "'RSA' key");

    write_pkey(path, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), false);
    assert_rejected(path, "'EC' key");

    write_pkey(path, EVP_PKEY_Q_keygen(NULL, NULL, "ED448"), false);
    assert_rejected(path, "'ED448' key");

    write_pkey(path, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024), true);
    assert_rejected(path, "'RSA PRIVATE KEY'");
}
END_TEST

START_TEST(rejects_encrypted_key_without_prompting)
{
    char path[512];
    uint8_t seed[32];
    path_in_dir("encrypted.pem", path);
    seed_from_hex(VECTOR_SEED_HEX, seed);
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    ck_assert_ptr_nonnull(pkey);
    BIO *bio = BIO_new_file(path, "w");
    ck_assert_ptr_nonnull(bio);
    char pass[] = "secret";
    ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), pass,
                                                   (int)strlen(pass), NULL, NULL),
                     1);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    assert_rejected(path, "'ENCRYPTED PRIVATE KEY'");
}
END_TEST

START_TEST(public_key_files)
{
    char path[512];
    uint8_t seed[32], der[ED25519_DER_BYTES];
    identity_t id;
    nns_error_t err;
    struct stat st;
    seed_from_hex(VECTOR_SEED_HEX, seed);
    identity_from_seed(seed, &id);
    path_in_dir("vector.pub", path);

    ck_assert(public_key_save(path, id.der, &err));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    ck_assert(public_key_load(path, der, &err));
    ck_assert_mem_eq(der, id.der, sizeof der);

    FILE *f = fopen(path, "r");
    char text[128] = "";
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(text, sizeof text, f));
    fclose(f);
    ck_assert_int_eq(strlen(text), 2 * ED25519_DER_BYTES + 1);
    ck_assert_int_eq(strncmp(text, VECTOR_DER_HEX, 2 * ED25519_DER_BYTES), 0);

    write_text(path, "302a3005\n");
    ck_assert(!public_key_load(path, der, &err));
    ck_assert_int_eq(err.status, 400);
    /* the right length but not an Ed25519 DER prefix */
    write_text(path, "ff2a300506032b6570032100af3d20264f9c26ef085b5ce537f417d424037a0963a6386ff6d05"
                     "0e5bf773714\n");
    ck_assert(!public_key_load(path, der, &err));
    /* a NULL err is allowed */
    ck_assert(!public_key_load(path, der, NULL));
}
END_TEST

START_TEST(load_or_create)
{
    char key_path[512], pub_path[512];
    struct stat st;
    identity_t first, again, loaded;
    uint8_t der[ED25519_DER_BYTES];
    nns_error_t err;
    path_in_dir("ledger.key", key_path);
    path_in_dir("ledger.pub", pub_path);

    ck_assert_msg(identity_load_or_create(dir, "ledger", &first, &err), "%s", err.detail);
    ck_assert_int_eq(stat(key_path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert(identity_load(key_path, &loaded, &err));
    assert_same_identity(&first, &loaded);
    ck_assert(public_key_load(pub_path, der, &err));
    ck_assert_mem_eq(der, first.der, sizeof der);

    /* the second call loads the same key, and restores a missing .pub */
    ck_assert_int_eq(unlink(pub_path), 0);
    ck_assert(identity_load_or_create(dir, "ledger", &again, &err));
    assert_same_identity(&first, &again);
    ck_assert(public_key_load(pub_path, der, &err));
    ck_assert_mem_eq(der, first.der, sizeof der);

    /* a broken key file is reported, not replaced */
    write_text(key_path, "garbage\n");
    ck_assert(!identity_load_or_create(dir, "ledger", &again, &err));
    ck_assert_str_eq(err.code, "BadKey");
}
END_TEST

START_TEST(load_or_create_makes_the_folder)
{
    char sub[512], key_path[600];
    identity_t id;
    nns_error_t err;
    struct stat st;
    path_in_dir("keys", sub);
    ck_assert(identity_load_or_create(sub, "cmc", &id, &err));
    snprintf(key_path, sizeof key_path, "%s/cmc.key", sub);
    ck_assert_int_eq(stat(key_path, &st), 0);
    snprintf(key_path, sizeof key_path, "%s/cmc.pub", sub);
    ck_assert_int_eq(stat(key_path, &st), 0);
    unlink(key_path);
    snprintf(key_path, sizeof key_path, "%s/cmc.key", sub);
    unlink(key_path);
    ck_assert_int_eq(rmdir(sub), 0);
}
END_TEST

/* ---- secp256k1 ------------------------------------------------------------------------------ */

static void k1_expected(size_t i, identity_t *id)
{
    uint8_t sk[32];
    ck_assert_int_eq(hex_decode(K1[i].secret_hex, 64, sk, sizeof sk), 32);
    ck_assert(identity_from_secp256k1_secret(sk, id));
}

START_TEST(secp256k1_vector_identity)
{
    identity_t id;
    k1_expected((size_t)_i, &id);
    ck_assert_int_eq(id.type, KEY_SECP256K1);
    ck_assert_uint_eq(id.der_len, SECP256K1_DER_BYTES);
    assert_der_hex(&id, K1[_i].der_hex);
    assert_principal(&id, K1[_i].principal);
    account_id_t aid;
    char hex[ACCOUNT_HEX_LEN + 1], text[ICRC1_TEXT_MAX];
    account_id_of(&id.principal, NULL, &aid);
    account_id_to_hex(&aid, hex);
    ck_assert_str_eq(hex, K1[_i].account_hex);
    icrc1_account_t acc = {.owner = id.principal};
    icrc1_account_to_text(&acc, text);
    ck_assert_str_eq(text, K1[_i].principal); /* icrc1_text: default subaccount */
}
END_TEST

START_TEST(secp256k1_imports_dfx_pem)
{
    char path[512];
    identity_t want, id;
    nns_error_t err;
    k1_expected((size_t)_i, &want);

    /* as dfx writes it: EC PARAMETERS, then EC PRIVATE KEY */
    path_in_dir("dfx.pem", path);
    write_text(path, K1[_i].dfx_pem);
    ck_assert_msg(identity_load(path, &id, &err), "%s", err.detail);
    assert_same_identity(&id, &want);
    assert_principal(&id, K1[_i].principal);

    /* without the EC PARAMETERS block */
    const char *sec1 = strstr(K1[_i].dfx_pem, "-----BEGIN EC PRIVATE KEY-----");
    ck_assert_ptr_nonnull(sec1);
    write_text(path, sec1);
    ck_assert_msg(identity_load(path, &id, &err), "%s", err.detail);
    assert_same_identity(&id, &want);

    /* the same key as PKCS#8 ("PRIVATE KEY"), as `openssl pkcs8 -topk8 -nocrypt` writes it */
    BIO *in = BIO_new_mem_buf(K1[_i].dfx_pem, -1);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    BIO_free(in);
    path_in_dir("pkcs8.pem", path);
    write_pkey(path, pkey, false);
    ck_assert_msg(identity_load(path, &id, &err), "%s", err.detail);
    assert_same_identity(&id, &want);
}
END_TEST

START_TEST(secp256k1_saves_what_dfx_writes)
{
    char path[512], text[1024];
    identity_t id, loaded;
    nns_error_t err;
    k1_expected((size_t)_i, &id);
    path_in_dir("saved.pem", path);
    ck_assert(identity_save(path, &id, false, &err));
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    ck_assert_str_eq(text, K1[_i].dfx_pem);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert(identity_load(path, &loaded, &err));
    assert_same_identity(&loaded, &id);
}
END_TEST

START_TEST(secp256k1_generate_round_trip)
{
    char path[512];
    identity_t id, loaded;
    nns_error_t err;
    identity_generate_secp256k1(&id);
    ck_assert_int_eq(id.type, KEY_SECP256K1);
    path_in_dir("fresh.pem", path);
    ck_assert(identity_save(path, &id, false, &err));
    ck_assert_msg(identity_load(path, &loaded, &err), "%s", err.detail);
    assert_same_identity(&loaded, &id);
}
END_TEST

START_TEST(secp256k1_rejects_bad_keys)
{
    char path[512];
    path_in_dir("bad.pem", path);

    /* another curve, in both forms */
    write_pkey(path, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), true);
    assert_rejected(path, "curve 'prime256v1'");
    write_pkey(path, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), false);
    assert_rejected(path, "curve 'prime256v1'");

    /* a public key that is not the secret key's: identity 1's point in identity 0's file */
    uint8_t sec1[118], other[SECP256K1_DER_BYTES];
    BIO *in = BIO_new_mem_buf(K1[0].dfx_pem, -1);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long len = 0;
    for (;;) {
        ck_assert_int_eq(PEM_read_bio(in, &name, &header, &der, &len), 1);
        if (strcmp(name, "EC PRIVATE KEY") == 0)
            break;
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
    }
    ck_assert_int_eq(len, (long)sizeof sec1);
    memcpy(sec1, der, sizeof sec1);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(in);
    ck_assert_int_eq(hex_decode(K1[1].der_hex, strlen(K1[1].der_hex), other, sizeof other),
                     SECP256K1_DER_BYTES);
    memcpy(sec1 + sizeof sec1 - 65, other + SECP256K1_DER_BYTES - 65, 65);
    write_pem_block(path, "EC PRIVATE KEY", sec1, sizeof sec1);
    assert_rejected(path, "does not match its private key");

    /* a secret key of zero */
    memset(sec1 + 7, 0, 32);
    write_pem_block(path, "EC PRIVATE KEY", sec1, sizeof sec1);
    assert_rejected(path, "key file");
}
END_TEST

START_TEST(secp256k1_is_never_a_service_key)
{
    char path[512];
    identity_t id;
    nns_error_t err;
    path_in_dir("ledger.key", path);
    write_text(path, K1[0].dfx_pem);
    nns_error_clear(&err);
    ck_assert(!identity_load_or_create(dir, "ledger", &id, &err));
    ck_assert_str_eq(err.code, "BadKey");
    ck_assert_msg(strstr(err.detail, "service keys are Ed25519") != NULL, "%s", err.detail);
}
END_TEST

/* Asserts that auth gives the requests signed by `who` the caller `want`. */
static void assert_caller(auth_t *a, const identity_t *who, const principal_t *want,
                          const char *what)
{
    principal_t caller;
    auth_caller(a, who->der, who->der_len, &caller);
    ck_assert_msg(principal_equal(&caller, want), "%s", what);
}

/* Asserts that requests signed by the key `cmc` have the cmc's canister principal. */
static void assert_cmc_trusted(auth_t *a, const identity_t *cmc, const char *what)
{
    principal_t canister;
    principal_canister(CANISTER_CMC, &canister);
    assert_caller(a, cmc, &canister, what);
}

/* A new auth over the test folder, which has already seen a request of a new user key. */
static auth_t *auth_with_user(identity_t *user)
{
    auth_t *a = auth_new(dir);
    ck_assert_ptr_nonnull(a);
    identity_generate(user);
    assert_caller(a, user, &user->principal, "a user key is its own principal");
    return a;
}

/* The sequence of `make run`: the ledger reads the folder, the cmc starts a moment later and
 * writes its key, and the cmc's first request (a burn) must already have the cmc's principal
 * as caller; with a one-second re-read throttle alone it had the key's own principal. */
START_TEST(service_key_written_after_start_is_trusted_at_once)
{
    identity_t cmc, user;
    nns_error_t err;
    auth_t *a = auth_with_user(&user);
    ck_assert(identity_load_or_create(dir, "cmc", &cmc, &err));
    assert_cmc_trusted(a, &cmc, "a key written after the last read is trusted");
    assert_caller(a, &user, &user.principal, "a user key is still its own principal");
    auth_destroy(&a);
    ck_assert_ptr_null(a);
}
END_TEST

/* The folder is held open between reads: one removed and made again (a fresh `make run` after
 * `make clean`) is followed at once, not from the next once-a-second read. */
START_TEST(service_key_in_a_remade_folder_is_trusted_at_once)
{
    identity_t cmc, user;
    nns_error_t err;
    auth_t *a = auth_with_user(&user);
    remove_dir();
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    assert_caller(a, &user, &user.principal, "the empty folder made again is read");
    ck_assert(identity_load_or_create(dir, "cmc", &cmc, &err));
    assert_cmc_trusted(a, &cmc, "a key in the folder made again is trusted");
    auth_destroy(&a);
}
END_TEST

static Suite *keyfile_suite(void)
{
    Suite *s = suite_create("keyfile");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, make_dir, remove_dir);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, save_refuses_to_overwrite);
    tcase_add_test(tc, seed_vector);
    tcase_add_test(tc, loads_openssl_genpkey_pem);
    tcase_add_test(tc, loads_pkcs8_v2);
    tcase_add_test(tc, rejects_garbage_and_missing);
    tcase_add_test(tc, rejects_other_key_types);
    tcase_add_test(tc, rejects_encrypted_key_without_prompting);
    tcase_add_test(tc, public_key_files);
    tcase_add_test(tc, load_or_create);
    tcase_add_test(tc, load_or_create_makes_the_folder);
    tcase_add_test(tc, service_key_written_after_start_is_trusted_at_once);
    tcase_add_test(tc, service_key_in_a_remade_folder_is_trusted_at_once);
    suite_add_tcase(s, tc);
    tc = tcase_create("secp256k1");
    tcase_add_checked_fixture(tc, make_dir, remove_dir);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, secp256k1_vector_identity, 0, (int)NK1);
    tcase_add_loop_test(tc, secp256k1_imports_dfx_pem, 0, (int)NK1);
    tcase_add_loop_test(tc, secp256k1_saves_what_dfx_writes, 0, (int)NK1);
    tcase_add_test(tc, secp256k1_generate_round_trip);
    tcase_add_test(tc, secp256k1_rejects_bad_keys);
    tcase_add_test(tc, secp256k1_is_never_a_service_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (!crypto_init())
        return EXIT_FAILURE;
    SRunner *sr = srunner_create(keyfile_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
