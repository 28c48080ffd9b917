#include "http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

struct http_server {
    struct MHD_Daemon *daemon;
    http_config_t cfg;
    const http_route_t *routes;
    void *app;
    replay_cache_t *replay;
    _Atomic bool ready;
    _Atomic uint64_t next_id;
    /* metrics */
    _Atomic uint64_t requests[6]; /* by status class: index status/100 */
    _Atomic uint64_t replayed;
    _Atomic uint64_t latency_count, latency_sum_us;
    _Atomic uint64_t latency_buckets[NBUCKETS];
};

struct http_request {
    http_server_t *srv;
    struct MHD_Connection *conn;
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
    if (req->nheaders >= MAX_HEADERS)
        return;
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

const char *http_method(const http_request_t *req) { return req->method; }
const char *http_path(const http_request_t *req) { return req->path; }
uint64_t http_request_id(const http_request_t *req) { return req->id; }

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
        /* The signed target runs from "/v1/" in the path (a proxy may strip a prefix) to the
         * end, query included. Its path must be exactly the path that was routed: no
         * percent-encoding, so one signed request cannot be routed as another. */
        size_t path_end = strcspn(req->target, "?");
        const char *pq = req->target;
        for (size_t i = 0; i + 4 <= path_end; i++)
            if (memcmp(req->target + i, "/v1/", 4) == 0) {
                pq = req->target + i;
                break;
            }
        size_t signed_path_len = path_end - (size_t)(pq - req->target);
        if (strlen(req->path) != signed_path_len || memcmp(pq, req->path, signed_path_len) != 0) {
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

    int cls = req->status / 100;
    atomic_fetch_add(&srv->requests[cls >= 1 && cls <= 5 ? cls : 0], 1);
    double secs = (double)(clock_wall_nanos() - req->start_ns) / 1e9;
    atomic_fetch_add(&srv->latency_count, 1);
    atomic_fetch_add(&srv->latency_sum_us, (uint64_t)(secs * 1e6));
    for (size_t i = 0; i < NBUCKETS; i++)
        if (secs <= LATENCY_BUCKETS[i])
            atomic_fetch_add(&srv->latency_buckets[i], 1);
    if (req->status >= 500)
        log_warn("request %llu %s '%s' answered %d", (unsigned long long)req->id, req->method,
                 req->path, req->status);
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
    (void)conn;
    http_server_t *srv = cls;
    http_request_t *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->srv = srv;
    req->id = atomic_fetch_add(&srv->next_id, 1) + 1;
    req->start_ns = clock_wall_nanos();
    req->target = strdup(uri ? uri : "");
    if (!req->target) {
        free(req);
        return NULL;
    }
    return req;
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
        return nns_error_set(err, 500, "Unavailable", "listen address '%s' is not HOST:PORT",
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
        return nns_error_set(err, 500, "Unavailable", "cannot resolve listen address '%s'",
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
        nns_error_set(err, 500, "Unavailable", "out of memory");
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
    srv->replay = replay_cache_new(replay_waiter_done);
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if (!srv->replay || !parse_listen(cfg->listen, &ss, &sslen, err))
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
        nns_error_set(err, 500, "Unavailable", "cannot listen on '%s'", cfg->listen);
        goto fail;
    }
    log_info("listening on http://%s with %u threads", cfg->listen, srv->cfg.threads);
    return srv;
fail:
    replay_cache_destroy(&srv->replay);
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
    free(srv);
    *server = NULL;
}

void http_server_set_ready(http_server_t *server, bool ready)
{
    atomic_store(&server->ready, ready);
}

replay_cache_t *http_server_replay(http_server_t *server)
{
    return server->replay;
}

bool http_server_is_ready(http_server_t *server)
{
    return atomic_load(&server->ready);
}

void http_server_metrics(http_server_t *srv, metrics_t *m)
{
    char labels[32];
    metrics_family(m, "nns_http_requests_total", "counter", "HTTP requests answered, by class");
    for (int c = 1; c <= 5; c++) {
        snprintf(labels, sizeof labels, "class=\"%dxx\"", c);
        metrics_u64(m, "nns_http_requests_total", labels, atomic_load(&srv->requests[c]));
    }
    metrics_counter(m, "nns_http_replayed_total", "writes answered from the replay cache",
                    atomic_load(&srv->replayed));
    metrics_family(m, "nns_http_request_seconds", "histogram", "time from request to answer");
    for (size_t i = 0; i < NBUCKETS; i++) {
        snprintf(labels, sizeof labels, "le=\"%g\"", LATENCY_BUCKETS[i]);
        metrics_u64(m, "nns_http_request_seconds_bucket", labels,
                    atomic_load(&srv->latency_buckets[i]));
    }
    uint64_t count = atomic_load(&srv->latency_count);
    metrics_u64(m, "nns_http_request_seconds_bucket", "le=\"+Inf\"", count);
    metrics_double(m, "nns_http_request_seconds_sum", NULL,
                   (double)atomic_load(&srv->latency_sum_us) / 1e6);
    metrics_u64(m, "nns_http_request_seconds_count", NULL, count);
    metrics_gauge(m, "nns_replay_cache_entries", "entries in the replay cache",
                  (double)replay_count(srv->replay));
}
