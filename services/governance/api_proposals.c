/*
 * api_proposals: the governance reads of part 2 (docs/api.md, api/openapi.yaml): proposals
 * (memory, and the mirror for those governance forgot), ballots (memory while the proposal holds
 * them: the exception to DESIGN.md section 3.5 recorded in docs/architecture.md; the mirror
 * after), votes with their times (the mirror), reward events, known neurons and node providers
 * (memory). Every handler runs on an HTTP thread and reads committed state.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "clock.h"
#include "gov_math.h"
#include "gov_proposal.h"
#include "gov_reward.h"
#include "jsonutil.h"
#include "service.h"

#define NANOS 1000000000ULL
#define PROPOSALS_DEFAULT 50
#define BALLOTS_DEFAULT 100
#define VOTES_DEFAULT 100
#define EVENTS_DEFAULT 20
#define FILTER_VALUES_MAX 24 /* values of one repeated filter read at most */

static uint64_t now_seconds(void)
{
    return clock_now_nanos() / NANOS;
}

static void oom(http_request_t *req)
{
    service_respond_unavailable(req, "out of memory");
}

/* limit: 0 counts as 1, more than max is max (as the other lists) */
static bool read_limit(http_request_t *req, size_t dflt, size_t max, size_t *out, nns_error_t *err)
{
    const char *t = http_query(req, "limit");
    uint64_t v = dflt;
    if (t && !parse_u64(t, &v))
        return nns_error_set(err, 400, "BadRequest", "query 'limit' must be a u64, not '%.40s'", t);
    *out = v == 0 ? 1 : v > max ? max : (size_t)v;
    return true;
}

static bool read_cursor(http_request_t *req, uint64_t *out, nns_error_t *err)
{
    const char *t = http_query(req, "cursor");
    *out = 0;
    if (t && (!parse_u64(t, out) || *out == 0))
        return nns_error_set(err, 400, "BadRequest", "query 'cursor' is not a cursor of this list");
    return true;
}

static bool path_id(http_request_t *req, const char *what, uint64_t *id, nns_error_t *err)
{
    const char *t = http_param(req, 0);
    if (!t || !parse_u64(t, id))
        return nns_error_set(err, 400, "BadRequest", "%s id '%.40s' is not a u64", what,
                             t ? t : "");
    return true;
}

static void set_cursor(http_request_t *req, json_t *o, uint64_t cursor)
{
    char c[24];
    snprintf(c, sizeof c, "%" PRIu64, cursor);
    json_object_set_new(o, "next_cursor", json_string(c));
    http_add_header(req, "X-Next-Cursor", c);
}

/* ---------------------------------------------------------------- rendering */

static json_t *tally_json(const gov_tally_t *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "yes", json_u64(t->yes));
    json_object_set_new(o, "no", json_u64(t->no));
    json_object_set_new(o, "total", json_u64(t->total));
    json_object_set_new(o, "timestamp_seconds", json_u64(t->timestamp_seconds));
    return o;
}

static void opt_u64(json_t *o, const char *name, uint64_t v)
{
    if (v)
        json_object_set_new(o, name, json_u64(v));
}

/* A proposal: API.md's fields, topic_name, the action as submitted, ballots_count, the
 * wait-for-quiet deadline, the spike protection's snapshot time and reward_event_round. */
static json_t *proposal_json(const gov_proposal_full_t *f, uint64_t now)
{
    const gov_proposal_t *p = &f->p;
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_u64(p->id));
    json_object_set_new(o, "proposer", json_u64(p->proposer));
    json_object_set_new(o, "topic", json_integer(p->topic));
    const char *tn = gov_topic_name(p->topic);
    json_object_set_new(o, "topic_name", json_string(tn ? tn : "Unspecified"));
    json_error_t je;
    json_t *action = f->action_json ? json_loads(f->action_json, 0, &je) : NULL;
    if (!action) {
        action = json_object();
        const char *an = gov_action_name(p->action_kind);
        json_object_set_new(action, "type", json_string(an ? an : "Unknown"));
    }
    json_object_set_new(o, "action", action);
    json_object_set_new(o, "title", f->title ? json_string(f->title) : json_null());
    json_object_set_new(o, "summary", json_string(f->summary ? f->summary : ""));
    json_object_set_new(o, "url", f->url ? json_string(f->url) : json_null());
    json_object_set_new(o, "status", json_string(gov_proposal_status_name(gov_proposal_status(p))));
    json_object_set_new(o, "reward_status",
                        json_string(gov_reward_status_name(gov_proposal_reward_status(p, now))));
    json_object_set_new(o, "proposal_timestamp_seconds", json_u64(p->proposal_timestamp_seconds));
    json_object_set_new(o, "deadline_timestamp_seconds", json_u64(gov_proposal_deadline(p)));
    opt_u64(o, "decided_timestamp_seconds", p->decided_timestamp_seconds);
    opt_u64(o, "executed_timestamp_seconds", p->executed_timestamp_seconds);
    opt_u64(o, "failed_timestamp_seconds", p->failed_timestamp_seconds);
    if (p->failed_timestamp_seconds || p->failure_reason[0])
        json_object_set_new(o, "failure_reason", json_string(p->failure_reason));
    json_object_set_new(o, "reject_cost_e8s", json_u64(p->reject_cost_e8s));
    json_object_set_new(o, "latest_tally", tally_json(&p->tally));
    json_object_set_new(o, "total_potential_voting_power",
                        json_u64(p->total_potential_voting_power));
    json_object_set_new(o, "ballots_count", json_u64(p->ballots_count));
    if (p->has_wait_for_quiet)
        json_object_set_new(o, "wait_for_quiet_deadline_seconds",
                            json_u64(p->wait_for_quiet_deadline_seconds));
    if (p->has_previous_ballots_timestamp)
        json_object_set_new(o, "previous_ballots_timestamp_seconds",
                            json_u64(p->previous_ballots_timestamp_seconds));
    json_object_set_new(o, "reward_event_round", json_u64(p->reward_event_round));
    if (p->nns_function)
        json_object_set_new(o, "nns_function", json_integer(p->nns_function));
    if (p->managed_neuron_id)
        json_object_set_new(o, "managed_neuron_id", json_u64(p->managed_neuron_id));
    return o;
}

/* ---------------------------------------------------------------- proposals */

/* The filters of GET /v1/proposals: repeated status, topic, reward_status (names or numbers). */
static bool read_filter(http_request_t *req, gov_proposal_filter_t *f, nns_error_t *err)
{
    const char *v[FILTER_VALUES_MAX];
    size_t n = http_query_all(req, "status", v, FILTER_VALUES_MAX);
    if (n > 8)
        return nns_error_set(err, 400, "BadRequest", "at most 8 'status' values");
    for (size_t i = 0; i < n; i++) {
        int s = gov_proposal_status_from_name(v[i]);
        if (s <= 0)
            return nns_error_set(err, 400, "BadRequest",
                                 "query 'status' must be Open, Rejected, Adopted, Executed or "
                                 "Failed (or 1..5), not '%.40s'",
                                 v[i]);
        f->status[f->nstatus++] = s;
    }
    n = http_query_all(req, "reward_status", v, FILTER_VALUES_MAX);
    if (n > 8)
        return nns_error_set(err, 400, "BadRequest", "at most 8 'reward_status' values");
    for (size_t i = 0; i < n; i++) {
        int s = gov_reward_status_from_name(v[i]);
        if (s <= 0)
            return nns_error_set(err, 400, "BadRequest",
                                 "query 'reward_status' must be AcceptVotes, ReadyToSettle, "
                                 "Settled or Ineligible (or 1..4), not '%.40s'",
                                 v[i]);
        f->reward_status[f->nreward++] = s;
    }
    n = http_query_all(req, "topic", v, FILTER_VALUES_MAX);
    if (n > GOV_TOPICS)
        return nns_error_set(err, 400, "BadRequest", "at most %d 'topic' values", GOV_TOPICS);
    for (size_t i = 0; i < n; i++) {
        int32_t t = gov_topic_from_name(v[i]);
        if (t < 0)
            return nns_error_set(err, 400, "BadRequest",
                                 "query 'topic' must be a topic id (0..%d) or name, not '%.40s'",
                                 GOV_TOPICS - 1, v[i]);
        f->topic[f->ntopic++] = t;
    }
    return true;
}

/* GET /v1/proposals: newest first, from memory and, for the proposals governance forgot after
 * settlement, from the mirror, merged by id; the keyset cursor is the last id served. */
void api_get_proposals(http_request_t *req, void *svc)
{
    gov_t *g = api_gov(svc);
    nns_error_t err;
    gov_proposal_filter_t f;
    memset(&f, 0, sizeof f);
    if (!read_filter(req, &f, &err) ||
        !read_limit(req, PROPOSALS_DEFAULT, GOV_PROPOSAL_LIST_MAX, &f.limit, &err) ||
        !read_cursor(req, &f.before_id, &err)) {
        http_respond_error(req, &err);
        return;
    }
    uint64_t now = now_seconds();
    gov_proposal_full_t **mem = NULL, **old = NULL;
    size_t nmem = 0, nold = 0;
    bool more_mem = false, more_old = false;
    if (!gov_proposals_list(g, &f, now, &mem, &nmem, &more_mem)) {
        oom(req);
        return;
    }
    if (!gov_store_forgotten_proposals(api_store(svc), &f, &old, &nold, &more_old, &err)) {
        for (size_t i = 0; i < nmem; i++)
            free(mem[i]);
        free(mem);
        http_respond_error(req, &err);
        return;
    }
    json_t *arr = json_array();
    size_t i = 0, j = 0, served = 0;
    uint64_t last = 0;
    while (served < f.limit && (i < nmem || j < nold)) {
        const gov_proposal_full_t *p;
        if (j >= nold || (i < nmem && mem[i]->p.id > old[j]->p.id))
            p = mem[i++];
        else if (i < nmem && mem[i]->p.id == old[j]->p.id)
            p = mem[i++], j++; /* both (a round forgot it meanwhile): memory's */
        else
            p = old[j++];
        json_array_append_new(arr, proposal_json(p, now));
        last = p->p.id;
        served++;
    }
    bool more = more_mem || more_old || i < nmem || j < nold;
    for (size_t k = 0; k < nmem; k++)
        free(mem[k]);
    free(mem);
    for (size_t k = 0; k < nold; k++)
        gov_store_proposal_free(old[k]);
    free(old);
    json_t *o = json_object();
    json_object_set_new(o, "proposals", arr);
    if (more && served > 0)
        set_cursor(req, o, last);
    http_respond_json(req, 200, o);
}

void api_get_proposal(http_request_t *req, void *svc)
{
    gov_t *g = api_gov(svc);
    nns_error_t err;
    uint64_t id;
    if (!path_id(req, "proposal", &id, &err)) {
        http_respond_error(req, &err);
        return;
    }
    bool memory_out = false, found = false;
    json_t *o = NULL;
    gov_proposal_full_t *p = gov_proposal_get(g, id, &memory_out);
    if (memory_out) {
        oom(req);
        return;
    }
    if (p) {
        o = proposal_json(p, now_seconds());
        free(p);
    } else {
        nns_error_clear(&err);
        gov_proposal_full_t *q = gov_store_proposal(api_store(svc), id, &found, &err);
        if (!q && found) {
            http_respond_error(req, &err);
            return;
        }
        if (!q) {
            if (err.status >= 500) {
                http_respond_error(req, &err);
                return;
            }
            nns_error_set(&err, 404, "NotFound", "proposal %" PRIu64 " not found", id);
            http_respond_error(req, &err);
            return;
        }
        o = proposal_json(q, now_seconds());
        gov_store_proposal_free(q);
    }
    if (!o) {
        oom(req);
        return;
    }
    http_respond_json(req, 200, o);
}

static bool proposal_exists(void *svc, uint64_t id, nns_error_t *err)
{
    bool memory_out = false, found = false;
    gov_proposal_full_t *p = gov_proposal_get(api_gov(svc), id, &memory_out);
    if (p) {
        free(p);
        return true;
    }
    if (memory_out)
        return nns_error_set(err, 503, "Unavailable", "out of memory");
    nns_error_clear(err);
    gov_proposal_full_t *q = gov_store_proposal(api_store(svc), id, &found, err);
    if (q) {
        gov_store_proposal_free(q);
        return true;
    }
    if (err->status >= 500)
        return false;
    return nns_error_set(err, 404, "NotFound", "proposal %" PRIu64 " not found", id);
}

/* GET /v1/proposals/{id}/ballots?vote=&limit=&cursor=: ascending neuron id; from memory while
 * the proposal holds its ballots, else from the mirror. */
void api_get_ballots(http_request_t *req, void *svc)
{
    nns_error_t err;
    uint64_t id, after = 0;
    size_t limit;
    int vote = -1;
    const char *v = http_query(req, "vote");
    const char *c = http_query(req, "cursor");
    if (!path_id(req, "proposal", &id, &err) ||
        !read_limit(req, BALLOTS_DEFAULT, GOV_BALLOT_PAGE_MAX, &limit, &err) ||
        (c && !parse_u64(c, &after) &&
         !nns_error_set(&err, 400, "BadRequest", "query 'cursor' is not a cursor of this list"))) {
        http_respond_error(req, &err);
        return;
    }
    if (v && (vote = gov_vote_from_name(v)) < 0) {
        nns_error_set(&err, 400, "BadRequest",
                      "query 'vote' must be yes, no or unspecified, not '%.40s'", v);
        http_respond_error(req, &err);
        return;
    }
    gov_ballot_t *b = malloc(limit * sizeof *b);
    if (!b) {
        oom(req);
        return;
    }
    bool more = false, held = false;
    size_t n = gov_proposal_ballots(api_gov(svc), id, after, vote, b, limit, &more, &held);
    if (!held) {
        bool found = false;
        size_t m = limit > GOV_STORE_VOTES_MAX ? GOV_STORE_VOTES_MAX : limit;
        if (!gov_store_proposal_ballots(api_store(svc), id, after, vote, b, m, &n, &more, &found,
                                        &err)) {
            free(b);
            http_respond_error(req, &err);
            return;
        }
        if (!found && !proposal_exists(svc, id, &err)) {
            free(b);
            http_respond_error(req, &err);
            return;
        }
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_object();
        json_object_set_new(x, "neuron_id", json_u64(b[i].neuron_id));
        json_object_set_new(x, "vote", json_string(gov_vote_name(b[i].vote)));
        json_object_set_new(x, "voting_power", json_u64(b[i].voting_power));
        json_array_append_new(arr, x);
    }
    json_t *o = json_object();
    json_object_set_new(o, "ballots", arr);
    json_object_set_new(o, "source", json_string(held ? "memory" : "mirror"));
    if (more && n > 0)
        set_cursor(req, o, b[n - 1].neuron_id);
    free(b);
    http_respond_json(req, 200, o);
}

static json_t *vote_json(const gov_store_vote_t *v)
{
    json_t *x = json_object();
    json_object_set_new(x, "proposal_id", json_u64(v->proposal_id));
    json_object_set_new(x, "neuron_id", json_u64(v->neuron_id));
    json_object_set_new(x, "vote", json_string(gov_vote_name(v->vote)));
    json_object_set_new(x, "voting_power", json_u64(v->voting_power));
    json_object_set_new(x, "cast_at_seconds", json_u64(v->cast_at_seconds));
    return x;
}

/* GET /v1/proposals/{id}/votes?limit=&cursor=: the votes cast, ascending neuron id (mirror). */
void api_get_votes(http_request_t *req, void *svc)
{
    nns_error_t err;
    uint64_t id, after = 0;
    size_t limit, n = 0;
    bool more = false;
    const char *c = http_query(req, "cursor");
    if (!path_id(req, "proposal", &id, &err) ||
        !read_limit(req, VOTES_DEFAULT, GOV_STORE_VOTES_MAX, &limit, &err) ||
        (c && !parse_u64(c, &after) &&
         !nns_error_set(&err, 400, "BadRequest", "query 'cursor' is not a cursor of this list"))) {
        http_respond_error(req, &err);
        return;
    }
    if (!proposal_exists(svc, id, &err)) {
        http_respond_error(req, &err);
        return;
    }
    gov_store_vote_t *v = malloc(limit * sizeof *v);
    if (!v) {
        oom(req);
        return;
    }
    if (!gov_store_proposal_votes(api_store(svc), id, after, v, limit, &n, &more, &err)) {
        free(v);
        http_respond_error(req, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, vote_json(&v[i]));
    json_t *o = json_object();
    json_object_set_new(o, "votes", arr);
    if (more && n > 0)
        set_cursor(req, o, v[n - 1].neuron_id);
    free(v);
    http_respond_json(req, 200, o);
}

/* GET /v1/neurons/{id}/votes?limit=&cursor=: a neuron's votes, newest proposal first
 * (mirror). */
void api_get_neuron_votes(http_request_t *req, void *svc)
{
    nns_error_t err;
    uint64_t id, before = 0;
    size_t limit, n = 0;
    bool more = false;
    if (!path_id(req, "neuron", &id, &err) ||
        !read_limit(req, VOTES_DEFAULT, GOV_STORE_VOTES_MAX, &limit, &err) ||
        !read_cursor(req, &before, &err)) {
        http_respond_error(req, &err);
        return;
    }
    gov_store_vote_t *v = malloc(limit * sizeof *v);
    if (!v) {
        oom(req);
        return;
    }
    if (!gov_store_neuron_votes(api_store(svc), id, before, v, limit, &n, &more, &err)) {
        free(v);
        http_respond_error(req, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, vote_json(&v[i]));
    json_t *o = json_object();
    json_object_set_new(o, "votes", arr);
    if (more && n > 0)
        set_cursor(req, o, v[n - 1].proposal_id);
    free(v);
    http_respond_json(req, 200, o);
}

/* ---------------------------------------------------------------- rewards, known neurons, NPs */

static json_t *reward_event_json(const gov_reward_event_t *e)
{
    json_t *o = json_object(), *ids = json_array();
    for (size_t i = 0; i < e->nsettled; i++)
        json_array_append_new(ids, json_u64(e->settled_proposals[i]));
    json_object_set_new(o, "day_after_genesis", json_u64(e->day_after_genesis));
    json_object_set_new(o, "actual_timestamp_seconds", json_u64(e->actual_timestamp_seconds));
    json_object_set_new(o, "settled_proposals", ids);
    json_object_set_new(o, "distributed_e8s_equivalent", json_u64(e->distributed_e8s_equivalent));
    json_object_set_new(o, "total_available_e8s_equivalent",
                        json_u64(e->total_available_e8s_equivalent));
    json_object_set_new(o, "rounds_since_last_distribution",
                        json_u64(e->rounds_since_last_distribution));
    json_object_set_new(o, "latest_round_available_e8s_equivalent",
                        json_u64(e->latest_round_available_e8s_equivalent));
    return o;
}

void api_get_reward_events(http_request_t *req, void *svc)
{
    nns_error_t err;
    size_t limit;
    uint64_t before = 0;
    if (!read_limit(req, EVENTS_DEFAULT, GOV_REWARD_EVENTS_PAGE_MAX, &limit, &err) ||
        !read_cursor(req, &before, &err)) {
        http_respond_error(req, &err);
        return;
    }
    gov_reward_event_t *ev = malloc(limit * sizeof *ev);
    if (!ev) {
        oom(req);
        return;
    }
    bool more = false;
    size_t n = gov_reward_events(api_gov(svc), before, ev, limit, &more);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, reward_event_json(&ev[i]));
    json_t *o = json_object();
    json_object_set_new(o, "reward_events", arr);
    if (more && n > 0)
        set_cursor(req, o, ev[n - 1].day_after_genesis);
    uint64_t day;
    size_t credited, total;
    if (gov_reward_progress(api_gov(svc), &day, &credited, &total)) {
        json_t *p = json_object();
        json_object_set_new(p, "day_after_genesis", json_u64(day));
        json_object_set_new(p, "neurons_credited", json_integer((json_int_t)credited));
        json_object_set_new(p, "neurons_total", json_integer((json_int_t)total));
        json_object_set_new(o, "distribution_in_progress", p);
    }
    free(ev);
    http_respond_json(req, 200, o);
}

static json_t *known_neuron_json(const gov_known_neuron_t *k)
{
    json_t *o = json_object(), *links = json_array(), *topics = json_array();
    for (size_t i = 0; i < k->nlinks; i++)
        json_array_append_new(links, json_string(k->links[i]));
    for (size_t i = 0; i < k->ntopics; i++)
        json_array_append_new(topics, json_integer(k->committed_topics[i]));
    json_object_set_new(o, "id", json_u64(k->id));
    json_object_set_new(o, "name", json_string(k->name ? k->name : ""));
    json_object_set_new(o, "description",
                        k->description ? json_string(k->description) : json_null());
    json_object_set_new(o, "links", links);
    json_object_set_new(o, "committed_topics", topics);
    return o;
}

void api_get_known_neurons(http_request_t *req, void *svc)
{
    gov_known_neuron_t **k = NULL;
    size_t n = 0;
    if (!gov_known_neurons(api_gov(svc), &k, &n)) {
        oom(req);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, known_neuron_json(k[i]));
        free(k[i]);
    }
    free(k);
    json_t *o = json_object();
    json_object_set_new(o, "known_neurons", arr);
    http_respond_json(req, 200, o);
}

static json_t *principal_json(const principal_t *p)
{
    char t[PRINCIPAL_TEXT_MAX];
    principal_to_text(p, t);
    return json_string(t);
}

static json_t *account_json(const account_id_t *a)
{
    char hex[ACCOUNT_HEX_LEN + 1];
    account_id_to_hex(a, hex);
    return json_string(hex);
}

static const char *np_status_name(gov_np_reward_status_t s)
{
    switch (s) {
    case GOV_NP_REWARD_PENDING:
        return "pending";
    case GOV_NP_REWARD_MINTED:
        return "minted";
    case GOV_NP_REWARD_FAILED:
        return "failed";
    case GOV_NP_REWARD_REFUSED:
        return "refused";
    }
    return "unknown";
}

void api_get_node_providers(http_request_t *req, void *svc)
{
    gov_t *g = api_gov(svc);
    gov_node_provider_t *np = NULL;
    size_t n = 0;
    if (!gov_node_providers(g, &np, &n)) {
        oom(req);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_object();
        json_object_set_new(x, "id", principal_json(&np[i].id));
        account_id_t acc = np[i].reward_account;
        if (!np[i].has_reward_account)
            account_id_of(&np[i].id, NULL, &acc); /* the provider's default account */
        json_object_set_new(x, "reward_account", account_json(&acc));
        if (np[i].has_xdr_permyriad_per_month)
            json_object_set_new(x, "xdr_permyriad_per_month",
                                json_u64(np[i].xdr_permyriad_per_month));
        if (np[i].has_last_reward) {
            json_t *l = json_object();
            json_object_set_new(l, "amount_e8s", json_u64(np[i].last_reward_amount_e8s));
            json_object_set_new(l, "timestamp_seconds",
                                json_u64(np[i].last_reward_timestamp_seconds));
            json_object_set_new(l, "block_index", json_u64(np[i].last_reward_block_index));
            json_object_set_new(x, "last_reward", l);
        }
        json_array_append_new(arr, x);
    }
    free(np);
    json_t *o = json_object();
    json_object_set_new(o, "node_providers", arr);
    gov_monthly_np_rewards_t *m = malloc(sizeof *m);
    if (m && gov_monthly_np_rewards(g, m)) {
        json_t *mr = json_object(), *rs = json_array();
        json_object_set_new(mr, "timestamp_seconds", json_u64(m->timestamp_seconds));
        json_object_set_new(mr, "xdr_conversion_rate", json_u64(m->xdr_conversion_rate));
        json_object_set_new(mr, "average_xdr_permyriad_per_icp",
                            json_u64(m->average_xdr_permyriad_per_icp));
        json_object_set_new(mr, "minimum_xdr_permyriad_per_icp",
                            json_u64(m->minimum_xdr_permyriad_per_icp));
        for (size_t i = 0; i < m->n; i++) {
            const gov_np_reward_entry_t *e = &m->rewards[i];
            json_t *x = json_object();
            json_object_set_new(x, "node_provider", principal_json(&e->node_provider));
            json_object_set_new(x, "to_account", account_json(&e->to_account));
            json_object_set_new(x, "xdr_permyriad", json_u64(e->xdr_permyriad));
            json_object_set_new(x, "amount_e8s", json_u64(e->amount_e8s));
            json_object_set_new(x, "status", json_string(np_status_name(e->status)));
            if (e->status == GOV_NP_REWARD_MINTED)
                json_object_set_new(x, "block_index", json_u64(e->block_index));
            if (e->error[0])
                json_object_set_new(x, "error", json_string(e->error));
            json_array_append_new(rs, x);
        }
        json_object_set_new(mr, "rewards", rs);
        json_object_set_new(o, "most_recent_monthly_rewards", mr);
    }
    free(m);
    http_respond_json(req, 200, o);
}

/* ---------------------------------------------------------------- GET /v1/governance, metrics */

bool api_governance_extras(gov_t *g, uint64_t now, json_t *o)
{
    (void)now;
    gov_proposal_info_t pi;
    gov_proposal_info(g, &pi);
    json_t *p = json_object();
    if (!p)
        return false;
    json_object_set_new(p, "next_proposal_id", json_u64(pi.next_proposal_id));
    json_object_set_new(p, "in_memory", json_u64(pi.proposals));
    json_object_set_new(p, "open", json_u64(pi.open));
    json_object_set_new(p, "holding_ballots", json_u64(pi.holding_ballots));
    json_object_set_new(p, "open_manage_neuron", json_u64(pi.open_manage_neuron));
    json_object_set_new(p, "ballots_held", json_u64(pi.ballots));
    json_object_set_new(p, "known_neurons", json_u64(pi.known_neurons));
    json_object_set_new(p, "node_providers", json_u64(pi.node_providers));
    json_object_set_new(o, "proposals", p);
    gov_reward_event_t ev;
    if (gov_latest_reward_event(g, &ev))
        json_object_set_new(o, "latest_reward_event", reward_event_json(&ev));
    else
        json_object_set_new(o, "latest_reward_event", json_null());
    return true;
}

void api_proposal_metrics(gov_t *g, uint64_t now, metrics_t *m)
{
    gov_proposal_info_t pi;
    gov_proposal_info(g, &pi);
    /* proposals in memory by status: a walk of the list, 100 at a time (bounded by the
     * proposals governance keeps) */
    uint64_t by_status[GOV_PROPOSAL_FAILED + 1] = {0};
    gov_proposal_filter_t f;
    memset(&f, 0, sizeof f);
    f.limit = GOV_PROPOSAL_LIST_MAX;
    for (;;) {
        gov_proposal_full_t **ps = NULL;
        size_t n = 0;
        bool more = false;
        if (!gov_proposals_list(g, &f, now, &ps, &n, &more))
            break;
        for (size_t i = 0; i < n; i++) {
            int s = gov_proposal_status(&ps[i]->p);
            if (s >= 1 && s <= GOV_PROPOSAL_FAILED)
                by_status[s]++;
            f.before_id = ps[i]->p.id;
            free(ps[i]);
        }
        free(ps);
        if (!more || n == 0)
            break;
    }
    metrics_family(m, "nns_governance_proposals", "gauge",
                   "proposals held in memory by status (the mirror keeps the forgotten ones)");
    for (int s = 1; s <= GOV_PROPOSAL_FAILED; s++) {
        char labels[48];
        snprintf(labels, sizeof labels, "status=\"%s\"", gov_proposal_status_name(s));
        metrics_u64(m, "nns_governance_proposals", labels, by_status[s]);
    }
    metrics_gauge(m, "nns_governance_ballots_held", "ballots held in memory (open proposals)",
                  (double)pi.ballots);
    metrics_gauge(m, "nns_governance_proposals_holding_ballots",
                  "proposals whose ballots are in memory", (double)pi.holding_ballots);
    metrics_gauge(m, "nns_governance_following_index_entries",
                  "(followee, topic, follower) entries of the following index",
                  (double)pi.follow_index_entries);
    metrics_gauge(m, "nns_governance_proposal_state_bytes",
                  "approximate bytes of proposals, ballots, following index and snapshots",
                  (double)pi.memory_bytes);
    metrics_gauge(m, "nns_governance_known_neurons", "known neurons", (double)pi.known_neurons);
    gov_reward_event_t ev;
    if (gov_latest_reward_event(g, &ev))
        metrics_gauge(m, "nns_governance_latest_reward_day", "day of the latest reward event",
                      (double)ev.day_after_genesis);
}
