#include "call.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "client.h"
#include "hex.h"
#include "jsonutil.h"
#include "log.h"

#define DEFAULT_WORKERS 2
#define DEFAULT_MAX_PENDING 1024
#define DEFAULT_CONNECT_MS 2000L
#define DEFAULT_TOTAL_MS 30000L
#define DEFAULT_BACKOFF_MIN_MS 50
#define DEFAULT_BACKOFF_MAX_MS 5000
#define MAX_WORKERS 16
#define CLIENTS_PER_WORKER 4 /* targets a worker keeps a connection to (ledger, cmc, ...) */
/* Due transfers to one target sent as one POST /v1/transfer-batches (the ledger's
 * LEDGER_BATCH_MAX is 100): a batch item costs the ledger about half a single request. */
#define CALL_BATCH_MAX 64

/* ================================================================ pure parts */

static bool path_is_well_formed(const char *p)
{
    if (strncmp(p, "/v1/", 4) != 0)
        return false;
    for (; *p; p++)
        if (*p <= ' ' || *p > '~')
            return false;
    return true;
}

bool call_intent_check(const call_intent_t *in, nns_error_t *err)
{
    size_t ulen = strnlen(in->base_url, sizeof in->base_url);
    if (ulen == sizeof in->base_url ||
        (strncmp(in->base_url, "http://", 7) != 0 && strncmp(in->base_url, "https://", 8) != 0))
        return nns_error_set(err, 400, "BadRequest",
                             "call %" PRIu64 ": target '%.80s' is not an "
                             "http(s) URL",
                             in->id, in->base_url);
    for (size_t i = 0; i < ulen; i++)
        if (in->base_url[i] <= ' ' || in->base_url[i] > '~')
            return nns_error_set(err, 400, "BadRequest",
                                 "call %" PRIu64 ": target URL holds a space or a non-printable "
                                 "character",
                                 in->id);
    if (in->kind == CALL_GET || in->kind == CALL_POST) {
        if (strnlen(in->path, sizeof in->path) == sizeof in->path || !path_is_well_formed(in->path))
            return nns_error_set(err, 400, "BadRequest",
                                 "call %" PRIu64 ": path '%.80s' must start with '/v1/' and be "
                                 "printable ASCII without spaces",
                                 in->id, in->path);
        if (in->kind == CALL_GET)
            return true;
        if (!in->body || strnlen(in->body, CALL_POST_BODY_MAX + 1) > CALL_POST_BODY_MAX)
            return nns_error_set(err, 400, "BadRequest",
                                 "call %" PRIu64 ": a POST needs a body of at most %d bytes",
                                 in->id, CALL_POST_BODY_MAX);
        json_t *o = json_loads(in->body, JSON_REJECT_DUPLICATES, NULL);
        bool obj = json_is_object(o);
        json_decref(o);
        if (!obj)
            return nns_error_set(err, 400, "BadRequest",
                                 "call %" PRIu64 ": a POST body must be a JSON object", in->id);
        return true;
    }
    if (in->kind == CALL_TRANSFER) {
        account_id_t to;
        return account_id_from_address(in->transfer.to, &to, err);
    }
    return nns_error_set(err, 400, "BadRequest", "call %" PRIu64 ": unknown kind %d", in->id,
                         (int)in->kind);
}

size_t call_transfer_body(const call_transfer_t *t, char *out, size_t cap)
{
    char to[65], sub[65];
    hex_encode(t->to, 32, to);
    if (t->has_from_subaccount)
        hex_encode(t->from_subaccount, SUBACCOUNT_BYTES, sub);
    int n = snprintf(out, cap,
                     "{\"to\":\"%s\",\"amount_e8s\":\"%" PRIu64 "\",\"fee_e8s\":\"%" PRIu64
                     "\",\"memo\":\"%" PRIu64 "\",%s%s%s\"created_at_time\":\"%" PRIu64 "\"}",
                     to, t->amount_e8s, t->fee_e8s, t->memo,
                     t->has_from_subaccount ? "\"from_subaccount\":\"" : "",
                     t->has_from_subaccount ? sub : "", t->has_from_subaccount ? "\"," : "",
                     t->created_at_time);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}

void call_transfer_transaction(const call_transfer_t *t, const principal_t *caller,
                               transaction_t *out)
{
    principal_t governance;
    account_id_t minting, from, to;
    principal_canister(CANISTER_GOVERNANCE, &governance);
    account_id_of(&governance, NULL, &minting);
    account_id_of(caller, t->has_from_subaccount ? t->from_subaccount : NULL, &from);
    memcpy(to.hash, t->to + 4, ACCOUNT_HASH_BYTES); /* the address is checksum || hash */
    memset(out, 0, sizeof *out);
    if (account_id_equal(&from, &minting)) {
        out->op.kind = OP_MINT;
    } else if (account_id_equal(&to, &minting)) {
        out->op.kind = OP_BURN;
    } else {
        out->op.kind = OP_TRANSFER;
        out->op.fee = t->fee_e8s; /* the ledger refuses any other fee (BadFee) */
    }
    out->op.from = from;
    out->op.to = to;
    out->op.amount = t->amount_e8s;
    out->memo = t->memo;
    out->has_created_at_time = true;
    out->created_at_time = t->created_at_time;
}

void call_transfer_tx_hash(const call_transfer_t *t, const principal_t *caller, uint8_t out[32])
{
    transaction_t tx;
    call_transfer_transaction(t, caller, &tx);
    transaction_hash(&tx, out);
}

/* A u64 member written as a string of decimal digits (API.md wire rules). */
static bool member_u64(json_t *o, const char *name, uint64_t *out)
{
    json_t *v = json_object_get(o, name);
    return json_is_string(v) && parse_u64(json_string_value(v), out);
}

static void set_refused(call_class_t *out, const char *error)
{
    out->step = CALL_STEP_REFUSED;
    snprintf(out->error, sizeof out->error, "%s", error);
}

/* No answer, a server error, or a 4xx that says "later": the same request again. */
static bool is_transient(long status)
{
    return status == 0 || status >= 500 || status == 408 || status == 429;
}

/* Refuses with the problem's code ("HttpError" when the body names none). */
static void refuse_with_code(json_t *problem, call_class_t *out)
{
    json_t *code = json_object_get(problem, "code");
    const char *c = json_string_value(code);
    set_refused(out, c && *c ? c : "HttpError");
}

void call_classify(call_kind_t kind, long status, const char *body, call_class_t *out)
{
    memset(out, 0, sizeof *out);
    if (is_transient(status) || status < 200) {
        out->step = CALL_STEP_RETRY;
        return;
    }
    json_t *o = body ? json_loads(body, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(o, "code"));
    if (status < 300) {
        if (kind != CALL_TRANSFER) {
            out->step = CALL_STEP_RESOLVED;
        } else if (member_u64(o, "block_index", &out->block_index)) {
            out->step = CALL_STEP_RESOLVED;
            out->has_block_index = true;
        } else {
            set_refused(out, "BadResponse");
        }
    } else if (kind == CALL_TRANSFER && status == 409 && code &&
               (strcmp(code, "TxDuplicate") == 0 || strcmp(code, "Duplicate") == 0)) {
        if (member_u64(o, "duplicate_of", &out->block_index)) {
            out->step = CALL_STEP_RESOLVED;
            out->has_block_index = true;
            out->duplicate = true;
        } else {
            set_refused(out, "BadResponse");
        }
    } else if (kind == CALL_TRANSFER && status == 422 && code &&
               (strcmp(code, "TxTooOld") == 0 || strcmp(code, "TooOld") == 0)) {
        out->step = CALL_STEP_LOOKUP;
    } else {
        refuse_with_code(o, out);
    }
    json_decref(o);
}

void call_classify_lookup(long status, const char *body, const uint8_t tx_hash[32],
                          call_class_t *out)
{
    memset(out, 0, sizeof *out);
    if (is_transient(status) || status < 200) {
        out->step = CALL_STEP_RETRY;
        return;
    }
    json_t *o = body ? json_loads(body, 0, NULL) : NULL;
    if (status == 404) {
        set_refused(out, "TxTooOld"); /* never committed, and now too old to ever be */
    } else if (status >= 300) {
        refuse_with_code(o, out);
    } else {
        char want[65];
        hex_encode(tx_hash, 32, want);
        json_t *items = json_object_get(o, "items");
        size_t i;
        json_t *blk;
        json_array_foreach(items, i, blk)
        {
            const char *h = json_string_value(json_object_get(blk, "tx_hash"));
            uint64_t height;
            if (h && strcmp(h, want) == 0 && member_u64(blk, "height", &height) &&
                (!out->has_block_index || height < out->block_index)) {
                out->has_block_index = true;
                out->block_index = height;
            }
        }
        if (out->has_block_index)
            out->step = CALL_STEP_RESOLVED;
        else
            set_refused(out, "BadResponse"); /* 200 without a block of that hash */
    }
    json_decref(o);
}

/* ================================================================ the runner */

typedef enum { PHASE_SEND, PHASE_LOOKUP } phase_t;

typedef struct {
    bool used;
    bool busy; /* a worker holds it: a request in flight or its answer being delivered */
    call_intent_t in;
    phase_t phase;
    uint64_t due_ns; /* monotonic */
    uint32_t backoff_ms;
    uint32_t attempts;
    uint8_t tx_hash[32];
    char *body; /* CALL_POST: the runner's copy of the body (in.body points to it) */
    /* the last batch holding this transfer was refused as a whole (not item by item): it is
     * sent alone from then on */
    bool single;
} slot_t;

typedef struct {
    char url[CALL_URL_MAX];
    nns_client_t *client;
    uint64_t last_used;
} worker_client_t;

typedef struct {
    call_runner_t *r;
    pthread_t thread;
    bool started;
    worker_client_t clients[CLIENTS_PER_WORKER];
    uint64_t uses;
    /* a batch of transfers: the slots taken (busy), the worker's copies, their answers */
    slot_t *taken[CALL_BATCH_MAX];
    slot_t mine[CALL_BATCH_MAX];
    long status[CALL_BATCH_MAX];
    char *body[CALL_BATCH_MAX];
} worker_t;

struct call_runner {
    identity_t key;
    principal_t caller;
    call_done_fn done;
    void *ctx;
    int nworkers;
    size_t cap;
    long connect_ms, total_ms;
    uint32_t backoff_min_ms, backoff_max_ms;

    pthread_mutex_t mu;      /* guards slots, pending */
    pthread_cond_t cv;       /* a slot became due or the runner stops */
    pthread_mutex_t done_mu; /* one answer delivered at a time */
    slot_t *slots;
    size_t pending;
    /* 1 + the highest index of a used slot: the scans stop there. A submit takes the lowest free
     * slot, so the used ones stay packed at the bottom and a large max_pending costs nothing
     * while few calls are pending (a slot is about 700 bytes: scanning all 8,192 of them for
     * every call took a cache miss each). */
    size_t high;
    atomic_bool stop;
    worker_t *workers;

    _Atomic uint64_t n_submitted, n_requests, n_retries, n_resolved, n_refused, n_lookups;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The client of one target, created on first use; the least recently used one is closed when
 * the worker talks to more targets than it keeps. NULL on allocation failure. */
static nns_client_t *client_for(worker_t *w, const char *url)
{
    call_runner_t *r = w->r;
    worker_client_t *victim = &w->clients[0];
    w->uses++;
    for (int i = 0; i < CLIENTS_PER_WORKER; i++) {
        worker_client_t *c = &w->clients[i];
        if (c->client && strcmp(c->url, url) == 0) {
            c->last_used = w->uses;
            return c->client;
        }
        if (!c->client || (victim->client && c->last_used < victim->last_used))
            victim = c;
    }
    nns_client_destroy(&victim->client);
    victim->client = nns_client_new(url, &r->key);
    if (!victim->client)
        return NULL;
    nns_client_set_timeouts(victim->client, r->connect_ms, r->total_ms);
    nns_client_set_cancel(victim->client, &r->stop);
    snprintf(victim->url, sizeof victim->url, "%s", url);
    victim->last_used = w->uses;
    return victim->client;
}

/* Sends one request for the slot's phase; *status 0 when no answer arrived. *body is malloc'd
 * or NULL. */
static void perform(worker_t *w, const slot_t *s, long *status, char **body)
{
    char path[CALL_PATH_MAX + 64], tbody[CALL_TRANSFER_BODY_MAX];
    const char *method = "GET", *send_body = NULL;
    nns_error_t err;
    *status = 0;
    *body = NULL;
    nns_client_t *c = client_for(w, s->in.base_url);
    if (!c)
        return; /* out of memory: retried like a refused connection */
    if (s->phase == PHASE_LOOKUP) {
        char hexh[65];
        hex_encode(s->tx_hash, 32, hexh);
        snprintf(path, sizeof path, "/v1/transactions/%s", hexh);
    } else if (s->in.kind == CALL_TRANSFER) {
        method = "POST";
        snprintf(path, sizeof path, "/v1/transfers");
        if (call_transfer_body(&s->in.transfer, tbody, sizeof tbody) == 0)
            return; /* cannot happen: the buffer fits the longest body */
        send_body = tbody;
    } else if (s->in.kind == CALL_POST) {
        method = "POST";
        snprintf(path, sizeof path, "%s", s->in.path);
        send_body = s->in.body; /* the runner's copy, owned by the slot */
    } else {
        snprintf(path, sizeof path, "%s", s->in.path);
    }
    atomic_fetch_add(&w->r->n_requests, 1);
    /* The status and body say everything; rc only repeats whether it was a 2xx. */
    bool sign = !(s->in.kind == CALL_GET && s->in.unsigned_get && s->phase == PHASE_SEND);
    int rc = nns_client_request(c, method, path, send_body, sign, status, body, &err);
    (void)rc;
    if (*status == 0)
        log_warn("call %" PRIu64 ": '%s %s%s' got no answer: %s", s->in.id, method, s->in.base_url,
                 path, err.detail);
}

/* The next back-off: uniform in [d/2, d], d doubling from min to max. */
static uint64_t next_delay_ns(call_runner_t *r, slot_t *s)
{
    uint32_t d = s->backoff_ms ? s->backoff_ms : r->backoff_min_ms;
    s->backoff_ms = d >= r->backoff_max_ms / 2 ? r->backoff_max_ms : d * 2;
    uint32_t ms = d / 2 + randombytes_uniform(d / 2 + 1);
    return (uint64_t)ms * 1000000ULL;
}

/* Takes the due slot with the earliest due time; waits while none is due. Returns NULL when the
 * runner stops. Called and returns with r->mu held. */
static slot_t *take_due(call_runner_t *r)
{
    while (!atomic_load(&r->stop)) {
        slot_t *best = NULL;
        for (size_t i = 0; i < r->high; i++) {
            slot_t *s = &r->slots[i];
            if (s->used && !s->busy && (!best || s->due_ns < best->due_ns))
                best = s;
        }
        uint64_t now = mono_ns();
        if (best && best->due_ns <= now) {
            best->busy = true;
            return best;
        }
        if (!best) {
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        struct timespec until = {.tv_sec = (time_t)(best->due_ns / 1000000000ULL),
                                 .tv_nsec = (long)(best->due_ns % 1000000000ULL)};
        int rc = pthread_cond_timedwait(&r->cv, &r->mu, &until);
        if (rc != 0 && rc != ETIMEDOUT)
            return NULL;
    }
    return NULL;
}

static void deliver(call_runner_t *r, const slot_t *s, const call_class_t *k, long status,
                    const char *body)
{
    call_answer_t a = {
        .id = s->in.id,
        .kind = s->in.kind,
        .outcome = k->step == CALL_STEP_RESOLVED ? CALL_RESOLVED : CALL_REFUSED,
        .http_status = status,
        .has_block_index = k->has_block_index,
        .block_index = k->block_index,
        .duplicate = k->duplicate,
        .looked_up = s->phase == PHASE_LOOKUP,
        .error = k->step == CALL_STEP_REFUSED ? k->error : "",
        .body = body ? body : "",
        .body_len = body ? strlen(body) : 0,
        .attempts = s->attempts,
    };
    pthread_mutex_lock(&r->done_mu);
    if (!atomic_load(&r->stop)) { /* stopping: the answer is dropped with the intent */
        atomic_fetch_add(a.outcome == CALL_RESOLVED ? &r->n_resolved : &r->n_refused, 1);
        if (a.outcome == CALL_REFUSED)
            log_info("call %" PRIu64 " to '%s' refused: HTTP %ld %s", a.id, s->in.base_url, status,
                     a.error);
        r->done(r->ctx, &a);
    }
    pthread_mutex_unlock(&r->done_mu);
}

/* A transfer that may share a batch with others: its first phase, and no batch holding it was
 * refused as a whole. */
static bool batchable(const slot_t *s)
{
    return s->in.kind == CALL_TRANSFER && s->phase == PHASE_SEND && !s->single;
}

/* With first taken (busy), takes the other due batchable transfers to the same target, up to
 * CALL_BATCH_MAX in all, into w->taken. Returns how many were taken, first included. Called with
 * r->mu held. */
static size_t take_batch(call_runner_t *r, worker_t *w, slot_t *first)
{
    size_t n = 0;
    w->taken[n++] = first;
    if (!batchable(first))
        return n;
    uint64_t now = mono_ns();
    for (size_t i = 0; i < r->high && n < CALL_BATCH_MAX; i++) {
        slot_t *s = &r->slots[i];
        if (s->used && !s->busy && s->due_ns <= now && batchable(s) &&
            strcmp(s->in.base_url, first->in.base_url) == 0) {
            s->busy = true;
            w->taken[n++] = s;
        }
    }
    return n;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The items of POST /v1/transfer-batches for w->mine[0..n), each signed exactly as its
 * POST /v1/transfers would be (API.md). NULL on failure (allocation, signing). */
static json_t *batch_items(worker_t *w, nns_client_t *c, size_t n)
{
    json_t *items = json_array();
    uint64_t expiry = wall_ns() + NNS_CLIENT_EXPIRY_NANOS;
    for (size_t i = 0; items && i < n; i++) {
        char tbody[CALL_TRANSFER_BODY_MAX];
        nns_signature_t sig;
        nns_error_t err;
        if (call_transfer_body(&w->mine[i].in.transfer, tbody, sizeof tbody) == 0 ||
            !nns_client_sign(c, "POST", "/v1/transfers", tbody, expiry, &sig, &err) ||
            json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s}", "public_key_der_hex",
                                                   sig.public_key_hex, "expiry_nanos", sig.expiry,
                                                   "signature_hex", sig.signature_hex, "body",
                                                   tbody)) != 0) {
            json_decref(items);
            return NULL;
        }
    }
    return items;
}

/* Sends w->mine[0..n) (n >= 2 transfers to one target) as one POST /v1/transfer-batches and
 * gives each item the status and body its own POST /v1/transfers would have had: the batch's
 * {"results": [...]} holds, in order, {"status", "block_index"} or a problem body with its
 * status. When no answer arrived or the batch got a transient status (5xx, 408, 429), every
 * item gets that status (retried). Returns false when the batch was refused as a whole (a 4xx,
 * or a 200 whose results do not match the items): the transfers are then sent alone. */
static bool perform_batch(worker_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        w->status[i] = 0;
        w->body[i] = NULL;
    }
    nns_client_t *c = client_for(w, w->mine[0].in.base_url);
    json_t *items = c ? batch_items(w, c, n) : NULL;
    json_t *req = items ? json_pack("{s:o}", "transfers", items) : NULL;
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!text)
        return true; /* out of memory: retried like a refused connection */
    long status = 0;
    char *answer = NULL;
    nns_error_t err;
    atomic_fetch_add(&w->r->n_requests, 1);
    int rc =
        nns_client_request(c, "POST", "/v1/transfer-batches", text, false, &status, &answer, &err);
    (void)rc; /* the status says it */
    free(text);
    if (status == 0)
        log_warn("call batch of %zu to '%s' got no answer: %s", n, w->mine[0].in.base_url,
                 err.detail);
    if (is_transient(status)) {
        for (size_t i = 0; i < n; i++)
            w->status[i] = status;
        free(answer);
        return true;
    }
    json_t *o = status == 200 && answer ? json_loads(answer, 0, NULL) : NULL;
    json_t *results = json_object_get(o, "results");
    bool ok = json_is_array(results) && json_array_size(results) == n;
    for (size_t i = 0; ok && i < n; i++) {
        json_t *item = json_array_get(results, i);
        json_t *st = json_object_get(item, "status");
        if (!json_is_integer(st) || json_integer_value(st) < 100 || json_integer_value(st) > 599) {
            ok = false;
            break;
        }
        w->status[i] = (long)json_integer_value(st);
        w->body[i] = json_dumps(item, JSON_COMPACT);
        if (!w->body[i])
            w->status[i] = 0; /* out of memory: retried */
    }
    if (!ok) {
        log_warn("call batch of %zu to '%s' refused as a whole: HTTP %ld; sent one by one", n,
                 w->mine[0].in.base_url, status);
        for (size_t i = 0; i < n; i++) {
            free(w->body[i]);
            w->body[i] = NULL;
        }
    }
    json_decref(o);
    free(answer);
    return ok;
}

/* After the answer of an attempt: the slot retried, looked up, or freed. Called with r->mu
 * held. */
static void finish(call_runner_t *r, slot_t *s, const slot_t *mine, const call_class_t *k)
{
    s->attempts = mine->attempts;
    if (k->step == CALL_STEP_RETRY) {
        atomic_fetch_add(&r->n_retries, 1);
        s->due_ns = mono_ns() + next_delay_ns(r, s);
        s->busy = false;
    } else if (k->step == CALL_STEP_LOOKUP) {
        atomic_fetch_add(&r->n_lookups, 1);
        call_transfer_tx_hash(&s->in.transfer, &r->caller, s->tx_hash);
        s->phase = PHASE_LOOKUP;
        s->backoff_ms = 0;
        s->due_ns = mono_ns();
        s->busy = false;
    } else {
        free(s->body);
        memset(s, 0, sizeof *s);
        r->pending--;
        while (r->high > 0 && !r->slots[r->high - 1].used)
            r->high--;
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    call_runner_t *r = w->r;
    pthread_mutex_lock(&r->mu);
    slot_t *s;
    while ((s = take_due(r)) != NULL) {
        size_t n = take_batch(r, w, s);
        for (size_t i = 0; i < n; i++) /* copies: the slot array is not touched unlocked */
            w->mine[i] = *w->taken[i];
        pthread_mutex_unlock(&r->mu);

        bool itemised = true;
        for (size_t i = 0; i < n; i++)
            w->mine[i].attempts++;
        if (n == 1)
            perform(w, &w->mine[0], &w->status[0], &w->body[0]);
        else
            itemised = perform_batch(w, n);
        call_class_t k[CALL_BATCH_MAX];
        for (size_t i = 0; i < n; i++) {
            slot_t *m = &w->mine[i];
            if (!itemised) {
                k[i] = (call_class_t){.step = CALL_STEP_RETRY};
                continue;
            }
            if (m->phase == PHASE_LOOKUP)
                call_classify_lookup(w->status[i], w->body[i], m->tx_hash, &k[i]);
            else
                call_classify(m->in.kind, w->status[i], w->body[i], &k[i]);
            if (k[i].step == CALL_STEP_RESOLVED || k[i].step == CALL_STEP_REFUSED)
                deliver(r, m, &k[i], w->status[i], w->body[i]);
            free(w->body[i]);
            w->body[i] = NULL;
        }

        pthread_mutex_lock(&r->mu);
        for (size_t i = 0; i < n; i++) {
            finish(r, w->taken[i], &w->mine[i], &k[i]);
            if (!itemised) { /* sent alone next, at once */
                w->taken[i]->single = true;
                w->taken[i]->due_ns = mono_ns();
            }
        }
        if (n > 1)
            pthread_cond_broadcast(&r->cv);
        else
            pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < CLIENTS_PER_WORKER; i++)
        nns_client_destroy(&w->clients[i].client);
    return NULL;
}

call_runner_t *call_runner_new(const identity_t *key, call_done_fn done, void *ctx,
                               const call_runner_opts_t *opts)
{
    call_runner_opts_t o = opts ? *opts : (call_runner_opts_t){0};
    if (!key || !done)
        return NULL;
    call_runner_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->key = *key;
    r->caller = o.caller ? *o.caller : key->principal;
    r->done = done;
    r->ctx = ctx;
    r->nworkers =
        o.workers > 0 ? (o.workers < MAX_WORKERS ? o.workers : MAX_WORKERS) : DEFAULT_WORKERS;
    r->cap = o.max_pending ? o.max_pending : DEFAULT_MAX_PENDING;
    r->connect_ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : DEFAULT_CONNECT_MS;
    r->total_ms = o.total_timeout_ms > 0 ? o.total_timeout_ms : DEFAULT_TOTAL_MS;
    r->backoff_min_ms = o.backoff_min_ms ? o.backoff_min_ms : DEFAULT_BACKOFF_MIN_MS;
    r->backoff_max_ms = o.backoff_max_ms ? o.backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
    if (r->backoff_max_ms < r->backoff_min_ms)
        r->backoff_max_ms = r->backoff_min_ms;
    atomic_init(&r->stop, false);

    pthread_condattr_t ca;
    bool cond_ok = pthread_condattr_init(&ca) == 0;
    if (cond_ok) {
        cond_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                  pthread_cond_init(&r->cv, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!cond_ok) {
        OPENSSL_cleanse(&r->key, sizeof r->key);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->done_mu, NULL);
    r->slots = calloc(r->cap, sizeof *r->slots);
    r->workers = calloc((size_t)r->nworkers, sizeof *r->workers);
    if (!r->slots || !r->workers)
        goto fail;
    /* Creates libcurl's global state once, before any worker needs it. */
    nns_client_t *probe = nns_client_new("http://127.0.0.1", NULL);
    if (!probe)
        goto fail;
    nns_client_destroy(&probe);
    for (int i = 0; i < r->nworkers; i++) {
        r->workers[i].r = r;
        if (pthread_create(&r->workers[i].thread, NULL, worker_main, &r->workers[i]) != 0)
            goto fail;
        r->workers[i].started = true;
    }
    return r;
fail:
    call_runner_destroy(&r);
    return NULL;
}

bool call_runner_submit(call_runner_t *r, const call_intent_t *in)
{
    nns_error_t err;
    if (!call_intent_check(in, &err)) {
        log_warn("call %" PRIu64 " not submitted: %s", in->id, err.detail);
        return false;
    }
    bool ok = false;
    pthread_mutex_lock(&r->mu);
    slot_t *free_slot = NULL;
    if (atomic_load(&r->stop) || r->pending >= r->cap)
        goto done;
    for (size_t i = 0; i < r->high; i++) {
        if (r->slots[i].used && r->slots[i].in.id == in->id)
            goto done;
        if (!r->slots[i].used && !free_slot)
            free_slot = &r->slots[i];
    }
    if (!free_slot && r->high < r->cap)
        free_slot = &r->slots[r->high];
    if (!free_slot)
        goto done;
    if ((size_t)(free_slot - r->slots) == r->high)
        r->high++;
    char *body = NULL;
    if (in->kind == CALL_POST && !(body = strdup(in->body)))
        goto done;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    free_slot->in = *in;
    free_slot->in.body = body; /* NULL for the other kinds */
    free_slot->body = body;
    free_slot->phase = PHASE_SEND;
    free_slot->due_ns = mono_ns();
    r->pending++;
    atomic_fetch_add(&r->n_submitted, 1);
    pthread_cond_signal(&r->cv);
    ok = true;
done:
    pthread_mutex_unlock(&r->mu);
    return ok;
}

size_t call_runner_pending(call_runner_t *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->pending;
    pthread_mutex_unlock(&r->mu);
    return n;
}

void call_runner_stats(call_runner_t *r, call_runner_stats_t *out)
{
    out->submitted = atomic_load(&r->n_submitted);
    out->requests = atomic_load(&r->n_requests);
    out->retries = atomic_load(&r->n_retries);
    out->resolved = atomic_load(&r->n_resolved);
    out->refused = atomic_load(&r->n_refused);
    out->lookups = atomic_load(&r->n_lookups);
}

void call_runner_metrics(call_runner_t *r, metrics_t *m)
{
    call_runner_stats_t s;
    call_runner_stats(r, &s);
    metrics_counter(m, "nns_calls_submitted_total", "call intents submitted", s.submitted);
    metrics_counter(m, "nns_calls_requests_total", "requests sent for call intents", s.requests);
    metrics_counter(m, "nns_calls_retries_total", "call requests retried after a back-off",
                    s.retries);
    metrics_counter(m, "nns_calls_resolved_total", "calls resolved", s.resolved);
    metrics_counter(m, "nns_calls_refused_total", "calls refused (final failures)", s.refused);
    metrics_counter(m, "nns_calls_lookups_total", "transfers looked up by hash after TxTooOld",
                    s.lookups);
    metrics_gauge(m, "nns_calls_pending", "call intents not answered yet",
                  (double)call_runner_pending(r));
}

void call_runner_destroy(call_runner_t **rp)
{
    if (!rp || !*rp)
        return;
    call_runner_t *r = *rp;
    pthread_mutex_lock(&r->mu);
    atomic_store(&r->stop, true);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; r->workers && i < r->nworkers; i++)
        if (r->workers[i].started)
            pthread_join(r->workers[i].thread, NULL);
    free(r->workers);
    for (size_t i = 0; r->slots && i < r->cap; i++)
        free(r->slots[i].body);
    free(r->slots);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->done_mu);
    OPENSSL_cleanse(&r->key, sizeof r->key);
    free(r);
    *rp = NULL;
}
