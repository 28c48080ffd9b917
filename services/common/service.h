/*
 * service: the skeleton every service is built on (DESIGN.md sections 3 to 7).
 *
 * A service is its state machine, its store and its routes; everything else lives here, once:
 * the flags every service shares, logging, the service's key and canister principal, auth, the
 * work pool, the HTTP server and the routes every service serves (GET /v1/identity, /healthz,
 * /readyz, /metrics, and POST /v1/admin/time under --test-clock), the round loop and its
 * commit, the replay cache (loaded by the service's store at start, its rows committed with the
 * round that made them, purged), readiness, the exit on an unknowable commit outcome, and the
 * shutdown order.
 *
 * A service describes itself with a service_def_t and calls service_main() from main(). The
 * skeleton then parses the flags, builds its parts, calls def->create (the service opens its
 * store, loads its state and the committed replay entries, and returns its state: `app`),
 * starts the round loop, marks the service ready, and serves until SIGINT or SIGTERM. Shutdown
 * runs in this order: not ready, stop accepting connections, let batches being checked reach
 * the round loop, run every queued round, close the HTTP server, stop the loop, def->destroy,
 * free the rest.
 *
 * Writes travel in one envelope, write_t: a single signed request, or one item of a batch,
 * with its replay key, expiry and outcome. A service's own command type embeds write_t as its
 * first member (def->op_size is that type's size); a service_cmd_t carries one (a single
 * request) or many (a batch) of them to the round. In a round the skeleton calls
 * def->round_begin, then def->apply on every write not answered already, builds the replay rows
 * of the outcomes, calls def->commit once (the service writes its changes and those rows in one
 * transaction), then def->round_end (committed or not), and only then answers every request.
 * Outcomes that say "retry later" (429, 5xx) are not remembered: a resend runs again.
 *
 * Database failures (DESIGN.md section 3): a commit whose outcome is unknowable (*fatal) makes
 * the process exit with 75, and the restart reloads what committed. A commit known to have
 * committed nothing is a clean failure: its requests get 503 with Retry-After and the service
 * keeps serving. If the database is unreachable (the store's writer cannot reconnect:
 * db_store_reconnect()) the service stays up in a "database down" state: writes get 503 at
 * once, point reads keep answering from committed memory, /readyz answers 503, and the
 * reconnect is retried with back-off until the database is back, after which everything
 * resumes by itself.
 */
#ifndef NNS_SERVICE_H
#define NNS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "dbstore.h"
#include "error.h"
#include "http.h"
#include "keyfile.h"
#include "metrics.h"
#include "principal.h"
#include "replay.h"
#include "round.h"
#include "sign.h"
#include "workpool.h"

typedef struct service service_t;

/* The envelope of one write: the first member of a service's command type. */
typedef struct {
    uint8_t key[32];       /* replay key: SHA-256(DER public key || signed message) */
    uint64_t expiry_nanos; /* the request's X-Expiry: the replay entry lives until then */
    bool replay_item;      /* a batch item holding its own in-flight replay entry */
    bool has_signer;       /* signer is set (a batch item: service_verify_item sets it) */
    principal_t signer;    /* whose refusal budget a refused outcome is charged to */
    bool skip;             /* answered before the round (bad input, a replay) */
    bool suspend;          /* write_suspend(): answered by a later round */
    bool forget;           /* write_forget(): answered, but the answer is not remembered */
    uint64_t suspend_token;
    uint32_t retry_after_s; /* write_retry_after(): the Retry-After of a transient answer */
    int status;             /* the outcome: status and body (malloc'd, JSON) */
    char *body;
    size_t len;
} write_t;

/* Sets w's outcome to err as a problem body (skip: the round will not apply it). */
void write_fail(write_t *w, const nns_error_t *err, bool skip);
/* Sets w's outcome to status and a copy of body; false (and a 503 outcome) when out of
 * memory. */
bool write_succeed(write_t *w, int status, const char *body, size_t len);
/* In apply, for a single request whose answer depends on calls to other services: once this
 * round commits the request is not answered but waits (up to --suspend-seconds) until a later
 * round's apply calls service_resume() with the same token; the answer and its replay record
 * are committed with that round. Past the deadline it gets 503 with Retry-After (the work
 * goes on; the service must answer the same request sent again from its state: the stored
 * result, or "Processing"). */
void write_suspend(write_t *w, uint64_t token);

/* In apply, after the outcome is set: the answer is given but not remembered in the replay
 * cache, because it will change by itself ("Processing" while calls to another service are in
 * flight): the same signed bytes sent again run again and get the answer of that moment, e.g.
 * the stored result once the work is done. */
void write_forget(write_t *w);

/* In apply, after a transient outcome (429, 5xx) or write_forget(): the seconds its Retry-After
 * header names (default 1), e.g. the time a rate limiter needs before the same request can
 * succeed. */
void write_retry_after(write_t *w, uint32_t seconds);

/* One command for the round: a single write, or a batch's items, each an op_size-sized service
 * command beginning with write_t. */
typedef struct service_cmd service_cmd_t;

/* The shared flags, as parsed (read by services through service_config()). */
typedef struct {
    const char *listen, *database, *keys_dir, *access_log;
    const char *ledger_url, *governance_url, *cmc_url; /* validated http(s) URLs */
    bool test_clock, read_only;
    int threads, max_round, round_gather_ms;
    int pipeline_depth;  /* rounds in flight at most (dbwriter.h) */
    int round_gap_us;    /* the least time between two rounds' starts (gate()) */
    int suspend_seconds; /* write_suspend(): how long a request waits */
    int commit_delay_ms; /* benchmarks: a sleep before every COMMIT (dbwriter.h) */
    const char *log_level;
    const char *cors_origins;
    int max_connections, max_connections_per_address, header_timeout_s, body_timeout_s;
    int refusal_budget, replay_cache_mb;
} service_config_t;

typedef struct {
    const char *name;               /* "ledger": logs, metrics, the key file DIR/<name>.key */
    const char *summary;            /* first line of --help */
    uint64_t canister;              /* canister index: the service's principal (principal.h) */
    const char *default_listen;     /* "127.0.0.1:8081" */
    const config_option_t *options; /* the service's own flags ({0}-ended), may be NULL */
    const http_route_t *routes;     /* the service's own routes ({0}-ended) */
    size_t op_size;                 /* sizeof the service's command type (begins with write_t) */
    /* Optional: frees what an op owns beyond its op_size bytes (e.g. a parsed request kept on
     * the heap), called for every op of a command when the command is freed, whether or not it
     * was applied. NULL: ops own nothing. */
    void (*op_release)(write_t *op);
    size_t max_body;          /* request bodies at most (0: http.c's default) */
    bool one_round_at_a_time; /* the state machine cannot open a round on top of one that
                                 is still committing: --pipeline-depth is 1 for it */

    /* Opens the store, hands its connections to the skeleton (service_use_store()), loads
     * committed state (and the replay entries, into service_replay(svc)), applies a genesis:
     * the service's state, or NULL with err. Runs before any route but /healthz, /readyz and
     * /metrics is served. */
    void *(*create)(service_t *svc, nns_error_t *err);
    /* Frees what create made; the round loop and the HTTP server are stopped already. */
    void (*destroy)(void *app);

    /* The round (state thread). Rounds overlap: round N+1 begins, is applied and is written
     * while round N's COMMIT is being flushed (up to --pipeline-depth rounds in flight), so
     * round_begin must open a round on top of every round begun and not yet ended.
     * round_begin returns the round's scratch state for nops writes (NULL when out of memory:
     * the round fails with 503). apply sets w's outcome with write_succeed() or write_fail();
     * it returns false only when the round must not commit (out of memory after the state
     * changed: every request of the round then gets 503). commit_send writes the round and its
     * replay rows in one transaction and sends its COMMIT without waiting (a db_writer_t does
     * this, with the guard that keeps a round from committing on top of one that did not):
     * DB_COMMITTED for "sent", DB_NOT_COMMITTED with err when nothing can commit, DB_UNKNOWN
     * when the COMMIT may have reached the server. commit_wait waits for the oldest round sent
     * and returns its outcome; commit_ready says whether it has arrived. round_end keeps
     * (committed) or discards the round's changes in memory and frees the scratch state; it is
     * called for every round_begin that returned non-NULL, committed rounds in the order they
     * began, discarded ones newest first. */
    void *(*round_begin)(void *app, size_t nops);
    bool (*apply)(void *app, void *round, write_t *w, uint64_t now);
    db_outcome_t (*commit_send)(void *app, void *round, const replay_rec_t *replays,
                                size_t nreplays, nns_error_t *err);
    db_outcome_t (*commit_wait)(void *app, nns_error_t *err);
    /* True when commit_wait would not block, after waiting up to timeout_ms for it. */
    bool (*commit_ready)(void *app, int timeout_ms);
    void (*round_end)(void *app, void *round, bool committed);
    /* Optional, all three or none: a round that takes late commands. While rounds are in
     * flight, the skeleton writes a round's first part with commit_copy (what takes no lock
     * another round waits for: BEGIN with the round's lock, new rows), then, until the round
     * before it is about to end, takes the commands that arrived meanwhile: round_grow makes
     * room for their nops writes (false: out of memory, the round fails with 503), apply runs
     * them, and commit_send writes the rest of the round (only what commit_copy has not) and
     * sends it. commit_copy may be called once per round; DB_COMMITTED means "written so far",
     * DB_NOT_COMMITTED with err that nothing of the round can commit (it is rolled back).
     * commit_abandon rolls back a round written by commit_copy that will not be sent. */
    bool (*round_grow)(void *app, void *round, size_t nops);
    db_outcome_t (*commit_copy)(void *app, void *round, const replay_rec_t *replays,
                                size_t nreplays, nns_error_t *err);
    void (*commit_abandon)(void *app, const nns_error_t *why);

    /* Periodic work on the state thread (may be NULL); wall_now is the wall clock. Runs while
     * the database is down too. */
    void (*tick)(void *app, uint64_t wall_now);
    /* The service's own metric families (HTTP threads: read only what is safe to read). */
    void (*metrics)(void *app, metrics_t *m);
} service_def_t;

/* Runs the service: flags, logging, construction, serving until SIGINT/SIGTERM, shutdown.
 * Returns the process's exit status (0, 1 when it cannot start, 2 on a usage error). */
int service_main(const service_def_t *def, int argc, char **argv);

/* --- for the service's create and handlers (borrowed pointers, valid for the service's
 * life) --- */
const service_config_t *service_config(const service_t *svc);
/* create: the store's connections, which the skeleton uses from then on (db must outlive the
 * service's app): /readyz pings its pool (db_store_ping()); the state thread makes its writer's
 * connection usable before every round and from the tick (db_store_reconnect(): while that
 * fails the database is down: rounds are answered 503 "Unavailable" with Retry-After at once,
 * apply and commit are not called, replay rows are not purged, /readyz answers 503, and it is
 * tried again with back-off, 50 ms doubling to 2 s, until it succeeds; only the connection is
 * repaired, nothing is reloaded, since a commit that failed committed nothing or was fatal);
 * every 30 s a read-pool thread empties the expired slots of its replay table
 * (db_store_purge_replay()) while rounds go on. A service must call it: service_main() refuses
 * to start otherwise. */
void service_use_store(service_t *svc, db_store_t *db);
const identity_t *service_key(const service_t *svc);
replay_cache_t *service_replay(service_t *svc);
workpool_t *service_workpool(service_t *svc);
/* HTTP threads: the pool size a store's read connections should match. */
unsigned service_threads(const service_t *svc);
/* The read pool: service_read_threads() threads that run a deferred read's database query and
 * answer it (workpool_submit), so that an HTTP thread never waits for PostgreSQL on a list or a
 * history page while its other connections wait for it. A store opens that many more read
 * connections. Drained before the HTTP server goes: a read submitted to it is answered, or runs
 * on its caller once the service is stopping. */
workpool_t *service_read_pool(service_t *svc);
unsigned service_read_threads(const service_t *svc);
/* The service's state (create's result), from a handler's `app` argument, which is the
 * service_t. */
void *service_app(service_t *svc);

/* --- writes --- */
/* A command of n writes (zeroed), or NULL when out of memory. */
service_cmd_t *service_cmd_new(service_t *svc, size_t n) __attribute__((warn_unused_result));
void service_cmd_free(service_t *svc, service_cmd_t **cmd);
/* The i-th write of cmd (the service casts it to its command type). */
write_t *service_cmd_op(service_t *svc, service_cmd_t *cmd, size_t i);

/* A signed single write, parsed into service_cmd_op(cmd, 0): takes its replay key from the
 * request's signature, defers the request and queues cmd for the next round, which answers it.
 * Takes cmd (answers 503 itself, freeing cmd, when the service is stopping). */
void service_submit(service_t *svc, http_request_t *req, service_cmd_t *cmd);

/* Checks a batch item signed exactly as a request `method path` with body: on success fills
 * *caller and w's replay key and expiry, otherwise sets w's outcome (skip). Thread-safe. */
bool service_verify_item(service_t *svc, const sign_headers_t *h, const char *method,
                         const char *path, const uint8_t *body, size_t len, principal_t *caller,
                         write_t *w);

/* Turns a request body into a batch command (on a work-pool thread): NULL with err for a
 * request refused whole. Items answered before the round are marked with write_fail(). */
typedef service_cmd_t *(*service_batch_check_fn)(service_t *svc, const uint8_t *body, size_t len,
                                                 nns_error_t *err);

/* A batch: the request is deferred and handed whole to the work pool, which runs check, enters
 * each checked item in the replay cache (in order: of two identical items the later one is the
 * duplicate), and queues the command; a round waits for it up to --round-gather-ms. The answer
 * is {"results": [...]}, one entry per item in order: {"status", ...success body} or a problem
 * body. */
void service_submit_batch(service_t *svc, http_request_t *req, service_batch_check_fn check);

/* --- work that waits for other services (architecture.md section 14) --- */
/* In apply (state thread): the answer of the request suspended with token, if it still waits;
 * it is answered, and its replay record committed, with this round. False when out of
 * memory (the round must then not commit). */
bool service_resume(service_t *svc, uint64_t token, int status, const char *body, size_t len)
    __attribute__((warn_unused_result));
/* From any thread: queues a command that no request waits for (a call's answer coming back to
 * the state machine). apply runs it like any write; nothing is answered or remembered for it.
 * Takes cmd (freed at once when the service is stopping: the service's committed state must
 * let the work resume after a restart). */
void service_submit_internal(service_t *svc, service_cmd_t *cmd);

/* --- routes every service serves (for a service that wants to extend one) --- */
/* Answers 503 "Unavailable" with Retry-After (out of memory and the like). */
void service_respond_unavailable(http_request_t *req, const char *what);

#endif
