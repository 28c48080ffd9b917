/*
 * http: the REST front of a service, on libmicrohttpd (thread pool, epoll, suspend/resume).
 *
 * A service gives a route table {method, pattern, handler, flags}; a pattern's "{}" segment
 * matches one path segment, available as http_param(req, i). The server reads the body (up to
 * max_body bytes, else 413), matches the route (404 / 405), verifies the signature of HTTP_SIGNED
 * routes (401), answers byte-identical resends of committed HTTP_WRITE requests from the replay
 * cache, refuses writes in read-only mode (403), and then calls the handler on an HTTP thread.
 *
 * A handler answers exactly once, with one of the http_respond_* functions. It may answer later,
 * from any thread: it calls http_defer(req) before returning and the connection is suspended
 * (never blocking an HTTP thread) until the answer arrives. A write's answer that was committed
 * with its round is given with http_respond_committed(), which also stores it in the replay
 * cache; any other answer to a write is not remembered.
 *
 * Request memory (the request, its body and parameters) belongs to the server and lives until
 * the response has been sent; handlers must not keep pointers to it after answering.
 *
 * Hostile clients (issue 9): connections are bounded per client address and in all (below the
 * process's open-file limit, read at start); a request must finish its headers within
 * header_timeout_s of the connection opening or of the previous answer (so an idle keep-alive
 * connection is closed then too) and its body within body_timeout_s of its request line. A body
 * declared larger than max_body is refused with 413 at once, a Transfer-Encoding other than
 * chunked with 501, conflicting duplicate Content-Length headers (or Content-Length with
 * Transfer-Encoding) with 400; the connection is then closed. A signed write is admitted only
 * while its signer and its client address have refusal budget left (budget.h): committed 4xx
 * answers of writes are charged to both (http_respond_committed does it for single writes;
 * batches call http_charge_refusals per item). Past it, or when the replay cache is at its memory
 * ceiling, the answer is 429 TemporarilyUnavailable with Retry-After, except that a byte-identical
 * resend of a committed answer still gets that answer.
 *
 * Browsers (CORS): every answer carries Access-Control-Allow-Origin for the allowed origins
 * ("*", or a comma-separated list: the request's Origin echoed when listed, with Vary: Origin)
 * and exposes ETag, X-Replayed, X-Next-Cursor, Retry-After and X-Request-Id; OPTIONS on a
 * routed path is a preflight answer (204) allowing the path's methods and the signing headers.
 *
 * Observability: every log line about a request goes through http_log_* and so names the
 * request ("req=42 POST /v1/transfers peer=127.0.0.1:5555: ..."); an answer of 5xx is logged
 * as a warning (storms are counted by log.c, not written line by line). With access_log set,
 * one line per request is appended to that file once the request is over. The server counts
 * answers by route, method and status class, and their latency by route, without locks: the
 * counters are atomics in arrays sized from the route table at start.
 */
#ifndef NNS_HTTP_H
#define NNS_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allocfail.h"
#include "auth.h"
#include "error.h"
#include "log.h"
#include "metrics.h"
#include "principal.h"
#include "replay.h"
#include "sign.h"

typedef struct http_server http_server_t;
typedef struct http_request http_request_t;

typedef void (*http_handler_fn)(http_request_t *req, void *app);

enum {
    HTTP_SIGNED = 1 << 0, /* a valid signature is required */
    HTTP_WRITE = 1 << 1,  /* changes state: replay cache, refused in read-only mode */
    HTTP_SIGNED_OPTIONAL = 1 << 2, /* verified when present (identifies the caller of a GET) */
    HTTP_ANYTIME = 1 << 3, /* served before the service is ready (health, metrics) */
};

typedef struct {
    const char *method;
    const char *pattern;
    http_handler_fn handler;
    unsigned flags;
} http_route_t;

typedef struct {
    const char *listen;        /* "HOST:PORT" */
    unsigned threads;          /* HTTP threads; 0 = number of cores */
    size_t max_body;           /* bytes */
    bool read_only;
    auth_t *auth;              /* borrowed; maps signers to callers */
    const char *service;       /* for logs and metrics */
    const char *access_log;    /* file to append one line per request to; NULL: none */
    const char *cors_origins;  /* "*" (NULL too) or a comma-separated list of origins */
    unsigned max_connections;  /* in all; 0: the open-file limit less a reserve */
    unsigned max_connections_per_address; /* 0: no limit */
    unsigned header_timeout_s; /* 0: 10 */
    unsigned body_timeout_s;   /* 0: 10 */
    unsigned refusal_budget;   /* refused writes per minute per signer and per address; 0: none */
    size_t replay_max_bytes;   /* the replay cache's memory ceiling; 0: none */
} http_config_t;

/* Starts serving. Returns NULL with err (503 "Unavailable") when the address cannot be bound,
 * the access log cannot be opened, a route's method or pattern is too long to label metrics
 * with, or memory runs out. routes (ended by a {0} entry) and app are borrowed for the server's
 * life.
 *
 * The access log (opened O_APPEND, created 0640) gets one line per request, in logfmt, written
 * with one write(2) when the request is over:
 *   time=2026-01-02T03:04:05.678Z req=42 peer=127.0.0.1:5555 method=POST target=/v1/transfers
 *   status=200 bytes=312 ms=1.234 replayed=false
 * target is the raw request target (query included) with spaces, quotes, backslashes and
 * non-printable bytes percent-encoded; status 0 means the request was never answered (the
 * client went away first, or libmicrohttpd refused it before the service saw it). */
http_server_t *http_server_new(const http_config_t *cfg, const http_route_t *routes, void *app,
                               nns_error_t *err) __attribute__((warn_unused_result));

/* Stops accepting connections; requests in progress go on and are answered. Call before the
 * state thread stops, so no suspended request is left when the server is destroyed. */
void http_server_quiesce(http_server_t *server);

/* Stops serving and frees the server: every deferred request must have been answered. Safe on
 * NULL; sets *server to NULL. */
void http_server_destroy(http_server_t **server);

/* Marks the service ready: until then every route without HTTP_ANYTIME answers 503. The server
 * starts not ready, so it can listen (and receive replay entries) while the state loads. */
void http_server_set_ready(http_server_t *server, bool ready);

/* The flag set by http_server_set_ready: what a service's /readyz reports, so that /readyz and
 * every other route agree (starting, stopping). */
bool http_server_is_ready(http_server_t *server);

/* The server's replay cache (borrowed), for loading committed entries at start. */
replay_cache_t *http_server_replay(http_server_t *server);

/* Adds the server's families to m: nns_http_requests_total{method,route,class} (route is the
 * matched route's pattern, "unmatched" for 404s, 405s and bodies refused before routing),
 * nns_http_request_seconds{method,route} (histogram), nns_http_replayed_total and
 * nns_replay_cache_entries. Thread-safe: reads atomics. */
void http_server_metrics(http_server_t *server, metrics_t *m);

/* The signed-path rule: the part of target (the raw request target, query included) that a
 * signed request signs, from the first "/v1/" of its path (a proxy may strip a prefix) to the
 * end; without a "/v1/", the whole target. Returns a pointer into target, or NULL when the
 * path of that part is not exactly path (the decoded path that was routed: a percent-encoded
 * path is refused, so one signed request cannot be routed as another). Both NUL-terminated;
 * cannot fail otherwise. Exposed for the fuzz target (tests/fuzz/fuzz_signed_path.c). */
const char *http_signed_target(const char *target, const char *path);

/* --- reading the request (borrowed pointers, valid until the answer) --- */
/* The i-th "{}" segment of the matched pattern, or NULL. */
const char *http_param(const http_request_t *req, int i);
/* A query-string argument (decoded), or NULL. */
const char *http_query(const http_request_t *req, const char *name);
/* Every value of a repeated query argument (?status=Open&status=Adopted), in order: at most max
 * into out (borrowed, decoded); returns how many there are (more than max: the rest left out). */
size_t http_query_all(const http_request_t *req, const char *name, const char **out, size_t max);
const char *http_header(const http_request_t *req, const char *name);
const uint8_t *http_body(const http_request_t *req, size_t *len);
/* The verified signature, or NULL for an unsigned request. */
const sign_verified_t *http_signature(const http_request_t *req);
/* The caller principal of a signed request (a service's canister id for trusted keys), or NULL
 * for an unsigned request. */
const principal_t *http_caller(const http_request_t *req);
uint64_t http_request_id(const http_request_t *req);
/* The server the request came to (borrowed): what a handler that runs before the service has
 * its own pointer to the server (health, readiness, metrics) must use. */
http_server_t *http_request_server(const http_request_t *req);
/* The request's allocation counter in the test build (allocfail.h), or NULL (every other
 * build, and requests without X-Fail-Alloc). */
allocfail_t *http_request_allocfail(http_request_t *req);

/* The client's address as "IP:PORT" ("[IPv6]:PORT"), or "-" when unknown, into out. */
void http_peer(const http_request_t *req, char *out, size_t cap);

/* --- logging about a request: "req=42 POST /v1/transfers peer=127.0.0.1:5555: <message>" --- */
void http_log(log_level_t level, const http_request_t *req, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define http_log_debug(req, ...) http_log(LOG_DEBUG, (req), __VA_ARGS__)
#define http_log_info(req, ...) http_log(LOG_INFO, (req), __VA_ARGS__)
#define http_log_warn(req, ...) http_log(LOG_WARN, (req), __VA_ARGS__)
#define http_log_error(req, ...) http_log(LOG_ERROR, (req), __VA_ARGS__)

/* --- answering (exactly once per request; thread-safe) --- */
/* The handler will answer later; the connection is suspended until then. */
void http_defer(http_request_t *req);
/* Adds a response header (call before answering, from the thread that owns the request: the
 * handler's, or for a deferred request the one that answers it). */
void http_add_header(http_request_t *req, const char *name, const char *value);
/* JSON answer; steals body. */
void http_respond_json(http_request_t *req, int status, json_t *body);
/* A problem+json answer built from err. */
void http_respond_error(http_request_t *req, const nns_error_t *err);
/* Any content; the bytes are copied. */
void http_respond_raw(http_request_t *req, int status, const char *content_type,
                      const char *body, size_t len);
/* The same, taking body (malloc'd, len bytes followed by a NUL) as the answer's own copy
 * instead of copying it: the caller no longer owns it. content_type must be a static string. */
void http_respond_take(http_request_t *req, int status, const char *content_type, char *body,
                       size_t len);
/* A write's answer that was committed with its round: stored in the replay cache too. body is a
 * JSON text (copied). */
void http_respond_committed(http_request_t *req, int status, const char *body, size_t len);
/* Hands p to the request: free_fn(ctx, p) runs when the request is over, on the HTTP thread
 * that served it. Call it before the request is answered (the answer may end the request at
 * once). Memory allocated on that thread and freed there stays out of malloc's cross-thread
 * path (a state thread freeing what HTTP threads allocated made malloc consolidate its bins). */
void http_request_attach(http_request_t *req, void *p, void (*free_fn)(void *ctx, void *p),
                         void *ctx);
/* The same, taking body (malloc'd, len bytes followed by a NUL; NULL: an empty body) as the
 * answer's own copy instead of copying it: the caller no longer owns it. */
void http_respond_committed_take(http_request_t *req, int status, char *body, size_t len);

/* Charges n committed refusals (4xx answers of writes) to signer (NULL: the request's caller,
 * when signed) and to the request's client address. Thread-safe; nothing when there is no
 * refusal budget. */
void http_charge_refusals(http_request_t *req, const principal_t *signer, unsigned n);

/* Whether a write signed by signer (NULL: the request's caller) from the request's client
 * address may run now: false, with the seconds to wait in *retry_after_s, when either's refusal
 * budget is spent. Thread-safe; always true without a budget. */
bool http_refusals_admit(http_request_t *req, const principal_t *signer,
                         unsigned *retry_after_s);

/* Renders err as the problem+json text (malloc'd; the caller frees). NULL on allocation
 * failure. The one place where errors become JSON. */
char *http_problem_text(const nns_error_t *err, size_t *len);

#endif
