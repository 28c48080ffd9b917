/*
 * check_signed_request: sends one signed request byte for byte, for the shell tests
 * (tests/integration/test_review_fixes.sh). Not a Check suite, and tests/e2e/run.sh does not
 * run it: it is a tool the tests call once per request.
 *
 *   check_signed_request --print-account SEED
 *       prints the default account (64 hex) of the identity of SEED
 *   check_signed_request --print-principal SEED
 *       prints the principal (text) of the identity of SEED
 *   check_signed_request --url BASE --seed SEED --target TARGET [--signed-target SIGNED]
 *                        [--method POST] [--body TEXT] [--expiry NANOS] [--out PREFIX]
 *                        [--header 'NAME: VALUE']
 *       signs (METHOD, SIGNED, EXPIRY, BODY) as the identity of SEED, sends METHOD BASE+TARGET
 *       with that body and the X-Public-Key, X-Expiry and X-Signature headers, and prints the
 *       status code on stdout. SIGNED defaults to TARGET; EXPIRY to the wall clock + 120 s. The
 *       target goes out exactly as given (no normalisation, no percent-decoding), and the same
 *       arguments always make the same bytes (Ed25519 signatures are deterministic). With
 *       --out, the response's header block goes to PREFIX.headers and its body to PREFIX.body.
 *       --source ADDR sends from that local address (127.0.0.2: another client address).
 *   check_signed_request --print-headers --seed SEED --target TARGET [--method POST]
 *                        [--body TEXT] [--expiry NANOS]
 *       signs as above and sends nothing: prints {"X-Public-Key", "X-Expiry", "X-Signature"}
 *       as one JSON object (for a browser page that sends the request itself).
 *
 * The identity of SEED is identity_from_seed(SHA-256(SEED)). Exit status: 0 when a response
 * came (whatever its status), 1 when none did, 2 on a usage error.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "crypto.h"
#include "hex.h"
#include "keyfile.h"
#include "sign.h"

#define SECOND 1000000000ULL

typedef struct {
    FILE *f; /* NULL: discard */
} sink_t;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sink_t *s = ud;
    if (s->f && fwrite(p, size, n, s->f) != n)
        return 0;
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sink_t *s = ud;
    /* keep only the final response's header block (after a 100 Continue, start again) */
    if (s->f && size * n >= 5 && strncmp(p, "HTTP/", 5) == 0 && fseek(s->f, 0, SEEK_SET) == 0 &&
        ftruncate(fileno(s->f), 0) != 0)
        return 0;
    return on_data(p, size, n, ud);
}

static void identity_of_seed(const char *text, identity_t *id)
{
    uint8_t seed[32];
    sha256(text, strlen(text), seed);
    identity_from_seed(seed, id);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 20)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static uint64_t wall_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * SECOND + (uint64_t)ts.tv_nsec;
}

static FILE *open_out(const char *prefix, const char *suffix)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s.%s", prefix, suffix) >= (int)sizeof path)
        return NULL;
    FILE *f = fopen(path, "w+b");
    if (!f)
        perror(path);
    return f;
}

static int usage(void)
{
    fprintf(stderr, "usage: check_signed_request --print-account SEED | --print-principal SEED\n"
                    "       check_signed_request --url BASE --seed SEED --target TARGET\n"
                    "              [--signed-target SIGNED] [--method POST] [--body TEXT]\n"
                    "              [--expiry NANOS] [--out PREFIX] [--header 'NAME: VALUE']\n"
                    "              [--source ADDR]\n"
                    "       check_signed_request --print-headers --seed SEED --target TARGET\n"
                    "              [--method POST] [--body TEXT] [--expiry NANOS]\n");
    return 2;
}

static const char *extra_header;   /* --header: one more request header, "Name: value" */
static const char *source_address; /* --source: the local address to send from */
static bool print_headers;         /* --print-headers: sign, print the headers, send nothing */

static int send_signed(const char *url_base, const identity_t *id, const char *method,
                       const char *target, const char *signed_target, const char *body,
                       uint64_t expiry, const char *out_prefix)
{
    char pk[2 * PUBLIC_KEY_DER_MAX + 1], sig[129];
    hex_encode(id->der, id->der_len, pk);
    size_t body_len = body ? strlen(body) : 0;
    identity_sign_request(id, method, signed_target, expiry, (const uint8_t *)(body ? body : ""),
                          body_len, sig);
    char h_pk[16 + 2 * PUBLIC_KEY_DER_MAX], h_expiry[64], h_sig[192], *url = NULL;
    snprintf(h_pk, sizeof h_pk, "X-Public-Key: %s", pk);
    snprintf(h_expiry, sizeof h_expiry, "X-Expiry: %" PRIu64, expiry);
    snprintf(h_sig, sizeof h_sig, "X-Signature: %s", sig);
    if (print_headers) {
        printf("{\"X-Public-Key\": \"%s\", \"X-Expiry\": \"%" PRIu64
               "\", \"X-Signature\": \"%s\"}\n",
               pk, expiry, sig);
        return 0;
    }
    if (asprintf(&url, "%s%s", url_base, target) < 0)
        return 1;

    sink_t hs = {NULL}, bs = {NULL};
    if (out_prefix &&
        (!(hs.f = open_out(out_prefix, "headers")) || !(bs.f = open_out(out_prefix, "body")))) {
        if (hs.f)
            fclose(hs.f);
        free(url);
        return 1;
    }
    CURL *c = curl_easy_init();
    struct curl_slist *list = NULL;
    list = curl_slist_append(list, h_pk);
    list = curl_slist_append(list, h_expiry);
    list = curl_slist_append(list, h_sig);
    if (body)
        list = curl_slist_append(list, "Content-Type: application/json");
    list = curl_slist_append(list, "Expect:"); /* no 100 Continue round trip */
    if (extra_header)
        list = curl_slist_append(list, extra_header);
    int rc = 1;
    if (c && list) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &bs);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &hs);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
        if (source_address)
            curl_easy_setopt(c, CURLOPT_INTERFACE, source_address);
        if (body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        CURLcode cr = curl_easy_perform(c);
        long status = 0;
        if (cr == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
            printf("%ld\n", status);
            rc = 0;
        } else {
            fprintf(stderr, "check_signed_request: %s %s: %s\n", method, target,
                    curl_easy_strerror(cr));
        }
    }
    curl_slist_free_all(list);
    if (c)
        curl_easy_cleanup(c);
    free(url);
    if (hs.f && fclose(hs.f) != 0)
        rc = 1;
    if (bs.f && fclose(bs.f) != 0)
        rc = 1;
    return rc;
}

int main(int argc, char **argv)
{
    enum {
        O_PRINT = 1,
        O_URL,
        O_SEED,
        O_TARGET,
        O_SIGNED,
        O_METHOD,
        O_BODY,
        O_EXPIRY,
        O_OUT,
        O_HEADER,
        O_SOURCE,
        O_PRINT_HEADERS,
        O_PRINT_PRINCIPAL
    };
    static const struct option opts[] = {
        {"print-account", required_argument, NULL, O_PRINT},
        {"url", required_argument, NULL, O_URL},
        {"seed", required_argument, NULL, O_SEED},
        {"target", required_argument, NULL, O_TARGET},
        {"signed-target", required_argument, NULL, O_SIGNED},
        {"method", required_argument, NULL, O_METHOD},
        {"body", required_argument, NULL, O_BODY},
        {"expiry", required_argument, NULL, O_EXPIRY},
        {"out", required_argument, NULL, O_OUT},
        {"header", required_argument, NULL, O_HEADER},
        {"source", required_argument, NULL, O_SOURCE},
        {"print-headers", no_argument, NULL, O_PRINT_HEADERS},
        {"print-principal", required_argument, NULL, O_PRINT_PRINCIPAL},
        {NULL, 0, NULL, 0},
    };
    const char *print = NULL, *print_principal = NULL, *url = NULL, *seed = NULL, *target = NULL,
               *signed_target = NULL;
    const char *method = "POST", *body = NULL, *expiry_text = NULL, *out = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_PRINT:
            print = optarg;
            break;
        case O_URL:
            url = optarg;
            break;
        case O_SEED:
            seed = optarg;
            break;
        case O_TARGET:
            target = optarg;
            break;
        case O_SIGNED:
            signed_target = optarg;
            break;
        case O_METHOD:
            method = optarg;
            break;
        case O_BODY:
            body = optarg;
            break;
        case O_EXPIRY:
            expiry_text = optarg;
            break;
        case O_OUT:
            out = optarg;
            break;
        case O_HEADER:
            extra_header = optarg;
            break;
        case O_SOURCE:
            source_address = optarg;
            break;
        case O_PRINT_HEADERS:
            print_headers = true;
            break;
        case O_PRINT_PRINCIPAL:
            print_principal = optarg;
            break;
        default:
            return usage();
        }
    }
    if (optind != argc)
        return usage();
    if (!crypto_init()) {
        fprintf(stderr, "check_signed_request: cannot initialise libsodium\n");
        return 1;
    }
    identity_t id;
    if (print_principal) {
        char text[PRINCIPAL_TEXT_MAX];
        identity_of_seed(print_principal, &id);
        principal_to_text(&id.principal, text);
        puts(text);
        return 0;
    }
    if (print) {
        char hex[ACCOUNT_HEX_LEN + 1];
        account_id_t account;
        identity_of_seed(print, &id);
        account_id_of(&id.principal, NULL, &account);
        account_id_to_hex(&account, hex);
        puts(hex);
        return 0;
    }
    if ((!url && !print_headers) || !seed || !target)
        return usage();
    uint64_t expiry = wall_nanos() + 120 * SECOND;
    if (expiry_text && !parse_u64(expiry_text, &expiry)) {
        fprintf(stderr, "check_signed_request: --expiry '%s' is not a u64\n", expiry_text);
        return 2;
    }
    identity_of_seed(seed, &id);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "check_signed_request: cannot initialise libcurl\n");
        return 1;
    }
    int rc = send_signed(url, &id, method, target, signed_target ? signed_target : target, body,
                         expiry, out);
    curl_global_cleanup();
    return rc;
}
