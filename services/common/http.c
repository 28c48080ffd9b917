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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "allocfail.h"
#include "clock.h"
#include "log.h"

#define MAX_PARAMS 4
#define MAX_HEADERS 8
#define DEFAULT_MAX_BODY (256 * 1024)
/* Each connection's memory pool (request line, headers, read and write buffers; bodies are
 * copied out as they arrive). libmicrohttpd zeroes the whole pool between the requests of a
 * keep-alive connection: its default 32 KB made that memset 3% of the CPU at 256 connections. */
#define CONNECTION_POOL_BYTES (16 * 1024)

enum { REQ_RUNNING, REQ_SUSPENDED, REQ_READY };

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
};

struct http_request {
    http_server_t *srv;
    struct MHD_Connection *conn;
    const struct sockaddr *peer; /* libmicrohttpd's, valid for the connection's life */
    uint64_t id, start_ns;
    char *target; /* raw request target, as sent */
    const char *method, *path;
    bool started, dispatched, too_large;
    char *body;
    size_t body_len, body_cap;
    const http_route_t *route;
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

static void answer(http_request_t *req, int status, const char *ctype, const char *body,
                   size_t len, bool committed)
{
    if (req->replay_owner) {
        req->replay_owner = false;
        if (committed)
            replay_commit(req->srv->replay, req->sig.replay_key, status, body, len);
        else
            replay_abandon(req->srv->replay, req->sig.replay_key, status, body, len);
    }
    char *copy = dup_bytes(body, len);
    if (!copy) {
        static const char oom[] = "{\"status\":503,\"code\":\"Unavailable\"}";
        set_answer(req, 503, "application/problem+json", dup_bytes(oom, sizeof oom - 1),
                   sizeof oom - 1);
        return;
    }
    set_answer(req, status, ctype, copy, len);
}

void http_respond_raw(http_request_t *req, int status, const char *content_type,
                      const char *body, size_t len)
{
    answer(req, status, content_type, body, len, false);
}

void http_respond_committed(http_request_t *req, int status, const char *body, size_t len)
{
    answer(req, status, status >= 400 ? "application/problem+json" : "application/json", body,
           len, true);
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
    answer(req, status, "application/json", text, strlen(text), false);
    free(text);
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
    if (err->status == 503 || err->status == 429)
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
    answer(req, err->status, "application/problem+json", text, len, false);
    free(text);
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
        auth_caller(srv->cfg.auth, req->sig.der, &req->caller);
    }
    if ((flags & HTTP_WRITE) && req->signed_ok) {
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
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
        if (declared > srv->cfg.max_body)
            req->too_large = true;
        else if (declared > 0 && (req->body = malloc(declared + 1)) != NULL) {
            req->body[0] = '\0'; /* the body arrives in pieces: one buffer, no regrowth */
            req->body_cap = declared + 1;
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
    if (req->replay_owner) {
        /* never answered (connection dropped before the handler answered): the handler still
         * owns the request, so this cannot happen for deferred requests; guard anyway */
        replay_abandon(req->srv->replay, req->sig.replay_key, 503, "", 0);
    }
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
    for (const http_route_t *r = routes; r->method; r++, srv->nroutes++)
        if (strlen(r->method) > MAX_METHOD_LEN || strlen(r->pattern) > MAX_PATTERN_LEN) {
            nns_error_set(err, 503, "Unavailable", "route '%.40s' is longer than %d bytes",
                          r->pattern, MAX_PATTERN_LEN);
            goto fail;
        }
    srv->stats = calloc(srv->nroutes + NUNMATCHED, sizeof *srv->stats);
    srv->replay = replay_cache_new(replay_waiter_done);
    if (!srv->stats || !srv->replay) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        goto fail;
    }
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
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC |
                     MHD_USE_TURBO | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, srv->cfg.threads, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)120, MHD_OPTION_CONNECTION_LIMIT, (unsigned)20000, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)4096, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_POOL_BYTES,
        MHD_OPTION_END);
    if (!srv->daemon) {
        nns_error_set(err, 503, "Unavailable", "cannot listen on '%s'", cfg->listen);
        goto fail;
    }
    log_info("listening on http://%s with %u threads", cfg->listen, srv->cfg.threads);
    return srv;
fail:
    if (srv->access_fd >= 0)
        close(srv->access_fd);
    replay_cache_destroy(&srv->replay);
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
    MHD_stop_daemon(srv->daemon);
    replay_cache_destroy(&srv->replay);
    if (srv->access_fd >= 0)
        close(srv->access_fd);
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
}
