#include "service.h"

#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "allocfail.h"
#include "clock.h"
#include "crypto.h"
#include "hex.h"
#include "jsonutil.h"
#include "log.h"

#define TICK_MS 1000
/* The replay purge (run_purge) scans a 30th of the cache's shards every second, so an expired
 * answer leaves memory within 30 s, and empties the replay table's expired slots every 30 s,
 * as often as a slot of the ring (db.h) comes to hold only expired rows. */
#define REPLAY_PURGE_NANOS (1000000000ULL)
#define REPLAY_PURGE_PARTS 30
#define REPLAY_PURGE_ROWS_NANOS DB_REPLAY_SLOT_NANOS
/* A round whose commit takes longer than this, from its COMMIT sent to its outcome read, is
 * logged with its times. */
#define SLOW_ROUND_NANOS (250ULL * 1000000ULL)
/* The exit status when a commit's outcome is unknown (EX_TEMPFAIL): a supervisor restarts the
 * service, which reloads what committed. */
#define EXIT_COMMIT_UNKNOWN 75
/* While the database is down, the writer's reconnect is retried after this long, doubling up to the
 * maximum. */
#define RECONNECT_MIN_NANOS (50ULL * 1000000ULL)
#define RECONNECT_MAX_NANOS (2000ULL * 1000000ULL)

struct service_cmd {
    round_item_t item; /* first: the round loop links commands through it */
    http_request_t *req;
    bool batch;
    size_t nops;
    max_align_t ops[]; /* nops commands of def->op_size bytes, each beginning with write_t */
};

/* A request whose write waits for other services (write_suspend()), until a later round
 * resumes it (service_resume()) or its deadline passes (state thread). */
typedef struct suspended {
    struct suspended *next;
    uint64_t token;
    http_request_t *req;
    uint8_t key[32];
    uint64_t expiry_nanos, deadline;
    bool resuming; /* a round in flight answers it */
} suspended_t;

/* An answer for a suspended request, given by a round's apply (service_resume()). */
typedef struct resumption {
    struct resumption *next;
    suspended_t *s;
    int status;
    char *body;
    size_t len;
} resumption_t;

/* A round whose COMMIT was sent and whose outcome is not yet read (state thread). */
typedef struct {
    round_item_t *items;
    size_t n;
    void *round;
    replay_rec_t *replays;
    allocfail_t *counted;
    uint64_t sent_at;
    uint64_t sent_mono;    /* when it was sent (monotonic): the round pacing's clock */
    uint64_t taken_mono;   /* when the round loop handed it over */
    size_t weight;         /* its commands' weight (round.h) */
    nns_error_t err;       /* why it did not commit */
    resumption_t *resumed; /* suspended requests it answers */
} flight_t;

#define MAX_FLIGHT 8 /* --pipeline-depth at most */

struct service {
    const service_def_t *def;
    service_config_t cfg;
    identity_t key;
    principal_t principal;
    unsigned threads;
    auth_t *auth;
    workpool_t *pool;
    /* deferred reads (service_read_pool): they wait for PostgreSQL more than they compute, so
     * twice the HTTP threads keep the database busy without taking the cores from the HTTP
     * threads (with the two HTTP threads of a 2-core host blocked in their queries, history
     * pages ran two at a time: docs/benchmarks.md) */
    workpool_t *reads;
    unsigned read_threads;
    http_server_t *http;
    http_route_t *routes;
    round_loop_t *_Atomic loop; /* set once construction has made it; read by /metrics */
    void *app;
    db_store_t *db; /* the store's connections (service_use_store()) */
    uint64_t last_replay_purge;
    /* a purge runs on the read pool (run_purge): set by the state thread, cleared when done;
     * purge_wall is its wall clock, written before it is submitted */
    _Atomic bool purging;
    uint64_t purge_wall;
    unsigned purge_part;      /* the cache's part the next purge scans (run_purge only) */
    uint64_t last_rows_purge; /* wall clock of the last DELETE (run_purge only) */
    size_t purge_dropped;     /* answers dropped from memory since then (run_purge only) */
    /* commits: the state thread writes, /metrics reads */
    _Atomic uint64_t commits, commit_failures, commit_nanos_sum, commit_nanos_max;
    /* the database: down while db_store_reconnect() fails (state thread writes, /readyz and
     * /metrics read); the back-off is the state thread's alone */
    _Atomic bool db_down;
    _Atomic uint64_t db_outages, rounds_refused;
    uint64_t db_down_since, db_retry_at, db_backoff;
    /* rounds in flight, oldest first (state thread) */
    flight_t flight[MAX_FLIGHT];
    size_t flight_head, nflight, depth;
    uint64_t round_gap_ns, last_taken_ns; /* --round-gap-us; when the last round was taken */
    round_pace_t pace; /* when the next round is due while rounds are in flight */
    _Atomic uint64_t pace_serial_ns, pace_prepare_ns, pace_late_ns; /* its estimates, for
                                                                        /metrics */
    /* suspended requests, and the resumptions of the round being applied (state thread) */
    suspended_t *suspended;
    resumption_t *resuming;
};

/* ---------------------------------------------------------------- the envelope */

void write_fail(write_t *w, const nns_error_t *err, bool skip)
{
    free(w->body);
    w->skip = skip;
    w->status = err->status;
    w->body = http_problem_text(err, &w->len);
    if (!w->body)
        w->len = 0; /* answered with an empty body: the status still tells */
}

bool write_succeed(write_t *w, int status, const char *body, size_t len)
{
    free(w->body);
    w->body = malloc(len + 1);
    if (!w->body) {
        w->status = 503;
        w->len = 0;
        return false;
    }
    memcpy(w->body, body, len);
    w->body[len] = '\0';
    w->len = len;
    w->status = status;
    return true;
}

service_cmd_t *service_cmd_new(service_t *svc, size_t n)
{
    service_cmd_t *cmd = calloc(1, sizeof *cmd + n * svc->def->op_size);
    if (cmd)
        cmd->nops = n;
    return cmd;
}

write_t *service_cmd_op(service_t *svc, service_cmd_t *cmd, size_t i)
{
    return (write_t *)(void *)((char *)cmd->ops + i * svc->def->op_size);
}

void service_cmd_free(service_t *svc, service_cmd_t **cmdp)
{
    service_cmd_t *cmd = *cmdp;
    if (!cmd)
        return;
    for (size_t i = 0; i < cmd->nops; i++) {
        write_t *w = service_cmd_op(svc, cmd, i);
        if (svc->def->op_release)
            svc->def->op_release(w);
        free(w->body);
    }
    free(cmd);
    *cmdp = NULL;
}

void service_respond_unavailable(http_request_t *req, const char *what)
{
    nns_error_t err;
    nns_error_set(&err, 503, "Unavailable", "%s", what);
    http_respond_error(req, &err);
}

void service_submit(service_t *svc, http_request_t *req, service_cmd_t *cmd)
{
    const sign_verified_t *sig = http_signature(req);
    write_t *w = service_cmd_op(svc, cmd, 0);
    memcpy(w->key, sig->replay_key, 32);
    w->expiry_nanos = sig->expiry_nanos;
    cmd->req = req;
    http_defer(req);
    if (!round_submit(atomic_load(&svc->loop), &cmd->item)) {
        service_cmd_free(svc, &cmd);
        service_respond_unavailable(req, "the service is stopping; retry the same request");
    }
}

void write_suspend(write_t *w, uint64_t token)
{
    w->suspend = true;
    w->suspend_token = token;
}

void write_forget(write_t *w)
{
    w->forget = true;
}

void write_retry_after(write_t *w, uint32_t seconds)
{
    w->retry_after_s = seconds;
}

static suspended_t *find_suspended(service_t *svc, uint64_t token)
{
    for (suspended_t *s = svc->suspended; s; s = s->next)
        if (s->token == token && !s->resuming)
            return s;
    return NULL;
}

bool service_resume(service_t *svc, uint64_t token, int status, const char *body, size_t len)
{
    suspended_t *s = find_suspended(svc, token);
    if (!s)
        return true; /* it timed out, or the process restarted: a later request reads the result */
    resumption_t *r = calloc(1, sizeof *r);
    if (!r || !(r->body = malloc(len + 1))) {
        free(r);
        return false;
    }
    memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->len = len;
    r->status = status;
    r->s = s;
    s->resuming = true;
    r->next = svc->resuming;
    svc->resuming = r;
    return true;
}

static void free_resumptions(resumption_t **list, bool answered)
{
    for (resumption_t *r = *list, *next; r; r = next) {
        next = r->next;
        if (!answered)
            r->s->resuming = false; /* the round did not commit: it waits on */
        free(r->body);
        free(r);
    }
    *list = NULL;
}

/* Answers the requests a committed round resumed. */
static void answer_resumed(service_t *svc, resumption_t *list)
{
    for (resumption_t *r = list; r; r = r->next) {
        suspended_t *s = r->s, **pp = &svc->suspended;
        http_respond_committed(s->req, r->status, r->body, r->len);
        while (*pp != s)
            pp = &(*pp)->next;
        *pp = s->next;
        free(s);
    }
}

/* Answers suspended requests whose deadline passed (all of them when stopping) 503: the work
 * goes on, and the same request sent again reads its result. */
static void expire_suspended(service_t *svc, bool all)
{
    uint64_t now = clock_wall_nanos();
    nns_error_t err;
    nns_error_set(&err, 503, "Unavailable",
                  "the %s is still waiting for another service; send the same request again "
                  "later for its result",
                  svc->def->name);
    for (suspended_t **pp = &svc->suspended; *pp;) {
        suspended_t *s = *pp;
        if (s->resuming || (!all && now < s->deadline)) {
            pp = &s->next;
            continue;
        }
        *pp = s->next;
        http_respond_error(s->req, &err);
        free(s);
    }
}

void service_submit_internal(service_t *svc, service_cmd_t *cmd)
{
    cmd->req = NULL;
    round_loop_t *loop = atomic_load(&svc->loop);
    if (!loop || !round_submit(loop, &cmd->item))
        service_cmd_free(svc, &cmd); /* stopping: the work resumes after the restart */
}

bool service_verify_item(service_t *svc, const sign_headers_t *h, const char *method,
                         const char *path, const uint8_t *body, size_t len, principal_t *caller,
                         write_t *w)
{
    nns_error_t err;
    sign_verified_t v;
    if (!sign_verify(h, method, path, strlen(path), body, len, clock_wall_nanos(), &v, &err)) {
        write_fail(w, &err, true);
        return false;
    }
    auth_caller(svc->auth, v.der, v.der_len, caller);
    w->signer = *caller;
    w->has_signer = true;
    memcpy(w->key, v.replay_key, 32);
    w->expiry_nanos = v.expiry_nanos;
    return true;
}

/* Sets w's outcome to a committed answer from the replay cache (body: taken), answered before
 * the round. */
static void write_replayed(write_t *w, int status, char *body, size_t len)
{
    free(w->body);
    w->skip = true;
    w->status = status;
    w->body = body;
    w->len = len;
}

/* A batch item that may not run now (its signer's or the batch's address's refusal budget is
 * spent, or the replay cache is full): its committed answer when the same bytes ran before,
 * else 429. */
static void refuse_batch_item(service_t *svc, write_t *w, unsigned retry_after_s, const char *why)
{
    int status = 0;
    char *stored = NULL;
    size_t len = 0;
    if (replay_peek(http_server_replay(svc->http), w->key, &status, &stored, &len) ==
        REPLAY_COMMITTED) {
        write_replayed(w, status, stored, len);
        return;
    }
    free(stored);
    nns_error_t err;
    nns_error_set(&err, 429, "TemporarilyUnavailable", "%s; retry in %u s", why,
                  retry_after_s ? retry_after_s : 1);
    write_fail(w, &err, true);
}

/* Enters a checked batch item in the replay cache, when its refusal budgets allow. */
static void begin_batch_item(service_t *svc, http_request_t *req, write_t *w)
{
    nns_error_t err;
    int status = 0;
    char *stored = NULL;
    size_t len = 0;
    unsigned retry_after = 0;
    if (!http_refusals_admit(req, w->has_signer ? &w->signer : NULL, &retry_after)) {
        refuse_batch_item(svc, w, retry_after,
                          "too many refused writes from this signer or address");
        return;
    }
    switch (replay_begin(http_server_replay(svc->http), w->key, w->expiry_nanos, NULL, &status,
                         &stored, &len)) {
    case REPLAY_COMMITTED:
        write_replayed(w, status, stored, len);
        break;
    case REPLAY_WAITING:
        nns_error_set(&err, 409, "Processing", "an identical request is being processed");
        write_fail(w, &err, true);
        break;
    case REPLAY_ERROR:
        nns_error_set(&err, 503, "Unavailable", "out of memory; retry the same request");
        write_fail(w, &err, true);
        break;
    case REPLAY_FULL:
        refuse_batch_item(svc, w, 1, "the replay cache is full");
        break;
    case REPLAY_NEW:
        w->replay_item = true;
        break;
    }
}

/* The batch answer: {"results": [{"status", ...} or a problem body]}. Every body is a JSON
 * object this service rendered (or stored in the replay cache): a problem carries its "status"
 * already, a success gets it spliced in as its first member, so a hundred bodies are not parsed
 * and re-rendered on the state thread. */
static void answer_batch(service_t *svc, service_cmd_t *cmd)
{
    size_t cap = 32;
    for (size_t i = 0; i < cmd->nops; i++)
        cap += service_cmd_op(svc, cmd, i)->len + 24;
    char *out = malloc(cap), *p = out;
    if (!out) {
        service_respond_unavailable(cmd->req, "out of memory rendering the response");
        return;
    }
    p += sprintf(p, "{\"results\":[");
    for (size_t i = 0; i < cmd->nops; i++) {
        const write_t *w = service_cmd_op(svc, cmd, i);
        bool object = w->body && w->len >= 2 && w->body[0] == '{';
        if (i)
            *p++ = ',';
        if (object && w->status >= 400) {
            memcpy(p, w->body, w->len);
            p += w->len;
        } else if (object && w->body[1] != '}') {
            p += sprintf(p, "{\"status\":%d,", w->status);
            memcpy(p, w->body + 1, w->len - 1);
            p += w->len - 1;
        } else {
            p += sprintf(p, "{\"status\":%d}", w->status);
        }
    }
    p += sprintf(p, "]}");
    http_respond_raw(cmd->req, 200, "application/json", out, (size_t)(p - out));
    free(out);
}

typedef struct {
    service_t *svc;
    http_request_t *req;
    service_batch_check_fn check;
} batch_job_t;

/* A batch from its check to the round, on a pool thread (or on the HTTP thread when the pool
 * cannot take it). The request is deferred: it is answered from here or by the round. */
static void run_batch(void *ctx, size_t i)
{
    (void)i;
    batch_job_t *job = ctx;
    service_t *svc = job->svc;
    http_request_t *req = job->req;
    allocfail_t *prev = allocfail_attach(http_request_allocfail(req));
    round_loop_t *loop = atomic_load(&svc->loop);
    nns_error_t err;
    size_t len;
    const uint8_t *body = http_body(req, &len);
    service_cmd_t *cmd = job->check(svc, body, len, &err);
    free(job);
    if (!cmd) {
        http_respond_error(req, &err);
        round_expect(loop, -1);
        allocfail_attach(prev);
        return;
    }
    cmd->batch = true;
    cmd->req = req;
    size_t runnable = 0;
    for (size_t k = 0; k < cmd->nops; k++) {
        write_t *w = service_cmd_op(svc, cmd, k);
        if (!w->skip)
            begin_batch_item(svc, req, w);
        runnable += !w->skip;
    }
    if (runnable == 0) { /* nothing for a round: answer at once */
        answer_batch(svc, cmd);
        service_cmd_free(svc, &cmd);
    } else {
        cmd->item.weight = runnable;
        if (!round_submit(loop, &cmd->item)) {
            for (size_t k = 0; k < cmd->nops; k++) {
                write_t *w = service_cmd_op(svc, cmd, k);
                if (w->replay_item)
                    replay_abandon(http_server_replay(svc->http), w->key, 503, "", 0);
            }
            service_cmd_free(svc, &cmd);
            service_respond_unavailable(req, "the service is stopping; retry the same request");
        }
    }
    round_expect(loop, -1);
    allocfail_attach(prev);
}

/* The HTTP thread hands the whole batch to the work pool and goes on serving its other
 * connections: blocking it for the batch's checks (about 5 ms of CPU for 100 signatures) left
 * the connections it holds waiting, and cores idle when connections were shared unevenly. */
void service_submit_batch(service_t *svc, http_request_t *req, service_batch_check_fn check)
{
    batch_job_t *job = malloc(sizeof *job);
    if (!job) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    *job = (batch_job_t){svc, req, check};
    http_defer(req);
    round_expect(atomic_load(&svc->loop), 1); /* the next round may wait for it (gather_ms) */
    workpool_submit(svc->pool, run_batch, job);
}

/* ---------------------------------------------------------------- the round */

/* Outcomes that say "retry later" are not remembered: a resend of the same bytes runs again. */
static bool transient(int status)
{
    return status == 429 || status >= 500;
}

/* Applies every write of the round and fills its replay rows. False when the round cannot
 * commit (out of memory after the state changed). */
static bool apply_round(service_t *svc, void *round, round_item_t *items, replay_rec_t *replays,
                        size_t *nreplays)
{
    uint64_t now = clock_now_nanos();
    for (round_item_t *it = items; it; it = it->next) {
        service_cmd_t *c = (service_cmd_t *)(void *)it;
        for (size_t i = 0; i < c->nops; i++) {
            write_t *w = service_cmd_op(svc, c, i);
            if (w->skip)
                continue;
            if (!svc->def->apply(svc->app, round, w, now))
                return false;
            if (!c->req || w->suspend || w->forget || transient(w->status))
                continue; /* no answer to remember: internal, forgotten, or given later */
            replay_rec_t *rec = &replays[(*nreplays)++];
            memcpy(rec->key, w->key, 32);
            rec->expiry_nanos = w->expiry_nanos;
            rec->status = w->status;
            rec->body = w->body ? w->body : "";
            rec->len = w->body ? w->len : 0;
        }
    }
    return true;
}

/* Adds the replay rows of the suspended requests the round answers (*replays grows). */
static bool add_resumed_rows(resumption_t *list, replay_rec_t **replays, size_t *nreplays)
{
    size_t n = 0;
    for (resumption_t *r = list; r; r = r->next)
        n++;
    if (!n)
        return true;
    replay_rec_t *grown = realloc(*replays, (*nreplays + n) * sizeof *grown);
    if (!grown)
        return false;
    *replays = grown;
    for (resumption_t *r = list; r; r = r->next) {
        replay_rec_t *rec = &grown[(*nreplays)++];
        memcpy(rec->key, r->s->key, 32);
        rec->expiry_nanos = r->s->expiry_nanos;
        rec->status = r->status;
        rec->body = r->body;
        rec->len = r->len;
    }
    return true;
}

static void free_attached_cmd(void *ctx, void *p)
{
    service_cmd_t *c = p;
    service_cmd_free(ctx, &c);
}

/* Answers one command after its round: committed outcomes go to the replay cache too. True
 * when the command went with its request (http_request_attach): the caller must not free it. */
static bool answer_cmd(service_t *svc, service_cmd_t *c, bool committed,
                       const nns_error_t *unavailable)
{
    replay_cache_t *cache = http_server_replay(svc->http);
    if (!c->req)
        return false; /* internal: nobody waits for it */
    if (!c->batch) {
        write_t *w = service_cmd_op(svc, c, 0);
        if (committed && w->suspend && !transient(w->status)) {
            suspended_t *s = calloc(1, sizeof *s);
            if (s) {
                s->token = w->suspend_token;
                s->req = c->req;
                memcpy(s->key, w->key, 32);
                s->expiry_nanos = w->expiry_nanos;
                s->deadline =
                    clock_wall_nanos() + (uint64_t)svc->cfg.suspend_seconds * 1000000000ULL;
                s->next = svc->suspended;
                svc->suspended = s;
                return false;
            }
            committed = false; /* out of memory: 503, and a resend reads the result */
        }
        /* the command goes with its request, freed on the HTTP thread that made it; from the
         * answer on, c and w may be gone */
        http_request_t *req = c->req;
        int status = w->status;
        bool forget = w->forget;
        uint32_t retry_after = w->retry_after_s ? w->retry_after_s : 1;
        char *body = w->body;
        size_t len = body ? w->len : 0;
        w->body = NULL;
        http_request_attach(req, c, free_attached_cmd, svc);
        if (!committed) {
            http_respond_error(req, unavailable);
            free(body);
        } else if (transient(status) || forget) {
            char secs[16];
            snprintf(secs, sizeof secs, "%" PRIu32, retry_after);
            http_add_header(req, "Retry-After", secs);
            http_respond_raw(req, status, "application/problem+json", body ? body : "", len);
            free(body);
        } else {
            /* the answer keeps the round's body: no copy on the state thread */
            http_respond_committed_take(req, status, body, len);
        }
        return true;
    }
    for (size_t i = 0; i < c->nops; i++) {
        write_t *w = service_cmd_op(svc, c, i);
        if (!w->replay_item)
            continue;
        if (committed && !transient(w->status) && !w->forget) {
            replay_commit(cache, w->key, w->status, w->body ? w->body : "", w->body ? w->len : 0);
            if (w->status >= 400 && w->status < 500) /* a committed refusal: charged */
                http_charge_refusals(c->req, w->has_signer ? &w->signer : NULL, 1);
        } else
            replay_abandon(cache, w->key, committed ? w->status : 503, "", 0);
    }
    if (committed)
        answer_batch(svc, c);
    else
        http_respond_error(c->req, unavailable);
    return false;
}

/* "req=3,4,9 and 12 more": the requests of a round, for its log line. */
static void name_requests(round_item_t *items, size_t n, char *out, size_t cap)
{
    size_t len = (size_t)snprintf(out, cap, "req=");
    size_t shown = 0;
    for (round_item_t *it = items; it && shown < 8; it = it->next, shown++) {
        service_cmd_t *c = (service_cmd_t *)(void *)it;
        int m = c->req ? snprintf(out + len, cap - len, "%s%llu", shown ? "," : "",
                                  (unsigned long long)http_request_id(c->req))
                       : snprintf(out + len, cap - len, "%sinternal", shown ? "," : "");
        if (m < 0 || (size_t)m >= cap - len)
            return;
        len += (size_t)m;
    }
    if (n > shown)
        snprintf(out + len, cap - len, " and %zu more", n - shown);
}

/* Whether the state thread's database connection is usable, repairing it through
 * db_store_reconnect(): at once when the database is up, and while it is down no sooner than the
 * back-off allows (false meanwhile). State thread. */
static bool database_usable(service_t *svc)
{
    uint64_t now = clock_wall_nanos();
    bool down = atomic_load(&svc->db_down);
    if (down && now < svc->db_retry_at && now + RECONNECT_MAX_NANOS >= svc->db_retry_at)
        return false; /* (a wall clock set back does not stall the retries) */
    nns_error_t err;
    nns_error_clear(&err);
    if (db_store_reconnect(svc->db, &err)) {
        if (down) {
            atomic_store(&svc->db_down, false);
            log_info("database reachable again after %.1f s: serving writes",
                     (double)(now - svc->db_down_since) / 1e9);
        }
        return true;
    }
    if (!down) {
        svc->db_down_since = now;
        svc->db_backoff = RECONNECT_MIN_NANOS;
        atomic_fetch_add(&svc->db_outages, 1);
        atomic_store(&svc->db_down, true);
        log_error("database unreachable: writes answer 503 until it is back: %s", err.detail);
    } else {
        svc->db_backoff =
            svc->db_backoff * 2 > RECONNECT_MAX_NANOS ? RECONNECT_MAX_NANOS : svc->db_backoff * 2;
        log_warn("database still unreachable (next attempt in %llu ms): %s",
                 (unsigned long long)(svc->db_backoff / 1000000), err.detail);
    }
    svc->db_retry_at = now + svc->db_backoff;
    return false;
}

/* Answers every command of a round (committed, or with unavailable) and frees it. */
static void answer_round(service_t *svc, round_item_t *items, bool committed,
                         const nns_error_t *unavailable)
{
    for (round_item_t *it = items, *next; it; it = next) {
        next = it->next;
        service_cmd_t *c = (service_cmd_t *)(void *)it;
        if (!answer_cmd(svc, c, committed, unavailable))
            service_cmd_free(svc, &c);
    }
}

/* Answers every command of a round 503 at once, applying nothing (the database is down). */
static void refuse_round(service_t *svc, round_item_t *items)
{
    nns_error_t down;
    nns_error_set(&down, 503, "Unavailable",
                  "the %s cannot reach its database; retry the same signed request",
                  svc->def->name);
    atomic_fetch_add(&svc->rounds_refused, 1);
    answer_round(svc, items, false, &down);
}

/* Exits after an unknowable commit outcome, every request in flight answered 503 (a resend
 * after the restart gets the committed answer, or runs). */
static void exit_commit_unknown(service_t *svc, const nns_error_t *why)
{
    nns_error_t unavailable;
    nns_error_set(&unavailable, 503, "Unavailable",
                  "the %s could not tell whether this request committed; retry the same signed "
                  "request",
                  svc->def->name);
    for (size_t k = 0; k < svc->nflight; k++)
        answer_round(svc, svc->flight[(svc->flight_head + k) % MAX_FLIGHT].items, false,
                     &unavailable);
    log_error("commit outcome unknown (%s): exiting so the restart reloads committed state",
              why->detail);
    usleep(200000); /* let the 503 answers go out */
    _exit(EXIT_COMMIT_UNKNOWN);
}

/* Ends a round that did not commit: discards it, answers its requests 503, logs it. */
static void fail_round(service_t *svc, flight_t *f, const nns_error_t *err)
{
    const service_def_t *def = svc->def;
    allocfail_t *prev = allocfail_attach(f->counted);
    if (f->round)
        def->round_end(svc->app, f->round, false);
    char names[160];
    name_requests(f->items, f->n, names, sizeof names);
    atomic_fetch_add(&svc->commit_failures, 1);
    log_error("round of %zu commands (%s) not committed: %s", f->n, names, err->detail);
    nns_error_t unavailable;
    nns_error_set(&unavailable, 503, "Unavailable",
                  "the %s could not commit this request; retry the same signed request", def->name);
    answer_round(svc, f->items, false, &unavailable);
    free_resumptions(&f->resumed, false);
    free(f->replays);
    allocfail_attach(prev);
}

static uint64_t mono_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Waits for the oldest round in flight and ends it: committed, its changes are kept and its
 * requests answered. If it did not commit, no later round in flight can have (the guard,
 * dbwriter.h): every one of them is waited for and discarded, newest first. exact: the outcome
 * is read as it arrives (the state thread was waiting for it), so the round's time at the head
 * of the pipeline is known (round_pace_ended()). */
static void finish_oldest(service_t *svc, bool exact)
{
    const service_def_t *def = svc->def;
    nns_error_t err;
    nns_error_clear(&err);
    db_outcome_t o = def->commit_wait(svc->app, &err);
    if (o == DB_UNKNOWN)
        exit_commit_unknown(svc, &err);
    if (o == DB_COMMITTED) {
        flight_t *f = &svc->flight[svc->flight_head];
        svc->flight_head = (svc->flight_head + 1) % MAX_FLIGHT;
        svc->nflight--;
        uint64_t ended = mono_nanos();
        if (ended - f->sent_mono > SLOW_ROUND_NANOS)
            log_warn("round of %zu commands committed %.1f ms after it was sent (prepared in "
                     "%.1f ms)",
                     f->n, (double)(ended - f->sent_mono) / 1e6,
                     (double)(f->sent_mono - f->taken_mono) / 1e6);
        round_pace_ended(&svc->pace, ended, exact,
                         svc->nflight ? svc->flight[svc->flight_head].sent_mono : 0);
        atomic_store(&svc->pace_serial_ns, svc->pace.serial_ns);
        uint64_t dt = clock_wall_nanos() - f->sent_at;
        atomic_fetch_add(&svc->commits, 1);
        atomic_fetch_add(&svc->commit_nanos_sum, dt);
        if (dt > atomic_load(&svc->commit_nanos_max))
            atomic_store(&svc->commit_nanos_max, dt);
        allocfail_t *prev = allocfail_attach(f->counted);
        def->round_end(svc->app, f->round, true);
        answer_round(svc, f->items, true, NULL);
        answer_resumed(svc, f->resumed);
        free_resumptions(&f->resumed, true);
        free(f->replays);
        allocfail_attach(prev);
        return;
    }
    /* every later round fails too: collect their outcomes (an unknowable one ends the
     * process), then discard from the newest */
    svc->flight[svc->flight_head].err = err;
    for (size_t k = 1; k < svc->nflight; k++) {
        flight_t *later = &svc->flight[(svc->flight_head + k) % MAX_FLIGHT];
        if (def->commit_wait(svc->app, &later->err) == DB_UNKNOWN)
            exit_commit_unknown(svc, &later->err);
    }
    while (svc->nflight) {
        svc->nflight--;
        flight_t *f = &svc->flight[(svc->flight_head + svc->nflight) % MAX_FLIGHT];
        fail_round(svc, f, &f->err);
    }
    (void)database_usable(svc); /* a lost connection: reconnect now, or begin backing off */
}

/* Ends every round in flight. */
static void drain(service_t *svc)
{
    while (svc->nflight)
        finish_oldest(svc, false);
}

/* Waits for the oldest round's outcome until due (now < due), 1 ms at most: true when it
 * arrived. Due within the millisecond, it sleeps until then instead (an outcome arriving
 * meanwhile is read after). */
static bool outcome_before(service_t *svc, uint64_t now, uint64_t due)
{
    if (due - now >= 1000000u)
        return svc->def->commit_ready(svc->app, 1);
    struct timespec d = {0, (long)(due - now)};
    nanosleep(&d, NULL);
    return false;
}

/* True when the next round may start as far as --round-gap-us goes: that long has passed
 * since the last round was taken, or a round's worth waits already (ROUND_GAP_FULL commands,
 * a batch counting its items), so that the gap never holds back a backlog. */
#define ROUND_GAP_FULL 64
static uint64_t gap_end(const service_t *svc)
{
    return svc->last_taken_ns + svc->round_gap_ns;
}

static bool gap_over(const service_t *svc, uint64_t now, size_t queued)
{
    return !svc->round_gap_ns || queued >= ROUND_GAP_FULL || now >= gap_end(svc);
}

/* Before each round (round.h: the gate). Rounds in flight are ended as their outcomes arrive.
 * The next round waits meanwhile, until whichever comes first:
 * - the rounds in flight have ended (it then starts with everything that queued up);
 * - commands wait and the rounds in flight are about to end, less the time a round takes to
 *   prepare (round_pace_due()): the round is then ready when PostgreSQL is done with the ones
 *   before, with everything that arrived until then;
 * - as many commands wait as the newest round in flight holds: the load has outgrown the
 *   rounds in flight, and a round of that size is worth writing while they commit.
 * Starting every waiting command at once instead made rounds of a dozen transfers, and
 * PostgreSQL's cost per round (the transaction, its statements, the flush) then dominated;
 * waiting for the rounds in flight to end left PostgreSQL idle while the next one was prepared
 * (docs/benchmarks.md). Whichever it is, a round is not taken sooner than --round-gap-us
 * after the one before (gap_over()), with rounds in flight or without: when commits are quick
 * and the load is light (the open loop at 11,500 requests a second, commits of about 1 ms),
 * rounds otherwise held 7-9 commands, and PostgreSQL spent 51-54 µs a transfer on them against
 * 29-30 µs in rounds of 25 with a 2 ms gap. When the loop stops nothing more comes: every round
 * in flight is ended. */
static void gate(void *ctx)
{
    service_t *svc = ctx;
    while (svc->nflight) {
        round_loop_t *loop = atomic_load(&svc->loop);
        const flight_t *newest = &svc->flight[(svc->flight_head + svc->nflight - 1) % MAX_FLIGHT];
        size_t queued = loop ? round_queued(loop) : 0;
        uint64_t now = mono_nanos(), due = round_pace_due(&svc->pace, svc->nflight);
        bool due_now = queued && svc->nflight < svc->depth && now >= due;
        if (svc->def->commit_ready(svc->app, 0)) {
            finish_oldest(svc, true);
            continue;
        }
        if ((due_now || queued >= (newest->weight ? newest->weight : 1)) &&
            gap_over(svc, now, queued))
            return;
        bool paced = queued && svc->nflight < svc->depth; /* now < due: not due_now */
        if (paced && due <= now)
            due = gap_end(svc);
        if (paced ? outcome_before(svc, now, due) : svc->def->commit_ready(svc->app, 1))
            finish_oldest(svc, true);
    }
    uint64_t now = mono_nanos();
    round_loop_t *loop = atomic_load(&svc->loop);
    if (!gap_over(svc, now, loop ? round_queued(loop) : 0)) {
        uint64_t wait = gap_end(svc) - now;
        struct timespec d = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
        nanosleep(&d, NULL);
    }
}

/* Counts a round's (or its late part's) writes into f: its weight, and the test build's
 * allocation counter of its first request. Returns how many writes. */
static size_t count_items(flight_t *f, round_item_t *items)
{
    size_t nops = 0;
    for (round_item_t *it = items; it; it = it->next) {
        service_cmd_t *c = (service_cmd_t *)(void *)it;
        nops += c->nops;
        f->weight += it->weight ? it->weight : 1;
        if (!f->counted) /* the test build's per-request allocation counter */
            f->counted = c->req ? http_request_allocfail(c->req) : NULL;
    }
    return nops;
}

/* A written round waits for late commands until the rounds in flight are about to end, less
 * the time its late part takes (round_pace_late_due()), or until the oldest of them has ended
 * (its outcome is read once the round is sent). */
static void wait_for_late(service_t *svc)
{
    uint64_t due = round_pace_late_due(&svc->pace, svc->nflight);
    for (;;) {
        uint64_t now = mono_nanos();
        if (now >= due || svc->def->commit_ready(svc->app, 0) || outcome_before(svc, now, due))
            return;
    }
}

/* Moves the resumptions the round's applies gave (svc->resuming) to the round, after those it
 * has. */
static void keep_resumed(service_t *svc, flight_t *f)
{
    resumption_t **end = &f->resumed;
    while (*end)
        end = &(*end)->next;
    *end = svc->resuming;
    svc->resuming = NULL;
}

/* Takes the commands that arrived while a round was written into it, and applies them. False
 * when the round cannot commit (out of memory). */
static bool take_late(service_t *svc, flight_t *f, size_t *cap, size_t *nreplays)
{
    round_loop_t *loop = atomic_load(&svc->loop);
    round_item_t *more = NULL;
    size_t m = loop ? round_take(loop, f->weight, &more) : 0;
    if (!m)
        return true;
    round_item_t **tail = &f->items;
    while (*tail)
        tail = &(*tail)->next;
    *tail = more;
    f->n += m;
    size_t nops = count_items(f, more);
    replay_rec_t *grown = realloc(f->replays, (*cap + nops) * sizeof *grown);
    if (!grown)
        return false;
    f->replays = grown;
    *cap += nops;
    return svc->def->round_grow(svc->app, f->round, nops) &&
           apply_round(svc, f->round, more, f->replays, nreplays);
}

static void run_round(void *ctx, round_item_t *items, size_t n)
{
    service_t *svc = ctx;
    const service_def_t *def = svc->def;
    if (!database_usable(svc)) {
        drain(svc);
        refuse_round(svc, items);
        return;
    }
    while (svc->nflight && def->commit_ready(svc->app, 0))
        finish_oldest(svc, true); /* answers that are ready go out before this round's work */
    uint64_t taken = mono_nanos(), prepare = 0, late_from = 0;
    svc->last_taken_ns = taken;
    flight_t f = {.items = items, .n = n};
    size_t nops = count_items(&f, items), nreplays = 0;
    allocfail_t *prev = allocfail_attach(f.counted);
    f.replays = calloc(nops, sizeof *f.replays);
    f.round = f.replays ? def->round_begin(svc->app, nops) : NULL;
    nns_error_t err;
    nns_error_clear(&err);
    bool ok = f.round && apply_round(svc, f.round, items, f.replays, &nreplays);
    keep_resumed(svc, &f);
    db_outcome_t o = DB_NOT_COMMITTED;
    f.sent_at = clock_wall_nanos();
    /* While rounds are in flight, a round whose service can take late commands is written
     * first, then takes what arrived until the round before it is about to end: it holds
     * everything that came until PostgreSQL can run it, not only what came before it was
     * prepared (architecture.md section 3). */
    bool written = false;
    if (ok && def->commit_copy && svc->nflight) {
        o = def->commit_copy(svc->app, f.round, f.replays, nreplays, &err);
        if (o != DB_COMMITTED) {
            allocfail_attach(prev);
            fail_round(svc, &f, &err);
            (void)database_usable(svc);
            return;
        }
        written = true;
        uint64_t copied = mono_nanos();
        wait_for_late(svc);
        late_from = mono_nanos();
        ok = take_late(svc, &f, &nops, &nreplays);
        keep_resumed(svc, &f);
        prepare = copied - taken;
    }
    ok = ok && add_resumed_rows(f.resumed, &f.replays, &nreplays);
    /* the answers' copies in the replay cache are made before the commit: once it committed,
     * remembering an answer needs no memory */
    for (size_t i = 0; ok && i < nreplays; i++)
        ok = replay_stage(http_server_replay(svc->http), f.replays[i].key, f.replays[i].body,
                          f.replays[i].len);
    if (ok) {
        o = def->commit_send(svc->app, f.round, f.replays, nreplays, &err);
    } else {
        o = DB_NOT_COMMITTED;
        nns_error_set(&err, 503, "Unavailable", "out of memory");
        if (written)
            def->commit_abandon(svc->app, &err);
    }
    allocfail_attach(prev);
    if (o == DB_UNKNOWN) {
        svc->flight[(svc->flight_head + svc->nflight++) % MAX_FLIGHT] = f;
        exit_commit_unknown(svc, &err);
    }
    if (o == DB_NOT_COMMITTED) {
        /* the newest round: discarded at once; the rounds before it are not affected */
        fail_round(svc, &f, &err);
        (void)database_usable(svc);
        return;
    }
    f.sent_mono = mono_nanos();
    f.taken_mono = taken;
    if (written) {
        prepare += f.sent_mono - late_from;
        round_pace_late(&svc->pace, f.sent_mono - late_from);
        atomic_store(&svc->pace_late_ns, svc->pace.late_ns);
    } else {
        prepare = f.sent_mono - taken;
    }
    round_pace_sent(&svc->pace, prepare, f.sent_mono, svc->nflight == 0);
    atomic_store(&svc->pace_prepare_ns, svc->pace.prepare_ns);
    svc->flight[(svc->flight_head + svc->nflight++) % MAX_FLIGHT] = f;
    /* an outcome that arrived while this round was prepared is read late: not exact */
    while (svc->nflight >= svc->depth)
        finish_oldest(svc, !def->commit_ready(svc->app, 0));
}

/* The replay purge (read pool): expired answers leave the cache and their rows the database.
 * Off the state thread, since the database's part waits for PostgreSQL, and the cache gives
 * up one shard's lock at a time (docs/benchmarks.md). */
static void run_purge(void *ctx, size_t i)
{
    (void)i;
    service_t *svc = ctx;
    uint64_t now = svc->purge_wall;
    svc->purge_dropped +=
        replay_purge_part(http_server_replay(svc->http), now, svc->purge_part, REPLAY_PURGE_PARTS);
    svc->purge_part = (svc->purge_part + 1) % REPLAY_PURGE_PARTS;
    if (now - svc->last_rows_purge >= REPLAY_PURGE_ROWS_NANOS) {
        svc->last_rows_purge = now;
        nns_error_t err;
        size_t emptied = 0;
        uint64_t t0 = mono_nanos();
        if (!db_store_purge_replay(svc->db, now, &emptied, &err))
            log_warn("replay cache purge failed: %s", err.detail);
        else if (emptied || svc->purge_dropped)
            log_info("replay purge: %zu expired answers left memory since the last; %.1f MB of "
                     "expired rows emptied in %.0f ms",
                     svc->purge_dropped, (double)emptied / 1e6, (double)(mono_nanos() - t0) / 1e6);
        svc->purge_dropped = 0;
    }
    atomic_store(&svc->purging, false);
}

static void tick(void *ctx)
{
    service_t *svc = ctx;
    /* finds a connection the server closed while idle, and retries while the database is down */
    bool db = database_usable(svc);
    uint64_t now = clock_wall_nanos();
    /* a replica's replay rows are the writer's to purge */
    if (db && !svc->cfg.read_only && now - svc->last_replay_purge >= REPLAY_PURGE_NANOS &&
        !atomic_exchange(&svc->purging, true)) {
        svc->last_replay_purge = now;
        svc->purge_wall = now;
        workpool_submit(svc->reads, run_purge, svc);
    }
    expire_suspended(svc, false);
    if (svc->def->tick)
        svc->def->tick(svc->app, now);
    log_flush(); /* the count of a storm of log lines that has ended */
}

/* ---------------------------------------------------------------- routes every service serves */

static void get_identity(http_request_t *req, void *app)
{
    service_t *svc = app;
    char ptext[PRINCIPAL_TEXT_MAX];
    principal_to_text(&svc->principal, ptext);
    json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "service", svc->def->name, "principal", ptext,
                          "public_key_der_hex", json_hex(svc->key.der, svc->key.der_len),
                          "now_nanos", json_u64(clock_now_nanos()));
    http_respond_json(req, 200, o);
}

static void get_healthz(http_request_t *req, void *app)
{
    (void)app;
    http_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void get_readyz(http_request_t *req, void *app)
{
    service_t *svc = app;
    /* the request's server, not svc->http: served while service_new has not stored it yet */
    bool ready = http_server_is_ready(http_request_server(req));
    if (!ready || atomic_load(&svc->db_down) || !db_store_ping(svc->db)) {
        service_respond_unavailable(req, ready ? "database unreachable" : "not ready");
        return;
    }
    http_respond_json(req, 200, json_pack("{s:s}", "status", "ready"));
}

static void get_metrics(http_request_t *req, void *app)
{
    service_t *svc = app;
    metrics_t *m = metrics_new(svc->def->name);
    if (!m) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    http_server_t *http = http_request_server(req); /* see get_readyz */
    http_server_metrics(http, m);
    round_loop_t *loop = atomic_load(&svc->loop);
    round_stats_t rs = {0};
    if (loop)
        round_stats(loop, &rs);
    metrics_counter(m, "nns_rounds_total", "rounds run by the state thread", rs.rounds);
    metrics_counter(m, "nns_round_commands_total", "commands run in rounds", rs.items);
    metrics_counter(m, "nns_round_late_commands_total",
                    "commands a round took after it was written, while the round before it "
                    "committed",
                    rs.late_items);
    metrics_gauge(m, "nns_round_max_commands", "the largest round so far, in commands",
                  (double)rs.max_round);
    metrics_family(m, "nns_round_gather_seconds_total", "counter",
                   "time rounds waited for batches being checked");
    metrics_double(m, "nns_round_gather_seconds_total", NULL, (double)rs.gather_ms / 1e3);
    metrics_gauge(m, "nns_round_serial_seconds",
                  "estimate: how long a round stays the head of the commit pipeline (its upserts, "
                  "any commit delay, the flush), which paces the next round",
                  (double)atomic_load(&svc->pace_serial_ns) / 1e9);
    metrics_gauge(m, "nns_round_prepare_seconds",
                  "estimate: preparing a round and sending it (apply, BEGIN, the COPYs, the "
                  "upserts), without any wait for late commands",
                  (double)atomic_load(&svc->pace_prepare_ns) / 1e9);
    metrics_gauge(m, "nns_round_late_seconds",
                  "estimate: taking late commands into a written round and sending it",
                  (double)atomic_load(&svc->pace_late_ns) / 1e9);
    metrics_family(m, "nns_commit_seconds", "summary", "time to commit a round");
    metrics_double(m, "nns_commit_seconds_sum", NULL,
                   (double)atomic_load(&svc->commit_nanos_sum) / 1e9);
    metrics_u64(m, "nns_commit_seconds_count", NULL, atomic_load(&svc->commits));
    metrics_gauge(m, "nns_commit_seconds_max", "the longest commit of a round so far",
                  (double)atomic_load(&svc->commit_nanos_max) / 1e9);
    metrics_counter(m, "nns_commit_failures_total", "rounds that did not commit",
                    atomic_load(&svc->commit_failures));
    metrics_gauge(m, "nns_database_up", "1 when the state thread's database connection works",
                  atomic_load(&svc->db_down) ? 0 : 1);
    metrics_counter(m, "nns_database_outages_total",
                    "times the database became unreachable for the state thread",
                    atomic_load(&svc->db_outages));
    metrics_counter(m, "nns_rounds_refused_total",
                    "rounds answered 503 at once because the database was unreachable",
                    atomic_load(&svc->rounds_refused));
    /* the service's state exists once ready (set after it, with a barrier) */
    if (http_server_is_ready(http) && svc->def->metrics)
        svc->def->metrics(svc->app, m);
    metrics_process(m);
    size_t len = 0;
    char *text = metrics_detach(m, &len);
    metrics_destroy(&m);
    if (!text) {
        service_respond_unavailable(req, "out of memory rendering the metrics");
        return;
    }
    http_respond_raw(req, 200, "text/plain; version=0.0.4", text, len);
    free(text);
}

/* The test clock (DESIGN.md section 4): only under --test-clock; time never moves backwards. */
static void post_admin_time(http_request_t *req, void *app)
{
    (void)app;
    nns_error_t err;
    size_t len;
    const uint8_t *body = http_body(req, &len);
    static const char *const fields[] = {"now_nanos", NULL};
    uint64_t t;
    json_t *o = json_parse_object(body, len, &err);
    if (!o || !json_only_fields(o, fields, &err) ||
        !json_get_u64(o, "now_nanos", true, &t, NULL, &err)) {
        json_decref(o);
        http_respond_error(req, &err);
        return;
    }
    json_decref(o);
    if (t > (uint64_t)INT64_MAX / 2) { /* times are PostgreSQL bigints */
        nns_error_set(&err, 400, "BadRequest", "field 'now_nanos' is too far in the future");
        http_respond_error(req, &err);
        return;
    }
    if (!clock_set(t)) {
        nns_error_set(&err, 409, "TimeMovesBackwards",
                      "the test clock is at %llu and never moves backwards",
                      (unsigned long long)clock_now_nanos());
        http_respond_error(req, &err);
        return;
    }
    http_respond_json(req, 200, json_pack("{s:o}", "now_nanos", json_u64(clock_now_nanos())));
}

static const http_route_t COMMON_ROUTES[] = {
    {"GET", "/v1/identity", get_identity, 0},
    {"GET", "/healthz", get_healthz, HTTP_ANYTIME},
    {"GET", "/readyz", get_readyz, HTTP_ANYTIME},
    {"GET", "/metrics", get_metrics, HTTP_ANYTIME},
};
static const http_route_t TEST_CLOCK_ROUTE = {"POST", "/v1/admin/time", post_admin_time, 0};

/* The service's routes, then the common ones, then the test clock's ({0}-ended, malloc'd). */
static http_route_t *route_table(const service_def_t *def, bool test_clock)
{
    size_t n = 0, ncommon = sizeof COMMON_ROUTES / sizeof COMMON_ROUTES[0];
    while (def->routes && def->routes[n].method)
        n++;
    http_route_t *t = calloc(n + ncommon + 2, sizeof *t);
    if (!t)
        return NULL;
    memcpy(t, def->routes, n * sizeof *t);
    memcpy(t + n, COMMON_ROUTES, sizeof COMMON_ROUTES);
    if (test_clock)
        t[n + ncommon] = TEST_CLOCK_ROUTE;
    return t;
}

/* ---------------------------------------------------------------- life cycle */

const service_config_t *service_config(const service_t *svc)
{
    return &svc->cfg;
}

void service_use_store(service_t *svc, db_store_t *db)
{
    svc->db = db;
}

const identity_t *service_key(const service_t *svc)
{
    return &svc->key;
}

replay_cache_t *service_replay(service_t *svc)
{
    return http_server_replay(svc->http);
}

workpool_t *service_read_pool(service_t *svc)
{
    return svc->reads;
}

unsigned service_read_threads(const service_t *svc)
{
    return svc->read_threads;
}

workpool_t *service_workpool(service_t *svc)
{
    return svc->pool;
}

unsigned service_threads(const service_t *svc)
{
    return svc->threads;
}

void *service_app(service_t *svc)
{
    return svc->app;
}

/* Stops and frees everything, in the one order that leaves no request suspended: not ready, no
 * new connections, batches being checked reach the round loop (or are answered), every queued
 * round runs and answers, the HTTP server closes, then the state goes. Safe on a service that
 * construction left half-built. */
static void service_destroy(service_t **sp)
{
    service_t *svc = *sp;
    if (!svc)
        return;
    if (svc->http) {
        http_server_set_ready(svc->http, false);
        http_server_quiesce(svc->http);
    }
    workpool_drain(svc->pool);
    workpool_drain(svc->reads);
    round_loop_t *loop = atomic_load(&svc->loop);
    round_loop_stop(loop);
    if (svc->http)
        expire_suspended(svc, true); /* the state thread has ended: nothing resumes them */
    http_server_destroy(&svc->http);
    atomic_store(&svc->loop, NULL);
    round_loop_destroy(&loop);
    if (svc->app)
        svc->def->destroy(svc->app);
    auth_destroy(&svc->auth);
    workpool_destroy(&svc->pool);
    workpool_destroy(&svc->reads);
    free(svc->routes);
    sodium_memzero(&svc->key, sizeof svc->key);
    free(svc);
    *sp = NULL;
}

static service_t *service_new(const service_def_t *def, const service_config_t *cfg,
                              nns_error_t *err)
{
    service_t *svc = calloc(1, sizeof *svc);
    if (!svc) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    svc->def = def;
    svc->cfg = *cfg;
    if (!def->commit_copy != !def->round_grow || !def->commit_copy != !def->commit_abandon) {
        nns_error_set(err, 500, "InternalError",
                      "round_grow, commit_copy and commit_abandon come together (service.h)");
        goto fail;
    }
    principal_canister(def->canister, &svc->principal);
    if (cfg->keys_dir) {
        if (!identity_load_or_create(cfg->keys_dir, def->name, &svc->key, err))
            goto fail;
    } else {
        identity_generate(&svc->key);
    }
    svc->threads = (unsigned)cfg->threads;
    if (!svc->threads) {
        long nproc = sysconf(_SC_NPROCESSORS_ONLN);
        svc->threads = nproc > 0 ? (unsigned)nproc : 1;
    }
    svc->read_threads = 2 * svc->threads;
    if (!(svc->pool = workpool_new(svc->threads)) ||
        !(svc->reads = workpool_new(svc->read_threads)) || !(svc->auth = auth_new(cfg->keys_dir)) ||
        !(svc->routes = route_table(def, cfg->test_clock))) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        goto fail;
    }
    http_config_t hc = {.listen = cfg->listen,
                        .threads = svc->threads,
                        .max_body = def->max_body,
                        .read_only = cfg->read_only,
                        .auth = svc->auth,
                        .service = def->name,
                        .access_log = cfg->access_log,
                        .cors_origins = cfg->cors_origins,
                        .max_connections = (unsigned)cfg->max_connections,
                        .max_connections_per_address = (unsigned)cfg->max_connections_per_address,
                        .header_timeout_s = (unsigned)cfg->header_timeout_s,
                        .body_timeout_s = (unsigned)cfg->body_timeout_s,
                        .refusal_budget = (unsigned)cfg->refusal_budget,
                        .replay_max_bytes = (size_t)cfg->replay_cache_mb * 1024 * 1024};
    /* the server listens from here on, not ready: /healthz, /readyz and /metrics answer while
     * the state loads */
    if (!(svc->http = http_server_new(&hc, svc->routes, svc, err)))
        goto fail;
    if (!(svc->app = def->create(svc, err)))
        goto fail;
    if (!svc->db) {
        nns_error_set(err, 500, "Internal", "the %s's create did not call service_use_store()",
                      def->name);
        goto fail;
    }
    svc->depth = def->one_round_at_a_time ? 1 : (size_t)cfg->pipeline_depth;
    svc->round_gap_ns = (uint64_t)cfg->round_gap_us * 1000u;
    round_config_t rc = {.run = run_round,
                         .tick = tick,
                         .gate = gate,
                         .tick_ms = TICK_MS,
                         .max_batch = (size_t)cfg->max_round,
                         .gather_ms = (unsigned)cfg->round_gather_ms};
    round_loop_t *loop = round_loop_new(&rc, svc);
    if (!loop) {
        nns_error_set(err, 503, "Unavailable", "cannot start the state thread");
        goto fail;
    }
    atomic_store(&svc->loop, loop);
    http_server_set_ready(svc->http, true);
    return svc;
fail:
    service_destroy(&svc);
    return NULL;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static const char *const LOG_LEVELS[] = {"debug", "info", "warn", "error", NULL};

int service_main(const service_def_t *def, int argc, char **argv)
{
    service_config_t cfg = {0}; /* config_parse2() sets every field from the table */
    const config_option_t shared[] = {
        {CONFIG_OPT("listen", OPT_STRING, &cfg.listen, def->default_listen,
                    "address to serve HTTP on")},
        {CONFIG_OPT("database", OPT_STRING, &cfg.database, NULL,
                    "PostgreSQL connection string or URL (default: $DATABASE_URL)")},
        {CONFIG_OPT(
            "keys", OPT_STRING, &cfg.keys_dir, NULL,
            "folder of service keys: signs with <service>.key, trusts the other services' .pub")},
        {CONFIG_OPT("ledger", OPT_URL, &cfg.ledger_url, "http://127.0.0.1:8081",
                    "ledger service URL")},
        {CONFIG_OPT("governance", OPT_URL, &cfg.governance_url, "http://127.0.0.1:8082",
                    "governance service URL")},
        {CONFIG_OPT("cmc", OPT_URL, &cfg.cmc_url, NULL,
                    "cycles minting service URL (no default: governance reads the maturity "
                    "modulation from it only when given)")},
        {CONFIG_OPT("test-clock", OPT_BOOL, &cfg.test_clock, NULL,
                    "take domain time from a test clock set with POST /v1/admin/time")},
        {CONFIG_OPT("read-only", OPT_BOOL, &cfg.read_only, NULL,
                    "serve reads only (for a replica)")},
        {CONFIG_OPT("threads", OPT_INT, &cfg.threads, "0", "HTTP threads (0: one per core)"),
         .max = 256},
        {CONFIG_OPT("max-round", OPT_INT, &cfg.max_round, "20000",
                    "writes per round at most (a batch counts its items; 0: no bound)"),
         .max = 10000000},
        {CONFIG_OPT(
             "round-gather-ms", OPT_INT, &cfg.round_gather_ms, "40",
             "while batches are being checked, a round waits for them until this long after the "
             "previous round began (0: never)"),
         .max = 1000},
        {CONFIG_OPT("round-gap-us", OPT_INT, &cfg.round_gap_us, "2000",
                    "a round starts this long after the previous one at the earliest, unless a "
                    "round's worth waits (0: at once)"),
         .max = 1000000},
        {CONFIG_OPT("pipeline-depth", OPT_INT, &cfg.pipeline_depth, "2",
                    "rounds in flight at most: round N+1 is applied and written while round N "
                    "commits (1: one at a time)"),
         .min = 1, .max = MAX_FLIGHT},
        {CONFIG_OPT("suspend-seconds", OPT_INT, &cfg.suspend_seconds, "20",
                    "how long a write that waits for another service keeps its request open; "
                    "then 503, and the same request sent again reads the result"),
         .min = 1, .max = 600},
        {CONFIG_OPT("commit-delay-ms", OPT_INT, &cfg.commit_delay_ms, "0",
                    "benchmarks: sleep this long inside every round's transaction before its "
                    "COMMIT, as a slow disk would"),
         .max = 1000},
        {CONFIG_OPT("log-level", OPT_CHOICE, &cfg.log_level, "info",
                    "the least important level logged"),
         .choices = LOG_LEVELS},
        {CONFIG_OPT("access-log", OPT_STRING, &cfg.access_log, NULL,
                    "append one line per request (status, duration) to this file")},
        {CONFIG_OPT("cors-origins", OPT_STRING, &cfg.cors_origins, "*",
                    "origins browsers may call the API from: * (any), or a comma-separated list "
                    "such as https://wallet.example,http://localhost:3000")},
        {CONFIG_OPT("max-connections", OPT_INT, &cfg.max_connections, "0",
                    "connections served at once (0: the open-file limit less a tenth; a larger "
                    "value is lowered to that)"),
         .max = 1000000},
        {CONFIG_OPT("max-connections-per-address", OPT_INT, &cfg.max_connections_per_address, "512",
                    "connections one client address may hold at once (0: no limit)"),
         .max = 1000000},
        {CONFIG_OPT("header-timeout", OPT_INT, &cfg.header_timeout_s, "10",
                    "seconds a connection may take to send a request's headers, counted from "
                    "its opening or the previous answer (so also the keep-alive idle time)"),
         .min = 1, .max = 300},
        {CONFIG_OPT("body-timeout", OPT_INT, &cfg.body_timeout_s, "10",
                    "seconds a request may take to send its body, from its request line"),
         .min = 1, .max = 300},
        {CONFIG_OPT("refusal-budget", OPT_INT, &cfg.refusal_budget, "600",
                    "refused writes (committed 4xx) per minute allowed per signer and per client "
                    "address, in bursts of as many; past it writes get 429 (0: no budget)"),
         .max = 10000000},
        {CONFIG_OPT("replay-cache-mb", OPT_INT, &cfg.replay_cache_mb, "1024",
                    "memory ceiling of the replay cache in MiB; past it new writes get 429 "
                    "(0: no ceiling)"),
         .max = 1048576},
        {0},
    };
    char program[64];
    snprintf(program, sizeof program, "nns-%s", def->name);
    int status =
        config_exit_status(config_parse2(program, def->summary, shared, def->options, argc, argv));
    if (status >= 0)
        return status;
    log_level_t level = LOG_INFO;
    for (int i = 0; LOG_LEVELS[i]; i++)
        if (strcmp(cfg.log_level, LOG_LEVELS[i]) == 0)
            level = (log_level_t)i;
    log_init(def->name, level);
    if (!crypto_init()) {
        log_error("cannot initialise libsodium");
        return 1;
    }
    if (cfg.test_clock)
        clock_use_test_clock();
    if (!cfg.database)
        cfg.database = getenv("DATABASE_URL");
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    nns_error_t err;
    nns_error_clear(&err);
    service_t *svc = service_new(def, &cfg, &err);
    if (!svc) {
        log_error("cannot start: %s", err.detail);
        return 1;
    }
    while (!stop_requested)
        pause();
    log_info("stopping");
    service_destroy(&svc);
    log_flush();
    return 0;
}
