#include "api.h"

#include <inttypes.h>
#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "api_internal.h"
#include "body.h"
#include "call.h"
#include "clock.h"
#include "genesis.h"
#include "gov.h"
#include "gov_proposal.h"
#include "gov_reward.h"
#include "hmap.h"
#include "jsonutil.h"
#include "log.h"
#include "proposal_body.h"
#include "render.h"
#include "store.h"

#define TICK_RETRY_NANOS                                                                           \
    (5ULL * NANOS) /* a tick command not through a round this long (the                            \
                      database was down, the round failed) is sent again */
#define LIST_DEFAULT 50
#define EVENTS_DEFAULT 50
#define ID_ATTEMPTS 4 /* random ids drawn for one command before IdInUse is answered */

/* The round's scratch state. */
typedef struct {
    gov_round_t *r;
    uint64_t now;       /* the round's time, seconds */
    uint64_t now_nanos; /* and nanoseconds */
    uint64_t *answered; /* intents whose answer the round applied */
    size_t nanswered;
    gov_resolved_t *resolved; /* how the intents the round's answers finished ended */
    size_t nresolved;
    bool ticked;    /* the round applied a tick command */
    hmap_t index;   /* neuron id -> its position among the round's changed neurons */
    size_t indexed; /* positions indexed so far */
    uint64_t claims, commands, refusals;
} scratch_t;

static const char *genesis_path;

/* ---------------------------------------------------------------- helpers */

static uint64_t now_seconds(void)
{
    return clock_now_nanos() / NANOS;
}

static uint64_t random_id(void)
{
    uint64_t id = 0;
    while (id == 0)
        randombytes_buf(&id, sizeof id);
    return id;
}

static void respond_error(http_request_t *req, const nns_error_t *err)
{
    http_respond_error(req, err);
}

static bool query_u64(http_request_t *req, const char *name, uint64_t dflt, uint64_t *out,
                      nns_error_t *err)
{
    const char *t = http_query(req, name);
    *out = dflt;
    if (t && !parse_u64(t, out))
        return nns_error_set(err, 400, "BadRequest", "query '%s' must be a u64, not '%.40s'", name,
                             t);
    return true;
}

/* limit in 1..100 as the other lists read it: 0 counts as 1, more than the most is the most */
static bool query_limit(http_request_t *req, uint64_t dflt, size_t *out, nns_error_t *err)
{
    uint64_t v;
    if (!query_u64(req, "limit", dflt, &v, err))
        return false;
    *out = v == 0 ? 1 : v > GOV_LIST_MAX ? GOV_LIST_MAX : (size_t)v;
    return true;
}

static bool path_neuron_id(http_request_t *req, uint64_t *id, nns_error_t *err)
{
    const char *t = http_param(req, 0);
    if (!t || !parse_u64(t, id))
        return nns_error_set(err, 400, "BadRequest", "neuron id '%.40s' is not a u64", t ? t : "");
    return true;
}

/* ---------------------------------------------------------------- reads */

gov_t *api_gov(void *svc)
{
    gov_app_t *a = service_app(svc);
    return a->gov;
}

gov_store_t *api_store(void *svc)
{
    gov_app_t *a = service_app(svc);
    return a->store;
}

static void get_governance(http_request_t *req, void *svc)
{
    gov_app_t *a = service_app(svc);
    gov_info_t info;
    gov_modulation_t mm;
    gov_info(a->gov, now_seconds(), &info);
    gov_modulation(a->gov, &mm);
    json_t *o = gov_render_info(&info, &mm);
    if (!o || !api_governance_extras(a->gov, now_seconds(), o)) {
        json_decref(o);
        service_respond_unavailable(req, "out of memory");
        return;
    }
    http_respond_json(req, 200, o);
}

static void get_neuron(http_request_t *req, void *svc)
{
    gov_app_t *a = service_app(svc);
    nns_error_t err;
    uint64_t id;
    if (!path_neuron_id(req, &id, &err)) {
        respond_error(req, &err);
        return;
    }
    gov_neuron_full_t *n = malloc(sizeof *n);
    if (!n) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    if (!gov_neuron(a->gov, id, now_seconds(), n)) {
        free(n);
        nns_error_set(&err, 404, "NotFound", "neuron %" PRIu64 " not found", id);
        respond_error(req, &err);
        return;
    }
    const principal_t *caller = http_caller(req);
    bool full = caller && gov_is_controller_or_hot_key(n, caller);
    json_t *o = gov_render_neuron(n, &a->governance, full);
    free(n);
    if (!o) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    http_respond_json(req, 200, o);
}

static void get_neurons(http_request_t *req, void *svc)
{
    gov_app_t *a = service_app(svc);
    nns_error_t err;
    principal_t controller;
    const char *p = http_query(req, "controller");
    size_t limit;
    uint64_t after = 0;
    if (!p) {
        nns_error_set(&err, 400, "BadRequest", "query 'controller' is required");
        respond_error(req, &err);
        return;
    }
    if (!principal_from_text(p, &controller, &err)) {
        nns_error_set(&err, 400, "InvalidPrincipal", "query 'controller' is not a principal");
        respond_error(req, &err);
        return;
    }
    const char *cursor = http_query(req, "cursor");
    if (!query_limit(req, LIST_DEFAULT, &limit, &err) ||
        (cursor && !parse_u64(cursor, &after) &&
         !nns_error_set(&err, 400, "BadRequest", "query 'cursor' is not a cursor of this list"))) {
        respond_error(req, &err);
        return;
    }
    gov_neuron_full_t *ns = malloc(limit * sizeof *ns);
    if (!ns) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    bool more = false;
    size_t n =
        gov_neurons_by_controller(a->gov, &controller, after, now_seconds(), ns, limit, &more);
    const principal_t *caller = http_caller(req);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr, gov_render_neuron(&ns[i], &a->governance,
                                   caller && gov_is_controller_or_hot_key(&ns[i], caller)));
    json_t *o = json_object();
    json_object_set_new(o, "neurons", arr);
    if (more && n > 0) {
        char c[24];
        snprintf(c, sizeof c, "%" PRIu64, ns[n - 1].n.id);
        json_object_set_new(o, "next_cursor", json_string(c));
        http_add_header(req, "X-Next-Cursor", c);
    }
    free(ns);
    http_respond_json(req, 200, o);
}

static void get_staking_account(http_request_t *req, void *svc)
{
    gov_app_t *a = service_app(svc);
    nns_error_t err;
    principal_t controller;
    uint64_t memo;
    const char *p = http_query(req, "controller");
    if (!p || !principal_from_text(p, &controller, &err)) {
        nns_error_set(&err, 400, p ? "InvalidPrincipal" : "BadRequest",
                      p ? "query 'controller' is not a principal"
                        : "query 'controller' is required");
        respond_error(req, &err);
        return;
    }
    if (!http_query(req, "memo")) {
        nns_error_set(&err, 400, "BadRequest", "query 'memo' is required");
        respond_error(req, &err);
        return;
    }
    if (!query_u64(req, "memo", 0, &memo, &err)) {
        respond_error(req, &err);
        return;
    }
    uint8_t sub[SUBACCOUNT_BYTES];
    gov_neuron_staking_subaccount(&controller, memo, sub);
    account_id_t acc;
    account_id_of(&a->governance, sub, &acc);
    char hex[ACCOUNT_HEX_LEN + 1], ctl[PRINCIPAL_TEXT_MAX];
    account_id_to_hex(&acc, hex);
    principal_to_text(&controller, ctl);
    json_t *o = json_object();
    json_object_set_new(o, "account_identifier", json_string(hex));
    json_object_set_new(o, "subaccount_hex", json_hex(sub, SUBACCOUNT_BYTES));
    json_object_set_new(o, "controller", json_string(ctl));
    json_object_set_new(o, "memo", json_u64(memo));
    http_respond_json(req, 200, o);
}

static void get_neuron_events(http_request_t *req, void *svc)
{
    gov_app_t *a = service_app(svc);
    nns_error_t err;
    uint64_t id;
    size_t limit, n = 0;
    uint64_t before = 0;
    bool more = false;
    const char *cursor = http_query(req, "cursor");
    if (!path_neuron_id(req, &id, &err) || !query_limit(req, EVENTS_DEFAULT, &limit, &err) ||
        (cursor && (!parse_u64(cursor, &before) || before == 0) &&
         !nns_error_set(&err, 400, "BadRequest", "query 'cursor' is not a cursor of this list"))) {
        respond_error(req, &err);
        return;
    }
    if (limit > GOV_STORE_EVENTS_MAX)
        limit = GOV_STORE_EVENTS_MAX;
    gov_store_event_t *ev = malloc(limit * sizeof *ev);
    if (!ev) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    if (!gov_store_events(a->store, id, before, limit, ev, &n, &more, &err)) {
        free(ev);
        respond_error(req, &err);
        return;
    }
    /* the history of a private neuron names its hot keys and followees, which only its
     * controller and hot keys may see (the views' rule): for anyone else those details are
     * withheld */
    bool owner_view = true;
    gov_neuron_full_t *nv = malloc(sizeof *nv);
    if (!nv) {
        free(ev);
        service_respond_unavailable(req, "out of memory");
        return;
    }
    const principal_t *caller = http_caller(req);
    if (!gov_neuron(a->gov, id, now_seconds(), nv))
        owner_view = false;
    else if (nv->n.visibility != GOV_VISIBILITY_PUBLIC)
        owner_view = caller && gov_is_controller_or_hot_key(nv, caller);
    free(nv);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const gov_event_t *e = &ev[i].e;
        bool private_detail =
            strncmp(e->kind, "hot_key_", 8) == 0 || strncmp(e->kind, "following_", 10) == 0;
        json_t *x = json_object();
        json_object_set_new(x, "neuron_id", json_u64(e->neuron_id));
        json_object_set_new(x, "kind", json_string(e->kind));
        json_object_set_new(x, "at_seconds", json_u64(e->at_seconds));
        json_object_set_new(x, "amount_e8s", json_u64(e->amount_e8s));
        json_object_set_new(x, "other_neuron_id", json_u64(e->other_neuron_id));
        json_object_set_new(x, "detail",
                            json_string(private_detail && !owner_view ? "" : e->detail));
        json_array_append_new(arr, x);
    }
    json_t *o = json_object();
    json_object_set_new(o, "events", arr);
    if (more && n > 0) {
        char c[24];
        snprintf(c, sizeof c, "%" PRIu64, ev[n - 1].seq);
        json_object_set_new(o, "next_cursor", json_string(c));
        http_add_header(req, "X-Next-Cursor", c);
    }
    free(ev);
    http_respond_json(req, 200, o);
}

/* ---------------------------------------------------------------- writes */

gov_op_t *new_op(service_t *svc, service_cmd_t **cmd)
{
    *cmd = service_cmd_new(svc, 1);
    return *cmd ? (gov_op_t *)(void *)service_cmd_op(svc, *cmd, 0) : NULL;
}

static void post_claim(http_request_t *req, void *svc)
{
    nns_error_t err;
    service_cmd_t *cmd;
    gov_op_t *op = new_op(svc, &cmd);
    if (!op) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    size_t len;
    const uint8_t *body = http_body(req, &len);
    op->kind = OP_CLAIM;
    if (!gov_body_claim(body, len, http_caller(req), &op->u.claim, &err)) {
        service_cmd_free(svc, &cmd);
        respond_error(req, &err);
        return;
    }
    op->u.claim.candidate_id = random_id();
    service_submit(svc, req, cmd);
}

static void post_command(http_request_t *req, void *svc)
{
    nns_error_t err;
    uint64_t id;
    const char *name = http_param(req, 1);
    gov_command_kind_t kind = name ? gov_command_from_name(name) : 0;
    if (!path_neuron_id(req, &id, &err)) {
        respond_error(req, &err);
        return;
    }
    if (!kind) {
        nns_error_set(&err, 404, "NotFound", "no neuron command '%.60s'", name ? name : "");
        respond_error(req, &err);
        return;
    }
    service_cmd_t *cmd;
    gov_op_t *op = new_op(svc, &cmd);
    if (!op) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    size_t len;
    const uint8_t *body = http_body(req, &len);
    op->kind = OP_COMMAND;
    if (!gov_body_command(kind, id, body, len, http_caller(req), &op->u.cmd, &err)) {
        service_cmd_free(svc, &cmd);
        respond_error(req, &err);
        return;
    }
    if (kind == GOV_CMD_SPLIT) {
        op->u.cmd.u.split.candidate_id = random_id();
        randombytes_buf(op->u.cmd.u.split.candidate_subaccount, SUBACCOUNT_BYTES);
    } else if (kind == GOV_CMD_SPAWN) {
        op->u.cmd.u.spawn.candidate_id = random_id();
        randombytes_buf(op->u.cmd.u.spawn.candidate_subaccount, SUBACCOUNT_BYTES);
    }
    service_submit(svc, req, cmd);
}

/* POST /v1/proposals (signed): parsed here, applied in the round. */
static void post_proposal(http_request_t *req, void *svc)
{
    nns_error_t err;
    size_t len;
    const uint8_t *body = http_body(req, &len);
    gov_submission_t *sub = gov_body_proposal(body, len, http_caller(req), &err);
    if (!sub) {
        respond_error(req, &err);
        return;
    }
    service_cmd_t *cmd;
    gov_op_t *op = new_op(svc, &cmd);
    if (!op) {
        gov_submission_free(&sub);
        service_respond_unavailable(req, "out of memory");
        return;
    }
    op->kind = OP_SUBMIT;
    op->u.submit = sub;
    service_submit(svc, req, cmd);
}

/* POST /v1/proposals/{id}/votes (signed). */
static void post_vote(http_request_t *req, void *svc)
{
    nns_error_t err;
    uint64_t pid;
    const char *t = http_param(req, 0);
    if (!t || !parse_u64(t, &pid)) {
        nns_error_set(&err, 400, "BadRequest", "proposal id '%.40s' is not a u64", t ? t : "");
        respond_error(req, &err);
        return;
    }
    service_cmd_t *cmd;
    gov_op_t *op = new_op(svc, &cmd);
    if (!op) {
        service_respond_unavailable(req, "out of memory");
        return;
    }
    size_t len;
    const uint8_t *body = http_body(req, &len);
    op->kind = OP_VOTE;
    if (!gov_body_vote(body, len, http_caller(req), pid, &op->u.vote, &err)) {
        service_cmd_free(svc, &cmd);
        respond_error(req, &err);
        return;
    }
    service_submit(svc, req, cmd);
}

/* Frees what an op owns (service_def_t.op_release). */
static void op_release(write_t *w)
{
    gov_op_t *op = (gov_op_t *)(void *)w;
    if (op->kind == OP_SUBMIT)
        gov_submission_free(&op->u.submit);
}

/* POST /v1/admin/crash-point {"point": "after-ledger-answer"} (--test-clock only): the next
 * answer of a transfer governance sent to the ledger makes the process exit with 137 before
 * that answer reaches a round, as a crash between the ledger's commit and governance's would. */
static void post_crash_point(http_request_t *req, void *svc)
{
    gov_app_t *a = service_app(svc);
    nns_error_t err;
    if (!clock_is_test()) {
        nns_error_set(&err, 404, "NotFound", "no such route (the crash point needs --test-clock)");
        respond_error(req, &err);
        return;
    }
    static const char *const fields[] = {"point", NULL};
    size_t len;
    const uint8_t *body = http_body(req, &len);
    json_t *o = json_parse_object(body, len, &err);
    const char *p = NULL;
    bool ok =
        o && json_only_fields(o, fields, &err) && json_get_str(o, "point", true, &p, NULL, &err);
    if (ok && strcmp(p, "after-ledger-answer") != 0)
        ok = nns_error_set(&err, 400, "BadRequest", "'point' must be \"after-ledger-answer\"");
    if (!ok) {
        json_decref(o);
        respond_error(req, &err);
        return;
    }
    atomic_store(&a->crash_armed, 1);
    log_warn("crash point armed: %s", p);
    json_t *r = json_object();
    json_object_set_new(r, "armed", json_string(p));
    json_decref(o);
    http_respond_json(req, 200, r);
}

/* ---------------------------------------------------------------- the round */

static void scratch_free(gov_app_t *a, scratch_t *s)
{
    gov_round_discard(a->gov, &s->r); /* a no-op once committed */
    hmap_free(&s->index);
    free(s->answered);
    free(s->resolved);
    free(s);
}

static void *round_begin(void *app, size_t nops)
{
    gov_app_t *a = app;
    scratch_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->answered = calloc(nops + 1, sizeof *s->answered);
    s->resolved = calloc(nops + 1, sizeof *s->resolved); /* at most one per answer */
    bool index_ok = hmap_init(&s->index, sizeof(uint64_t), 2 * nops + 16);
    s->r = gov_round_begin(a->gov);
    if (!s->answered || !s->resolved || !index_ok || !s->r) {
        if (!index_ok)
            memset(&s->index, 0, sizeof s->index);
        scratch_free(a, s);
        return NULL;
    }
    return s;
}

/* Indexes the neurons the round changed since the last call (in order of first change). */
static bool index_round(scratch_t *s, gov_neuron_full_t *tmp)
{
    size_t n = gov_round_neuron_count(s->r);
    for (; s->indexed < n; s->indexed++) {
        bool removed, parts;
        gov_round_neuron(s->r, s->indexed, tmp, &removed, &parts);
        bool created;
        uint8_t key[8];
        id_key(tmp->n.id, key);
        hval_t *v = hmap_put(&s->index, key, &created);
        if (!v)
            return false;
        v->a = s->indexed;
    }
    return true;
}

/* Whether the round holds or releases a lock on id: 1 held, -1 released, 0 not touched. */
static int round_lock(const scratch_t *s, uint64_t id)
{
    const bool *removed;
    size_t n;
    const gov_inflight_t *f = gov_round_inflight(s->r, &removed, &n);
    int state = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].neuron_id == id || f[i].other_neuron_id == id) {
            if (!removed[i])
                return 1;
            state = -1;
        }
    return state;
}

/* The neuron as the round leaves it (falling back on committed state), with its derived values
 * at the round's time. False when it does not exist (or the round removed it) or out of
 * memory. */
static bool round_neuron(gov_app_t *a, scratch_t *s, uint64_t id, gov_neuron_full_t *out)
{
    if (!index_round(s, out))
        return false;
    uint8_t key[8];
    id_key(id, key);
    hval_t *v = hmap_get(&s->index, key);
    bool committed_locked = false;
    if (v) {
        bool removed, parts;
        gov_round_neuron(s->r, (size_t)v->a, out, &removed, &parts);
        if (removed)
            return false;
        gov_economics_t e;
        gov_economics(a->gov, &e);
        gov_neuron_derive(gov_rules(a->gov), &e, &out->n, s->now, &out->d);
        gov_neuron_full_t *c = malloc(sizeof *c);
        if (c && gov_neuron(a->gov, id, s->now, c))
            committed_locked = c->locked;
        free(c);
    } else {
        if (!gov_neuron(a->gov, id, s->now, out))
            return false;
        committed_locked = out->locked;
    }
    int l = round_lock(s, id);
    out->locked = l > 0 || (l == 0 && committed_locked);
    return true;
}

/* The neuron's full view as the round leaves it; NULL when out of memory. A neuron the round
 * removed (it cannot be one a finished command names) is shown as its id alone, so that an
 * answer never fails the whole round. */
static json_t *round_view(gov_app_t *a, scratch_t *s, uint64_t id)
{
    gov_neuron_full_t *n = malloc(sizeof *n);
    if (!n)
        return NULL;
    json_t *o;
    if (round_neuron(a, s, id, n)) {
        o = gov_render_neuron(n, &a->governance, true);
    } else {
        log_warn("neuron %" PRIu64 " to show in an answer is gone", id);
        o = json_object();
        if (o)
            json_object_set_new(o, "id", json_u64(id));
    }
    free(n);
    return o;
}

/* The success body of a finished command or claim (JSON text, malloc'd); NULL when out of
 * memory or when the neuron to show is gone. */
static char *outcome_json(gov_app_t *a, scratch_t *s, const gov_outcome_t *out)
{
    json_t *o = NULL;
    switch (out->command) {
    case GOV_CMD_DISBURSE:
        o = json_object();
        json_object_set_new(o, "transfer_block_height", json_u64(out->transfer_block_height));
        break;
    case GOV_CMD_SPLIT:
    case GOV_CMD_SPAWN:
        o = json_object();
        json_object_set_new(o, "created_neuron_id", json_u64(out->created_neuron_id));
        break;
    case GOV_CMD_MERGE: {
        json_t *src = round_view(a, s, out->source_neuron_id);
        json_t *dst = round_view(a, s, out->neuron_id);
        if (src && dst) {
            o = json_object();
            json_object_set_new(o, "source_neuron", src);
            json_object_set_new(o, "target_neuron", dst);
        } else {
            json_decref(src);
            json_decref(dst);
        }
        break;
    }
    case GOV_CMD_STAKE_MATURITY:
        o = json_object();
        json_object_set_new(o, "maturity_e8s", json_u64(out->maturity_e8s));
        json_object_set_new(o, "staked_maturity_e8s", json_u64(out->staked_maturity_e8s));
        break;
    case GOV_CMD_DISBURSE_MATURITY:
        o = json_object();
        json_object_set_new(o, "amount_disbursed_e8s", json_u64(out->amount_disbursed_e8s));
        break;
    default:
        o = round_view(a, s, out->neuron_id);
    }
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

/* Answers a finished outcome: w (the request itself) or, when w is NULL, the request suspended
 * on the outcome's flow. False when out of memory (the round must not commit). */
static bool finish(gov_app_t *a, scratch_t *s, write_t *w, const gov_outcome_t *out)
{
    int status;
    char *body;
    size_t len = 0;
    if (out->ok) {
        status = 200;
        body = outcome_json(a, s, out);
        if (!body)
            return false; /* out of memory */
        len = strlen(body);
    } else {
        status = out->error.status;
        body = http_problem_text(&out->error, &len);
        if (!body)
            return false;
        s->refusals++;
    }
    bool ok = w ? write_succeed(w, status, body, len)
                : service_resume(a->svc, out->flow_id, status, body, len);
    free(body);
    return ok;
}

/* A refusal by the state machine: the request's answer. False when the round must not commit
 * (OutOfMemory after changes). */
static bool refuse(scratch_t *s, write_t *w, const nns_error_t *err)
{
    s->refusals++;
    write_fail(w, err, false);
    if (err->status == 409 && strcmp(err->code, "LedgerUpdateOngoing") == 0)
        write_forget(w); /* it changes by itself: the same bytes sent later run again */
    for (int i = 0; i < err->npayload; i++)
        if (strcmp(err->payload[i].name, "retry_after_seconds") == 0)
            write_retry_after(w, err->payload[i].value > UINT32_MAX
                                     ? UINT32_MAX
                                     : (uint32_t)err->payload[i].value);
    return !(err->status == 500 && strcmp(err->code, "OutOfMemory") == 0);
}

static bool apply_request(gov_app_t *a, scratch_t *s, gov_op_t *op)
{
    gov_outcome_t out;
    nns_error_t err;
    bool ok = false;
    if (op->kind == OP_CLAIM)
        s->claims++;
    else
        s->commands++;
    for (int attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
        memset(&out, 0, sizeof out);
        nns_error_clear(&err);
        if (op->kind == OP_CLAIM)
            ok = gov_apply_claim(a->gov, s->r, &op->u.claim, s->now, &out, &err);
        else
            ok = gov_apply_command(a->gov, s->r, &op->u.cmd, s->now, &out, &err);
        if (ok || strcmp(err.code, "IdInUse") != 0)
            break;
        /* a random id collided with an existing neuron: draw again (nothing changed) */
        if (op->kind == OP_CLAIM)
            op->u.claim.candidate_id = random_id();
        else if (op->u.cmd.kind == GOV_CMD_SPLIT)
            op->u.cmd.u.split.candidate_id = random_id();
        else if (op->u.cmd.kind == GOV_CMD_SPAWN)
            op->u.cmd.u.spawn.candidate_id = random_id();
        else
            break;
    }
    if (!ok)
        return refuse(s, &op->w, &err);
    if (out.finished)
        return finish(a, s, &op->w, &out);
    write_suspend(&op->w, out.flow_id);
    return true;
}

/* A call's answer: the step it ends, and the request waiting for its flow if it is finished
 * now. */
static bool apply_answer(gov_app_t *a, scratch_t *s, gov_op_t *op)
{
    gov_outcome_t out;
    nns_error_t err;
    memset(&out, 0, sizeof out);
    uint64_t id;
    bool ok;
    switch (op->kind) {
    case OP_BALANCE_READ:
        id = op->u.balance.intent_id;
        ok = gov_apply_balance_read(a->gov, s->r, id, &op->u.balance.res, s->now, &out, &err);
        break;
    case OP_TRANSFER_DONE:
        id = op->u.transfer.intent_id;
        ok = gov_apply_transfer_done(a->gov, s->r, id, &op->u.transfer.res, s->now, &out, &err);
        break;
    case OP_POST_DONE:
        id = op->u.post.intent_id;
        ok = gov_apply_call_done(a->gov, s->r, id, &op->u.post.res, s->now, &out, &err);
        break;
    case OP_SUPPLY_READ:
        id = op->u.supply.intent_id;
        ok = gov_apply_supply_read(a->gov, s->r, id, &op->u.supply.res, s->now, &out, &err);
        break;
    case OP_AVERAGE_RATE:
        id = op->u.average.intent_id;
        ok = gov_apply_average_rate_read(a->gov, s->r, id, &op->u.average.res, s->now, &out, &err);
        break;
    default: {
        id = op->u.modulation.intent_id;
        gov_modulation_result_t res = op->u.modulation.res;
        pthread_mutex_lock(&a->days_mu);
        if (a->rate_days_intent == id) {
            res.days = a->rate_days;
            res.ndays = a->nrate_days;
        }
        ok = gov_apply_modulation_read(a->gov, s->r, id, &res, s->now, &out, &err);
        pthread_mutex_unlock(&a->days_mu);
    }
    }
    s->answered[s->nanswered++] = id;
    if (!ok) {
        write_fail(&op->w, &err, false);
        if (strcmp(err.code, "OutOfMemory") == 0)
            return false;
        log_info("answer to intent %" PRIu64 " ignored: %s (%s)", id, err.code, err.detail);
        return true;
    }
    gov_resolved_t *res = &s->resolved[s->nresolved++];
    res->intent_id = id;
    res->is_transfer = op->kind == OP_TRANSFER_DONE;
    res->ok = op->kind == OP_TRANSFER_DONE  ? op->u.transfer.res.ok
              : op->kind == OP_BALANCE_READ ? op->u.balance.res.ok
              : op->kind == OP_POST_DONE    ? op->u.post.res.ok
              : op->kind == OP_SUPPLY_READ  ? op->u.supply.res.ok
              : op->kind == OP_AVERAGE_RATE ? op->u.average.res.ok
                                            : op->u.modulation.res.ok;
    res->has_block = res->is_transfer && res->ok;
    res->block_index = res->has_block ? op->u.transfer.res.block_index : 0;
    if (!write_succeed(&op->w, 200, "{}", 2))
        return false;
    if (out.finished && out.has_request && out.flow_id)
        return finish(a, s, NULL, &out);
    return true;
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* POST /v1/proposals in the round: {proposal_id}. */
static bool apply_submit(gov_app_t *a, scratch_t *s, gov_op_t *op)
{
    nns_error_t err;
    uint64_t id = 0;
    bool ok = false;
    gov_submit_args_t *args = gov_submission_args(op->u.submit);
    for (int attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
        nns_error_clear(&err);
        ok = gov_apply_submit(a->gov, s->r, args, s->now, &id, &err);
        if (ok || strcmp(err.code, "IdInUse") != 0)
            break;
        gov_submission_redraw(op->u.submit); /* a random candidate id collided: nothing changed */
    }
    if (!ok)
        return refuse(s, &op->w, &err);
    atomic_fetch_add(&a->proposals_submitted, 1);
    char body[64];
    int n = snprintf(body, sizeof body, "{\"proposal_id\":\"%" PRIu64 "\"}", id);
    return write_succeed(&op->w, 200, body, (size_t)n);
}

static void cascade_observe(gov_app_t *a, double seconds)
{
    static const double bounds[API_CASCADE_BUCKETS] = {0.001, 0.005, 0.01, 0.025,
                                                       0.05,  0.1,   0.25, 1.0};
    pthread_mutex_lock(&a->hist_mu);
    size_t i = 0;
    while (i < API_CASCADE_BUCKETS && seconds > bounds[i])
        i++;
    a->cascade_buckets[i]++;
    a->cascade_sum += seconds;
    a->cascade_count++;
    pthread_mutex_unlock(&a->hist_mu);
}

/* POST /v1/proposals/{id}/votes in the round. */
static bool apply_vote(gov_app_t *a, scratch_t *s, gov_op_t *op)
{
    nns_error_t err;
    gov_vote_outcome_t out;
    memset(&out, 0, sizeof out);
    double t0 = mono_seconds();
    if (!gov_apply_vote(a->gov, s->r, &op->u.vote, s->now, &out, &err))
        return refuse(s, &op->w, &err);
    cascade_observe(a, mono_seconds() - t0);
    atomic_fetch_add(&a->votes_cast, 1);
    json_t *o = json_object(), *t = json_object();
    if (!o || !t) {
        json_decref(o);
        json_decref(t);
        return false;
    }
    json_object_set_new(o, "proposal_id", json_u64(out.proposal_id));
    json_object_set_new(o, "neuron_id", json_u64(out.neuron_id));
    json_object_set_new(o, "vote", json_string(gov_vote_name(out.vote)));
    json_object_set_new(t, "yes", json_u64(out.latest_tally.yes));
    json_object_set_new(t, "no", json_u64(out.latest_tally.no));
    json_object_set_new(t, "total", json_u64(out.latest_tally.total));
    json_object_set_new(t, "timestamp_seconds", json_u64(out.latest_tally.timestamp_seconds));
    json_object_set_new(o, "latest_tally", t);
    json_object_set_new(o, "deadline_timestamp_seconds", json_u64(out.deadline_timestamp_seconds));
    json_object_set_new(o, "status", json_string(gov_proposal_status_name(out.status)));
    json_object_set_new(o, "ballots_changed", json_integer((json_int_t)out.ballots_changed));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return false;
    bool ok = write_succeed(&op->w, 200, text, strlen(text));
    free(text);
    return ok;
}

static bool apply(void *app, void *round, write_t *w, uint64_t now)
{
    gov_app_t *a = app;
    scratch_t *s = round;
    gov_op_t *op = (gov_op_t *)(void *)w;
    s->now_nanos = now;
    s->now = now / NANOS;
    switch (op->kind) {
    case OP_CLAIM:
    case OP_COMMAND:
        return apply_request(a, s, op);
    case OP_BALANCE_READ:
    case OP_TRANSFER_DONE:
    case OP_MODULATION_READ:
    case OP_POST_DONE:
    case OP_SUPPLY_READ:
    case OP_AVERAGE_RATE:
        return apply_answer(a, s, op);
    case OP_SUBMIT:
        return apply_submit(a, s, op);
    case OP_VOTE:
        return apply_vote(a, s, op);
    case OP_TICK: {
        nns_error_t err;
        bool work = false;
        s->ticked = true;
        if (!gov_apply_tick(a->gov, s->r, s->now, &work, &err)) {
            write_fail(w, &err, false);
            return false;
        }
        return write_succeed(w, 200, "{}", 2);
    }
    }
    nns_error_t err;
    nns_error_set(&err, 400, "BadRequest", "unknown command");
    write_fail(w, &err, false);
    return true;
}

static db_outcome_t commit_send(void *app, void *round, const replay_rec_t *replays,
                                size_t nreplays, nns_error_t *err)
{
    gov_app_t *a = app;
    scratch_t *s = round;
    gov_store_extras_t x = {.now = s->now_nanos ? s->now_nanos : clock_now_nanos(),
                            .resolved = s->resolved,
                            .nresolved = s->nresolved};
    return gov_store_send_round(a->store, s->r, &x, replays, nreplays, err);
}

static db_outcome_t commit_wait(void *app, nns_error_t *err)
{
    gov_app_t *a = app;
    return gov_store_wait_round(a->store, err);
}

static bool commit_ready(void *app, int timeout_ms)
{
    gov_app_t *a = app;
    return gov_store_round_ready(a->store, timeout_ms);
}

/* Queues a tick command (state thread). Nothing happens on allocation failure: the periodic
 * tick tries again. */
static void submit_tick(gov_app_t *a, uint64_t wall_now)
{
    service_cmd_t *cmd;
    gov_op_t *op = new_op(a->svc, &cmd);
    if (!op)
        return;
    op->kind = OP_TICK;
    a->tick_sent_at = wall_now;
    service_submit_internal(a->svc, cmd);
}

static void round_end(void *app, void *round, bool committed)
{
    gov_app_t *a = app;
    scratch_t *s = round;
    /* the answers the round applied: whatever became of them, their entries are no longer in
     * flight (a round that did not commit lost them: the tick submits the entries again) */
    for (size_t i = 0; i < s->nanswered; i++) {
        outbox_entry_t *e = outbox_find(a, s->answered[i]);
        if (e)
            e->submitted = false;
    }
    if (s->ticked)
        a->tick_sent_at = 0;
    if (!committed) {
        if (s->nanswered)
            atomic_fetch_add(&a->answers_lost, s->nanswered);
        scratch_free(a, s);
        return;
    }
    size_t nnew, ndone;
    const gov_intent_t *fresh = gov_round_intents(s->r, &nnew);
    const uint64_t *done = gov_round_finished_intents(s->r, &ndone);
    /* the copies own their POST bodies: the commit hands the round's to the state machine */
    gov_intent_t *copy = nnew ? calloc(nnew, sizeof *copy) : NULL;
    for (size_t i = 0; copy && i < nnew; i++) {
        copy[i] = fresh[i];
        if (fresh[i].body && !(copy[i].body = strdup(fresh[i].body))) {
            gov_intents_free(copy, i);
            copy = NULL;
        }
    }
    for (size_t i = 0; i < ndone; i++)
        outbox_remove(a, done[i]);
    gov_round_commit(a->gov, &s->r);
    atomic_fetch_add(&a->claims, s->claims);
    atomic_fetch_add(&a->commands, s->commands);
    atomic_fetch_add(&a->refusals, s->refusals);
    if (s->ticked)
        atomic_fetch_add(&a->ticks, 1);
    for (size_t i = 0; i < nnew; i++) {
        if (!copy || !outbox_add(a, &copy[i])) {
            /* committed, but not in memory: crash-only, the restart loads it from the store */
            log_error("out of memory keeping the outbox; exiting to reload it");
            log_flush();
            abort();
        }
    }
    gov_intents_free(copy, nnew);
    scratch_free(a, s);
    refill(a, clock_wall_nanos());
    /* A reward distribution not fully credited goes on at once: the tick command that credits
     * its next batch is queued as soon as the round before it committed (the event's round or
     * the previous batch's), not at the next periodic tick a second later. The batch cursor is
     * committed state (the store's reward_batches rows, gov_load_reward_distribution at start)
     * and the next tick round starts only after this commit (one round at a time), so a batch
     * is credited once whether the process dies before, during or after that round. */
    uint64_t day;
    size_t credited, total;
    if (!a->tick_sent_at && gov_reward_progress(a->gov, &day, &credited, &total))
        submit_tick(a, clock_wall_nanos());
}

/* Periodic work (state thread): refills the runner from the outbox (refill: the runner refuses
 * an intent still pending, and an answer that arrives twice finds its intent finished and is
 * ignored), and queues a tick command when the state machine has periodic work due at the
 * service's time. */
static void tick(void *app, uint64_t wall_now)
{
    gov_app_t *a = app;
    refill(a, wall_now);
    outbox_settle(a);
    if (a->tick_sent_at && wall_now - a->tick_sent_at < TICK_RETRY_NANOS)
        return;
    if (!gov_tick_due(a->gov, now_seconds()))
        return;
    submit_tick(a, wall_now);
}

static void metrics(void *app, metrics_t *m)
{
    gov_app_t *a = app;
    gov_info_t info;
    gov_info(a->gov, now_seconds(), &info);
    metrics_gauge(m, "nns_governance_neurons", "neurons", (double)info.neurons);
    metrics_family(m, "nns_governance_neurons_by_state", "gauge", "neurons by dissolve state");
    static const char *const states[] = {NULL, "not_dissolving", "dissolving", "dissolved",
                                         "spawning"};
    for (int i = 1; i <= 4; i++) {
        char labels[48];
        snprintf(labels, sizeof labels, "state=\"%s\"", states[i]);
        metrics_u64(m, "nns_governance_neurons_by_state", labels, info.neurons_by_state[i]);
    }
    metrics_gauge(m, "nns_governance_staked_e8s", "ICP staked in neurons (cached stake - fees)",
                  (double)info.total_staked_e8s);
    metrics_gauge(m, "nns_governance_maturity_e8s", "maturity of all neurons",
                  (double)info.total_maturity_e8s);
    metrics_gauge(m, "nns_governance_staked_maturity_e8s", "staked maturity of all neurons",
                  (double)info.total_staked_maturity_e8s);
    metrics_gauge(m, "nns_governance_operations_in_flight",
                  "ledger and cmc operations in flight (their neurons are locked)",
                  (double)info.in_flight);
    metrics_gauge(m, "nns_governance_locked_neurons", "neurons locked by an operation in flight",
                  (double)info.locked_neurons);
    metrics_gauge(m, "nns_governance_intents_pending", "calls recorded and not resolved",
                  (double)atomic_load(&a->outbox_size));
    metrics_gauge(m, "nns_governance_state_bytes", "approximate bytes of neuron state in memory",
                  (double)gov_memory(a->gov));
    metrics_counter(m, "nns_governance_claims_total", "claim-or-refresh commands applied",
                    atomic_load(&a->claims));
    metrics_counter(m, "nns_governance_commands_total", "manage-neuron commands applied",
                    atomic_load(&a->commands));
    metrics_counter(m, "nns_governance_refusals_total",
                    "claims and commands answered with an error by the state machine",
                    atomic_load(&a->refusals));
    metrics_counter(m, "nns_governance_ticks_total", "periodic work rounds committed",
                    atomic_load(&a->ticks));
    metrics_counter(m, "nns_governance_answers_lost_total",
                    "call answers whose round did not commit (their intents are sent again)",
                    atomic_load(&a->answers_lost));
    metrics_counter(m, "nns_governance_ledger_refusals_total",
                    "transfers the ledger refused for good", atomic_load(&a->external_failures));
    metrics_counter(m, "nns_governance_proposals_submitted_total", "proposals submitted",
                    atomic_load(&a->proposals_submitted));
    metrics_counter(m, "nns_governance_votes_total", "votes applied (each with its cascade)",
                    atomic_load(&a->votes_cast));
    metrics_counter(m, "nns_governance_cmc_post_failures_total",
                    "POSTs to the cmc (proposal executions) refused for good",
                    atomic_load(&a->cmc_failures));
    api_proposal_metrics(a->gov, now_seconds(), m);
    pthread_mutex_lock(&a->hist_mu);
    static const char *const le[API_CASCADE_BUCKETS] = {"0.001", "0.005", "0.01", "0.025",
                                                        "0.05",  "0.1",   "0.25", "1"};
    metrics_family(m, "nns_governance_vote_cascade_seconds", "histogram",
                   "time of a vote's apply with its following cascade (the state machine part)");
    uint64_t cum = 0;
    for (int i = 0; i <= API_CASCADE_BUCKETS; i++) {
        char labels[32];
        cum += a->cascade_buckets[i];
        snprintf(labels, sizeof labels, "le=\"%s\"", i < API_CASCADE_BUCKETS ? le[i] : "+Inf");
        metrics_u64(m, "nns_governance_vote_cascade_seconds_bucket", labels, cum);
    }
    metrics_double(m, "nns_governance_vote_cascade_seconds_sum", NULL, a->cascade_sum);
    metrics_u64(m, "nns_governance_vote_cascade_seconds_count", NULL, a->cascade_count);
    pthread_mutex_unlock(&a->hist_mu);
    call_runner_metrics(a->runner, m);
}

/* ---------------------------------------------------------------- construction */

/* The genesis (--genesis FILE, or the default: the current rule set, no neurons), applied in
 * one round on a database without governance state. Its mints are submitted by the first
 * tick, like the intents loaded at start. */
static bool apply_genesis(gov_app_t *a, nns_error_t *err)
{
    gov_genesis_t gen;
    uint64_t now = now_seconds();
    if (!gov_genesis_read(genesis_path, now, &gen, err))
        return false;
    gov_round_t *r = gov_round_begin(a->gov);
    bool ok = r != NULL;
    if (!ok)
        nns_error_set(err, 503, "Unavailable", "out of memory");
    if (ok && !gov_apply_genesis(a->gov, r, &gen, now, err)) {
        ok = false;
        if (err->status != 503 && strcmp(err->code, "OutOfMemory") != 0) {
            char detail[sizeof err->detail];
            snprintf(detail, sizeof detail, "%s", err->detail);
            nns_error_set(err, 400, "InvalidGenesis", "%s: %s",
                          genesis_path ? genesis_path : "default genesis", detail);
        }
    }
    if (ok) {
        gov_store_extras_t x = {.now = now * NANOS};
        db_outcome_t o = gov_store_send_round(a->store, r, &x, NULL, 0, err);
        if (o == DB_COMMITTED)
            o = gov_store_wait_round(a->store, err);
        ok = o == DB_COMMITTED;
    }
    if (ok) {
        size_t n;
        const gov_intent_t *in = gov_round_intents(r, &n);
        for (size_t i = 0; ok && i < n; i++)
            if (!outbox_add(a, &in[i]))
                ok = nns_error_set(err, 503, "Unavailable", "out of memory");
    }
    if (ok) {
        gov_round_commit(a->gov, &r);
        log_info("genesis applied%s%s: %s rules, %zu neurons", genesis_path ? " from " : "",
                 genesis_path ? genesis_path : " (default)",
                 gen.rules == GOV_RULES_LEGACY ? "legacy" : "current", gen.nneurons);
    }
    gov_round_discard(a->gov, &r);
    gov_genesis_free(&gen);
    /* a genesis of many neurons parsed a large file and held a large round: give the freed
     * heap back (glibc), so the service's memory is its state's */
    malloc_trim(0);
    return ok;
}

static void destroy(void *app)
{
    gov_app_t *a = app;
    call_runner_destroy(&a->runner);
    gov_store_close(&a->store);
    gov_destroy(&a->gov);
    for (size_t i = 0; i < a->nout; i++)
        free(a->outbox[i].in.body);
    free(a->outbox);
    hmap_free(&a->outbox_index);
    pthread_mutex_destroy(&a->hist_mu);
    free(a->rate_days);
    pthread_mutex_destroy(&a->out_mu);
    pthread_mutex_destroy(&a->days_mu);
    free(a);
}

static void *create(service_t *svc, nns_error_t *err)
{
    const service_config_t *cfg = service_config(svc);
    gov_intent_t *intents = NULL;
    size_t nintents = 0;
    if (!cfg->ledger_url) {
        nns_error_set(err, 400, "BadConfig",
                      "--ledger URL is required: governance reads balances and moves ICP "
                      "through the ledger");
        return NULL;
    }
    if (cfg->read_only) {
        nns_error_set(err, 400, "BadConfig", "governance has no read-only mode yet");
        return NULL;
    }
    gov_app_t *a = calloc(1, sizeof *a);
    if (!a) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->out_mu, NULL);
    pthread_mutex_init(&a->days_mu, NULL);
    pthread_mutex_init(&a->hist_mu, NULL);
    a->svc = svc;
    if (!hmap_init(&a->outbox_index, 8, 1024)) {
        memset(&a->outbox_index, 0, sizeof a->outbox_index);
        nns_error_set(err, 503, "Unavailable", "out of memory");
        goto fail;
    }
    principal_canister(CANISTER_GOVERNANCE, &a->governance);
    gov_config_t gc;
    gov_config_default(&gc);
    gc.governance_id = a->governance;
    gc.has_cmc = cfg->cmc_url != NULL;
    /* claims read a balance, disburses make one or two transfers: blocking requests on a
     * worker each; a burst of claims keeps several workers busy */
    call_runner_opts_t opts = {.caller = &a->governance, .workers = 8, .max_pending = CALLS_MAX};
    if (!(a->gov = gov_new(&gc)) ||
        !(a->runner = call_runner_new(service_key(svc), call_done, a, &opts))) {
        nns_error_set(err, 503, "Unavailable", "out of memory starting governance");
        goto fail;
    }
    /* reads are answered from memory but the neuron events, which come from PostgreSQL: a
     * read pool as large as the HTTP threads; rounds do not chain: one write connection */
    if (!(a->store = gov_store_open(cfg->database, service_threads(svc) + 1, 1,
                                    (unsigned)cfg->commit_delay_ms, err)))
        goto fail;
    service_use_store(svc, gov_store_db(a->store));
    bool fresh = false;
    if (!gov_store_load(a->store, a->gov, service_replay(svc), clock_wall_nanos(), &fresh, &intents,
                        &nintents, err) ||
        (fresh && !apply_genesis(a, err)))
        goto fail;
    if (!fresh && genesis_path)
        log_info("genesis %s not applied: the database holds governance state already",
                 genesis_path);
    for (size_t i = 0; i < nintents; i++)
        if (!outbox_add(a, &intents[i])) {
            nns_error_set(err, 503, "Unavailable", "out of memory");
            goto fail;
        }
    gov_intents_free(intents, nintents);
    intents = NULL;
    nintents = 0;
    gov_info_t info;
    gov_info(a->gov, now_seconds(), &info);
    /* a test clock starts at the system time: move it up to the latest time the state has seen
     * (the last transfer's created_at_time), as the ledger does with its tip */
    if (clock_is_test() && info.last_created_at > clock_now_nanos() &&
        !clock_set(info.last_created_at))
        log_warn("the test clock could not be moved to %" PRIu64, info.last_created_at);
    gov_modulation_t mm;
    gov_modulation(a->gov, &mm);
    if (!cfg->cmc_url && (mm.source == GOV_MM_CMC || mm.source == GOV_MM_RATE_HISTORY))
        log_warn("the maturity modulation comes from the cmc (decided at genesis) but no --cmc "
                 "was given: it stays at %d permyriad until governance runs with --cmc",
                 mm.permyriad);
    /* the loaded intents are submitted by the first tick: an answer that came back before
     * the round loop runs would have nowhere to go */
    log_info("governance ready: %s rules, %" PRIu64 " neurons, %" PRIu64 " operations in flight, "
             "%zu intents to send",
             info.rules == GOV_RULES_LEGACY ? "legacy" : "current", info.neurons, info.in_flight,
             a->nout);
    return a;
fail:
    gov_intents_free(intents, nintents);
    destroy(a);
    return NULL;
}

static const http_route_t ROUTES[] = {
    {"GET", "/v1/governance", get_governance, 0},
    {"GET", "/v1/neurons", get_neurons, HTTP_SIGNED_OPTIONAL},
    {"POST", "/v1/neurons", post_claim, HTTP_SIGNED | HTTP_WRITE},
    {"GET", "/v1/neurons/staking-account", get_staking_account, 0},
    {"GET", "/v1/neurons/{}", get_neuron, HTTP_SIGNED_OPTIONAL},
    {"GET", "/v1/neurons/{}/events", get_neuron_events, HTTP_SIGNED_OPTIONAL},
    {"POST", "/v1/neurons/{}/{}", post_command, HTTP_SIGNED | HTTP_WRITE},
    {"GET", "/v1/neurons/{}/votes", api_get_neuron_votes, 0},
    {"GET", "/v1/proposals", api_get_proposals, 0},
    {"POST", "/v1/proposals", post_proposal, HTTP_SIGNED | HTTP_WRITE},
    {"GET", "/v1/proposals/{}", api_get_proposal, 0},
    {"GET", "/v1/proposals/{}/ballots", api_get_ballots, 0},
    {"GET", "/v1/proposals/{}/votes", api_get_votes, 0},
    {"POST", "/v1/proposals/{}/votes", post_vote, HTTP_SIGNED | HTTP_WRITE},
    {"GET", "/v1/reward-events", api_get_reward_events, 0},
    {"GET", "/v1/known-neurons", api_get_known_neurons, 0},
    {"GET", "/v1/node-providers", api_get_node_providers, 0},
    {"POST", "/v1/admin/crash-point", post_crash_point, 0},
    {0},
};

static const config_option_t OPTIONS[] = {
    {CONFIG_OPT("genesis", OPT_STRING, &genesis_path, NULL,
                "genesis JSON (used on a fresh database): rule_set, genesis_timestamp_seconds, "
                "economics, maturity_modulation_permyriad, neurons")},
    {0},
};

const service_def_t GOVERNANCE_SERVICE = {
    .name = "governance",
    .summary = "The governance service: neurons, staking, proposals, voting and rewards "
               "(REST/JSON, PostgreSQL mirror, calls to the ledger and the cmc).",
    .canister = CANISTER_GOVERNANCE,
    .default_listen = "127.0.0.1:8082",
    .options = OPTIONS,
    .routes = ROUTES,
    .op_size = sizeof(gov_op_t),
    .op_release = op_release,
    .one_round_at_a_time = true,
    .create = create,
    .destroy = destroy,
    .round_begin = round_begin,
    .apply = apply,
    .commit_send = commit_send,
    .commit_wait = commit_wait,
    .commit_ready = commit_ready,
    .round_end = round_end,
    .tick = tick,
    .metrics = metrics,
};
