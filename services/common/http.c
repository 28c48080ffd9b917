#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "allocfail.h"
#include "budget.h"
#include "clock.h"
#include "log.h"

#define MAX_PARAMS 4
#define MAX_HEADERS 8
#define DEFAULT_MAX_BODY (256 * 1024)
/* Each connection's memory pool (request line, headers, read and write buffers; bodies are
 * copied out as they arrive). libmicrohttpd zeroes the whole pool between the requests of a
 * keep-alive connection: its default 32 KB made that memset 3% of the CPU at 256 connections. */
#define CONNECTION_POOL_BYTES (16 * 1024)

#define DEFAULT_HEADER_TIMEOUT_S 10
#define DEFAULT_BODY_TIMEOUT_S 10
/* Subjects the refusal budget remembers at most (budget.h): about 64 bytes each. */
#define BUDGET_SLOTS (64 * 1024)
/* How often the reaper looks for connections past their deadline. */
#define REAPER_PERIOD_MS 200
#define TRACK_SHARDS 16

/* The headers a browser may send on a cross-origin request, and the ones it may read. */
#define CORS_ALLOW_HEADERS "Content-Type, X-Public-Key, X-Expiry, X-Signature"
#define CORS_EXPOSE_HEADERS "ETag, X-Replayed, X-Next-Cursor, Retry-After, X-Request-Id"
#define CORS_MAX_AGE "600"
#define MAX_CORS_ORIGINS 32

enum { REQ_RUNNING, REQ_SUSPENDED, REQ_READY };

/* One open connection, for the header and body deadlines: created when libmicrohttpd accepts
 * it, linked in a shard's list (a mutex per shard, taken on open and close only), freed when it
 * closes. Its deadline is an atomic the HTTP thread that owns the connection moves (headers due,
 * body due, none while a request runs) and the reaper reads. */
typedef struct conn_track {
    struct conn_track *prev, *next;
    int fd;
    unsigned shard;
    _Atomic uint64_t deadline; /* wall nanos; 0: none */
} conn_track_t;

typedef struct {
    pthread_mutex_t lock;
    conn_track_t *head;
} track_shard_t;

static const double LATENCY_BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,   0.25,   0.5,   1.0,  2.5};
#define NBUCKETS (sizeof LATENCY_BUCKETS / sizeof LATENCY_BUCKETS[0])

/* Requests that matched no route are counted by method, from this list ("other" for the rest),
 * so a client cannot create series at will. */
static const char *const UNMATCHED_METHODS[] = {"GET",    "HEAD",    "POST",  "PUT",
                                                "DELETE", "OPTIONS", "PATCH", "other"};
#define NUNMATCHED (sizeof UNMATCHED_METHODS / sizeof UNMATCHED_METHODS[0])
/* Longest method and pattern a route may have: its metric labels fit LABEL_BYTES. */
#define MAX_METHOD_LEN 16
#define MAX_PATTERN_LEN 200
#define LABEL_BYTES 320

/* The counters of one route (or of the unmatched requests of one method). Written by the HTTP
 * threads with relaxed atomic adds, read by a scrape. buckets are not cumulative: a request
 * counts in the first bucket that holds its latency (NBUCKETS: above the last bound); the scrape
 * sums them up. */
typedef struct {
    _Atomic uint64_t classes[6]; /* index status/100; 0: anything else */
    _Atomic uint64_t buckets[NBUCKETS + 1];
    _Atomic uint64_t sum_us;
} route_stats_t;

struct http_server {
    struct MHD_Daemon *daemon;
    http_config_t cfg;
    const http_route_t *routes;
    size_t nroutes;
    void *app;
    replay_cache_t *replay;
    int access_fd; /* -1: no access log */
    _Atomic bool ready;
    _Atomic uint64_t next_id;
    /* metrics: nroutes rows for the routes, then NUNMATCHED rows */
    route_stats_t *stats;
    _Atomic uint64_t replayed;
    /* hostile clients */
    budget_t *budget; /* NULL: no refusal budget */
    uint64_t header_timeout_ns, body_timeout_ns;
    unsigned connection_limit;
    track_shard_t tracks[TRACK_SHARDS];
    _Atomic unsigned next_track_shard;
    pthread_t reaper;
    bool reaper_started;
    pthread_mutex_t reaper_lock;
    pthread_cond_t reaper_wake;
    bool reaper_stop;
    _Atomic uint64_t timed_out, budget_refused, replay_full, refusals_charged;
    /* CORS: any origin, or the listed ones (pointers into cors_text) */
    bool cors_any;
    char *cors_text;
    const char *cors[MAX_CORS_ORIGINS];
    size_t ncors;
};

struct http_request {
    http_server_t *srv;
    void *attached; /* http_request_attach(): freed with the request */
    void (*attached_free)(void *ctx, void *p);
    void *attached_ctx;
    struct MHD_Connection *conn;
    const struct sockaddr *peer; /* libmicrohttpd's, valid for the connection's life */
    uint64_t id, start_ns;
    char *target; /* raw request target, as sent */
    const char *method, *path;
    bool started, dispatched, too_large;
    unsigned long long declared; /* the body's Content-Length; 0: none */
    char *body;
    size_t body_len, body_cap;
    const http_route_t *route;
    conn_track_t *track; /* the connection's deadlines; NULL when unknown */
    const char *early_code; /* refused from its headers alone: code, status, detail */
    int early_status;
    char early_detail[96];
    char *params[MAX_PARAMS];
    bool signed_ok;
    sign_verified_t sig;
    principal_t caller;
    bool replay_owner; /* holds the in-flight replay entry of sig.replay_key */
    _Atomic int state;
    /* the answer */
    int status;
    const char *content_type;
    char *resp;
    size_t resp_len;
    bool replayed;
    allocfail_t alloc; /* the test build's allocation counter (allocfail.h) */
    bool logged; /* a 5xx answer already logged with its detail */
    int nheaders;
    char *headers[MAX_HEADERS][2];
};

/* ---- answering ---- */

static void set_answer(http_request_t *req, int status, const char *ctype, char *body, size_t len)
{
    req->status = status;
    req->content_type = ctype;
    req->resp = body;
    req->resp_len = len;
    int prev = atomic_exchange(&req->state, REQ_READY);
    if (prev == REQ_SUSPENDED)
        MHD_resume_connection(req->conn);
}

static char *dup_bytes(const char *body, size_t len)
{
    char *b = malloc(len + 1);
    if (b) {
        memcpy(b, body, len);
        b[len] = '\0';
    }
    return b;
}

/* Answers req with body: owned (malloc'd, len + 1 bytes with a final NUL) is taken as the
 * answer's own copy, else body is copied. */
static void answer_owned(http_request_t *req, int status, const char *ctype, const char *body,
                         size_t len, bool committed, char *owned)
{
    if (req->replay_owner) {
        req->replay_owner = false;
        if (committed)
            replay_commit(req->srv->replay, req->sig.replay_key, status, body, len);
        else
            replay_abandon(req->srv->replay, req->sig.replay_key, status, body, len);
    }
    char *copy = owned ? owned : dup_bytes(body, len);
    if (!copy) {
        static const char oom[] = "{\"status\":503,\"code\":\"Unavailable\"}";
        set_answer(req, 503, "application/problem+json", dup_bytes(oom, sizeof oom - 1),
                   sizeof oom - 1);
        return;
    }
    set_answer(req, status, ctype, copy, len);
}

static void answer(http_request_t *req, int status, const char *ctype, const char *body,
                   size_t len, bool committed)
{
    answer_owned(req, status, ctype, body, len, committed, NULL);
}

void http_respond_raw(http_request_t *req, int status, const char *content_type,
                      const char *body, size_t len)
{
    answer(req, status, content_type, body, len, false);
}

void http_respond_take(http_request_t *req, int status, const char *content_type, char *body,
                       size_t len)
{
    if (!body) {
        answer(req, status, content_type, "", 0, false);
        return;
    }
    answer_owned(req, status, content_type, body, len, false, body);
}

void http_respond_committed(http_request_t *req, int status, const char *body, size_t len)
{
    if (status >= 400 && status < 500 && status != 429)
        http_charge_refusals(req, NULL, 1);
    answer(req, status, status >= 400 ? "application/problem+json" : "application/json", body,
           len, true);
}

void http_request_attach(http_request_t *req, void *p, void (*free_fn)(void *ctx, void *p),
                         void *ctx)
{
    req->attached = p;
    req->attached_free = free_fn;
    req->attached_ctx = ctx;
}

void http_respond_committed_take(http_request_t *req, int status, char *body, size_t len)
{
    if (!body) {
        http_respond_committed(req, status, "", 0);
        return;
    }
    if (status >= 400 && status < 500 && status != 429)
        http_charge_refusals(req, NULL, 1);
    answer_owned(req, status, status >= 400 ? "application/problem+json" : "application/json",
                 body, len, true, body);
}

void http_respond_json(http_request_t *req, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        nns_error_t err;
        nns_error_set(&err, 503, "Unavailable", "out of memory rendering the response");
        http_respond_error(req, &err);
        return;
    }
    answer_owned(req, status, "application/json", text, strlen(text), false, text);
}

static const char *status_title(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Error";
    }
}

/* Copies text with every byte that is not printable ASCII replaced by '?': details may quote
 * user input, which need not be valid UTF-8, and a problem body must always be valid JSON. */
static void printable(const char *text, char *out, size_t cap)
{
    size_t i = 0;
    for (; text[i] && i + 1 < cap; i++)
        out[i] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
    out[i] = '\0';
}

char *http_problem_text(const nns_error_t *err, size_t *len)
{
    char type[80], detail[sizeof err->detail], code[sizeof err->code];
    printable(err->detail, detail, sizeof detail);
    printable(err->code, code, sizeof code);
    snprintf(type, sizeof type, "urn:nns:problem:%s", code);
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title",
                          status_title(err->status), "status", err->status, "detail", detail,
                          "code", code);
    if (!o)
        return NULL;
    for (int i = 0; i < err->npayload; i++) {
        char v[24];
        snprintf(v, sizeof v, "%llu", (unsigned long long)err->payload[i].value);
        json_object_set_new(o, err->payload[i].name, json_string(v));
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text && len)
        *len = strlen(text);
    return text;
}

void http_respond_error(http_request_t *req, const nns_error_t *err)
{
    size_t len = 0;
    char *text = http_problem_text(err, &len);
    bool has_retry_after = false;
    for (int i = 0; i < req->nheaders; i++)
        has_retry_after |= req->headers[i][0] && strcmp(req->headers[i][0], "Retry-After") == 0;
    if ((err->status == 503 || err->status == 429) && !has_retry_after)
        http_add_header(req, "Retry-After", "1");
    if (err->status >= 500) {
        http_log_warn(req, "answered %d %s: %s", err->status, err->code, err->detail);
        req->logged = true;
    } else
        http_log_debug(req, "answered %d %s: %s", err->status, err->code, err->detail);
    if (!text) {
        static const char oom[] = "{\"status\":503,\"code\":\"Unavailable\"}";
        answer(req, 503, "application/problem+json", oom, sizeof oom - 1, false);
        return;
    }
    answer_owned(req, err->status, "application/problem+json", text, len, false, text);
}

void http_defer(http_request_t *req)
{
    (void)req; /* the access handler suspends any request still unanswered after dispatch */
}

void http_add_header(http_request_t *req, const char *name, const char *value)
{
    if (req->nheaders >= MAX_HEADERS) {
        http_log_error(req, "response header '%s' dropped: more than %d headers", name,
                       MAX_HEADERS);
        return;
    }
    req->headers[req->nheaders][0] = strdup(name);
    req->headers[req->nheaders][1] = strdup(value);
    req->nheaders++;
}

static void replay_waiter_done(void *waiter, int status, const char *body, size_t len,
                               bool committed)
{
    http_request_t *req = waiter;
    req->replayed = committed;
    answer(req, status, status >= 400 ? "application/problem+json" : "application/json", body,
           len, false);
}

/* ---- reading ---- */

uint64_t http_request_id(const http_request_t *req) { return req->id; }

http_server_t *http_request_server(const http_request_t *req) { return req->srv; }

void http_peer(const http_request_t *req, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    const struct sockaddr *sa = req->peer;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof host)) {
            snprintf(out, cap, "%s:%u", host, (unsigned)ntohs(in->sin_port));
            return;
        }
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host)) {
            snprintf(out, cap, "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
            return;
        }
    }
    snprintf(out, cap, "-");
}

void http_log(log_level_t level, const http_request_t *req, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    /* method and path are capped (a path is the client's to choose); log.c turns any control
     * character into '?' */
    char peer[INET6_ADDRSTRLEN + 8], context[LABEL_BYTES];
    http_peer(req, peer, sizeof peer);
    snprintf(context, sizeof context,
             "req=%llu %.16s %.200s peer=%s: ", (unsigned long long)req->id,
             req->method ? req->method : "-", req->path ? req->path : req->target, peer);
    va_list ap;
    va_start(ap, fmt);
    log_vwrite_context(level, context, fmt, ap);
    va_end(ap);
}

const char *http_param(const http_request_t *req, int i)
{
    return i >= 0 && i < MAX_PARAMS ? req->params[i] : NULL;
}

const char *http_query(const http_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct {
    const char *name;
    const char **out;
    size_t max, n;
} query_all_t;

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    query_all_t *q = cls;
    (void)kind;
    if (key && strcmp(key, q->name) == 0) {
        if (q->n < q->max)
            q->out[q->n] = value ? value : "";
        q->n++;
    }
    return MHD_YES;
}

size_t http_query_all(const http_request_t *req, const char *name, const char **out, size_t max)
{
    query_all_t q = {.name = name, .out = out, .max = max, .n = 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    return q.n;
}

const char *http_header(const http_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const uint8_t *http_body(const http_request_t *req, size_t *len)
{
    *len = req->body_len;
    return (const uint8_t *)(req->body ? req->body : "");
}

const sign_verified_t *http_signature(const http_request_t *req)
{
    return req->signed_ok ? &req->sig : NULL;
}

const principal_t *http_caller(const http_request_t *req)
{
    return req->signed_ok ? &req->caller : NULL;
}

/* ---- refusal budget ---- */

/* The budget key of a client address: an IPv4 address (also when mapped into IPv6), or the /64
 * of an IPv6 address (one host may hold a whole /64). Returns its length; 0 when unknown. */
static size_t address_key(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        memcpy(out, &in->sin_addr, 4);
        return 4;
    }
    if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            memcpy(out, in6->sin6_addr.s6_addr + 12, 4);
            return 4;
        }
        memcpy(out, in6->sin6_addr.s6_addr, 8);
        return 8;
    }
    return 0;
}

static uint64_t monotonic_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void http_charge_refusals(http_request_t *req, const principal_t *signer, unsigned n)
{
    budget_t *b = req->srv->budget;
    if (!b || n == 0)
        return;
    uint64_t now = monotonic_nanos();
    if (!signer && req->signed_ok)
        signer = &req->caller;
    if (signer)
        budget_charge(b, BUDGET_SIGNER, signer->bytes, signer->len, n, now);
    uint8_t addr[16];
    size_t alen = address_key(req->peer, addr);
    if (alen)
        budget_charge(b, BUDGET_ADDRESS, addr, alen, n, now);
    atomic_fetch_add_explicit(&req->srv->refusals_charged, n, memory_order_relaxed);
}

bool http_refusals_admit(http_request_t *req, const principal_t *signer, unsigned *retry_after_s)
{
    budget_t *b = req->srv->budget;
    if (!b)
        return true;
    uint64_t now = monotonic_nanos();
    if (!signer && req->signed_ok)
        signer = &req->caller;
    unsigned wait_signer = 0, wait_address = 0;
    bool ok = !signer ||
              budget_admit(b, BUDGET_SIGNER, signer->bytes, signer->len, now, &wait_signer);
    uint8_t addr[16];
    size_t alen = address_key(req->peer, addr);
    ok = (alen == 0 || budget_admit(b, BUDGET_ADDRESS, addr, alen, now, &wait_address)) && ok;
    if (!ok && retry_after_s)
        *retry_after_s = wait_signer > wait_address ? wait_signer : wait_address;
    return ok;
}

/* Answers a write that may not run now (a refusal budget spent, the replay cache full): 429
 * TemporarilyUnavailable with Retry-After, or, when the same bytes were answered and committed
 * before, that answer (it costs nothing new). */
static void refuse_for_now(http_request_t *req, unsigned retry_after_s, const char *why)
{
    int status = 0;
    char *body = NULL;
    size_t len = 0;
    if (replay_peek(req->srv->replay, req->sig.replay_key, &status, &body, &len) ==
        REPLAY_COMMITTED) {
        req->replayed = true;
        answer(req, status, status >= 400 ? "application/problem+json" : "application/json", body,
               len, false);
        free(body);
        return;
    }
    free(body);
    char secs[16];
    snprintf(secs, sizeof secs, "%u", retry_after_s ? retry_after_s : 1);
    http_add_header(req, "Retry-After", secs);
    nns_error_t err;
    nns_error_set(&err, 429, "TemporarilyUnavailable", "%s; retry in %s s", why, secs);
    http_respond_error(req, &err);
}

/* ---- dispatch ---- */

enum { ROUTE_NO_MATCH, ROUTE_MATCH, ROUTE_NO_MEMORY };

/* Matches path against pattern; fills params (malloc'd) on a match. */
static int match_route(const char *pattern, const char *path, char **params)
{
    int result = ROUTE_NO_MATCH;
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (p[0] == '{' && p[1] == '}') {
            const char *end = strchr(s, '/');
            size_t n = end ? (size_t)(end - s) : strlen(s);
            if (n == 0 || np >= MAX_PARAMS)
                goto fail;
            params[np] = strndup(s, n);
            if (!params[np++]) {
                result = ROUTE_NO_MEMORY;
                goto fail;
            }
            s += n;
            p += 2;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            goto fail;
        }
    }
    if (*p == '\0' && *s == '\0')
        return ROUTE_MATCH;
fail:
    for (int i = 0; i < np; i++) {
        free(params[i]);
        params[i] = NULL;
    }
    return result;
}

/* The value of Access-Control-Allow-Origin for this request's Origin, or NULL. */
static const char *allowed_origin(const http_request_t *req)
{
    const http_server_t *srv = req->srv;
    if (srv->cors_any)
        return "*";
    const char *origin = http_header(req, "Origin");
    for (size_t i = 0; origin && i < srv->ncors; i++)
        if (strcmp(origin, srv->cors[i]) == 0)
            return origin;
    return NULL;
}

/* OPTIONS on a routed path: 204 with Allow, and for a browser's preflight from an allowed
 * origin the methods and headers it may use (queue_answer adds the origin). allow lists the
 * path's methods. */
static void answer_preflight(http_request_t *req, const char *allow)
{
    char methods[80];
    snprintf(methods, sizeof methods, "%s, OPTIONS", allow);
    http_add_header(req, "Allow", methods);
    if (allowed_origin(req) && http_header(req, "Access-Control-Request-Method")) {
        http_add_header(req, "Access-Control-Allow-Methods", methods);
        http_add_header(req, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
        http_add_header(req, "Access-Control-Max-Age", CORS_MAX_AGE);
    }
    http_respond_raw(req, 204, "text/plain", "", 0);
}

const char *http_signed_target(const char *target, const char *path)
{
    /* The signed target runs from "/v1/" in the path (a proxy may strip a prefix) to the end,
     * query included. Its path must be exactly the path that was routed: no percent-encoding,
     * so one signed request cannot be routed as another. */
    size_t path_end = strcspn(target, "?");
    const char *pq = target;
    for (size_t i = 0; i + 4 <= path_end; i++)
        if (memcmp(target + i, "/v1/", 4) == 0) {
            pq = target + i;
            break;
        }
    size_t signed_path_len = path_end - (size_t)(pq - target);
    if (strlen(path) != signed_path_len || memcmp(pq, path, signed_path_len) != 0)
        return NULL;
    return pq;
}

static void dispatch(http_request_t *req)
{
    http_server_t *srv = req->srv;
    nns_error_t err;
    if (req->track)
        atomic_store_explicit(&req->track->deadline, 0, memory_order_relaxed);
    if (req->too_large) {
        nns_error_set(&err, 413, "PayloadTooLarge", "request body larger than %zu bytes",
                      srv->cfg.max_body);
        http_respond_error(req, &err);
        return;
    }
    bool path_matched = false;
    char allow[64] = "";
    for (const http_route_t *r = srv->routes; r->method; r++) {
        char *params[MAX_PARAMS] = {0};
        int m = match_route(r->pattern, req->path, params);
        if (m == ROUTE_NO_MEMORY) {
            nns_error_set(&err, 503, "Unavailable", "out of memory");
            http_respond_error(req, &err);
            return;
        }
        if (m == ROUTE_NO_MATCH)
            continue;
        if (strcmp(r->method, req->method) != 0) {
            path_matched = true;
            if (!strstr(allow, r->method) && strlen(allow) + strlen(r->method) + 3 < sizeof allow)
                snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                         allow[0] ? ", " : "", r->method);
            for (int i = 0; i < MAX_PARAMS; i++)
                free(params[i]);
            continue;
        }
        req->route = r;
        memcpy(req->params, params, sizeof params);
        break;
    }
    if (!req->route && path_matched && strcmp(req->method, "OPTIONS") == 0) {
        answer_preflight(req, allow);
        return;
    }
    if (!req->route) {
        if (path_matched) {
            nns_error_set(&err, 405, "MethodNotAllowed", "method '%s' not allowed on '%s'",
                          req->method, req->path);
            http_add_header(req, "Allow", allow);
        } else
            nns_error_set(&err, 404, "NotFound", "no resource at '%s'", req->path);
        http_respond_error(req, &err);
        return;
    }
    unsigned flags = req->route->flags;
    if (!(flags & HTTP_ANYTIME) && !atomic_load(&srv->ready)) {
        nns_error_set(&err, 503, "Unavailable", "the %s is not ready (starting or stopping)",
                      srv->cfg.service);
        http_respond_error(req, &err);
        return;
    }
    if ((flags & HTTP_WRITE) && srv->cfg.read_only) {
        nns_error_set(&err, 403, "NotAuthorized", "this instance is read-only");
        http_respond_error(req, &err);
        return;
    }
    sign_headers_t h = {http_header(req, "X-Public-Key"), http_header(req, "X-Expiry"),
                        http_header(req, "X-Signature")};
    bool present = h.public_key_hex || h.expiry || h.signature_hex;
    if ((flags & HTTP_SIGNED) || ((flags & HTTP_SIGNED_OPTIONAL) && present)) {
        const char *pq = http_signed_target(req->target, req->path);
        if (!pq) {
            nns_error_set(&err, 401, "Unauthenticated",
                          "the request path of a signed request must not be percent-encoded");
            http_respond_error(req, &err);
            return;
        }
        if (!sign_verify(&h, req->method, pq, strlen(pq), (const uint8_t *)req->body,
                         req->body_len, clock_wall_nanos(), &req->sig, &err)) {
            http_respond_error(req, &err);
            return;
        }
        req->signed_ok = true;
        auth_caller(srv->cfg.auth, req->sig.der, req->sig.der_len, &req->caller);
    }
    if ((flags & HTTP_WRITE) && req->signed_ok) {
        unsigned retry_after = 0;
        if (!http_refusals_admit(req, NULL, &retry_after)) {
            atomic_fetch_add_explicit(&srv->budget_refused, 1, memory_order_relaxed);
            refuse_for_now(req, retry_after,
                           "too many refused writes from this signer or address");
            return;
        }
        int status = 0;
        char *body = NULL;
        size_t len = 0;
        switch (replay_begin(srv->replay, req->sig.replay_key, req->sig.expiry_nanos, req,
                             &status, &body, &len)) {
        case REPLAY_COMMITTED:
            req->replayed = true;
            answer(req, status, status >= 400 ? "application/problem+json" : "application/json",
                   body, len, false);
            free(body);
            return;
        case REPLAY_WAITING:
            return; /* answered when the original finishes */
        case REPLAY_ERROR:
            nns_error_set(&err, 503, "Unavailable", "out of memory; retry the same request");
            http_respond_error(req, &err);
            return;
        case REPLAY_FULL:
            atomic_fetch_add_explicit(&srv->replay_full, 1, memory_order_relaxed);
            refuse_for_now(req, 1, "the replay cache is full");
            return;
        case REPLAY_NEW:
            req->replay_owner = true;
            break;
        }
    }
    req->route->handler(req, srv->app);
}

/* The row of srv->stats a request counts in: its route's, else its method's unmatched row. */
static route_stats_t *stats_of(const http_request_t *req)
{
    http_server_t *srv = req->srv;
    if (req->route)
        return &srv->stats[req->route - srv->routes];
    size_t i = 0;
    while (i + 1 < NUNMATCHED && (!req->method || strcmp(req->method, UNMATCHED_METHODS[i]) != 0))
        i++;
    return &srv->stats[srv->nroutes + i];
}

static void count_answer(const http_request_t *req)
{
    route_stats_t *st = stats_of(req);
    int cls = req->status / 100;
    atomic_fetch_add_explicit(&st->classes[cls >= 1 && cls <= 5 ? cls : 0], 1,
                              memory_order_relaxed);
    double secs = (double)(clock_wall_nanos() - req->start_ns) / 1e9;
    size_t b = 0;
    while (b < NBUCKETS && secs > LATENCY_BUCKETS[b])
        b++;
    atomic_fetch_add_explicit(&st->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->sum_us, (uint64_t)(secs * 1e6), memory_order_relaxed);
}

static enum MHD_Result queue_answer(http_request_t *req)
{
    http_server_t *srv = req->srv;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(req->resp_len, req->resp, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    req->resp = NULL;
    MHD_add_response_header(resp, "Content-Type", req->content_type);
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)req->id);
    MHD_add_response_header(resp, "X-Request-Id", id);
    if (req->replayed) {
        MHD_add_response_header(resp, "X-Replayed", "true");
        atomic_fetch_add(&srv->replayed, 1);
    }
    const char *origin = allowed_origin(req);
    if (origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    }
    if (!srv->cors_any)
        MHD_add_response_header(resp, "Vary", "Origin");
    for (int i = 0; i < req->nheaders; i++)
        if (req->headers[i][0] && req->headers[i][1])
            MHD_add_response_header(resp, req->headers[i][0], req->headers[i][1]);
#ifdef NNS_ALLOC_FAIL
    if (req->alloc.fail_at) {
        char count[24];
        snprintf(count, sizeof count, "%llu", (unsigned long long)atomic_load(&req->alloc.count));
        MHD_add_response_header(resp, "X-Alloc-Count", count);
        MHD_add_response_header(resp, "X-Alloc-Failed",
                                atomic_load(&req->alloc.failed) ? "yes" : "no");
    }
#endif
    enum MHD_Result r = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);

    count_answer(req);
    if (req->status >= 500 && !req->logged)
        http_log_warn(req, "answered %d", req->status);
    return r;
}

/* What the framing headers of a request say, gathered in one pass over its headers. */
typedef struct {
    int content_lengths;   /* Content-Length headers */
    bool conflicting;      /* two of them differ */
    const char *first_length;
    const char *transfer_encoding;
} framing_t;

static enum MHD_Result on_framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    (void)kind;
    framing_t *f = cls;
    if (!key || !value)
        return MHD_YES;
    if (strcasecmp(key, "Content-Length") == 0) {
        if (f->content_lengths++ && strcmp(value, f->first_length) != 0)
            f->conflicting = true;
        else if (!f->first_length)
            f->first_length = value;
    } else if (strcasecmp(key, "Transfer-Encoding") == 0 && !f->transfer_encoding) {
        f->transfer_encoding = value;
    }
    return MHD_YES;
}

/* Refuses a request from its headers alone, before any of its body is read, so that a body
 * that will never come holds nothing (request smuggling behind a proxy, an impossible length, an
 * encoding libmicrohttpd cannot read). Returns false and fills req->early_* to refuse. */
static bool check_framing(http_request_t *req)
{
    framing_t f = {0};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, on_framing_header, &f);
    if (f.conflicting) {
        req->early_status = 400;
        req->early_code = "BadRequest";
        snprintf(req->early_detail, sizeof req->early_detail,
                 "conflicting Content-Length headers");
        return false;
    }
    if (f.transfer_encoding && strcasecmp(f.transfer_encoding, "chunked") != 0) {
        req->early_status = 501;
        req->early_code = "NotImplemented";
        snprintf(req->early_detail, sizeof req->early_detail,
                 "transfer encoding '%.40s' is not supported", f.transfer_encoding);
        return false;
    }
    if (f.transfer_encoding && f.content_lengths) {
        req->early_status = 400;
        req->early_code = "BadRequest";
        snprintf(req->early_detail, sizeof req->early_detail,
                 "both Content-Length and Transfer-Encoding");
        return false;
    }
    unsigned long long declared = f.first_length ? strtoull(f.first_length, NULL, 10) : 0;
    req->declared = declared;
    if (declared > req->srv->cfg.max_body) {
        req->early_status = 413;
        req->early_code = "PayloadTooLarge";
        snprintf(req->early_detail, sizeof req->early_detail,
                 "request body larger than %zu bytes", req->srv->cfg.max_body);
        return false;
    }
    return true;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    (void)version;
    http_server_t *srv = cls;
    http_request_t *req = *req_cls;
    if (!req)
        return MHD_NO; /* the URI callback could not allocate */
    if (!req->started) {
        req->started = true;
        req->conn = conn;
        req->method = method;
        req->path = url;
        if (req->track) /* the headers are in: the body is due */
            atomic_store_explicit(&req->track->deadline, req->start_ns + srv->body_timeout_ns,
                                  memory_order_relaxed);
        if (!check_framing(req)) {
            /* answered at once; libmicrohttpd closes the connection, the body unread */
            nns_error_t err;
            nns_error_set(&err, req->early_status, req->early_code, "%s", req->early_detail);
            req->dispatched = true;
            if (req->track)
                atomic_store_explicit(&req->track->deadline, 0, memory_order_relaxed);
            http_respond_error(req, &err);
            return queue_answer(req);
        }
        /* the length check_framing read (a second lookup walked the headers again) */
        if (req->declared > 0 && (req->body = malloc(req->declared + 1)) != NULL) {
            req->body[0] = '\0'; /* the body arrives in pieces: one buffer, no regrowth */
            req->body_cap = req->declared + 1;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->too_large || req->body_len + n > srv->cfg.max_body) {
            req->too_large = true;
            return MHD_YES;
        }
        if (req->body_len + n + 1 > req->body_cap) {
            size_t cap = req->body_cap ? req->body_cap : 1024;
            while (cap < req->body_len + n + 1)
                cap *= 2;
            char *b = realloc(req->body, cap);
            if (!b)
                return MHD_NO;
            req->body = b;
            req->body_cap = cap;
        }
        memcpy(req->body + req->body_len, upload_data, n);
        req->body_len += n;
        req->body[req->body_len] = '\0';
        return MHD_YES;
    }
    if (!req->dispatched) {
        req->dispatched = true;
        dispatch(req);
        if (atomic_load(&req->state) != REQ_READY) {
            MHD_suspend_connection(conn);
            int expected = REQ_RUNNING;
            if (!atomic_compare_exchange_strong(&req->state, &expected, REQ_SUSPENDED))
                MHD_resume_connection(conn); /* answered meanwhile */
            return MHD_YES;
        }
    }
    if (atomic_load(&req->state) != REQ_READY)
        return MHD_YES;
    return queue_answer(req);
}

allocfail_t *http_request_allocfail(http_request_t *req)
{
    return req && req->alloc.fail_at ? &req->alloc : NULL;
}

/* Every call for a request runs with the request's allocation counter attached (the test
 * build; allocfail.h), armed by its X-Fail-Alloc header. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
#ifdef NNS_ALLOC_FAIL
    http_request_t *req = *req_cls;
    if (req && !req->started) {
        const char *n = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Fail-Alloc");
        req->alloc.fail_at = n ? strtoull(n, NULL, 10) : 0;
    }
    allocfail_t *prev = allocfail_attach(http_request_allocfail(req));
    enum MHD_Result r =
        handle_request(cls, conn, url, method, version, upload_data, upload_data_size, req_cls);
    allocfail_attach(prev);
    return r;
#else
    return handle_request(cls, conn, url, method, version, upload_data, upload_data_size, req_cls);
#endif
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    http_server_t *srv = cls;
    http_request_t *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->srv = srv;
    req->conn = conn;
    const union MHD_ConnectionInfo *ci =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    req->peer = ci ? ci->client_addr : NULL;
    const union MHD_ConnectionInfo *sc =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    req->track = sc ? sc->socket_context : NULL;
    req->id = atomic_fetch_add(&srv->next_id, 1) + 1;
    req->start_ns = clock_wall_nanos();
    req->target = strdup(uri ? uri : "");
    if (!req->target) {
        free(req);
        return NULL;
    }
    return req;
}

/* Appends text to out[*len] (not beyond out[cap - 1]) with the bytes that would break a logfmt
 * field (space, quote, backslash, control and non-ASCII bytes) percent-encoded; a '%' is
 * kept as sent. Returns false when it had to stop early. */
static bool append_field(char *out, size_t *len, size_t cap, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        bool plain = *p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\';
        if (*len + (plain ? 1 : 3) >= cap)
            return false;
        if (plain)
            out[(*len)++] = (char)*p;
        else {
            out[(*len)++] = '%';
            out[(*len)++] = hex[*p >> 4];
            out[(*len)++] = hex[*p & 15];
        }
    }
    return true;
}

/* One access-log line for a request that is over, with one write(2) (O_APPEND: lines from
 * several threads never interleave). A target too long for the line is cut, marked "...". */
static void access_log_line(const http_request_t *req)
{
    char line[4096], peer[INET6_ADDRSTRLEN + 8];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    http_peer(req, peer, sizeof peer);
    int n = snprintf(line, sizeof line,
                     "time=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ req=%llu peer=%s method=",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, (unsigned long long)req->id, peer);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    size_t len = (size_t)n;
    /* room kept for the rest: " target=", "...", status, bytes, duration, replayed, newline */
    const size_t tail_room = 160;
    append_field(line, &len, len + 3 * MAX_METHOD_LEN, req->method ? req->method : "-");
    memcpy(line + len, " target=", 8);
    len += 8;
    if (!append_field(line, &len, sizeof line - tail_room, req->target)) {
        memcpy(line + len, "...", 3);
        len += 3;
    }
    double ms = (double)(clock_wall_nanos() - req->start_ns) / 1e6;
    n = snprintf(line + len, sizeof line - len, " status=%d bytes=%zu ms=%.3f replayed=%s\n",
                 req->status, req->resp_len, ms, req->replayed ? "true" : "false");
    if (n < 0 || (size_t)n >= sizeof line - len)
        return; /* cannot happen: tail_room holds the longest tail */
    len += (size_t)n;
    ssize_t w = write(req->srv->access_fd, line, len);
    (void)w; /* a full disk must not fail the request */
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    http_request_t *req = *req_cls;
    if (!req)
        return;
    if (req->srv->access_fd >= 0)
        access_log_line(req);
    if (req->track) /* the next request's headers are due */
        atomic_store_explicit(&req->track->deadline,
                              clock_wall_nanos() + req->srv->header_timeout_ns,
                              memory_order_relaxed);
    if (req->replay_owner) {
        /* never answered (connection dropped before the handler answered): the handler still
         * owns the request, so this cannot happen for deferred requests; guard anyway */
        replay_abandon(req->srv->replay, req->sig.replay_key, 503, "", 0);
    }
    if (req->attached_free)
        req->attached_free(req->attached_ctx, req->attached);
    for (int i = 0; i < MAX_PARAMS; i++)
        free(req->params[i]);
    for (int i = 0; i < req->nheaders; i++) {
        free(req->headers[i][0]);
        free(req->headers[i][1]);
    }
    free(req->target);
    free(req->body);
    free(req->resp);
    free(req);
    *req_cls = NULL;
}

/* libmicrohttpd opened or closed a connection: track it for its deadlines. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server_t *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn_track_t *t = ci ? calloc(1, sizeof *t) : NULL;
        if (!t)
            return; /* untracked: libmicrohttpd's idle time-out still applies */
        t->fd = ci->connect_fd;
        t->shard = atomic_fetch_add_explicit(&srv->next_track_shard, 1, memory_order_relaxed) %
                   TRACK_SHARDS;
        atomic_init(&t->deadline, clock_wall_nanos() + srv->header_timeout_ns);
        track_shard_t *sh = &srv->tracks[t->shard];
        pthread_mutex_lock(&sh->lock);
        t->next = sh->head;
        if (sh->head)
            sh->head->prev = t;
        sh->head = t;
        pthread_mutex_unlock(&sh->lock);
        *socket_context = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        /* called before libmicrohttpd closes the socket: once unlinked (under the lock the
         * reaper holds while it shuts sockets down), its descriptor is never touched again */
        conn_track_t *t = *socket_context;
        track_shard_t *sh = &srv->tracks[t->shard];
        pthread_mutex_lock(&sh->lock);
        if (t->prev)
            t->prev->next = t->next;
        else
            sh->head = t->next;
        if (t->next)
            t->next->prev = t->prev;
        pthread_mutex_unlock(&sh->lock);
        free(t);
        *socket_context = NULL;
    }
}

/* The reaper: every REAPER_PERIOD_MS, shuts down the sockets of connections past their
 * deadline (headers or body too slow, or idle too long); libmicrohttpd sees the end of the
 * stream and closes them on its own thread. libmicrohttpd's idle time-out cannot do this: a
 * client sending a byte now and then (slowloris) keeps resetting it. */
static void *reaper_main(void *arg)
{
    http_server_t *srv = arg;
    pthread_mutex_lock(&srv->reaper_lock);
    while (!srv->reaper_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += REAPER_PERIOD_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->reaper_wake, &srv->reaper_lock, &until);
        if (srv->reaper_stop)
            break;
        uint64_t now = clock_wall_nanos();
        uint64_t reaped = 0;
        for (size_t i = 0; i < TRACK_SHARDS; i++) {
            track_shard_t *sh = &srv->tracks[i];
            pthread_mutex_lock(&sh->lock);
            for (conn_track_t *t = sh->head; t; t = t->next) {
                uint64_t d = atomic_load_explicit(&t->deadline, memory_order_relaxed);
                if (d && d < now) {
                    atomic_store_explicit(&t->deadline, 0, memory_order_relaxed);
                    shutdown(t->fd, SHUT_RDWR);
                    reaped++;
                }
            }
            pthread_mutex_unlock(&sh->lock);
        }
        if (reaped) {
            atomic_fetch_add_explicit(&srv->timed_out, reaped, memory_order_relaxed);
            log_debug("closed %llu connections past their header, body or idle deadline",
                      (unsigned long long)reaped);
        }
    }
    pthread_mutex_unlock(&srv->reaper_lock);
    return NULL;
}

/* The connection limit: the one configured, at most the open-file limit less a reserve for
 * everything else the process opens (database connections, logs, key files, epoll and pipes). */
static unsigned connection_limit(unsigned configured)
{
    struct rlimit rl;
    rlim_t files = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        files = rl.rlim_cur;
    else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        files = 1 << 20;
    rlim_t reserve = files / 10 > 64 ? files / 10 : 64;
    rlim_t cap = files > 2 * reserve ? files - reserve : files / 2;
    if (cap < 1)
        cap = 1;
    if (configured && configured < cap)
        return configured;
    if (configured)
        log_warn("--max-connections %u is above the open-file limit %llu less a reserve: using "
                 "%llu",
                 configured, (unsigned long long)files, (unsigned long long)cap);
    return (unsigned)(cap < 1000000 ? cap : 1000000);
}

/* Parses the CORS setting: "*" (or none) for any origin, else a comma-separated list. */
static bool parse_cors(http_server_t *srv, const char *origins, nns_error_t *err)
{
    if (!origins || strcmp(origins, "*") == 0) {
        srv->cors_any = true;
        return true;
    }
    if (!(srv->cors_text = strdup(origins)))
        return nns_error_set(err, 503, "Unavailable", "out of memory");
    char *save = NULL;
    for (char *o = strtok_r(srv->cors_text, ", ", &save); o; o = strtok_r(NULL, ", ", &save)) {
        if (srv->ncors == MAX_CORS_ORIGINS)
            return nns_error_set(err, 503, "Unavailable", "more than %d CORS origins",
                                 MAX_CORS_ORIGINS);
        srv->cors[srv->ncors++] = o;
    }
    return true;
}

static bool parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen,
                         nns_error_t *err)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host || !colon[1])
        return nns_error_set(err, 503, "Unavailable", "listen address '%s' is not HOST:PORT",
                             listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    const char *h = host;
    if (host[0] == '[') { /* [::1]:8081 */
        h = host + 1;
        char *rb = strchr(host, ']');
        if (rb)
            *rb = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE},
                    *res = NULL;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0 || !res)
        return nns_error_set(err, 503, "Unavailable", "cannot resolve listen address '%s'",
                             listen);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

http_server_t *http_server_new(const http_config_t *cfg, const http_route_t *routes, void *app,
                               nns_error_t *err)
{
    http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    srv->cfg = *cfg;
    if (!srv->cfg.max_body)
        srv->cfg.max_body = DEFAULT_MAX_BODY;
    if (!srv->cfg.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        srv->cfg.threads = n > 0 ? (unsigned)n : 1;
    }
    srv->routes = routes;
    srv->app = app;
    srv->access_fd = -1;
    srv->header_timeout_ns =
        (uint64_t)(cfg->header_timeout_s ? cfg->header_timeout_s : DEFAULT_HEADER_TIMEOUT_S) *
        1000000000ULL;
    srv->body_timeout_ns =
        (uint64_t)(cfg->body_timeout_s ? cfg->body_timeout_s : DEFAULT_BODY_TIMEOUT_S) *
        1000000000ULL;
    for (size_t i = 0; i < TRACK_SHARDS; i++)
        pthread_mutex_init(&srv->tracks[i].lock, NULL);
    pthread_mutex_init(&srv->reaper_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->reaper_wake, &ca);
    pthread_condattr_destroy(&ca);
    if (!parse_cors(srv, cfg->cors_origins, err))
        goto fail;
    for (const http_route_t *r = routes; r->method; r++, srv->nroutes++)
        if (strlen(r->method) > MAX_METHOD_LEN || strlen(r->pattern) > MAX_PATTERN_LEN) {
            nns_error_set(err, 503, "Unavailable", "route '%.40s' is longer than %d bytes",
                          r->pattern, MAX_PATTERN_LEN);
            goto fail;
        }
    srv->stats = calloc(srv->nroutes + NUNMATCHED, sizeof *srv->stats);
    srv->replay = replay_cache_new(replay_waiter_done);
    if (cfg->refusal_budget)
        srv->budget = budget_new(cfg->refusal_budget, BUDGET_SLOTS);
    if (!srv->stats || !srv->replay || (cfg->refusal_budget && !srv->budget)) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        goto fail;
    }
    replay_set_ceiling(srv->replay, cfg->replay_max_bytes);
    srv->connection_limit = connection_limit(cfg->max_connections);
    if (cfg->access_log &&
        (srv->access_fd = open(cfg->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) <
            0) {
        nns_error_set(err, 503, "Unavailable", "cannot open the access log '%s': %s",
                      cfg->access_log, strerror(errno));
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if (!parse_listen(cfg->listen, &ss, &sslen, err))
        goto fail;
    if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0) {
        nns_error_set(err, 503, "Unavailable", "cannot start the connection reaper");
        goto fail;
    }
    srv->reaper_started = true;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC |
                     MHD_USE_TURBO | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, srv->cfg.threads, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, srv, MHD_OPTION_CONNECTION_TIMEOUT,
        /* a backstop: the reaper closes connections at their deadlines first */
        (unsigned)((srv->header_timeout_ns + srv->body_timeout_ns) / 1000000000ULL),
        MHD_OPTION_CONNECTION_LIMIT,
        srv->connection_limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        cfg->max_connections_per_address, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)4096, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_POOL_BYTES,
        MHD_OPTION_END);
    if (!srv->daemon) {
        nns_error_set(err, 503, "Unavailable", "cannot listen on '%s'", cfg->listen);
        goto fail;
    }
    log_info("listening on http://%s with %u threads, at most %u connections (%u per address)",
             cfg->listen, srv->cfg.threads, srv->connection_limit,
             cfg->max_connections_per_address);
    return srv;
fail:
    if (srv->reaper_started) {
        pthread_mutex_lock(&srv->reaper_lock);
        srv->reaper_stop = true;
        pthread_cond_signal(&srv->reaper_wake);
        pthread_mutex_unlock(&srv->reaper_lock);
        pthread_join(srv->reaper, NULL);
    }
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    if (srv->access_fd >= 0)
        close(srv->access_fd);
    replay_cache_destroy(&srv->replay);
    budget_destroy(&srv->budget);
    free(srv->cors_text);
    free(srv->stats);
    free(srv);
    return NULL;
}

void http_server_quiesce(http_server_t *server)
{
    if (server)
        MHD_quiesce_daemon(server->daemon);
}

void http_server_destroy(http_server_t **server)
{
    http_server_t *srv = *server;
    if (!srv)
        return;
    if (srv->reaper_started) {
        pthread_mutex_lock(&srv->reaper_lock);
        srv->reaper_stop = true;
        pthread_cond_signal(&srv->reaper_wake);
        pthread_mutex_unlock(&srv->reaper_lock);
        pthread_join(srv->reaper, NULL);
    }
    MHD_stop_daemon(srv->daemon);
    replay_cache_destroy(&srv->replay);
    budget_destroy(&srv->budget);
    if (srv->access_fd >= 0)
        close(srv->access_fd);
    free(srv->cors_text);
    free(srv->stats);
    free(srv);
    *server = NULL;
}

void http_server_set_ready(http_server_t *server, bool ready)
{
    atomic_store(&server->ready, ready);
}

bool http_server_is_ready(http_server_t *server)
{
    return atomic_load(&server->ready);
}

replay_cache_t *http_server_replay(http_server_t *server)
{
    return server->replay;
}

/* Labels of stats row i: method="...",route="..." (patterns and methods are code, checked for
 * length at start; an unmatched method comes from a fixed list). */
static void row_labels(const http_server_t *srv, size_t i, char *out, size_t cap)
{
    if (i < srv->nroutes)
        snprintf(out, cap, "method=\"%s\",route=\"%s\"", srv->routes[i].method,
                 srv->routes[i].pattern);
    else
        snprintf(out, cap, "method=\"%s\",route=\"unmatched\"",
                 UNMATCHED_METHODS[i - srv->nroutes]);
}

static uint64_t load(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

void http_server_metrics(http_server_t *srv, metrics_t *m)
{
    size_t rows = srv->nroutes + NUNMATCHED;
    char base[LABEL_BYTES], labels[LABEL_BYTES + 32];
    metrics_family(m, "nns_http_requests_total", "counter",
                   "answers by route (the matched pattern, or unmatched), method and status "
                   "class");
    for (size_t i = 0; i < rows; i++) {
        route_stats_t *st = &srv->stats[i];
        row_labels(srv, i, base, sizeof base);
        for (int c = 1; c <= 5; c++) {
            uint64_t v = load(&st->classes[c]);
            /* 2xx..5xx of every row from the start: rate() needs the zero */
            if (c >= 2 || v) {
                snprintf(labels, sizeof labels, "%s,class=\"%dxx\"", base, c);
                metrics_u64(m, "nns_http_requests_total", labels, v);
            }
        }
    }
    metrics_family(m, "nns_http_replayed_total", "counter",
                   "answers sent from the replay cache (resends of committed writes)");
    metrics_u64(m, "nns_http_replayed_total", NULL, load(&srv->replayed));
    metrics_family(m, "nns_http_request_seconds", "histogram",
                   "time from the request line to the queued answer, by route and method");
    for (size_t i = 0; i < rows; i++) {
        route_stats_t *st = &srv->stats[i];
        uint64_t buckets[NBUCKETS + 1], count = 0; /* read once: +Inf must equal the count */
        for (size_t b = 0; b <= NBUCKETS; b++)
            count += buckets[b] = load(&st->buckets[b]);
        if (i >= srv->nroutes && count == 0)
            continue;
        row_labels(srv, i, base, sizeof base);
        uint64_t cumulative = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cumulative += buckets[b];
            snprintf(labels, sizeof labels, "%s,le=\"%g\"", base, LATENCY_BUCKETS[b]);
            metrics_u64(m, "nns_http_request_seconds_bucket", labels, cumulative);
        }
        snprintf(labels, sizeof labels, "%s,le=\"+Inf\"", base);
        metrics_u64(m, "nns_http_request_seconds_bucket", labels, count);
        metrics_double(m, "nns_http_request_seconds_sum", base, (double)load(&st->sum_us) / 1e6);
        metrics_u64(m, "nns_http_request_seconds_count", base, count);
    }
    metrics_family(m, "nns_replay_cache_entries", "gauge",
                   "replay-cache entries in memory (committed answers and writes in flight)");
    metrics_double(m, "nns_replay_cache_entries", NULL, (double)replay_count(srv->replay));
    metrics_family(m, "nns_replay_cache_bytes", "gauge",
                   "memory the replay cache's entries and answers hold");
    metrics_double(m, "nns_replay_cache_bytes", NULL, (double)replay_bytes(srv->replay));
    metrics_counter(m, "nns_http_replay_cache_full_total",
                    "writes answered 429 because the replay cache was at its memory ceiling",
                    load(&srv->replay_full));
    metrics_counter(m, "nns_http_refusal_budget_total",
                    "writes answered 429 because their signer or address had no refusal budget",
                    load(&srv->budget_refused));
    metrics_counter(m, "nns_http_refusals_charged_total",
                    "committed refusals of writes charged to refusal budgets",
                    load(&srv->refusals_charged));
    metrics_counter(m, "nns_http_connections_timed_out_total",
                    "connections closed for headers or a body too slow, or idle too long",
                    load(&srv->timed_out));
    metrics_gauge(m, "nns_http_connection_limit",
                  "connections served at most (below the open-file limit)",
                  (double)srv->connection_limit);
}
