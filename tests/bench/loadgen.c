/*
 * loadgen: a load generator for the ledger's POST /v1/transfers (API.md, DESIGN.md section 5).
 *
 * Identity i is identity_from_seed(SHA-256("loadgen-<seed-base + i>")); request k is a transfer
 * from identity k % I to the default account of identity (k + 1) % I with memo k and
 * created_at_time base + k, where base is the ledger's now_nanos (GET /v1/identity).
 *
 * Before the clock starts every request is signed (by one thread per CPU) and only its 64-byte
 * signature is kept; the request text is rebuilt from k when it is sent (the body is a pure
 * function of k, so it is byte-identical to what was signed). A request whose expiry is about
 * to pass when its turn comes (a run longer than --expiry-seconds) is signed again, on the spot.
 *
 * The hot path is one epoll loop over --connections non-blocking keep-alive HTTP/1.1
 * connections, one request outstanding per connection. A connection that fails (refused,
 * reset, closed mid-request, malformed response) is counted as an error and reconnected with a
 * short exponential backoff until the run ends; the request it carried is not resent.
 *
 * --acked FILE gets "<block_index> <k>" for every 2xx, flushed every 100 ms and at exit
 * (SIGINT/SIGTERM stop the loop cleanly). Loopback targets only.
 *
 * --batch N packs transfers k .. k+N-1, each signed exactly as its own POST /v1/transfers, into
 * one unsigned POST /v1/transfer-batches; the counts, the rate and --acked are per transfer
 * (an item of the answer's "results" with "status":200), the latency per HTTP request.
 *
 * --get-accounts (with --history: their transaction pages) is a read benchmark: request k is a
 * GET of the default account of a pseudo-random identity (a pure function of k), nothing is
 * signed and the run lasts --duration (or --requests GETs).
 *
 * --rate R is an open loop: request j is due at start + j/R whatever the answers (R requests per
 * second; with --batch each carries N transfers). A due request goes out on an idle keep-alive
 * connection; when none is idle, connections are opened (no more than the requests waiting,
 * at most --connections, 2,048 at most and by default) and the request waits in the queue for
 * the first connection free. Its latency counts from the time it was due, not from the time it
 * was sent, so a queue on the generator's side shows in the latency (no coordinated omission).
 * When --duration has elapsed no more requests fall due; the queue is still sent and the
 * answers awaited for up to DRAIN_SECONDS. Latencies and the measured counts are those of the
 * requests due after the warmup. Connection i > 255 binds to the source address
 * 127.0.0.(1 + i/256), so that a server's per-address connection limit does not turn a large
 * pool into refused connections.
 *
 * Each second a progress line goes to stderr (unless --quiet): the counts so far, the answers
 * 2xx of the last second, how many of them took over SLOW_MS and the slowest, so that a tail
 * in the final percentiles can be placed in time (beside the server's and PostgreSQL's logs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "crypto.h"
#include "hex.h"
#include "keyfile.h"
#include "principal.h"
#include "sign.h"

#define NS_PER_SEC 1000000000ULL
#define NS_PER_MS 1000000ULL
#define MAX_REQUESTS 4000000ULL      /* cap on --requests and on the estimate */
#define REQS_PER_CONN_SEC 200ULL     /* estimate of a connection's rate, to size the pool */
#define BATCH_REQS_PER_CONN_SEC 4ULL /* the same for --batch requests */
#define CHUNK 4096ULL                /* requests signed together (one expiry per chunk) */
#define SIG_BYTES ED25519_SIGNATURE_BYTES
#define BODY_CAP 512
#define WBUF_CAP 2048
#define RBUF_INIT 4096
#define RBUF_KEEP 16384        /* a buffer grown past this is shrunk after the response */
#define RBUF_MAX (1024 * 1024) /* largest response accepted */
#define HEAD_MAX (64 * 1024)   /* largest response head accepted */
#define BACKOFF_MIN_MS 5
#define BACKOFF_MAX_MS 200
#define MAX_EVENTS 512
#define MAX_ERROR_SAMPLES 5
#define SIGN_PATH "/v1/transfers"
#define BATCH_PATH "/v1/transfer-batches"
#define BATCH_MAX 100
#define SLOW_MS 100 /* the progress line counts the answers slower than this each second */
/* one batch item: the keys, the hex fields and the body, every byte of it escaped at worst */
#define ITEM_CAP (128 + 2 * ED25519_DER_BYTES + 2 * SIG_BYTES + 6 * BODY_CAP)
#define LAT_INIT (64 * 1024) /* latencies kept at first in --get-accounts mode */
#define HISTORY_LIMIT 20
#define OPEN_MAX_CONNECTIONS 2048 /* --rate: cap and default of --connections */
#define OPEN_MAX_RATE 1000000.0   /* --rate: requests per second at most */
#define DRAIN_SECONDS 5           /* --rate: wait for answers this long after --duration */
#define CONNS_PER_SOURCE 256      /* --rate: connections per loopback source address */
#define STR_(x) #x
#define STR(x) STR_(x)

typedef enum { MODE_LEGACY, MODE_ICRC1 } body_mode_t;
typedef enum { RUN_SINGLE, RUN_BATCH, RUN_GET } run_kind_t;

typedef struct {
    const char *url;
    unsigned connections;
    double duration;
    uint64_t requests; /* 0: estimate */
    unsigned identities;
    uint64_t seed_base;
    uint64_t amount;
    body_mode_t mode;
    const char *acked;
    double warmup;
    unsigned expiry_seconds;
    bool time_from_server;
    bool quiet;
    bool print_accounts;
    unsigned batch;    /* 0: one transfer per POST /v1/transfers */
    bool get_accounts; /* GET /v1/accounts/{id} instead of transfers */
    bool history;      /* with get_accounts: GET /v1/accounts/{id}/transactions?limit=20 */
    double rate;       /* requests per second, open loop; 0: closed loop */
    bool connections_set;
    run_kind_t kind; /* derived from the three above */
} options_t;

typedef struct {
    char host_header[300]; /* host[:port] exactly as in the URL */
    char prefix[224];      /* path prefix without trailing '/', usually "" */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int family;
} target_t;

typedef struct {
    identity_t id;
    char pk_hex[2 * ED25519_DER_BYTES + 1];
    char account_hex[ACCOUNT_HEX_LEN + 1];
    char principal_text[PRINCIPAL_TEXT_MAX];
} lg_identity_t;

typedef enum { C_DOWN, C_WAIT_RETRY, C_CONNECTING, C_WRITING, C_READING, C_IDLE, C_DONE } cstate_t;

typedef struct {
    int fd;
    cstate_t state;
    uint32_t events; /* registered epoll events; 0 = not registered */
    uint64_t retry_at;
    uint32_t backoff_ms;
    uint32_t served; /* responses completed on the current TCP connection */
    bool in_flight;
    uint64_t k;       /* the (first) request or transfer carried */
    uint32_t nk;      /* transfers carried: 1 unless --batch */
    uint64_t sent_ns; /* the latency's origin: sent, or with --rate due */
    bool measured;    /* --rate: due after the warmup */
    bool in_idle;     /* --rate: on the idle stack */
    bool resend;      /* the request goes again on a new connection (see conn_fail) */
    size_t wlen, woff;
    char *rbuf;
    size_t rcap, rlen;
    char *wbuf;
    size_t wcap;
} conn_t;

/* Outside --batch a request carries one unit (transfer or GET), so the unit counts (ok,
 * s409 .. sother, tx_*) and the request counts (sent, req_*, lost) coincide. */
typedef struct {
    uint64_t sent, ok, ok_measured, s409, s4xx, s5xx, sother;
    uint64_t connect_failed, lost, protocol, unsolicited, resigned, ok_no_index, resent;
    uint64_t tx_sent, tx_lost, tx_malformed;   /* transfers: sent, lost in flight, unreadable */
    uint64_t req_ok, req_ok_measured, req_err; /* HTTP requests answered 2xx / otherwise */
    uint64_t req_malformed;                    /* 2xx batch answers without proper results */
    uint64_t measured_sent;                    /* --rate: requests due after the warmup, sent */
    uint64_t peak_open, peak_queue;            /* --rate: most connections open, most waiting */
    uint64_t slow;          /* 2xx answers after SLOW_MS (from the due time with --rate) */
    uint32_t second_max_us; /* the slowest 2xx answer since the progress line */
} stats_t;

enum { PARSE_MORE = 0, PARSE_DONE = 1, PARSE_ERROR = -1 };

typedef struct {
    int status;
    const char *body;
    size_t body_len;
    size_t total_len; /* bytes of the buffer this response used */
    bool close;       /* the server will close (or the body ran to the close) */
} http_resp_t;

/* ---------------------------------------------------------------------------------------- */
/* Global state: one process, one run.                                                       */

static atomic_int g_stop;
static options_t g_opt;
static target_t g_target;
static lg_identity_t *g_ids;
static uint64_t g_base_time;
static uint64_t g_nreq;
static uint8_t *g_sigs;          /* g_nreq * 64 */
static uint64_t *g_chunk_expiry; /* one X-Expiry per CHUNK requests */
static uint64_t g_expiry_ns, g_expiry_margin_ns;

static int g_ep = -1;
static conn_t *g_conns;
static uint64_t g_next_k;
static uint64_t g_inflight;
static uint64_t g_now;  /* monotonic, refreshed each loop turn */
static uint64_t g_wall; /* wall clock, refreshed each loop turn */
static uint64_t g_next_retry = UINT64_MAX;
static uint64_t g_measure_start;
static stats_t g_st;
static uint32_t *g_lat_us; /* latencies of all 2xx requests, in completion order */
static uint64_t g_nlat, g_lat_cap;
static char *g_batch_body; /* scratch for a batch request's body (the loop is one thread) */
static size_t g_batch_cap;
static uint64_t g_lat_measured_from = UINT64_MAX; /* index of the first one after warmup */
static FILE *g_acked;
static bool g_acked_dirty;
static unsigned g_error_samples;

/* --rate (open loop) */
static bool g_open;
static uint64_t g_sched_start; /* request j is due at g_sched_start + j * g_ns_per_req */
static double g_ns_per_req;
static uint64_t g_sched_total; /* requests in the schedule */
static uint64_t g_open_due;    /* requests due so far (frozen once --duration elapsed) */
static uint64_t g_open_next;   /* the next request to send */
static uint64_t g_sched_end;   /* no request falls due from then on */
static uint64_t g_measure_end = UINT64_MAX; /* answers after it are out of the rate */
static unsigned *g_idle;                    /* stack of idle connected connections (indexes) */
static unsigned g_nidle;
static unsigned g_nopen, g_nconnecting;
static unsigned g_scan;      /* where the search for a closed connection resumes */
static uint64_t g_open_gate; /* no new connection before (after a connect failure) */
static uint32_t g_gate_ms = BACKOFF_MIN_MS;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

static bool stopping(void)
{
    return atomic_load_explicit(&g_stop, memory_order_relaxed) != 0;
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t wall_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
    if (g_opt.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------------- */
/* Small parsers.                                                                            */

/* Strict decimal u64 of exactly len characters (at least one digit, nothing else). */
static bool parse_u64_n(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool parse_u64_arg(const char *s, uint64_t *out)
{
    return s && parse_u64_n(s, strlen(s), out);
}

static bool parse_seconds_arg(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || !end || *end || !(v >= 0.0) || v > 7.0 * 86400.0)
        return false;
    *out = v;
    return true;
}

/* True when the comma-separated header value contains token (case-insensitive). */
static bool has_token(const char *v, size_t len, const char *token)
{
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end - start == tl && strncasecmp(v + start, token, tl) == 0)
            return true;
    }
    return false;
}

/* ---------------------------------------------------------------------------------------- */
/* HTTP/1.1 response parsing over a buffer. Never reads past len; the chunked body is        */
/* compacted in place only once it is complete, so a partial parse can always be repeated.  */

static int chunk_walk(char *buf, size_t start, size_t len, bool compact, size_t *body_len,
                      size_t *total)
{
    size_t pos = start, out = start;
    for (;;) {
        const char *eol = memchr(buf + pos, '\n', len - pos);
        if (!eol)
            return len - pos > 1024 ? PARSE_ERROR : PARSE_MORE;
        size_t ll = (size_t)(eol - (buf + pos));
        size_t sz = 0, i = 0;
        for (; i < ll; i++) {
            char ch = buf[pos + i];
            int d;
            if (ch >= '0' && ch <= '9')
                d = ch - '0';
            else if (ch >= 'a' && ch <= 'f')
                d = ch - 'a' + 10;
            else if (ch >= 'A' && ch <= 'F')
                d = ch - 'A' + 10;
            else
                break;
            if (sz > (size_t)RBUF_MAX)
                return PARSE_ERROR;
            sz = sz * 16 + (size_t)d;
        }
        if (i == 0 || sz > (size_t)RBUF_MAX)
            return PARSE_ERROR;
        pos += ll + 1;
        if (sz == 0) {
            for (;;) { /* trailers, up to an empty line */
                eol = memchr(buf + pos, '\n', len - pos);
                if (!eol)
                    return len - pos > 4096 ? PARSE_ERROR : PARSE_MORE;
                ll = (size_t)(eol - (buf + pos));
                bool empty = ll == 0 || (ll == 1 && buf[pos] == '\r');
                pos += ll + 1;
                if (empty)
                    break;
            }
            *body_len = out - start;
            *total = pos;
            return PARSE_DONE;
        }
        if (len - pos < sz + 2)
            return PARSE_MORE;
        if (buf[pos + sz] != '\r' || buf[pos + sz + 1] != '\n')
            return PARSE_ERROR;
        if (compact)
            memmove(buf + out, buf + pos, sz);
        out += sz;
        pos += sz + 2;
    }
}

static int parse_response(char *buf, size_t len, bool eof, http_resp_t *r)
{
    size_t off = 0;
    for (;;) {
        const char *term = len - off >= 4 ? memmem(buf + off, len - off, "\r\n\r\n", 4) : NULL;
        if (!term)
            return len - off > HEAD_MAX ? PARSE_ERROR : PARSE_MORE;
        size_t head_end = (size_t)(term - buf) + 4;
        if (head_end - off > HEAD_MAX)
            return PARSE_ERROR;
        const char *p = buf + off;
        if (head_end - off < 14 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' ||
            p[8] != ' ')
            return PARSE_ERROR;
        for (int i = 9; i < 12; i++)
            if (p[i] < '0' || p[i] > '9')
                return PARSE_ERROR;
        if (p[12] != ' ' && p[12] != '\r')
            return PARSE_ERROR;
        int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
        bool http10 = p[7] == '0';
        bool conn_close = false, conn_keep = false, chunked = false, have_cl = false;
        uint64_t cl = 0;

        const char *hend = buf + head_end;
        const char *line = memchr(p, '\n', (size_t)(hend - p));
        if (!line)
            return PARSE_ERROR;
        line++;
        while (line < hend) {
            const char *eol = memchr(line, '\n', (size_t)(hend - line));
            if (!eol)
                return PARSE_ERROR;
            size_t ll = (size_t)(eol - line);
            if (ll && line[ll - 1] == '\r')
                ll--;
            if (ll == 0)
                break;
            const char *colon = memchr(line, ':', ll);
            if (!colon)
                return PARSE_ERROR;
            size_t nl = (size_t)(colon - line);
            const char *v = colon + 1;
            size_t vl = ll - nl - 1;
            while (vl && (*v == ' ' || *v == '\t')) {
                v++;
                vl--;
            }
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (nl == 14 && strncasecmp(line, "content-length", 14) == 0) {
                uint64_t n;
                if (!parse_u64_n(v, vl, &n) || n > RBUF_MAX || (have_cl && n != cl))
                    return PARSE_ERROR;
                cl = n;
                have_cl = true;
            } else if (nl == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
                if (has_token(v, vl, "chunked"))
                    chunked = true;
                else if (!has_token(v, vl, "identity"))
                    return PARSE_ERROR;
            } else if (nl == 10 && strncasecmp(line, "connection", 10) == 0) {
                if (has_token(v, vl, "close"))
                    conn_close = true;
                if (has_token(v, vl, "keep-alive"))
                    conn_keep = true;
            }
            line = eol + 1;
        }
        if (status < 100)
            return PARSE_ERROR;
        if (status < 200) {
            if (status == 101)
                return PARSE_ERROR;
            off = head_end; /* an interim response: the real one follows */
            continue;
        }
        r->status = status;
        r->close = conn_close || (http10 && !conn_keep);
        r->body = buf + head_end;
        if (status == 204 || status == 304) {
            r->body_len = 0;
            r->total_len = head_end;
            return PARSE_DONE;
        }
        if (chunked) {
            size_t bl = 0, total = 0;
            int cr = chunk_walk(buf, head_end, len, false, &bl, &total);
            if (cr != PARSE_DONE)
                return cr;
            (void)chunk_walk(buf, head_end, len, true, &bl, &total);
            r->body_len = bl;
            r->total_len = total;
            return PARSE_DONE;
        }
        if (have_cl) {
            if (len - head_end < cl)
                return PARSE_MORE;
            r->body_len = (size_t)cl;
            r->total_len = head_end + (size_t)cl;
            return PARSE_DONE;
        }
        /* No framing: the body runs to the close. */
        r->close = true;
        if (!eof)
            return PARSE_MORE;
        r->body_len = len - head_end;
        r->total_len = len;
        return PARSE_DONE;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Target URL: http://HOST[:PORT][/prefix], HOST one of 127.x.x.x, localhost, [::1].         */

static bool parse_url(const char *url, target_t *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (strncasecmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "--url must start with http:// (got '%s')", url);
        return false;
    }
    const char *a = url + 7;
    size_t alen = strcspn(a, "/?#");
    const char *path = a + alen;
    if (alen == 0 || alen >= sizeof t->host_header) {
        snprintf(err, errlen, "--url has no usable host");
        return false;
    }
    if (memchr(a, '@', alen)) {
        snprintf(err, errlen, "--url must not carry user information");
        return false;
    }
    memcpy(t->host_header, a, alen);
    t->host_header[alen] = '\0';

    char host[128];
    const char *port_s = NULL;
    size_t port_len = 0;
    if (a[0] == '[') {
        const char *rb = memchr(a, ']', alen);
        if (!rb || (size_t)(rb - a - 1) >= sizeof host) {
            snprintf(err, errlen, "--url has a malformed IPv6 host");
            return false;
        }
        size_t hl = (size_t)(rb - a - 1);
        memcpy(host, a + 1, hl);
        host[hl] = '\0';
        size_t rest = alen - (size_t)(rb - a) - 1;
        if (rest) {
            if (rb[1] != ':') {
                snprintf(err, errlen, "--url has a malformed IPv6 host");
                return false;
            }
            port_s = rb + 2;
            port_len = rest - 1;
        }
    } else {
        const char *colon = memchr(a, ':', alen);
        size_t hl = colon ? (size_t)(colon - a) : alen;
        if (hl == 0 || hl >= sizeof host) {
            snprintf(err, errlen, "--url has no usable host");
            return false;
        }
        memcpy(host, a, hl);
        host[hl] = '\0';
        if (colon) {
            port_s = colon + 1;
            port_len = alen - hl - 1;
        }
    }
    uint64_t port = 80;
    if (port_s && (!parse_u64_n(port_s, port_len, &port) || port == 0 || port > 65535)) {
        snprintf(err, errlen, "--url has a bad port");
        return false;
    }

    if (a[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->addr;
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1 ||
            !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)) {
            snprintf(err, errlen, "refusing non-loopback host '%s' (loopback only)", host);
            return false;
        }
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        t->family = AF_INET6;
        t->addrlen = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&t->addr;
        const char *ip = host;
        if (strcasecmp(host, "localhost") == 0)
            ip = "127.0.0.1";
        if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1 ||
            (ntohl(s4->sin_addr.s_addr) >> 24) != 127) {
            snprintf(err, errlen, "refusing non-loopback host '%s' (loopback only)", host);
            return false;
        }
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        t->family = AF_INET;
        t->addrlen = sizeof *s4;
    }

    if (*path == '?' || *path == '#' || strpbrk(path, "?# \t\r\n")) {
        snprintf(err, errlen, "--url must not carry a query, fragment or spaces");
        return false;
    }
    size_t pl = strlen(path);
    while (pl && path[pl - 1] == '/')
        pl--;
    if (pl >= sizeof t->prefix) {
        snprintf(err, errlen, "--url path prefix is too long");
        return false;
    }
    memcpy(t->prefix, path, pl);
    t->prefix[pl] = '\0';
    return true;
}

/* ---------------------------------------------------------------------------------------- */
/* Identities and request bodies.                                                            */

static void make_identity(uint64_t n, lg_identity_t *out)
{
    char text[48];
    int len = snprintf(text, sizeof text, "loadgen-%" PRIu64, n);
    uint8_t seed[32];
    sha256(text, (size_t)len, seed);
    identity_from_seed(seed, &out->id);
    hex_encode(out->id.der, out->id.der_len, out->pk_hex);
    account_id_t acc;
    account_id_of(&out->id.principal, NULL, &acc);
    account_id_to_hex(&acc, out->account_hex);
    principal_to_text(&out->id.principal, out->principal_text);
}

/* The body of request k: a pure function of k (and the run's constants). */
static size_t build_body(uint64_t k, char *out, size_t cap)
{
    const lg_identity_t *to = &g_ids[(k + 1) % g_opt.identities];
    uint64_t t = g_base_time + k;
    int n;
    if (g_opt.mode == MODE_LEGACY) {
        n = snprintf(out, cap,
                     "{\"to\":\"%s\",\"amount_e8s\":\"%" PRIu64 "\",\"fee_e8s\":\"10000\","
                     "\"memo\":\"%" PRIu64 "\",\"created_at_time\":\"%" PRIu64 "\"}",
                     to->account_hex, g_opt.amount, k, t);
    } else {
        uint8_t memo[8];
        for (int i = 0; i < 8; i++)
            memo[i] = (uint8_t)(k >> (56 - 8 * i));
        char memo_hex[17];
        hex_encode(memo, sizeof memo, memo_hex);
        n = snprintf(out, cap,
                     "{\"to_account\":\"%s\",\"amount_e8s\":\"%" PRIu64 "\",\"fee_e8s\":\"10000\","
                     "\"created_at_time\":\"%" PRIu64 "\",\"icrc1_memo\":\"%s\"}",
                     to->principal_text, g_opt.amount, t, memo_hex);
    }
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}

/* ---------------------------------------------------------------------------------------- */
/* Pre-signing: workers take chunks of CHUNK requests; each chunk gets its own expiry.       */

static atomic_uint_fast64_t g_sign_next_chunk;
static atomic_uint_fast64_t g_sign_done;
static atomic_int g_sign_failed;

static void *sign_worker(void *arg)
{
    (void)arg;
    uint64_t nchunks = (g_nreq + CHUNK - 1) / CHUNK;
    char body[BODY_CAP];
    char sig_hex[2 * SIG_BYTES + 1];
    while (!stopping()) {
        uint64_t c = atomic_fetch_add(&g_sign_next_chunk, 1);
        if (c >= nchunks)
            break;
        uint64_t expiry = wall_ns() + g_expiry_ns;
        g_chunk_expiry[c] = expiry;
        uint64_t end = (c + 1) * CHUNK < g_nreq ? (c + 1) * CHUNK : g_nreq;
        for (uint64_t k = c * CHUNK; k < end; k++) {
            size_t blen = build_body(k, body, sizeof body);
            const lg_identity_t *from = &g_ids[k % g_opt.identities];
            sign_request(from->id.sk, "POST", SIGN_PATH, expiry, (const uint8_t *)body, blen,
                         sig_hex);
            if (blen == 0 || hex_decode(sig_hex, 2 * SIG_BYTES, g_sigs + k * SIG_BYTES,
                                        SIG_BYTES) != SIG_BYTES) {
                atomic_store(&g_sign_failed, 1);
                return NULL;
            }
        }
        atomic_fetch_add(&g_sign_done, end - c * CHUNK);
    }
    return NULL;
}

static bool presign_all(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t nchunks = (g_nreq + CHUNK - 1) / CHUNK;
    uint64_t nthreads = ncpu < 1 ? 1 : (uint64_t)ncpu;
    if (nthreads > 64)
        nthreads = 64;
    if (nthreads > nchunks)
        nthreads = nchunks;
    pthread_t th[64];
    uint64_t started = 0;
    uint64_t t0 = mono_ns();
    const char *what = g_opt.kind == RUN_BATCH ? "transfers" : "requests";
    info("signing %" PRIu64 " %s with %" PRIu64 " thread(s)", g_nreq, what, nthreads);
    for (; started < nthreads; started++)
        if (pthread_create(&th[started], NULL, sign_worker, NULL) != 0)
            break;
    if (started == 0)
        sign_worker(NULL); /* no threads at all: sign here */
    uint64_t last_report = t0;
    while (started && !stopping() && !atomic_load(&g_sign_failed) &&
           atomic_load(&g_sign_done) < g_nreq) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        uint64_t now = mono_ns();
        if (now - last_report >= 2 * NS_PER_SEC) {
            last_report = now;
            info("signed %" PRIu64 "/%" PRIu64, (uint64_t)atomic_load(&g_sign_done), g_nreq);
        }
    }
    for (uint64_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (atomic_load(&g_sign_failed)) {
        fprintf(stderr, "loadgen: signing failed (request body too long?)\n");
        return false;
    }
    if (atomic_load(&g_sign_done) < g_nreq)
        return false; /* stopped by a signal */
    double secs = (double)(mono_ns() - t0) / 1e9;
    info("signed %" PRIu64 " %s in %.2f s (%.0f/s)", g_nreq, what, secs,
         secs > 0 ? (double)g_nreq / secs : 0.0);
    return true;
}

/* The signature (hex) of transfer k over its body and the expiry it covers: the pre-signed
 * one, or a fresh one when that was signed too long ago. */
static uint64_t transfer_signature(uint64_t k, const char *body, size_t blen,
                                   char sig_hex[2 * SIG_BYTES + 1])
{
    const lg_identity_t *from = &g_ids[k % g_opt.identities];
    uint64_t expiry = g_chunk_expiry[k / CHUNK];
    if (expiry < g_wall + g_expiry_margin_ns) {
        /* signed too long ago: sign again with a fresh expiry */
        expiry = g_wall + g_expiry_ns;
        sign_request(from->id.sk, "POST", SIGN_PATH, expiry, (const uint8_t *)body, blen, sig_hex);
        g_st.resigned++;
    } else {
        hex_encode(g_sigs + k * SIG_BYTES, SIG_BYTES, sig_hex);
    }
    return expiry;
}

/* Builds the full HTTP request k into out; returns its length, 0 on overflow. */
static size_t build_request(uint64_t k, char *out, size_t cap)
{
    char body[BODY_CAP];
    size_t blen = build_body(k, body, sizeof body);
    if (blen == 0)
        return 0;
    const lg_identity_t *from = &g_ids[k % g_opt.identities];
    char sig_hex[2 * SIG_BYTES + 1];
    uint64_t expiry = transfer_signature(k, body, blen, sig_hex);
    int n =
        snprintf(out, cap,
                 "POST %s" SIGN_PATH " HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %zu\r\n"
                 "X-Public-Key: %s\r\n"
                 "X-Expiry: %" PRIu64 "\r\n"
                 "X-Signature: %s\r\n"
                 "\r\n"
                 "%s",
                 g_target.prefix, g_target.host_header, blen, from->pk_hex, expiry, sig_hex, body);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}

/* Appends printf output to buf[*len..cap); false when it does not fit. */
static bool put_fmt(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put_fmt(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    return true;
}

/* Appends s[0..n) as the contents of a JSON string. */
static bool put_json_escaped(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    size_t o = *len;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (cap - o < 7)
            return false;
        if (ch == '"' || ch == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)ch;
        } else if (ch < 0x20) {
            memcpy(buf + o, "\\u00", 4);
            buf[o + 4] = hexd[ch >> 4];
            buf[o + 5] = hexd[ch & 15];
            o += 6;
        } else {
            buf[o++] = (char)ch;
        }
    }
    *len = o;
    return true;
}

/* Builds POST /v1/transfer-batches carrying transfers k0 .. k0+n-1 into out; returns its
 * length, 0 on overflow. Each item is signed as the POST /v1/transfers of its body. */
static size_t build_batch_request(uint64_t k0, unsigned n, char *out, size_t cap)
{
    char *b = g_batch_body;
    size_t bcap = g_batch_cap, blen = 0;
    if (!put_fmt(b, bcap, &blen, "{\"transfers\":["))
        return 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t k = k0 + i;
        char body[BODY_CAP];
        size_t tlen = build_body(k, body, sizeof body);
        if (tlen == 0)
            return 0;
        char sig_hex[2 * SIG_BYTES + 1];
        uint64_t expiry = transfer_signature(k, body, tlen, sig_hex);
        if (!put_fmt(b, bcap, &blen,
                     "%s{\"public_key_der_hex\":\"%s\",\"expiry_nanos\":\"%" PRIu64 "\","
                     "\"signature_hex\":\"%s\",\"body\":\"",
                     i ? "," : "", g_ids[k % g_opt.identities].pk_hex, expiry, sig_hex) ||
            !put_json_escaped(b, bcap, &blen, body, tlen) || !put_fmt(b, bcap, &blen, "\"}"))
            return 0;
    }
    if (!put_fmt(b, bcap, &blen, "]}"))
        return 0;
    int hn = snprintf(out, cap,
                      "POST %s" BATCH_PATH " HTTP/1.1\r\n"
                      "Host: %s\r\n"
                      "Content-Type: application/json\r\n"
                      "Content-Length: %zu\r\n"
                      "\r\n",
                      g_target.prefix, g_target.host_header, blen);
    if (hn < 0 || (size_t)hn >= cap || cap - (size_t)hn < blen)
        return 0;
    memcpy(out + hn, b, blen);
    return (size_t)hn + blen;
}

/* A well-mixed 64-bit function of x (splitmix64's finaliser). */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Builds GET request k (--get-accounts): the account of a pseudo-random identity. */
static size_t build_get_request(uint64_t k, char *out, size_t cap)
{
    const lg_identity_t *who = &g_ids[mix64(k ^ g_opt.seed_base) % g_opt.identities];
    int n = snprintf(out, cap,
                     "GET %s/v1/accounts/%s%s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Accept: application/json\r\n"
                     "\r\n",
                     g_target.prefix, who->account_hex,
                     g_opt.history ? "/transactions?limit=" STR(HISTORY_LIMIT) : "",
                     g_target.host_header);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}

/* ---------------------------------------------------------------------------------------- */
/* GET /v1/identity with a plain blocking socket (outside the hot path).                     */

static bool fetch_now_nanos_once(uint64_t *out, char *err, size_t errlen)
{
    bool ok = false;
    char *buf = NULL;
    int fd = socket(g_target.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return false;
    }
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (const struct sockaddr *)&g_target.addr, g_target.addrlen) != 0) {
        snprintf(err, errlen, "connect: %s", strerror(errno));
        goto done;
    }
    char req[640];
    int rl = snprintf(req, sizeof req,
                      "GET %s/v1/identity HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
                      "Connection: close\r\n\r\n",
                      g_target.prefix, g_target.host_header);
    if (rl < 0 || (size_t)rl >= sizeof req) {
        snprintf(err, errlen, "request too long");
        goto done;
    }
    for (size_t off = 0; off < (size_t)rl;) {
        ssize_t n = send(fd, req + off, (size_t)rl - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "send: %s", strerror(errno));
            goto done;
        }
        off += (size_t)n;
    }
    size_t cap = 65536, len = 0;
    buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    http_resp_t r;
    for (;;) {
        bool eof = false;
        if (len == cap) {
            snprintf(err, errlen, "response too large");
            goto done;
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "recv: %s", strerror(errno));
            goto done;
        }
        if (n == 0)
            eof = true;
        len += (size_t)n;
        int pr = parse_response(buf, len, eof, &r);
        if (pr == PARSE_DONE)
            break;
        if (pr == PARSE_ERROR || eof) {
            snprintf(err, errlen, "malformed HTTP response");
            goto done;
        }
    }
    if (r.status != 200) {
        snprintf(err, errlen, "GET /v1/identity answered %d", r.status);
        goto done;
    }
    json_error_t jerr;
    json_t *j = json_loadb(r.body, r.body_len, 0, &jerr);
    json_t *v = j && json_is_object(j) ? json_object_get(j, "now_nanos") : NULL;
    uint64_t now = 0;
    bool got = false;
    if (v && json_is_string(v))
        got = parse_u64_n(json_string_value(v), json_string_length(v), &now);
    else if (v && json_is_integer(v) && json_integer_value(v) > 0)
        got = (now = (uint64_t)json_integer_value(v)) > 0;
    json_decref(j);
    if (!got || now == 0) {
        snprintf(err, errlen, "GET /v1/identity: no usable now_nanos in the body");
        goto done;
    }
    *out = now;
    ok = true;
done:
    free(buf);
    close(fd);
    return ok;
}

/* Tries for up to 10 seconds (the server may still be starting). */
static bool fetch_now_nanos(uint64_t *out, char *err, size_t errlen)
{
    uint64_t deadline = mono_ns() + 10 * NS_PER_SEC;
    for (;;) {
        if (fetch_now_nanos_once(out, err, errlen))
            return true;
        if (stopping() || mono_ns() >= deadline)
            return false;
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The epoll loop.                                                                           */

static void conn_set_events(conn_t *c, uint32_t ev)
{
    if (c->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    int op = c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(g_ep, op, c->fd, &e) == 0)
        c->events = ev;
}

static void conn_close(conn_t *c)
{
    if (c->fd >= 0) {
        close(c->fd); /* also leaves the epoll set */
        g_nopen--;
    }
    if (c->state == C_CONNECTING)
        g_nconnecting--;
    c->state = C_DOWN;
    c->fd = -1;
    c->events = 0;
    c->rlen = 0;
    c->wlen = c->woff = 0;
    c->served = 0;
    if (c->rcap > RBUF_KEEP) {
        char *nb = realloc(c->rbuf, RBUF_INIT);
        if (nb) {
            c->rbuf = nb;
            c->rcap = RBUF_INIT;
        }
    }
    if (c->in_flight) {
        c->in_flight = false;
        g_inflight--;
        g_st.lost++;
        g_st.tx_lost += c->nk;
    }
}

static void schedule_retry(conn_t *c)
{
    if (g_open) {
        /* the open loop reopens connections as requests wait: only new ones are delayed */
        c->state = C_DOWN;
        g_open_gate = g_now + (uint64_t)g_gate_ms * NS_PER_MS;
        g_gate_ms = g_gate_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : g_gate_ms * 2;
        return;
    }
    c->state = C_WAIT_RETRY;
    c->retry_at = g_now + (uint64_t)c->backoff_ms * NS_PER_MS;
    if (c->retry_at < g_next_retry)
        g_next_retry = c->retry_at;
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* The connection broke: count the request it carried (if any) as lost, retry later. */
static void start_connect(conn_t *c);

/* A connection that broke. A request sent on a kept-alive connection that closed before any
 * byte of its answer met the server closing that connection as idle while the request was on
 * its way. Every transfer carries its created_at_time, so the ledger takes a second copy as a
 * duplicate, and a client may send such a request again on a new connection (RFC 9112 section
 * 9.3.1), as HTTP libraries do. It goes once more, keeping its latency's origin; the second loss
 * counts. Any other request in flight is lost. */
static void conn_fail(conn_t *c)
{
    if (c->resend) { /* the new connection for a request sent again failed */
        c->resend = false;
        g_inflight--;
        g_st.lost++;
        g_st.tx_lost += c->nk;
        conn_close(c);
        schedule_retry(c);
        return;
    }
    bool again = c->in_flight && c->served > 0 && c->rlen == 0;
    size_t wlen = c->wlen;
    if (again)
        c->in_flight = false; /* still counted in g_inflight */
    conn_close(c);
    if (!again) {
        schedule_retry(c);
        return;
    }
    g_st.resent++;
    c->resend = true;
    c->wlen = wlen;
    start_connect(c);
}

static void do_write(conn_t *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n > 0) {
            c->woff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_set_events(c, EPOLLIN | EPOLLOUT);
            return;
        }
        conn_fail(c);
        return;
    }
    c->state = C_READING;
    conn_set_events(c, EPOLLIN);
}

/* --rate: a connected connection with nothing to send waits on the idle stack. */
static void conn_idle(conn_t *c)
{
    c->state = C_IDLE;
    conn_set_events(c, EPOLLIN); /* a close by the server, or data nobody asked for */
    if (!c->in_idle) {
        c->in_idle = true;
        g_idle[g_nidle++] = (unsigned)(c - g_conns);
    }
}

/* A connection whose answer ended it (or asked for its close): reconnect at once in the
 * closed loop; in the open loop, when a request waits for it. */
static void conn_recycle(conn_t *c)
{
    conn_close(c);
    if (!g_open)
        start_connect(c);
}

/* Sends the next request on a connected, idle connection (or retires it). */
static void send_next(conn_t *c)
{
    if (g_next_k >= g_nreq && !g_open) {
        conn_close(c);
        c->state = C_DONE;
        return;
    }
    uint64_t origin = 0;
    if (g_open) {
        if (g_open_next >= g_open_due || g_next_k >= g_nreq) {
            conn_idle(c);
            return;
        }
        origin = g_sched_start + (uint64_t)((double)g_open_next * g_ns_per_req);
        g_open_next++;
    }
    uint64_t k = g_next_k;
    uint32_t nk = 1;
    size_t n;
    if (g_opt.kind == RUN_BATCH) {
        nk = g_nreq - k < g_opt.batch ? (uint32_t)(g_nreq - k) : g_opt.batch;
        g_next_k += nk;
        n = build_batch_request(k, nk, c->wbuf, c->wcap);
    } else {
        g_next_k++;
        n = g_opt.kind == RUN_GET ? build_get_request(k, c->wbuf, c->wcap)
                                  : build_request(k, c->wbuf, c->wcap);
    }
    if (n == 0) { /* cannot happen with the length limits on the URL; skip k */
        g_st.protocol++;
        send_next(c);
        return;
    }
    c->wlen = n;
    c->woff = 0;
    c->k = k;
    c->nk = nk;
    c->in_flight = true;
    c->sent_ns = g_open ? origin : mono_ns();
    c->measured = g_open && origin >= g_measure_start;
    if (c->measured)
        g_st.measured_sent++;
    g_inflight++;
    g_st.sent++;
    g_st.tx_sent += nk;
    c->state = C_WRITING;
    do_write(c);
}

static void on_connected(conn_t *c)
{
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->served = 0;
    g_gate_ms = BACKOFF_MIN_MS;
    if (c->resend) {
        c->resend = false;
        c->woff = 0;
        c->in_flight = true;
        c->state = C_WRITING;
        do_write(c);
        return;
    }
    send_next(c);
}

/* --rate: connection i > 255 of an IPv4 target leaves from 127.0.0.(1 + i/256). */
static bool bind_source(conn_t *c)
{
    unsigned i = (unsigned)(c - g_conns);
    if (!g_open || g_target.family != AF_INET || i < CONNS_PER_SOURCE)
        return true;
    int one = 1;
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = 0};
    src.sin_addr.s_addr = htonl((127u << 24) | (1u + i / CONNS_PER_SOURCE));
    return bind(c->fd, (const struct sockaddr *)&src, sizeof src) == 0;
}

static void start_connect(conn_t *c)
{
    if (!c->resend && g_next_k >= g_nreq) {
        c->state = C_DONE;
        return;
    }
    c->fd = socket(g_target.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        g_st.connect_failed++;
        schedule_retry(c);
        return;
    }
    g_nopen++;
    if (g_nopen > g_st.peak_open)
        g_st.peak_open = g_nopen;
    c->events = 0;
    if (!bind_source(c)) {
        g_st.connect_failed++;
        conn_fail(c);
        return;
    }
    int rc = connect(c->fd, (const struct sockaddr *)&g_target.addr, g_target.addrlen);
    if (rc == 0) {
        on_connected(c);
        return;
    }
    if (errno == EINPROGRESS) {
        c->state = C_CONNECTING;
        g_nconnecting++;
        conn_set_events(c, EPOLLOUT);
        if (c->events == 0) { /* epoll_ctl failed */
            g_st.connect_failed++;
            conn_fail(c);
        }
        return;
    }
    g_st.connect_failed++;
    conn_fail(c);
}

static void lat_push(uint32_t us)
{
    if (g_nlat == g_lat_cap) {
        uint64_t ncap = g_lat_cap ? 2 * g_lat_cap : LAT_INIT;
        uint32_t *nl = realloc(g_lat_us, (size_t)ncap * sizeof *nl);
        if (!nl)
            return; /* out of memory: this one goes unrecorded */
        g_lat_us = nl;
        g_lat_cap = ncap;
    }
    g_lat_us[g_nlat++] = us;
}

static void sample_error_body(int status, const http_resp_t *r)
{
    if (g_opt.quiet || g_error_samples >= MAX_ERROR_SAMPLES)
        return;
    g_error_samples++;
    char text[301];
    size_t n = r->body_len < 300 ? r->body_len : 300;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)r->body[i];
        text[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '.';
    }
    text[n] = '\0';
    fprintf(stderr, "loadgen: sample %d response: %s\n", status, text);
}

/* The "block_index" of an answer object (a decimal string, or a number). */
static bool get_block_index(const json_t *o, uint64_t *out)
{
    json_t *v = json_is_object(o) ? json_object_get(o, "block_index") : NULL;
    if (v && json_is_string(v))
        return parse_u64_n(json_string_value(v), json_string_length(v), out);
    if (v && json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    return false;
}

static void write_acked_index(uint64_t k, const json_t *o)
{
    uint64_t bi = 0;
    if (!get_block_index(o, &bi)) {
        g_st.ok_no_index++;
        return;
    }
    fprintf(g_acked, "%" PRIu64 " %" PRIu64 "\n", bi, k);
    g_acked_dirty = true;
}

static void write_acked(uint64_t k, const http_resp_t *r)
{
    json_error_t jerr;
    json_t *j = json_loadb(r->body, r->body_len, 0, &jerr);
    write_acked_index(k, j);
    json_decref(j);
}

/* Counts n units answered with the non-success status s. */
static void count_failed(int s, uint64_t n)
{
    if (s == 409)
        g_st.s409 += n;
    else if (s >= 400 && s < 500)
        g_st.s4xx += n;
    else if (s >= 500 && s < 600)
        g_st.s5xx += n;
    else
        g_st.sother += n;
}

static void sample_error_item(int status, const json_t *item)
{
    if (g_opt.quiet || g_error_samples >= MAX_ERROR_SAMPLES)
        return;
    char *text = json_dumps(item, JSON_COMPACT);
    if (!text)
        return;
    g_error_samples++;
    fprintf(stderr, "loadgen: sample batch item %d: %.300s\n", status, text);
    free(text);
}

/* A 2xx answer to a batch: one result per transfer carried, in order. */
static void record_batch_results(const conn_t *c, const http_resp_t *r, bool measured)
{
    json_error_t jerr;
    json_t *j = json_loadb(r->body, r->body_len, 0, &jerr);
    json_t *results = json_is_object(j) ? json_object_get(j, "results") : NULL;
    size_t nres = json_is_array(results) ? json_array_size(results) : 0;
    if (nres != c->nk) {
        g_st.req_malformed++;
        if (g_st.req_malformed == 1)
            sample_error_body(r->status, r);
    }
    for (uint32_t i = 0; i < c->nk; i++) {
        json_t *item = i < nres ? json_array_get(results, i) : NULL;
        json_t *st = json_is_object(item) ? json_object_get(item, "status") : NULL;
        if (!json_is_integer(st)) {
            g_st.tx_malformed++;
            continue;
        }
        json_int_t s = json_integer_value(st);
        if (s == 200) {
            g_st.ok++;
            if (measured)
                g_st.ok_measured++;
            if (g_acked)
                write_acked_index(c->k + i, item);
            continue;
        }
        int si = s > 0 && s < 1000 ? (int)s : 0;
        count_failed(si, 1);
        sample_error_item(si, item);
    }
    json_decref(j);
}

static void record_response(conn_t *c, const http_resp_t *r)
{
    uint64_t now = mono_ns();
    c->in_flight = false;
    g_inflight--;
    c->served++;
    c->backoff_ms = BACKOFF_MIN_MS;
    int s = r->status;
    /* the rate counts answers inside the window */
    bool measured = now >= g_measure_start && now < g_measure_end;
    if (s >= 200 && s < 300) {
        g_st.req_ok++;
        if (measured)
            g_st.req_ok_measured++;
        if (measured && !g_open && g_lat_measured_from == UINT64_MAX)
            g_lat_measured_from = g_nlat;
        /* --rate: latencies of the requests due after the warmup only, from their due time */
        uint64_t us = (now - c->sent_ns) / 1000;
        uint32_t us32 = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        if (!g_open || c->measured)
            lat_push(us32);
        g_st.slow += us32 > SLOW_MS * 1000;
        if (us32 > g_st.second_max_us)
            g_st.second_max_us = us32;
        if (g_opt.kind == RUN_BATCH) {
            record_batch_results(c, r, measured);
            return;
        }
        g_st.ok++;
        if (measured)
            g_st.ok_measured++;
        if (g_acked)
            write_acked(c->k, r);
        return;
    }
    g_st.req_err++;
    count_failed(s, c->nk);
    sample_error_body(s, r);
}

static bool rbuf_grow(conn_t *c)
{
    if (c->rcap >= RBUF_MAX)
        return false;
    size_t ncap = c->rcap * 2 > RBUF_MAX ? RBUF_MAX : c->rcap * 2;
    char *nb = realloc(c->rbuf, ncap);
    if (!nb)
        return false;
    c->rbuf = nb;
    c->rcap = ncap;
    return true;
}

static void do_read(conn_t *c)
{
    bool eof = false, broken = false;
    for (;;) {
        if (c->rlen == c->rcap && !rbuf_grow(c)) {
            g_st.protocol++; /* response too large */
            conn_fail(c);
            return;
        }
        size_t room = c->rcap - c->rlen;
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, room, 0);
        if (n > 0) {
            c->rlen += (size_t)n;
            if ((size_t)n < room)
                break; /* drained, most likely; level-triggered epoll tells otherwise */
            continue;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        broken = true; /* ECONNRESET and friends */
        break;
    }

    if (!c->in_flight) {
        /* nothing was asked: data is a protocol violation, EOF an idle close */
        if (c->rlen) {
            g_st.unsolicited++;
            conn_fail(c);
        } else if (eof || broken) {
            bool had_success = c->served > 0;
            conn_close(c);
            if (had_success) {
                if (!g_open) /* the open loop reconnects when a request waits */
                    start_connect(c);
            } else {
                schedule_retry(c);
            }
        }
        return;
    }
    if (c->rlen == 0) {
        if (eof || broken)
            conn_fail(c);
        return;
    }
    http_resp_t r;
    int pr = parse_response(c->rbuf, c->rlen, eof, &r);
    if (pr == PARSE_MORE) {
        if (eof || broken)
            conn_fail(c);
        return;
    }
    if (pr == PARSE_ERROR) {
        g_st.protocol++;
        conn_fail(c);
        return;
    }
    record_response(c, &r);
    bool leftover = r.total_len < c->rlen;
    if (leftover)
        g_st.unsolicited++;
    c->rlen = 0;
    if (r.close || eof || broken || leftover || c->woff < c->wlen) {
        conn_recycle(c);
        return;
    }
    if (c->rcap > RBUF_KEEP) {
        char *nb = realloc(c->rbuf, RBUF_INIT);
        if (nb) {
            c->rbuf = nb;
            c->rcap = RBUF_INIT;
        }
    }
    send_next(c);
}

static void on_event(conn_t *c, uint32_t ev)
{
    switch (c->state) {
    case C_CONNECTING: {
        int err = 0;
        socklen_t l = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
            err = errno;
        if (err == 0 && (ev & EPOLLOUT) && !(ev & EPOLLERR)) {
            g_nconnecting--;
            c->state = C_DOWN; /* connected: no longer counted as connecting */
            on_connected(c);
        } else if (err != 0 || (ev & (EPOLLERR | EPOLLHUP))) {
            g_st.connect_failed++;
            conn_fail(c);
        }
        break;
    }
    case C_WRITING:
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
            do_read(c);
            if (c->state != C_WRITING)
                break;
        }
        if (ev & EPOLLOUT)
            do_write(c);
        break;
    case C_READING:
    case C_IDLE:
        do_read(c);
        break;
    case C_DOWN:
    case C_WAIT_RETRY:
    case C_DONE:
        break;
    }
}

static void run_retries(void)
{
    g_next_retry = UINT64_MAX;
    for (unsigned i = 0; i < g_opt.connections; i++) {
        conn_t *c = &g_conns[i];
        if (c->state == C_DOWN || (c->state == C_WAIT_RETRY && c->retry_at <= g_now)) {
            start_connect(c);
        } else if (c->state == C_WAIT_RETRY && c->retry_at < g_next_retry) {
            g_next_retry = c->retry_at;
        }
    }
}

static void flush_acked(void)
{
    if (g_acked && g_acked_dirty) {
        fflush(g_acked);
        g_acked_dirty = false;
    }
}

typedef enum { END_DURATION, END_REQUESTS, END_SIGNAL, END_FAILURE } end_reason_t;

/* --rate: the requests due by now, each sent on an idle connection; when they outnumber the
 * connections idle and opening, more are opened up to the cap. */
static void open_dispatch(void)
{
    /* every request of the schedule falls due before g_sched_end */
    uint64_t due = g_now < g_sched_end
                       ? (uint64_t)((double)(g_now - g_sched_start) / g_ns_per_req) + 1
                       : g_sched_total;
    if (!stopping())
        g_open_due = due < g_sched_total ? due : g_sched_total;
    while (g_open_next < g_open_due && g_next_k < g_nreq && g_nidle) {
        conn_t *c = &g_conns[g_idle[--g_nidle]];
        c->in_idle = false;
        if (c->state == C_IDLE && c->fd >= 0)
            send_next(c);
    }
    uint64_t queued = g_open_due - g_open_next;
    if (queued > g_st.peak_queue)
        g_st.peak_queue = queued;
    unsigned scanned = 0;
    while (queued > g_nconnecting && g_nopen < g_opt.connections && g_now >= g_open_gate &&
           scanned < g_opt.connections) {
        conn_t *c = &g_conns[g_scan];
        g_scan = (g_scan + 1) % g_opt.connections;
        scanned++;
        if (c->state != C_DOWN || c->fd >= 0)
            continue;
        start_connect(c); /* connected at once, it takes a request itself */
        queued = g_open_due - g_open_next;
    }
}

/* --rate: when the next request falls due (UINT64_MAX: none will). */
static uint64_t open_next_due(void)
{
    uint64_t w = UINT64_MAX;
    if (g_open_due < g_sched_total && g_now < g_sched_end)
        w = g_sched_start + (uint64_t)((double)g_open_due * g_ns_per_req);
    /* a queue moves when a connection frees (an event) or opens (after a failure, the gate) */
    if (g_open_next < g_open_due && g_nopen < g_opt.connections && g_now < g_open_gate &&
        g_open_gate < w)
        w = g_open_gate;
    return w;
}

static end_reason_t run_loop(uint64_t start, uint64_t end)
{
    struct epoll_event evs[MAX_EVENTS];
    uint64_t next_flush = start + 100 * NS_PER_MS;
    uint64_t next_progress = start + NS_PER_SEC;
    uint64_t last_ok = 0, last_slow = 0;
    g_now = start;
    g_wall = wall_ns();
    /* the closed loop connects everything on the first turn; the open loop as requests wait */
    g_next_retry = g_open ? UINT64_MAX : 0;
    uint64_t hard_end = end;
    if (g_open) {
        g_sched_start = start;
        g_sched_end = end;
        hard_end = end + DRAIN_SECONDS * NS_PER_SEC;
    }
    for (;;) {
        if (stopping())
            return END_SIGNAL;
        if (g_open) {
            open_dispatch();
            /* past --duration: what is due (queued or in flight) may still finish */
            bool all_due = g_now >= end || g_open_due >= g_sched_total;
            if (all_due && g_open_next >= g_open_due && g_inflight == 0)
                return g_now >= end ? END_DURATION : END_REQUESTS;
            if (g_now >= hard_end)
                return END_DURATION;
        } else {
            if (g_now >= end)
                return END_DURATION;
            if (g_next_k >= g_nreq && g_inflight == 0)
                return END_REQUESTS;
        }
        if (g_now >= g_next_retry)
            run_retries();
        uint64_t wake = g_open ? open_next_due() : end;
        if (wake > hard_end)
            wake = g_open && g_now < end ? end : hard_end;
        if (g_next_retry < wake)
            wake = g_next_retry;
        if (next_flush < wake)
            wake = next_flush;
        if (next_progress < wake)
            wake = next_progress;
        int timeout_ms = 0;
        if (wake > g_now) {
            uint64_t ms = (wake - g_now + NS_PER_MS - 1) / NS_PER_MS;
            timeout_ms = ms > 100 ? 100 : (int)ms;
        }
        int n = epoll_wait(g_ep, evs, MAX_EVENTS, timeout_ms);
        if (n < 0 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            return END_FAILURE;
        }
        g_now = mono_ns();
        g_wall = wall_ns();
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events);
        if (n > 0)
            g_now = mono_ns();
        if (g_now >= next_flush) {
            flush_acked();
            next_flush = g_now + 100 * NS_PER_MS;
        }
        if (g_now >= next_progress) {
            if (!g_opt.quiet) {
                uint64_t errs = g_st.s409 + g_st.s4xx + g_st.s5xx + g_st.sother +
                                g_st.tx_malformed + g_st.connect_failed + g_st.tx_lost;
                char reqs[96] = "";
                int rl = 0;
                if (g_opt.kind == RUN_BATCH)
                    rl = snprintf(reqs, sizeof reqs, " requests=%" PRIu64, g_st.sent);
                if (g_open && rl >= 0 && (size_t)rl < sizeof reqs)
                    snprintf(reqs + rl, sizeof reqs - (size_t)rl,
                             " queued=%" PRIu64 " open_connections=%u", g_open_due - g_open_next,
                             g_nopen);
                fprintf(stderr,
                        "loadgen: t=%.1fs%s sent=%" PRIu64 " ok=%" PRIu64 " errors=%" PRIu64
                        " in_flight=%" PRIu64 " last_second_ok=%" PRIu64
                        " last_second_slow=%" PRIu64 " last_second_max_ms=%.1f%s\n",
                        (double)(g_now - start) / 1e9, reqs, g_st.tx_sent, g_st.ok, errs,
                        g_inflight, g_st.ok - last_ok, g_st.slow - last_slow,
                        g_st.second_max_us / 1000.0, g_now < g_measure_start ? " (warmup)" : "");
            }
            last_ok = g_st.ok;
            last_slow = g_st.slow;
            g_st.second_max_us = 0;
            next_progress += NS_PER_SEC;
            if (next_progress <= g_now)
                next_progress = g_now + NS_PER_SEC;
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Summary.                                                                                  */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted lat[0..n). */
static double percentile_ms(const uint32_t *lat, uint64_t n, double p)
{
    if (n == 0)
        return 0.0;
    uint64_t rank = (uint64_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)lat[rank - 1] / 1000.0;
}

static void print_summary(end_reason_t why, uint64_t start, uint64_t stop)
{
    bool windowed = g_measure_start < stop;
    uint64_t measure_from = windowed ? g_measure_start : start;
    uint64_t measure_to = stop < g_measure_end ? stop : g_measure_end; /* --rate: the schedule */
    uint64_t ok_window = windowed ? g_st.ok_measured : g_st.ok;
    uint64_t req_window = windowed ? g_st.req_ok_measured : g_st.req_ok;
    double window = measure_to > measure_from ? (double)(measure_to - measure_from) / 1e9 : 0.0;
    double rate = window > 0 ? (double)ok_window / window : 0.0;
    double req_rate = window > 0 ? (double)req_window / window : 0.0;
    /* latencies of the measured window, or of the whole run when it ended in the warmup */
    uint64_t from = 0;
    if (windowed && !g_open) /* --rate keeps the latencies of the measured requests only */
        from = g_lat_measured_from < g_nlat ? g_lat_measured_from : g_nlat;
    uint32_t *lat = g_lat_us ? g_lat_us + from : NULL;
    uint64_t nlat = g_nlat - from;
    if (nlat)
        qsort(lat, (size_t)nlat, sizeof *lat, cmp_u32);
    double p50 = percentile_ms(lat, nlat, 0.50), p90 = percentile_ms(lat, nlat, 0.90);
    double p99 = percentile_ms(lat, nlat, 0.99);
    double pmax = nlat ? (double)lat[nlat - 1] / 1000.0 : 0.0;
    /* units: transfers with --batch, requests otherwise */
    uint64_t failed = g_st.s409 + g_st.s4xx + g_st.s5xx + g_st.sother + g_st.tx_malformed;
    uint64_t answered = g_st.ok + failed;
    uint64_t conn_errors = g_st.connect_failed + g_st.lost;
    uint64_t errors = failed + g_st.connect_failed + g_st.tx_lost;
    bool batch = g_opt.kind == RUN_BATCH;
    const char *unit = batch ? "transfers" : "requests";
    char exhausted[40];
    snprintf(exhausted, sizeof exhausted, "%s pool exhausted", batch ? "transfer" : "request");
    char all_answered[40];
    snprintf(all_answered, sizeof all_answered, "all %s answered", unit);
    const char *reason = why == END_DURATION   ? "duration elapsed"
                         : why == END_REQUESTS ? (g_opt.requests ? all_answered : exhausted)
                         : why == END_SIGNAL   ? "stopped by signal"
                                               : "loop failure";
    const char *mode = g_opt.kind == RUN_GET ? (g_opt.history ? "account-history" : "accounts")
                       : g_opt.mode == MODE_LEGACY ? "legacy"
                                                   : "icrc1";

    printf("loadgen: target http://%s%s mode=%s connections=%u identities=%u", g_target.host_header,
           g_target.prefix, mode, g_opt.connections, g_opt.identities);
    if (batch)
        printf(" batch=%u", g_opt.batch);
    printf("\n");
    printf("run:                %.2f s (%s); measured window %.2f s after %.2f s warmup\n",
           (double)(stop - start) / 1e9, reason, window, (double)(measure_from - start) / 1e9);
    if (batch) {
        printf("transfers prepared: %" PRIu64 "\n", g_nreq);
        printf("requests sent:      %" PRIu64 " (%" PRIu64 " transfers, up to %u per request)\n",
               g_st.sent, g_st.tx_sent, g_opt.batch);
        printf("requests answered:  %" PRIu64 " (2xx %" PRIu64 ", other status %" PRIu64 ")\n",
               g_st.req_ok + g_st.req_err, g_st.req_ok, g_st.req_err);
        if (g_st.req_malformed)
            printf("  2xx without one result per transfer: %" PRIu64 "\n", g_st.req_malformed);
        printf("transfers answered: %" PRIu64 " (a non-2xx request counts for all it carried)\n",
               answered);
        printf("  200:              %" PRIu64 "\n", g_st.ok);
    } else {
        if (g_opt.kind == RUN_GET) {
            if (g_opt.requests)
                printf("requests budget:    %" PRIu64 "\n", g_nreq);
            else
                printf("requests budget:    unlimited (--duration)\n");
        } else {
            printf("requests prepared:  %" PRIu64 "\n", g_nreq);
        }
        printf("requests sent:      %" PRIu64 "\n", g_st.sent);
        printf("answered:           %" PRIu64 "\n", answered);
        printf("  2xx:              %" PRIu64 "\n", g_st.ok);
    }
    printf("  409:              %" PRIu64 "\n", g_st.s409);
    printf("  4xx other:        %" PRIu64 "\n", g_st.s4xx);
    printf("  5xx:              %" PRIu64 "\n", g_st.s5xx);
    if (g_st.sother)
        printf("  other status:     %" PRIu64 "\n", g_st.sother);
    if (g_st.tx_malformed)
        printf("  no usable result: %" PRIu64 "\n", g_st.tx_malformed);
    if (batch)
        printf("connection errors:  %" PRIu64 " (failed connects %" PRIu64
               ", requests lost in flight %" PRIu64 " carrying %" PRIu64
               " transfers, of which malformed responses %" PRIu64 ")\n",
               conn_errors, g_st.connect_failed, g_st.lost, g_st.tx_lost, g_st.protocol);
    else
        printf("connection errors:  %" PRIu64 " (failed connects %" PRIu64
               ", requests lost in flight %" PRIu64 ", of which malformed responses %" PRIu64 ")\n",
               conn_errors, g_st.connect_failed, g_st.lost, g_st.protocol);
    if (g_st.resent)
        printf("sent again:         %" PRIu64 " request(s) lost on a connection the server had"
               " closed as idle, sent once more on a new one\n",
               g_st.resent);
    printf("in flight at stop:  %" PRIu64 "%s\n", g_inflight, batch ? " requests" : "");
    if (g_st.unsolicited)
        printf("unsolicited data:   %" PRIu64 " connection(s) dropped\n", g_st.unsolicited);
    if (g_st.resigned)
        printf("re-signed late:     %" PRIu64 " (expiry near; raise --expiry-seconds)\n",
               g_st.resigned);
    if (g_st.ok_no_index)
        printf("%s without block_index: %" PRIu64 " (not written to --acked)\n",
               batch ? "200" : "2xx", g_st.ok_no_index);
    if (batch) {
        printf("rate:               %.2f transfers/s (%" PRIu64 " in %.2f s), %.2f requests/s\n",
               rate, ok_window, window, req_rate);
        printf("latency 2xx requests (ms): p50=%.3f p90=%.3f p99=%.3f max=%.3f (n=%" PRIu64 ")%s\n",
               p50, p90, p99, pmax, nlat, g_open ? ", from the due time" : "");
    } else {
        printf("rate:               %.2f 2xx/s (%" PRIu64 " in %.2f s)\n", rate, ok_window, window);
        printf("latency 2xx (ms):   p50=%.3f p90=%.3f p99=%.3f max=%.3f (n=%" PRIu64 ")%s\n", p50,
               p90, p99, pmax, nlat, g_open ? ", from the due time" : "");
    }
    if (g_open) {
        /* due but never sent (queued when the run stopped) and sent but never answered */
        uint64_t queued = g_open_due - g_open_next;
        uint64_t unanswered = queued + g_inflight + g_st.lost;
        printf("open loop:          %.2f requests/s due (%" PRIu64 " due in all, %" PRIu64
               " after the warmup and sent); latency from the due time\n",
               g_opt.rate, g_open_due, g_st.measured_sent);
        printf("  connections:      at most %u, %" PRIu64 " open at the peak\n", g_opt.connections,
               g_st.peak_open);
        printf("  queue:            %" PRIu64
               " requests waiting for a connection at the peak, %" PRIu64 " when the run stopped\n",
               g_st.peak_queue, queued);
        printf("  sent rate:        %.2f requests/s over the run\n",
               stop > start ? (double)g_st.sent / ((double)(stop - start) / 1e9) : 0.0);
        printf("loadgen: open rate=%.2f due=%" PRIu64 " sent=%" PRIu64 " ok=%" PRIu64
               " non2xx=%" PRIu64 " unanswered=%" PRIu64 " achieved_per_second=%.2f p50_ms=%.3f"
               " p90_ms=%.3f p99_ms=%.3f max_ms=%.3f n=%" PRIu64 "\n",
               g_opt.rate, g_open_due, g_st.sent, g_st.ok, failed, unanswered, rate, p50, p90, p99,
               pmax, nlat);
    }
    printf("loadgen: ok_per_second=%.2f ok=%" PRIu64 " errors=%" PRIu64
           " p50_ms=%.3f p99_ms=%.3f requests_per_second=%.2f\n",
           rate, g_st.ok, errors, p50, p99, req_rate);
    fflush(stdout);
}

/* ---------------------------------------------------------------------------------------- */
/* main                                                                                       */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: loadgen --url http://127.0.0.1:8081 --connections 256 --duration 30\n"
            "               [--requests N] [--identities 64] [--seed-base 1000] [--amount 1]\n"
            "               [--mode legacy|icrc1] [--acked FILE] [--warmup 2]\n"
            "               [--expiry-seconds 240] [--created-at-time-from-server] [--quiet]\n"
            "               [--batch N]\n"
            "       loadgen --rate R [--connections 2048] [--duration S] [--batch N] [...]\n"
            "       loadgen --get-accounts [--history] --url URL --connections N --duration S\n"
            "               [--requests N] [--identities 64] [--seed-base 1000] [--warmup 2]\n"
            "               [--quiet]\n"
            "       loadgen --print-accounts [--identities 64] [--seed-base 1000]\n"
            "\n"
            "Drives signed POST /v1/transfers (or, with --batch, POST /v1/transfer-batches; or,\n"
            "with --get-accounts, unsigned GETs) over keep-alive HTTP/1.1 connections (one epoll\n"
            "loop, one request in flight per connection) and prints a summary ending in\n"
            "  loadgen: ok_per_second=<f> ok=<n> errors=<n> p50_ms=<f> p99_ms=<f>"
            " requests_per_second=<f>\n"
            "ok and ok_per_second count transfers with --batch (items answered \"status\":200),\n"
            "2xx requests otherwise; errors counts in the same unit; latency is per request.\n"
            "\n"
            "  --url URL             http://HOST[:PORT][/prefix]; HOST 127.x.x.x, localhost\n"
            "                        or [::1] (default http://127.0.0.1:8081)\n"
            "  --connections N       concurrent connections (default 256)\n"
            "  --duration S          wall time of the run, warmup included (default 30)\n"
            "  --requests N          transfers to prepare; the run also ends when all are\n"
            "                        answered (default connections*duration*200, with --batch\n"
            "                        B connections*duration*4*B, at most 4000000; all are\n"
            "                        signed before the clock starts). With --get-accounts:\n"
            "                        GETs to send (default: no limit but --duration)\n"
            "  --identities N        identity i is seeded by SHA-256(\"loadgen-<seed-base+i>\");\n"
            "                        request k: identity k%%N pays (k+1)%%N (default 64)\n"
            "  --seed-base B         (default 1000)\n"
            "  --amount E8S          amount of each transfer (default 1; fee 10000)\n"
            "  --mode legacy|icrc1   legacy {to, memo} or ICRC-1 {to_account, icrc1_memo} body\n"
            "  --acked FILE          append \"<block_index> <k>\" for every 2xx\n"
            "  --warmup S            first seconds left out of rate and latency (default 2)\n"
            "  --expiry-seconds S    X-Expiry = signing time + S, 4..300 (default 240)\n"
            "  --created-at-time-from-server\n"
            "                        fail unless GET /v1/identity gives now_nanos (default:\n"
            "                        try it, fall back to the local clock)\n"
            "  --quiet               no progress or diagnostics on stderr\n"
            "  --print-accounts      print each identity's default account id hex and exit\n"
            "  --batch N             1..100 transfers per POST /v1/transfer-batches request,\n"
            "                        each signed as its own POST /v1/transfers: request r\n"
            "                        carries transfers r*N .. r*N+N-1 (default 0: one transfer\n"
            "                        per POST /v1/transfers). --acked gets a line per item\n"
            "                        answered \"status\":200\n"
            "  --get-accounts        read benchmark, nothing signed: request k is GET\n"
            "                        /v1/accounts/<id> for the default account of a\n"
            "                        pseudo-random identity (a function of k and --seed-base)\n"
            "  --history             with --get-accounts (implies it): GET\n"
            "                        /v1/accounts/<id>/transactions?limit=20\n"
            "  --rate R              open loop: request j is due at j/R s (R per second, with\n"
            "                        --batch N R*N transfers/s) whatever the answers; sent on an\n"
            "                        idle connection, else queued while more connections open\n"
            "                        (up to --connections, default and at most 2048); latency\n"
            "                        counts from the due time. After --duration nothing more\n"
            "                        falls due; the queue and the answers get up to " STR(
                DRAIN_SECONDS) " s more.\n"
                               "                        Adds a line \"loadgen: open rate= due= "
                               "sent= ok= non2xx=\n"
                               "                        unanswered= achieved_per_second= p50_ms= "
                               "p90_ms= p99_ms=\n"
                               "                        max_ms= n=\"\n");
}

static bool parse_options(int argc, char **argv)
{
    enum {
        O_URL = 256,
        O_CONN,
        O_DUR,
        O_REQ,
        O_IDS,
        O_SEED,
        O_AMOUNT,
        O_MODE,
        O_ACKED,
        O_WARMUP,
        O_EXPIRY,
        O_TIME,
        O_QUIET,
        O_PRINT,
        O_HELP,
        O_BATCH,
        O_GET,
        O_HISTORY,
        O_RATE
    };
    static const struct option longopts[] = {
        {"url", required_argument, NULL, O_URL},
        {"connections", required_argument, NULL, O_CONN},
        {"duration", required_argument, NULL, O_DUR},
        {"requests", required_argument, NULL, O_REQ},
        {"identities", required_argument, NULL, O_IDS},
        {"seed-base", required_argument, NULL, O_SEED},
        {"amount", required_argument, NULL, O_AMOUNT},
        {"mode", required_argument, NULL, O_MODE},
        {"acked", required_argument, NULL, O_ACKED},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"expiry-seconds", required_argument, NULL, O_EXPIRY},
        {"created-at-time-from-server", no_argument, NULL, O_TIME},
        {"quiet", no_argument, NULL, O_QUIET},
        {"print-accounts", no_argument, NULL, O_PRINT},
        {"help", no_argument, NULL, O_HELP},
        {"batch", required_argument, NULL, O_BATCH},
        {"get-accounts", no_argument, NULL, O_GET},
        {"history", no_argument, NULL, O_HISTORY},
        {"rate", required_argument, NULL, O_RATE},
        {NULL, 0, NULL, 0},
    };
    g_opt = (options_t){
        .url = "http://127.0.0.1:8081",
        .connections = 256,
        .duration = 30,
        .identities = 64,
        .seed_base = 1000,
        .amount = 1,
        .mode = MODE_LEGACY,
        .warmup = 2,
        .expiry_seconds = 240,
    };
    int o;
    uint64_t v;
    opterr = 0;
    int li = -1;
    while ((o = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
        const char *name = li >= 0 ? longopts[li].name : "?";
        li = -1;
        switch (o) {
        case O_URL:
            g_opt.url = optarg;
            break;
        case O_CONN:
            if (!parse_u64_arg(optarg, &v) || v < 1 || v > 60000)
                goto bad;
            g_opt.connections = (unsigned)v;
            g_opt.connections_set = true;
            break;
        case O_DUR:
            if (!parse_seconds_arg(optarg, &g_opt.duration) || g_opt.duration <= 0)
                goto bad;
            break;
        case O_REQ:
            if (!parse_u64_arg(optarg, &v) || v < 1 || v > MAX_REQUESTS)
                goto bad;
            g_opt.requests = v;
            break;
        case O_IDS:
            if (!parse_u64_arg(optarg, &v) || v < 1 || v > 1000000)
                goto bad;
            g_opt.identities = (unsigned)v;
            break;
        case O_SEED:
            if (!parse_u64_arg(optarg, &g_opt.seed_base))
                goto bad;
            break;
        case O_AMOUNT:
            if (!parse_u64_arg(optarg, &g_opt.amount))
                goto bad;
            break;
        case O_MODE:
            if (strcmp(optarg, "legacy") == 0)
                g_opt.mode = MODE_LEGACY;
            else if (strcmp(optarg, "icrc1") == 0)
                g_opt.mode = MODE_ICRC1;
            else
                goto bad;
            break;
        case O_ACKED:
            g_opt.acked = optarg;
            break;
        case O_WARMUP:
            if (!parse_seconds_arg(optarg, &g_opt.warmup))
                goto bad;
            break;
        case O_EXPIRY:
            if (!parse_u64_arg(optarg, &v) || v < 4 || v > 300)
                goto bad;
            g_opt.expiry_seconds = (unsigned)v;
            break;
        case O_TIME:
            g_opt.time_from_server = true;
            break;
        case O_QUIET:
            g_opt.quiet = true;
            break;
        case O_PRINT:
            g_opt.print_accounts = true;
            break;
        case O_BATCH:
            if (!parse_u64_arg(optarg, &v) || v > BATCH_MAX)
                goto bad;
            g_opt.batch = (unsigned)v;
            break;
        case O_GET:
            g_opt.get_accounts = true;
            break;
        case O_HISTORY:
            g_opt.get_accounts = true;
            g_opt.history = true;
            break;
        case O_RATE: {
            char *end = NULL;
            errno = 0;
            double r = strtod(optarg, &end);
            if (errno || !end || *end || end == optarg || !(r > 0.0) || r > OPEN_MAX_RATE)
                goto bad;
            g_opt.rate = r;
            break;
        }
        case 'h':
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            fprintf(stderr, "loadgen: unknown option or missing value: %s\n",
                    optind > 1 && optind - 1 < argc ? argv[optind - 1] : "?");
            usage(stderr);
            return false;
        bad:
            fprintf(stderr, "loadgen: bad value for --%s: '%s'\n", name, optarg ? optarg : "");
            return false;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
        return false;
    }
    if (g_opt.seed_base > UINT64_MAX - g_opt.identities) {
        fprintf(stderr, "loadgen: --seed-base + --identities overflows\n");
        return false;
    }
    if (g_opt.get_accounts && (g_opt.batch || g_opt.acked)) {
        fprintf(stderr, "loadgen: --get-accounts sends no transfers: no --batch or --acked\n");
        return false;
    }
    g_opt.kind = g_opt.get_accounts ? RUN_GET : g_opt.batch ? RUN_BATCH : RUN_SINGLE;
    if (g_opt.rate > 0) {
        if (!g_opt.connections_set)
            g_opt.connections = OPEN_MAX_CONNECTIONS;
        if (g_opt.connections > OPEN_MAX_CONNECTIONS) {
            fprintf(stderr, "loadgen: --rate drives at most %d connections\n",
                    OPEN_MAX_CONNECTIONS);
            return false;
        }
        if (g_opt.acked) {
            fprintf(stderr, "loadgen: --rate takes no --acked\n");
            return false;
        }
        g_open = true;
    }
    return true;
}

static bool raise_fd_limit(unsigned need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return true;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t want = need;
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
            want = rl.rlim_max;
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur < need) {
            fprintf(stderr, "loadgen: need %u file descriptors, the limit is %llu\n", need,
                    (unsigned long long)rl.rlim_cur);
            return false;
        }
    }
    return true;
}

int main(int argc, char **argv)
{
    if (!parse_options(argc, argv))
        return 2;
    if (!crypto_init()) {
        fprintf(stderr, "loadgen: libsodium cannot be initialised\n");
        return 1;
    }
    g_ids = calloc(g_opt.identities, sizeof *g_ids);
    if (!g_ids) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < g_opt.identities; i++)
        make_identity(g_opt.seed_base + i, &g_ids[i]);
    if (g_opt.print_accounts) {
        for (unsigned i = 0; i < g_opt.identities; i++)
            printf("%s\n", g_ids[i].account_hex);
        return fflush(stdout) == 0 ? 0 : 1;
    }

    char err[256];
    if (!parse_url(g_opt.url, &g_target, err, sizeof err)) {
        fprintf(stderr, "loadgen: %s\n", err);
        return 2;
    }
    if (g_opt.warmup >= g_opt.duration) {
        info("--warmup %.2f is not shorter than --duration %.2f: no warmup", g_opt.warmup,
             g_opt.duration);
        g_opt.warmup = 0;
    }
    if (!raise_fd_limit(g_opt.connections + 32))
        return 1;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    uint64_t unit = g_opt.kind == RUN_BATCH ? g_opt.batch : 1;
    if (g_open) {
        /* request j is due at j / rate for every j / rate < duration, each of unit transfers */
        double sched = ceil(g_opt.rate * g_opt.duration);
        double cap = g_opt.requests ? (double)g_opt.requests
                                    : (g_opt.kind == RUN_GET ? 1e18 : (double)MAX_REQUESTS);
        double units = sched * (double)unit;
        if (units > cap) {
            if (!g_opt.requests)
                info("the schedule needs %.0f requests; prepared %.0f (the run ends early)", units,
                     cap);
            units = cap;
        }
        g_nreq = (uint64_t)units;
        g_sched_total = (g_nreq + unit - 1) / unit;
        g_ns_per_req = 1e9 / g_opt.rate;
    } else if (g_opt.requests) {
        g_nreq = g_opt.requests;
    } else if (g_opt.kind == RUN_GET) {
        g_nreq = UINT64_MAX; /* the duration ends the run */
    } else {
        double per_conn = g_opt.kind == RUN_BATCH
                              ? (double)BATCH_REQS_PER_CONN_SEC * (double)g_opt.batch
                              : (double)REQS_PER_CONN_SEC;
        double est = (double)g_opt.connections * g_opt.duration * per_conn;
        g_nreq = est >= (double)MAX_REQUESTS ? MAX_REQUESTS : (uint64_t)est;
        uint64_t floor = (uint64_t)g_opt.connections * (g_opt.batch ? g_opt.batch : 1);
        if (g_nreq < floor)
            g_nreq = floor < MAX_REQUESTS ? floor : MAX_REQUESTS;
    }
    g_expiry_ns = (uint64_t)g_opt.expiry_seconds * NS_PER_SEC;
    g_expiry_margin_ns = g_expiry_ns / 4 < 10 * NS_PER_SEC ? g_expiry_ns / 4 : 10 * NS_PER_SEC;

    if (g_opt.kind != RUN_GET && !fetch_now_nanos(&g_base_time, err, sizeof err)) {
        if (stopping())
            return 1;
        if (g_opt.time_from_server) {
            fprintf(stderr, "loadgen: cannot read now_nanos from GET %s/v1/identity: %s\n",
                    g_opt.url, err);
            return 1;
        }
        g_base_time = wall_ns();
        info("cannot read now_nanos from the server (%s); using the local clock", err);
    }

    if (g_opt.acked) {
        g_acked = fopen(g_opt.acked, "a");
        if (!g_acked) {
            fprintf(stderr, "loadgen: cannot open --acked file '%s': %s\n", g_opt.acked,
                    strerror(errno));
            return 1;
        }
        setvbuf(g_acked, NULL, _IOFBF, 1 << 16);
    }

    size_t wcap = WBUF_CAP;
    if (g_opt.kind == RUN_GET) {
        g_lat_cap = LAT_INIT; /* grows as needed */
    } else {
        uint64_t nchunks = (g_nreq + CHUNK - 1) / CHUNK;
        g_sigs = malloc((size_t)g_nreq * SIG_BYTES);
        g_chunk_expiry = calloc((size_t)nchunks, sizeof *g_chunk_expiry);
        if (!g_sigs || !g_chunk_expiry) {
            fprintf(stderr, "loadgen: out of memory for %" PRIu64 " transfers\n", g_nreq);
            return 1;
        }
        /* one latency per request: all of them fit */
        g_lat_cap = g_opt.kind == RUN_BATCH ? (g_nreq + g_opt.batch - 1) / g_opt.batch : g_nreq;
    }
    if (g_opt.kind == RUN_BATCH) {
        g_batch_cap = (size_t)g_opt.batch * ITEM_CAP + 64;
        g_batch_body = malloc(g_batch_cap);
        wcap = g_batch_cap + WBUF_CAP;
    }
    g_lat_us = malloc((size_t)g_lat_cap * sizeof *g_lat_us);
    g_conns = calloc(g_opt.connections, sizeof *g_conns);
    g_idle = calloc(g_opt.connections, sizeof *g_idle);
    if (!g_lat_us || !g_conns || !g_idle || (g_opt.kind == RUN_BATCH && !g_batch_body)) {
        fprintf(stderr, "loadgen: out of memory for %" PRIu64 " requests\n", g_nreq);
        return 1;
    }
    for (unsigned i = 0; i < g_opt.connections; i++) {
        conn_t *c = &g_conns[i];
        c->fd = -1;
        c->state = C_DOWN;
        c->backoff_ms = BACKOFF_MIN_MS;
        c->rbuf = malloc(RBUF_INIT);
        c->rcap = RBUF_INIT;
        c->wbuf = malloc(wcap);
        c->wcap = wcap;
        if (!c->rbuf || !c->wbuf) {
            fprintf(stderr, "loadgen: out of memory\n");
            return 1;
        }
    }

    end_reason_t why = END_SIGNAL;
    uint64_t start = mono_ns(), stop = start;
    if (g_opt.kind == RUN_GET || presign_all()) {
        g_ep = epoll_create1(EPOLL_CLOEXEC);
        if (g_ep < 0) {
            perror("loadgen: epoll_create1");
            return 1;
        }
        if (g_open)
            info("running open loop, %.2f requests/s over at most %u connection(s), for %.2f s "
                 "against http://%s%s",
                 g_opt.rate, g_opt.connections, g_opt.duration, g_target.host_header,
                 g_target.prefix);
        else
            info("running %u connection(s) for %.2f s against http://%s%s", g_opt.connections,
                 g_opt.duration, g_target.host_header, g_target.prefix);
        start = mono_ns();
        g_measure_start = start + (uint64_t)(g_opt.warmup * 1e9);
        if (g_open)
            g_measure_end = start + (uint64_t)(g_opt.duration * 1e9);
        why = run_loop(start, start + (uint64_t)(g_opt.duration * 1e9));
        stop = mono_ns();
        if (stop < g_measure_start)
            g_measure_start = stop; /* stopped during warmup: measure the whole run */
        for (unsigned i = 0; i < g_opt.connections; i++)
            if (g_conns[i].fd >= 0) {
                close(g_conns[i].fd);
                g_conns[i].fd = -1;
            }
        close(g_ep);
    } else if (atomic_load(&g_sign_failed)) {
        why = END_FAILURE;
    }
    if (stop == start)
        g_measure_start = stop;

    print_summary(why, start, stop);
    int rc = why == END_FAILURE ? 1 : 0;
    if (g_acked) {
        if (fflush(g_acked) != 0 || ferror(g_acked)) {
            fprintf(stderr, "loadgen: writing '%s' failed\n", g_opt.acked);
            rc = 1;
        }
        fclose(g_acked);
    }
    for (unsigned i = 0; i < g_opt.connections; i++) {
        free(g_conns[i].rbuf);
        free(g_conns[i].wbuf);
    }
    free(g_conns);
    free(g_idle);
    free(g_batch_body);
    free(g_lat_us);
    free(g_chunk_expiry);
    free(g_sigs);
    explicit_bzero(g_ids, (size_t)g_opt.identities * sizeof *g_ids);
    free(g_ids);
    return rc;
}
