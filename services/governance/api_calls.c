/*
 * api_calls: governance's outbox and the answers of its calls (architecture.md section 14): the
 * intents a committed round recorded, kept in memory until a committed round finished them,
 * given to the call runner (GET, POST to the cmc, legacy transfers to the ledger), and each
 * answer turned into an internal command for the state thread.
 */
#include <inttypes.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_internal.h"
#include "clock.h"
#include "jsonutil.h"
#include "log.h"

/* The hash map key of an id (an intent's, a neuron's): the id through splitmix64's finalizer, a
 * bijection that spreads ids over the map however they were chosen (hmap.h takes a key's first 8
 * bytes as its hash: ids like 1000, 2000, ... or multiples of a power of two would crowd). */
void id_key(uint64_t id, uint8_t key[8])
{
    uint64_t z = id + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    memcpy(key, &z, 8);
}

/* The outbox entry of intent id, or NULL (the caller holds out_mu, or is the state thread,
 * the only writer). */
outbox_entry_t *outbox_find(gov_app_t *a, uint64_t id)
{
    uint8_t key[8];
    id_key(id, key);
    hval_t *v = hmap_get(&a->outbox_index, key);
    return v ? &a->outbox[v->a] : NULL;
}

static bool outbox_purpose(gov_app_t *a, uint64_t id, gov_purpose_t *purpose)
{
    pthread_mutex_lock(&a->out_mu);
    outbox_entry_t *e = outbox_find(a, id);
    if (e)
        *purpose = e->in.purpose;
    pthread_mutex_unlock(&a->out_mu);
    return e != NULL;
}

static bool u64_member(json_t *o, const char *name, uint64_t *out)
{
    const char *t = json_string_value(json_object_get(o, name));
    return t && parse_u64(t, out);
}

static bool parse_u64_member(const char *body, size_t len, const char *name, uint64_t *out)
{
    json_error_t je;
    json_t *o = json_loadb(body, len, 0, &je);
    bool ok = u64_member(o, name, out);
    json_decref(o);
    return ok;
}

static bool parse_balance(const char *body, size_t len, uint64_t *balance)
{
    return parse_u64_member(body, len, "balance_e8s", balance);
}

static bool parse_modulation(const char *body, size_t len, int32_t *out)
{
    json_error_t je;
    json_t *o = json_loadb(body, len, 0, &je);
    json_t *v = json_object_get(o, "maturity_modulation_permyriad");
    bool ok = json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
              json_integer_value(v) <= INT32_MAX;
    if (ok)
        *out = (int32_t)json_integer_value(v);
    json_decref(o);
    return ok;
}

/* The cmc's rate history page ({items: [{day, timestamp_seconds, xdr_permyriad_per_icp}]})
 * into the app's day buffer, for the state thread. */
static bool parse_rate_history(gov_app_t *a, uint64_t intent_id, const char *body, size_t len)
{
    json_error_t je;
    json_t *o = json_loadb(body, len, 0, &je);
    json_t *items = json_object_get(o, "items");
    bool ok = json_is_array(items) && json_array_size(items) <= RATE_DAYS_MAX;
    size_t n = ok ? json_array_size(items) : 0;
    gov_rate_day_t *days = ok && n ? malloc(n * sizeof *days) : NULL;
    if (n && !days)
        ok = false;
    for (size_t i = 0; ok && i < n; i++) {
        json_t *d = json_array_get(items, i);
        ok = u64_member(d, "day", &days[i].day) &&
             u64_member(d, "xdr_permyriad_per_icp", &days[i].xdr_permyriad_per_icp);
    }
    json_decref(o);
    if (!ok) {
        free(days);
        return false;
    }
    pthread_mutex_lock(&a->days_mu);
    free(a->rate_days);
    a->rate_days = days;
    a->nrate_days = n;
    a->rate_days_intent = intent_id;
    pthread_mutex_unlock(&a->days_mu);
    return true;
}

/* A call's answer (a runner thread): into a command for the next round. */
void call_done(void *ctx, const call_answer_t *ans)
{
    gov_app_t *a = ctx;
    if (ans->kind == CALL_TRANSFER && atomic_load(&a->crash_armed)) {
        log_warn("crash point: exiting with 137 before the answer to intent %" PRIu64 " is applied",
                 ans->id);
        log_flush();
        _exit(137);
    }
    gov_purpose_t purpose = 0;
    if (!outbox_purpose(a, ans->id, &purpose)) {
        log_info("answer to intent %" PRIu64 " ignored: not in the outbox", ans->id);
        return;
    }
    service_cmd_t *cmd;
    gov_op_t *op = new_op(a->svc, &cmd);
    if (!op) {
        log_error("out of memory: the answer to intent %" PRIu64 " is dropped (sent again)",
                  ans->id);
        return;
    }
    bool resolved = ans->outcome == CALL_RESOLVED;
    if (ans->kind == CALL_TRANSFER) {
        op->kind = OP_TRANSFER_DONE;
        op->u.transfer.intent_id = ans->id;
        gov_transfer_result_t *r = &op->u.transfer.res;
        r->ok = resolved && ans->has_block_index;
        r->block_index = ans->block_index;
        if (!r->ok) {
            r->error_code = ans->http_status;
            snprintf(r->error, sizeof r->error, "%s: %.120s", ans->error, ans->body);
            atomic_fetch_add(&a->external_failures, 1);
        }
    } else if (ans->kind == CALL_POST) {
        op->kind = OP_POST_DONE;
        op->u.post.intent_id = ans->id;
        gov_call_result_t *r = &op->u.post.res;
        r->ok = resolved;
        r->status = (int)ans->http_status;
        if (!resolved) {
            snprintf(r->error, sizeof r->error, "%s (HTTP %ld): %.100s", ans->error,
                     ans->http_status, ans->body);
            atomic_fetch_add(&a->cmc_failures, 1);
        }
    } else if (purpose == GOV_PURPOSE_SUPPLY) {
        op->kind = OP_SUPPLY_READ;
        op->u.supply.intent_id = ans->id;
        gov_supply_result_t *r = &op->u.supply.res;
        r->ok = resolved &&
                parse_u64_member(ans->body, ans->body_len, "total_supply_e8s", &r->supply_e8s);
        if (!r->ok)
            snprintf(r->error, sizeof r->error, "%s",
                     resolved ? "the ledger's supply has an unexpected shape" : ans->error);
    } else if (purpose == GOV_PURPOSE_AVERAGE_RATE) {
        op->kind = OP_AVERAGE_RATE;
        op->u.average.intent_id = ans->id;
        gov_average_rate_result_t *r = &op->u.average.res;
        r->ok = resolved && parse_u64_member(ans->body, ans->body_len, "xdr_permyriad_per_icp",
                                             &r->xdr_permyriad_per_icp);
        if (!r->ok)
            snprintf(r->error, sizeof r->error, "%s",
                     resolved ? "the cmc's average rate has an unexpected shape" : ans->error);
    } else if (purpose == GOV_PURPOSE_BALANCE) {
        op->kind = OP_BALANCE_READ;
        op->u.balance.intent_id = ans->id;
        gov_balance_result_t *r = &op->u.balance.res;
        r->ok = resolved && parse_balance(ans->body, ans->body_len, &r->balance_e8s);
        if (!r->ok)
            snprintf(r->error, sizeof r->error, "%s",
                     resolved ? "the ledger's balance has an unexpected shape" : ans->error);
    } else {
        op->kind = OP_MODULATION_READ;
        op->u.modulation.intent_id = ans->id;
        gov_modulation_result_t *r = &op->u.modulation.res;
        if (purpose == GOV_PURPOSE_MODULATION)
            r->ok = resolved && parse_modulation(ans->body, ans->body_len, &r->permyriad);
        else
            r->ok = resolved && parse_rate_history(a, ans->id, ans->body, ans->body_len);
        if (!r->ok)
            snprintf(r->error, sizeof r->error, "%s",
                     resolved ? "the cmc's answer has an unexpected shape" : ans->error);
    }
    service_submit_internal(a->svc, cmd);
}

static void to_call(const service_t *svc, const outbox_intent_t *in, call_intent_t *c)
{
    memset(c, 0, sizeof *c);
    c->id = in->id;
    const service_config_t *cfg = service_config(svc);
    snprintf(c->base_url, sizeof c->base_url, "%s",
             in->target == GOV_TARGET_CMC ? cfg->cmc_url : cfg->ledger_url);
    if (in->kind == GOV_INTENT_GET) {
        c->kind = CALL_GET;
        snprintf(c->path, sizeof c->path, "%s", in->path);
        return;
    }
    if (in->kind == GOV_INTENT_POST) {
        c->kind = CALL_POST; /* signed by governance's key (call.h) */
        snprintf(c->path, sizeof c->path, "%s", in->path);
        c->body = in->body ? in->body : "";
        return;
    }
    c->kind = CALL_TRANSFER;
    call_transfer_t *t = &c->transfer;
    t->has_from_subaccount = !subaccount_is_default(in->from_subaccount);
    memcpy(t->from_subaccount, in->from_subaccount, SUBACCOUNT_BYTES);
    account_id_to_address(&in->to, t->to);
    t->amount_e8s = in->amount;
    t->fee_e8s = in->fee;
    t->memo = in->memo;
    t->created_at_time = in->created_at_time;
}

/* Gives an outbox entry to the runner (state thread). An entry already pending in the runner
 * is refused by it (same id), so an entry is never in flight twice. */
static bool submit_entry(gov_app_t *a, outbox_entry_t *e, uint64_t wall_now)
{
    if (e->in.target == GOV_TARGET_CMC && !service_config(a->svc)->cmc_url)
        return false; /* waits for a start with --cmc (logged at start) */
    call_intent_t c;
    to_call(a->svc, &e->in, &c);
    e->submitted_at = wall_now;
    if (call_runner_submit(a->runner, &c))
        e->submitted = true;
    return true;
}

bool outbox_add(gov_app_t *a, const gov_intent_t *in)
{
    pthread_mutex_lock(&a->out_mu);
    bool ok = true;
    if (a->nout == a->capout) {
        size_t cap = a->capout ? 2 * a->capout : 64;
        outbox_entry_t *v = realloc(a->outbox, cap * sizeof *v);
        if (v) {
            a->outbox = v;
            a->capout = cap;
        } else {
            ok = false;
        }
    }
    uint8_t key[8];
    id_key(in->id, key);
    bool created = false;
    char *body = NULL;
    if (ok && in->kind == GOV_INTENT_POST &&
        !(body = strndup(in->body ? in->body : "", GOV_INTENT_BODY_MAX - 1)))
        ok = false;
    hval_t *v = ok ? hmap_put(&a->outbox_index, key, &created) : NULL;
    if (v && created) {
        v->a = a->nout;
        outbox_intent_t *o = &a->outbox[a->nout++].in;
        memset(o, 0, sizeof *o);
        a->outbox[a->nout - 1].submitted = false;
        a->outbox[a->nout - 1].submitted_at = 0;
        o->id = in->id;
        o->kind = in->kind;
        o->purpose = in->purpose;
        o->target = in->target;
        memcpy(o->path, in->path, sizeof o->path);
        memcpy(o->from_subaccount, in->from_subaccount, SUBACCOUNT_BYTES);
        o->to = in->to;
        o->amount = in->amount;
        o->fee = in->fee;
        o->memo = in->memo;
        o->created_at_time = in->created_at_time;
        o->body = body;
        body = NULL;
        atomic_store(&a->outbox_size, a->nout);
        if (a->nout > a->outbox_peak)
            a->outbox_peak = a->nout;
    }
    free(body);
    ok = v != NULL; /* an id already in the outbox is kept once */
    pthread_mutex_unlock(&a->out_mu);
    return ok;
}

void outbox_remove(gov_app_t *a, uint64_t id)
{
    pthread_mutex_lock(&a->out_mu);
    uint8_t key[8];
    id_key(id, key);
    hval_t *v = hmap_get(&a->outbox_index, key);
    if (v) {
        size_t at = (size_t)v->a, last = --a->nout;
        hmap_del(&a->outbox_index, key);
        free(a->outbox[at].in.body);
        if (at != last) {
            a->outbox[at] = a->outbox[last];
            id_key(a->outbox[at].in.id, key);
            hval_t *moved = hmap_get(&a->outbox_index, key);
            if (moved)
                moved->a = at;
        }
        atomic_store(&a->outbox_size, a->nout);
    }
    pthread_mutex_unlock(&a->out_mu);
}

/* An outbox that held this many entries has settled once it holds a sixteenth of them. */
#define OUTBOX_SETTLE_PEAK 4096

void outbox_settle(gov_app_t *a)
{
    if (a->outbox_peak < OUTBOX_SETTLE_PEAK || a->nout > a->outbox_peak / 16)
        return;
    uint64_t t0 = clock_wall_nanos();
    size_t peak = a->outbox_peak, cap = 64;
    while (cap < 2 * a->nout)
        cap *= 2;
    hmap_t index;
    pthread_mutex_lock(&a->out_mu);
    if (cap < a->capout) {
        outbox_entry_t *v = realloc(a->outbox, cap * sizeof *v);
        if (v) {
            a->outbox = v;
            a->capout = cap;
        }
    }
    /* the index, grown to the peak, is made again for what is left */
    if (hmap_init(&index, 8, cap)) {
        bool ok = true;
        for (size_t i = 0; ok && i < a->nout; i++) {
            uint8_t key[8];
            id_key(a->outbox[i].in.id, key);
            hval_t *v = hmap_put(&index, key, NULL);
            if (v)
                v->a = i;
            ok = v != NULL;
        }
        if (ok) {
            hmap_free(&a->outbox_index);
            a->outbox_index = index;
        } else {
            hmap_free(&index);
        }
    }
    a->outbox_peak = a->nout;
    pthread_mutex_unlock(&a->out_mu);
    /* what the intents held is free now but spread through the heap, which glibc does not give
     * back by itself: 100,000 genesis neurons left 363 MB of RSS once their mints were done,
     * against 62 MB after a restart */
    malloc_trim(0);
    log_info("the outbox drained from %zu calls to %zu: memory given back in %.1f ms", peak,
             a->nout, (double)(clock_wall_nanos() - t0) / 1e6);
}

/* Submits the outbox entries not in flight (new ones, those whose answer a failed round lost,
 * and any submitted more than RESUBMIT_NANOS ago), as many as the runner has room for (state
 * thread). The runner holds CALLS_MAX at most, and a genesis of 400,000 neurons leaves as many
 * mints in the outbox: the scan resumes where the last one stopped and ends when the runner is
 * full, so it costs about the calls it submits. */
void refill(gov_app_t *a, uint64_t wall_now)
{
    size_t pending = call_runner_pending(a->runner);
    size_t room = pending < CALLS_MAX ? CALLS_MAX - pending : 0;
    for (size_t k = 0; k < a->nout && room > 0; k++) {
        if (a->scan_at >= a->nout)
            a->scan_at = 0;
        outbox_entry_t *e = &a->outbox[a->scan_at++];
        if ((!e->submitted || wall_now - e->submitted_at > RESUBMIT_NANOS) &&
            submit_entry(a, e, wall_now))
            room--;
    }
}
