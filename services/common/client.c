#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "clock.h"
#include "hex.h"
#include "sign.h"

#define CONNECT_TIMEOUT_MS 10000L
/* A write waits for its round to commit; stay well below the signature's 2-minute expiry so a
 * caller can still resend the same signed bytes after a timeout. */
#define REQUEST_TIMEOUT_MS 60000L

struct nns_client {
    CURL *curl;
    char *base_url;
    bool has_identity;
    identity_t identity;
    long connect_timeout_ms, request_timeout_ms;
    const atomic_bool *cancel;
};

/* A growing response buffer, always NUL-terminated once data arrived. */
typedef struct {
    char *data;
    size_t len, cap;
    bool too_large;
    bool out_of_memory;
} response_buffer_t;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe in every libcurl version: run it exactly once. It is
 * never undone; the process exit reclaims it. */
static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

nns_client_t *nns_client_new(const char *base_url, const identity_t *id)
{
    nns_client_t *c = NULL;
    if (!base_url ||
        (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0))
        return NULL;
    if (pthread_once(&curl_once, curl_init_once) != 0 || curl_init_result != CURLE_OK)
        return NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        goto fail;
    c->base_url = strdup(base_url);
    c->curl = curl_easy_init();
    if (!c->base_url || !c->curl)
        goto fail;
    size_t len = strlen(c->base_url);
    while (len > 0 && c->base_url[len - 1] == '/')
        c->base_url[--len] = '\0';
    if (id) {
        c->identity = *id;
        c->has_identity = true;
    }
    c->connect_timeout_ms = CONNECT_TIMEOUT_MS;
    c->request_timeout_ms = REQUEST_TIMEOUT_MS;
    return c;
fail:
    nns_client_destroy(&c);
    return NULL;
}

void nns_client_destroy(nns_client_t **c)
{
    if (!c || !*c)
        return;
    if ((*c)->curl)
        curl_easy_cleanup((*c)->curl);
    free((*c)->base_url);
    OPENSSL_cleanse(&(*c)->identity, sizeof(*c)->identity);
    free(*c);
    *c = NULL;
}

void nns_client_set_timeouts(nns_client_t *c, long connect_ms, long total_ms)
{
    c->connect_timeout_ms = connect_ms > 0 ? connect_ms : CONNECT_TIMEOUT_MS;
    c->request_timeout_ms = total_ms > 0 ? total_ms : REQUEST_TIMEOUT_MS;
}

void nns_client_set_cancel(nns_client_t *c, const atomic_bool *cancel)
{
    c->cancel = cancel;
}

/* libcurl's progress callback: a non-zero return aborts the transfer. */
static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const atomic_bool *cancel = user;
    return atomic_load(cancel) ? 1 : 0;
}

bool nns_client_sign(const nns_client_t *c, const char *method, const char *path_and_query,
                     const char *body, uint64_t expiry_nanos, nns_signature_t *out,
                     nns_error_t *err)
{
    if (!c->has_identity)
        return nns_error_set(err, 400, "BadRequest",
                             "cannot sign '%s %s': the client has no identity", method,
                             path_and_query);
    const char *b = body ? body : "";
    hex_encode(c->identity.der, c->identity.der_len, out->public_key_hex);
    snprintf(out->expiry, sizeof out->expiry, "%" PRIu64, expiry_nanos);
    identity_sign_request(&c->identity, method, path_and_query, expiry_nanos, (const uint8_t *)b,
                          strlen(b), out->signature_hex);
    return true;
}

static size_t on_response_data(char *data, size_t size, size_t nmemb, void *user)
{
    response_buffer_t *r = user;
    size_t n = size * nmemb;
    if (r->len + n > (size_t)NNS_CLIENT_MAX_RESPONSE_BYTES) {
        r->too_large = true;
        return 0; /* aborts the transfer */
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *grown = realloc(r->data, cap);
        if (!grown) {
            r->out_of_memory = true;
            return 0;
        }
        r->data = grown;
        r->cap = cap;
    }
    memcpy(r->data + r->len, data, n);
    r->len += n;
    r->data[r->len] = '\0';
    return n;
}

/* A method is an upper-case token; a path starts with '/' and is printable ASCII without
 * spaces, so nothing can be smuggled into the request line or the headers. */
static bool request_is_well_formed(const char *method, const char *path, nns_error_t *err)
{
    if (!method || !*method || strlen(method) > 16)
        return nns_error_set(err, 400, "BadRequest", "bad HTTP method");
    for (const char *p = method; *p; p++)
        if (*p < 'A' || *p > 'Z')
            return nns_error_set(err, 400, "BadRequest", "bad HTTP method '%s'", method);
    if (!path || path[0] != '/')
        return nns_error_set(err, 400, "BadRequest", "path '%s' does not start with '/'",
                             path ? path : "");
    for (const char *p = path; *p; p++)
        if (*p <= ' ' || *p > '~')
            return nns_error_set(err, 400, "BadRequest",
                                 "path '%s' holds a space or a non-printable character", path);
    return true;
}

/* Fills err from a non-2xx response: the problem body's code, detail and u64 payload fields
 * (JSON strings of digits), or a generic "HttpError". */
static void error_from_response(long status, const char *method, const char *path, const char *body,
                                nns_error_t *err)
{
    json_t *problem = body ? json_loads(body, 0, NULL) : NULL;
    json_t *code = json_object_get(problem, "code");
    json_t *detail = json_object_get(problem, "detail");
    json_t *title = json_object_get(problem, "title");
    const char *text = json_is_string(detail)  ? json_string_value(detail)
                       : json_is_string(title) ? json_string_value(title)
                                               : NULL;
    if (text)
        nns_error_set(err, (int)status,
                      json_is_string(code) ? json_string_value(code) : "HttpError", "%s", text);
    else
        nns_error_set(err, (int)status,
                      json_is_string(code) ? json_string_value(code) : "HttpError",
                      "'%s %s' answered HTTP %ld", method, path, status);
    const char *key;
    json_t *value;
    json_object_foreach(problem, key, value)
    {
        const char *s = json_string_value(value);
        if (!s || !*s || strlen(s) > 20 || strspn(s, "0123456789") != strlen(s))
            continue;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == 0 && *end == '\0')
            nns_error_add(err, key, (uint64_t)v);
    }
    json_decref(problem);
}

int nns_client_request(nns_client_t *c, const char *method, const char *path_and_query,
                       const char *body, bool sign, long *http_status, char **response_body,
                       nns_error_t *err)
{
    int rc = -1;
    char *url = NULL;
    struct curl_slist *headers = NULL, *more;
    response_buffer_t response = {0};
    long status = 0;
    char line[256];

    if (http_status)
        *http_status = 0;
    if (response_body)
        *response_body = NULL;
    nns_error_clear(err);
    if (!request_is_well_formed(method, path_and_query, err))
        goto fail;
    if (asprintf(&url, "%s%s", c->base_url, path_and_query) < 0) {
        url = NULL;
        nns_error_set(err, 500, "Internal", "out of memory");
        goto fail;
    }

#define ADD_HEADER(text)                                                                           \
    do {                                                                                           \
        if (!(more = curl_slist_append(headers, (text)))) {                                        \
            nns_error_set(err, 500, "Internal", "out of memory");                                  \
            goto fail;                                                                             \
        }                                                                                          \
        headers = more;                                                                            \
    } while (0)

    ADD_HEADER("Accept: application/json");
    ADD_HEADER("Expect:"); /* no 100-continue round trip for larger bodies */
    if (body)
        ADD_HEADER("Content-Type: application/json");
    if (sign) {
        nns_signature_t s;
        uint64_t expiry = clock_wall_nanos() + NNS_CLIENT_EXPIRY_NANOS;
        if (!nns_client_sign(c, method, path_and_query, body, expiry, &s, err))
            goto fail;
        snprintf(line, sizeof line, "X-Public-Key: %s", s.public_key_hex);
        ADD_HEADER(line);
        snprintf(line, sizeof line, "X-Expiry: %s", s.expiry);
        ADD_HEADER(line);
        snprintf(line, sizeof line, "X-Signature: %s", s.signature_hex);
        ADD_HEADER(line);
    }
#undef ADD_HEADER

    /* Reset clears the previous request's options but keeps the live connection. */
    CURL *h = c->curl;
    curl_easy_reset(h);
    bool ok = curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->request_timeout_ms) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_USERAGENT, "nns-client/1") == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_response_data) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEDATA, &response) == CURLE_OK;
    if (ok && c->cancel)
        ok = curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)(uintptr_t)c->cancel) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
    if (ok && body) {
        ok = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) ==
                 CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) == CURLE_OK;
        if (ok && strcmp(method, "POST") != 0)
            ok = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    } else if (ok && strcmp(method, "POST") == 0) {
        ok = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_POSTFIELDS, "") == CURLE_OK;
    } else if (ok && strcmp(method, "GET") != 0) {
        ok = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    }
    if (!ok) {
        nns_error_set(err, 500, "Internal", "cannot set up the request to '%s'", url);
        goto fail;
    }

    CURLcode res = curl_easy_perform(h);
    if (response.out_of_memory) {
        nns_error_set(err, 500, "Internal", "out of memory reading the response of '%s %s'", method,
                      path_and_query);
        goto fail;
    }
    if (response.too_large) {
        nns_error_set(err, 502, "BadResponse", "response of '%s %s' is larger than %ld bytes",
                      method, path_and_query, NNS_CLIENT_MAX_RESPONSE_BYTES);
        goto fail;
    }
    if (res != CURLE_OK) {
        nns_error_set(err, 503, "Unavailable", "request '%s %s' to '%s' failed: %s", method,
                      path_and_query, c->base_url, curl_easy_strerror(res));
        goto fail;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (!response.data && !(response.data = strdup(""))) {
        nns_error_set(err, 500, "Internal", "out of memory");
        goto fail;
    }
    if (status >= 200 && status < 300)
        rc = 0;
    else
        error_from_response(status, method, path_and_query, response.data, err);
    if (http_status)
        *http_status = status;
    if (response_body) {
        *response_body = response.data;
        response.data = NULL;
    }
fail:
    free(response.data);
    curl_slist_free_all(headers);
    free(url);
    return rc;
}
