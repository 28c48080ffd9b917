/*
 * gov_reward_flow: the state machine's rewards (gov_reward.h part 2): the daily voting-reward
 * event (governance.rs distribute_rewards), its crediting in batches across rounds
 * (distribute_voting_rewards_to_neurons, reward/distribution.rs), the monthly node-provider
 * rewards (get_monthly_node_provider_rewards, reward_node_providers), their intents and answers,
 * the round accessors, loads and reads.
 *
 * Committed state is gov_t.rw (rw_state_t): the events (ascending day, each with its settled ids
 * in a block of its own), the distribution in progress (two parallel arrays, ids ascending) with
 * the count credited, the flow of the supply read in flight. A round holds rw_round_t: a copy of
 * the scalars, the event and distribution it created (moved into gov_t at commit) and the batch
 * it credited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gov_internal.h"
#include "gov_reward.h"

static bool np_tick(gov_round_t *r, uint64_t now, bool *work, nns_error_t *err);
static bool np_due(const gov_round_t *r, uint64_t now);

/* ---- life cycle hooks (gov.c) ---- */

void rw_init(gov_t *g)
{
    memset(&g->rw, 0, sizeof g->rw);
}

static void dist_free(rw_state_t *s)
{
    free(s->dist_ids);
    free(s->dist_amounts);
    s->dist_ids = s->dist_amounts = NULL;
    s->dist_n = s->dist_done = 0;
    s->dist_day = 0;
}

void rw_free(gov_t *g)
{
    for (size_t i = 0; i < g->rw.nevents; i++)
        free(g->rw.events[i].settled);
    free(g->rw.events);
    free(g->rw.np);
    dist_free(&g->rw);
    memset(&g->rw, 0, sizeof g->rw);
}

void rw_round_begin(gov_round_t *r)
{
    memset(&r->rw, 0, sizeof r->rw);
    r->rw.supply_flow = r->g->rw.supply_flow;
    r->rw.retry_at = r->g->rw.retry_at;
    r->rw.dist_done = r->g->rw.dist_done;
    r->rw.np_flow = r->g->rw.np_flow;
    r->rw.np_retry_at = r->g->rw.np_retry_at;
}

void rw_round_free(gov_round_t *r)
{
    free(r->rw.event);
    free(r->rw.new_ids);
    free(r->rw.new_amounts);
    free(r->rw.batch_amounts);
    free(r->rw.batch_staked);
    free(r->rw.np);
    memset(&r->rw, 0, sizeof r->rw);
}

/* Appends an event (copying its settled ids). False on allocation failure (unchanged). */
static bool events_append(rw_state_t *s, const gov_reward_event_t *ev)
{
    if (s->nevents == s->capevents) {
        size_t cap = s->capevents ? s->capevents * 2 : 64;
        rw_event_t *grown = realloc(s->events, cap * sizeof *grown);
        if (!grown)
            return false;
        s->events = grown;
        s->capevents = cap;
    }
    rw_event_t *e = &s->events[s->nevents];
    memset(e, 0, sizeof *e);
    e->ev = *ev;
    if (ev->nsettled) {
        e->settled = malloc(ev->nsettled * sizeof *e->settled);
        if (!e->settled)
            return false;
        memcpy(e->settled, ev->settled_proposals, ev->nsettled * sizeof *e->settled);
    }
    s->nevents++;
    return true;
}

void rw_commit(gov_t *g, gov_round_t *r)
{
    rw_state_t *s = &g->rw;
    rw_round_t *rr = &r->rw;
    s->supply_flow = rr->supply_flow;
    s->retry_at = rr->retry_at;
    s->np_flow = rr->np_flow;
    s->np_retry_at = rr->np_retry_at;
    if (rr->np) {
        free(s->np);
        s->np = rr->np;
        rr->np = NULL;
    }
    if (rr->event) {
        if (!events_append(s, rr->event))
            abort(); /* crash-only, as gov_round_commit */
        dist_free(s);
        if (rr->new_n) {
            s->dist_day = rr->event->day_after_genesis;
            s->dist_ids = rr->new_ids;
            s->dist_amounts = rr->new_amounts;
            s->dist_n = rr->new_n;
            rr->new_ids = rr->new_amounts = NULL;
            rr->new_n = 0;
        }
        s->dist_done = 0;
        return;
    }
    s->dist_done = rr->dist_done;
    if (s->dist_n && s->dist_done >= s->dist_n)
        dist_free(s);
}

/* The latest event's day and whether it settled nothing (its total rolls over); day 0 before the
 * first event (genesis). */
static const rw_event_t *latest_event(const rw_state_t *s)
{
    return s->nevents ? &s->events[s->nevents - 1] : NULL;
}

static uint64_t day_after_genesis(const core_t *c, uint64_t now)
{
    return now > c->genesis_ts ? (now - c->genesis_ts) / GOV_REWARD_PERIOD_SECONDS : 0;
}

static bool event_due(const gov_t *g, const core_t *c, uint64_t supply_flow, uint64_t retry_at,
                      bool dist_pending, uint64_t now)
{
    if (!c->genesis_done || supply_flow || dist_pending || now < retry_at)
        return false;
    const rw_event_t *last = latest_event(&g->rw);
    uint64_t last_day = last ? last->ev.day_after_genesis : 0;
    return day_after_genesis(c, now) > last_day;
}

bool rw_tick_due(const gov_t *g, uint64_t now)
{
    const rw_state_t *s = &g->rw;
    bool pending = s->dist_n > s->dist_done;
    if (pending || event_due(g, &g->core, s->supply_flow, s->retry_at, false, now))
        return true;
    /* np_due as of committed state (an empty round's view) */
    gov_round_t view;
    memset(&view, 0, sizeof view);
    view.g = (gov_t *)(uintptr_t)g;
    view.core = g->core;
    view.rw.np_flow = s->np_flow;
    view.rw.np_retry_at = s->np_retry_at;
    return np_due(&view, now);
}

void rw_load_flow(gov_t *g, const gov_inflight_t *f)
{
    if (f->kind == GOV_FLOW_REWARD_SUPPLY)
        g->rw.supply_flow = f->id;
    if (f->kind == GOV_FLOW_NODE_PROVIDER_RATE)
        g->rw.np_flow = f->id;
}

size_t rw_memory(const gov_t *g)
{
    const rw_state_t *s = &g->rw;
    size_t bytes = s->capevents * sizeof(rw_event_t) + s->dist_n * 2 * sizeof(uint64_t) +
                   (s->np ? sizeof *s->np : 0);
    for (size_t i = 0; i < s->nevents; i++)
        bytes += s->events[i].ev.nsettled * sizeof(uint64_t);
    return bytes;
}

/* ---- crediting (distribute_voting_rewards_to_neurons, in batches as
 * reward/distribution.rs RewardsDistribution::continue_processing: saturating adds) ---- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Credits amount to neuron id in the round: maturity, or staked maturity with auto-stake.
 * *credited is 0 when the neuron is gone. A neuron not yet changed by the round is copied into
 * the overlay directly (its variable parts shared, as rput does without parts_changed) and
 * marked reward_only; one already changed goes through rget/rput. */
static bool credit_neuron(gov_round_t *r, uint64_t id, uint64_t amount, uint64_t *credited,
                          uint8_t *staked, nns_error_t *err)
{
    uint8_t k[8];
    key_u64(id, k);
    *credited = 0;
    *staked = 0;
    long pos = overlay_find(&r->neurons, k);
    if (pos >= 0) {
        static _Thread_local gov_neuron_full_t n;
        if (r->neurons.removed[pos] || !rget(r, id, &n))
            return true;
        if (n.n.auto_stake_maturity) {
            n.n.staked_maturity_e8s_equivalent =
                sat_add(n.n.staked_maturity_e8s_equivalent, amount);
            *staked = 1;
        } else {
            n.n.maturity_e8s_equivalent = sat_add(n.n.maturity_e8s_equivalent, amount);
        }
        *credited = amount;
        return rput(r, &n, false, err);
    }
    const nrec_t *committed = table_get(&r->g->neurons, k);
    if (!committed)
        return true;
    nrec_t rec = *committed;
    if (rec.n.auto_stake_maturity) {
        rec.n.staked_maturity_e8s_equivalent =
            sat_add(rec.n.staked_maturity_e8s_equivalent, amount);
        *staked = 1;
    } else {
        rec.n.maturity_e8s_equivalent = sat_add(rec.n.maturity_e8s_equivalent, amount);
    }
    rec.round_ext = false;
    rec.parts_changed = false;
    rec.reward_only = true;
    if (!overlay_set(&r->neurons, k, &rec, false))
        return oom(err);
    *credited = amount;
    uint64_t due = neuron_due(&r->core, &rec.n, rec.ext);
    if (due < r->core.next_due)
        rcore(r)->next_due = due;
    return true;
}

/* The next batch of the committed distribution. */
static bool credit_batch(gov_round_t *r, bool *work, nns_error_t *err)
{
    const rw_state_t *s = &r->g->rw;
    rw_round_t *rr = &r->rw;
    if (rr->event || rr->has_batch || s->dist_n <= rr->dist_done)
        return true;
    size_t off = rr->dist_done;
    size_t n = s->dist_n - off;
    if (n > GOV_REWARD_BATCH_NEURONS)
        n = GOV_REWARD_BATCH_NEURONS;
    rr->batch_amounts = malloc(n * sizeof *rr->batch_amounts);
    rr->batch_staked = malloc(n);
    if (!rr->batch_amounts || !rr->batch_staked)
        return oom(err);
    for (size_t i = 0; i < n; i++)
        if (!credit_neuron(r, s->dist_ids[off + i], s->dist_amounts[off + i], &rr->batch_amounts[i],
                           &rr->batch_staked[i], err))
            return false;
    rr->has_batch = true;
    rr->batch_off = off;
    rr->batch_n = n;
    rr->dist_done = off + n;
    *work = true;
    return true;
}

/* ---- the daily event ---- */

static bool supply_intent(gov_round_t *r, uint64_t now, nns_error_t *err)
{
    gov_inflight_t f;
    memset(&f, 0, sizeof f);
    f.id = flow_new_id(r);
    f.kind = GOV_FLOW_REWARD_SUPPLY;
    f.step = GOV_STEP_READ;
    f.started_at_seconds = now;
    gov_intent_t in;
    memset(&in, 0, sizeof in);
    in.kind = GOV_INTENT_GET;
    in.target = GOV_TARGET_LEDGER;
    in.purpose = GOV_PURPOSE_SUPPLY;
    snprintf(in.path, sizeof in.path, "/v1/supply");
    if (!rintent(r, &f, &in, now, err) || !rflow_put(r, &f, err))
        return false;
    r->rw.supply_flow = f.id;
    return true;
}

bool rw_tick(gov_round_t *r, uint64_t now, bool *work, nns_error_t *err)
{
    *work = false;
    if (!credit_batch(r, work, err))
        return false;
    const rw_state_t *s = &r->g->rw;
    bool pending = r->rw.event != NULL || s->dist_n > r->rw.dist_done;
    if (event_due(r->g, &r->core, r->rw.supply_flow, r->rw.retry_at, pending, now)) {
        if (!supply_intent(r, now, err))
            return false;
        *work = true;
    }
    return np_tick(r, now, work, err);
}

/* ---- answers: outcomes without a request ---- */

static void outcome_end(gov_outcome_t *out, const gov_inflight_t *f, const nns_error_t *fail)
{
    outcome_pending(out, f);
    out->finished = true;
    out->ok = fail == NULL;
    if (fail)
        out->error = *fail;
}

static bool answer_flow(gov_round_t *r, uint64_t intent_id, gov_flow_kind_t kind, gov_inflight_t *f,
                        nns_error_t *err)
{
    gov_intent_t in;
    if (!rintent_get(r, intent_id, &in))
        return nns_error_set(err, 404, "UnknownIntent", "intent %llu is not in flight",
                             (unsigned long long)intent_id);
    if (in.kind != GOV_INTENT_GET || !rflow(r, in.flow_id, f) || f->kind != kind)
        return nns_error_set(
            err, 409, "WrongIntent", "intent %llu is not a %s", (unsigned long long)intent_id,
            kind == GOV_FLOW_REWARD_SUPPLY ? "supply read" : "conversion-rate read");
    if (f->intent_id != intent_id)
        return nns_error_set(err, 404, "UnknownIntent", "intent %llu has no operation in flight",
                             (unsigned long long)intent_id);
    return rintent_finish(r, intent_id, err) && rflow_end(r, f, err);
}

/* ---- settlement: the proposals of an event (governance.rs distribute_rewards:
 * ready_to_be_settled_proposal_ids, then ProposalData.reward_event_round and the ballots
 * cleared) ---- */

typedef struct {
    gov_reward_proposal_t *ps;
    size_t n;
} settle_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The proposals ReadyToSettle as of `boundary` (the last day boundary), lowest ids first, at
 * most GOV_REWARD_SETTLED_MAX, with their ballots as of the round. */
static bool settle_collect(gov_round_t *r, uint64_t boundary, settle_t *s, nns_error_t *err)
{
    const gov_t *g = r->g;
    s->ps = NULL;
    s->n = 0;
    for (size_t i = 0; i < g->nprops && s->n < GOV_REWARD_SETTLED_MAX; i++) {
        const prop_t *p = rprop_get(r, g->props[i]->f.p.id);
        if (!p || p->f.p.reward_event_round != 0 || p->f.p.topic == GOV_TOPIC_NEURON_MANAGEMENT)
            continue;
        /* ProposalRewardStatus as of the boundary (spec 4.3): ReadyToSettle once the deadline
         * has passed */
        if (gov_proposal_reward_status(&p->f.p, boundary) != GOV_REWARD_READY_TO_SETTLE)
            continue;
        if (!s->ps) {
            s->ps = calloc(GOV_REWARD_SETTLED_MAX, sizeof *s->ps);
            if (!s->ps)
                return oom(err);
        }
        gov_reward_proposal_t *q = &s->ps[s->n++];
        q->proposal_id = p->f.p.id;
        q->topic = p->f.p.topic;
        q->total_potential_voting_power = p->f.p.total_potential_voting_power;
        if (p->f.p.ballots_held) { /* (a proposal without ballots settles with none) */
            q->n = p->nb;
            q->neuron_ids = p->bid;
            q->voting_powers = p->bvp;
            q->votes = p->bvote;
        }
    }
    return true;
}

static bool neuron_exists(void *ctx, uint64_t id)
{
    return rexists(ctx, id);
}

/* governance.rs distribute_rewards, on the supply read's answer. */
bool gov_apply_supply_read(gov_t *g, gov_round_t *r, uint64_t intent_id,
                           const gov_supply_result_t *res, uint64_t now, gov_outcome_t *out,
                           nns_error_t *err)
{
    (void)g;
    nns_error_clear(err);
    memset(out, 0, sizeof *out);
    gov_inflight_t f;
    if (!answer_flow(r, intent_id, GOV_FLOW_REWARD_SUPPLY, &f, err))
        return false;
    rw_round_t *rr = &r->rw;
    if (rr->supply_flow == f.id)
        rr->supply_flow = 0;
    if (!res->ok) {
        rr->retry_at = now + GOV_REWARD_RETRY_SECONDS;
        nns_error_t fail;
        nns_error_set(&fail, 502, "External", "the supply read failed: %s", res->error);
        outcome_end(out, &f, &fail);
        return true;
    }
    rr->retry_at = 0;
    const core_t *c = &r->core;
    const rw_event_t *last = latest_event(&r->g->rw);
    uint64_t last_day = last ? last->ev.day_after_genesis : 0;
    uint64_t day = day_after_genesis(c, now);
    if (rr->event || day <= last_day || r->g->rw.dist_n > rr->dist_done) {
        outcome_end(out, &f, NULL); /* nothing to do (already done, or credits pending) */
        return true;
    }
    gov_reward_event_t *ev = calloc(1, sizeof *ev);
    if (!ev)
        return oom(err);
    /* rollover: the previous event's pool when it settled nothing */
    bool roll = last && last->ev.nsettled == 0;
    uint64_t rollover = roll ? last->ev.total_available_e8s_equivalent : 0;
    double fraction = gov_reward_fraction(c->rules, last_day, day);
    double pool = gov_reward_pool(res->supply_e8s, fraction, rollover);
    ev->day_after_genesis = day;
    ev->actual_timestamp_seconds = now;
    ev->total_available_e8s_equivalent = gov_reward_e8s(pool);
    ev->rounds_since_last_distribution =
        (day - last_day) + (roll ? last->ev.rounds_since_last_distribution : 0);
    ev->latest_round_available_e8s_equivalent =
        gov_reward_e8s((double)res->supply_e8s * gov_reward_rate(c->rules, day - 1));
    settle_t s;
    if (!settle_collect(r, c->genesis_ts + day * GOV_REWARD_PERIOD_SECONDS, &s, err)) {
        free(ev);
        return false;
    }
    uint64_t *ids = NULL, *amounts = NULL;
    size_t n = 0;
    uint64_t distributed = 0;
    if (s.n && !gov_reward_distribute(s.ps, s.n, pool, neuron_exists, r, &ids, &amounts, &n,
                                      &distributed)) {
        free(s.ps);
        free(ev);
        return oom(err);
    }
    ev->distributed_e8s_equivalent = distributed;
    for (size_t i = 0; i < s.n; i++)
        ev->settled_proposals[i] = s.ps[i].proposal_id;
    ev->nsettled = s.n;
    qsort(ev->settled_proposals, ev->nsettled, sizeof ev->settled_proposals[0], cmp_u64);
    free(s.ps); /* the ballot arrays are the proposals': released below */
    rr->event = ev;
    rr->new_ids = ids;
    rr->new_amounts = amounts;
    rr->new_n = n;
    rr->dist_done = 0;
    for (size_t i = 0; i < ev->nsettled; i++)
        if (!rprop_settle(r, ev->settled_proposals[i], day, err))
            return false;
    outcome_end(out, &f, NULL);
    return true;
}

/* ---- monthly node-provider rewards ---- */

static const gov_monthly_np_rewards_t *np_current(const gov_round_t *r)
{
    return r->rw.np ? r->rw.np : r->g->rw.np;
}

/* The round's writable copy of the monthly rewards (copied on first change). */
static gov_monthly_np_rewards_t *np_edit(gov_round_t *r, nns_error_t *err)
{
    if (r->rw.np)
        return r->rw.np;
    gov_monthly_np_rewards_t *m = malloc(sizeof *m);
    if (!m) {
        oom(err);
        return NULL;
    }
    if (r->g->rw.np)
        *m = *r->g->rw.np;
    else
        memset(m, 0, sizeof *m);
    r->rw.np = m;
    return m;
}

static bool np_mints_pending(const gov_monthly_np_rewards_t *m)
{
    if (!m)
        return false;
    for (size_t i = 0; i < m->n; i++)
        if (m->rewards[i].status == GOV_NP_REWARD_PENDING)
            return true;
    return false;
}

static bool np_due(const gov_round_t *r, uint64_t now)
{
    const core_t *c = &r->core;
    if (!c->genesis_done || r->rw.np_flow || now < r->rw.np_retry_at)
        return false;
    const gov_monthly_np_rewards_t *m = np_current(r);
    if (np_mints_pending(m))
        return false;
    /* governance.rs is_time_to_distribute_monthly_node_provider_rewards */
    uint64_t base = m ? m->timestamp_seconds : c->genesis_ts;
    return now >= base + GOV_NODE_PROVIDER_REWARD_PERIOD_SECONDS;
}

static bool np_read(gov_round_t *r, uint64_t now, nns_error_t *err)
{
    gov_inflight_t f;
    memset(&f, 0, sizeof f);
    f.id = flow_new_id(r);
    f.kind = GOV_FLOW_NODE_PROVIDER_RATE;
    f.step = GOV_STEP_READ;
    f.started_at_seconds = now;
    gov_intent_t in;
    memset(&in, 0, sizeof in);
    in.kind = GOV_INTENT_GET;
    in.target = GOV_TARGET_CMC;
    in.purpose = GOV_PURPOSE_AVERAGE_RATE;
    snprintf(in.path, sizeof in.path, "/v1/cycles/average-conversion-rate");
    if (!rintent(r, &f, &in, now, err) || !rflow_put(r, &f, err))
        return false;
    r->rw.np_flow = f.id;
    return true;
}

static bool np_tick(gov_round_t *r, uint64_t now, bool *work, nns_error_t *err)
{
    if (!np_due(r, now))
        return true;
    *work = true;
    return np_read(r, now, err);
}

bool rw_np_request(gov_round_t *r, uint64_t now, nns_error_t *err)
{
    if (r->rw.np_flow || np_mints_pending(np_current(r)))
        return nns_error_set(err, 422, "PreconditionFailed",
                             "node-provider rewards are already being distributed");
    return np_read(r, now, err);
}

bool gov_apply_average_rate_read(gov_t *g, gov_round_t *r, uint64_t intent_id,
                                 const gov_average_rate_result_t *res, uint64_t now,
                                 gov_outcome_t *out, nns_error_t *err)
{
    (void)g;
    nns_error_clear(err);
    memset(out, 0, sizeof *out);
    gov_inflight_t f;
    if (!answer_flow(r, intent_id, GOV_FLOW_NODE_PROVIDER_RATE, &f, err))
        return false;
    rw_round_t *rr = &r->rw;
    if (rr->np_flow == f.id)
        rr->np_flow = 0;
    if (!res->ok) {
        rr->np_retry_at = now + GOV_REWARD_RETRY_SECONDS;
        nns_error_t fail;
        nns_error_set(&fail, 502, "External", "the conversion-rate read failed: %s", res->error);
        outcome_end(out, &f, &fail);
        return true;
    }
    rr->np_retry_at = 0;
    /* governance.rs get_monthly_node_provider_rewards + reward_node_providers */
    gov_node_provider_t *nps = NULL;
    size_t nnp = 0;
    if (!rnp_all(r, &nps, &nnp))
        return oom(err);
    gov_monthly_np_rewards_t *m = np_edit(r, err);
    if (!m) {
        free(nps);
        return false;
    }
    const gov_economics_t *e = &r->core.eco;
    memset(m, 0, sizeof *m);
    m->timestamp_seconds = now;
    m->average_xdr_permyriad_per_icp = res->xdr_permyriad_per_icp;
    m->minimum_xdr_permyriad_per_icp = gov_node_provider_rate(0, e->minimum_icp_xdr_rate);
    m->xdr_conversion_rate =
        gov_node_provider_rate(res->xdr_permyriad_per_icp, e->minimum_icp_xdr_rate);
    m->maximum_node_provider_rewards_e8s = e->maximum_node_provider_rewards_e8s;
    for (size_t i = 0; i < nnp && m->n < GOV_NODE_PROVIDER_REWARDS_MAX; i++) {
        const gov_node_provider_t *np = &nps[i];
        if (!np->has_xdr_permyriad_per_month)
            continue;
        gov_np_reward_entry_t *x = &m->rewards[m->n++];
        memset(x, 0, sizeof *x);
        x->node_provider = np->id;
        x->xdr_permyriad = np->xdr_permyriad_per_month;
        if (np->has_reward_account)
            x->to_account = np->reward_account;
        else
            account_id_of(&np->id, NULL, &x->to_account);
        nns_error_t why;
        if (!gov_node_provider_reward(x->xdr_permyriad, m->xdr_conversion_rate,
                                      m->maximum_node_provider_rewards_e8s, &x->amount_e8s, &why)) {
            x->status = GOV_NP_REWARD_REFUSED;
            snprintf(x->error, sizeof x->error, "%.150s", why.detail);
            continue;
        }
        if (x->amount_e8s == 0) {
            x->status = GOV_NP_REWARD_REFUSED;
            snprintf(x->error, sizeof x->error, "nothing to pay");
            continue;
        }
        gov_inflight_t mf;
        memset(&mf, 0, sizeof mf);
        mf.id = flow_new_id(r);
        mf.kind = GOV_FLOW_NODE_PROVIDER_MINT;
        mf.step = GOV_STEP_MINT;
        mf.caller = np->id;
        mf.to = x->to_account;
        mf.amount_e8s = x->amount_e8s;
        mf.started_at_seconds = now;
        gov_intent_t in;
        memset(&in, 0, sizeof in);
        in.kind = GOV_INTENT_TRANSFER;
        in.purpose = GOV_PURPOSE_MINT;
        in.target = GOV_TARGET_LEDGER;
        in.to = x->to_account;
        in.amount = x->amount_e8s;
        in.fee = 0;
        if (!rintent(r, &mf, &in, now, err) || !rflow_put(r, &mf, err)) {
            free(nps);
            return false;
        }
        x->status = GOV_NP_REWARD_PENDING;
        x->flow_id = mf.id;
    }
    free(nps);
    outcome_end(out, &f, NULL);
    return true;
}

bool rw_np_mint_done(gov_round_t *r, const gov_inflight_t *f, const gov_transfer_result_t *res,
                     uint64_t now, gov_outcome_t *out, nns_error_t *err)
{
    gov_inflight_t copy = *f;
    if (!rflow_end(r, &copy, err))
        return false;
    gov_monthly_np_rewards_t *m = np_edit(r, err);
    if (!m)
        return false;
    gov_np_reward_entry_t *x = NULL;
    for (size_t i = 0; i < m->n && !x; i++)
        if (m->rewards[i].flow_id == f->id && m->rewards[i].status == GOV_NP_REWARD_PENDING)
            x = &m->rewards[i];
    nns_error_t fail;
    if (!res->ok) {
        nns_error_set(&fail, 502, "External", "the ledger refused the node-provider mint: %s",
                      res->error);
        if (x) {
            x->status = GOV_NP_REWARD_FAILED;
            snprintf(x->error, sizeof x->error, "%.150s", res->error);
        }
        outcome_end(out, &copy, &fail);
        return true;
    }
    if (x) {
        x->status = GOV_NP_REWARD_MINTED;
        x->block_index = res->block_index;
    }
    /* the provider's last reward (GET /v1/node-providers), when it is still registered */
    gov_node_provider_t np;
    if (rnp_get(r, &f->caller, &np)) {
        np.has_last_reward = true;
        np.last_reward_amount_e8s = f->amount_e8s;
        np.last_reward_timestamp_seconds = now;
        np.last_reward_block_index = res->block_index;
        if (!rnp_put(r, &np, false, err))
            return false;
    }
    outcome_end(out, &copy, NULL);
    return true;
}

/* ---- what the round changed ---- */

const gov_reward_event_t *gov_round_reward_event(const gov_round_t *r)
{
    return r->rw.event;
}

bool gov_round_reward_distribution(const gov_round_t *r, uint64_t *day_after_genesis,
                                   const uint64_t **neuron_ids, const uint64_t **amounts_e8s,
                                   size_t *n)
{
    if (!r->rw.event)
        return false;
    *day_after_genesis = r->rw.event->day_after_genesis;
    *neuron_ids = r->rw.new_ids;
    *amounts_e8s = r->rw.new_amounts;
    *n = r->rw.new_n;
    return true;
}

bool gov_round_reward_batch(const gov_round_t *r, gov_reward_batch_t *out)
{
    const rw_round_t *rr = &r->rw;
    if (!rr->has_batch)
        return false;
    const rw_state_t *s = &r->g->rw;
    out->day_after_genesis = s->dist_day;
    out->offset = rr->batch_off;
    out->n = rr->batch_n;
    out->total = s->dist_n;
    out->neuron_ids = s->dist_ids + rr->batch_off;
    out->amounts_e8s = rr->batch_amounts;
    out->staked = rr->batch_staked;
    out->last = rr->batch_off + rr->batch_n >= s->dist_n;
    return true;
}

bool gov_round_neuron_reward_only(const gov_round_t *r, size_t i)
{
    const nrec_t *rec = overlay_rec(&r->neurons, i);
    return !r->neurons.removed[i] && rec->reward_only;
}

const gov_monthly_np_rewards_t *gov_round_monthly_np_rewards(const gov_round_t *r)
{
    return r->rw.np;
}

/* ---- loads ---- */

static bool corrupt_rw(nns_error_t *err, const char *what, uint64_t v)
{
    return nns_error_set(err, 500, "CorruptState", "%s %llu", what, (unsigned long long)v);
}

bool gov_load_reward_event(gov_t *g, const gov_reward_event_t *ev, nns_error_t *err)
{
    const rw_event_t *last = latest_event(&g->rw);
    if (ev->nsettled > GOV_REWARD_SETTLED_MAX ||
        (last && ev->day_after_genesis <= last->ev.day_after_genesis))
        return corrupt_rw(err, "bad reward event of day", ev->day_after_genesis);
    if (!events_append(&g->rw, ev))
        return oom(err);
    return true;
}

bool gov_load_reward_distribution(gov_t *g, uint64_t day_after_genesis, const uint64_t *neuron_ids,
                                  const uint64_t *amounts_e8s, size_t n, size_t credited,
                                  nns_error_t *err)
{
    const rw_event_t *last = latest_event(&g->rw);
    if (!last || last->ev.day_after_genesis != day_after_genesis || credited > n)
        return corrupt_rw(err, "reward distribution of a day that is not the latest event",
                          day_after_genesis);
    for (size_t i = 1; i < n; i++)
        if (neuron_ids[i] <= neuron_ids[i - 1])
            return corrupt_rw(err, "reward distribution not ascending at neuron", neuron_ids[i]);
    dist_free(&g->rw);
    if (credited == n)
        return true;
    g->rw.dist_ids = malloc(n * sizeof *g->rw.dist_ids);
    g->rw.dist_amounts = malloc(n * sizeof *g->rw.dist_amounts);
    if (!g->rw.dist_ids || !g->rw.dist_amounts) {
        dist_free(&g->rw);
        return oom(err);
    }
    memcpy(g->rw.dist_ids, neuron_ids, n * sizeof *neuron_ids);
    memcpy(g->rw.dist_amounts, amounts_e8s, n * sizeof *amounts_e8s);
    g->rw.dist_day = day_after_genesis;
    g->rw.dist_n = n;
    g->rw.dist_done = credited;
    return true;
}

bool gov_load_monthly_np_rewards(gov_t *g, const gov_monthly_np_rewards_t *m, nns_error_t *err)
{
    if (m->n > GOV_NODE_PROVIDER_REWARDS_MAX)
        return corrupt_rw(err, "monthly node-provider rewards with too many entries", m->n);
    gov_monthly_np_rewards_t *copy = malloc(sizeof *copy);
    if (!copy)
        return oom(err);
    *copy = *m;
    free(g->rw.np);
    g->rw.np = copy;
    return true;
}

/* ---- reads ---- */

static void event_out(const rw_event_t *e, gov_reward_event_t *out)
{
    *out = e->ev;
    if (e->ev.nsettled)
        memcpy(out->settled_proposals, e->settled, e->ev.nsettled * sizeof *e->settled);
}

size_t gov_reward_events(gov_t *g, uint64_t before_day, gov_reward_event_t *out, size_t max,
                         bool *more)
{
    if (max > GOV_REWARD_EVENTS_PAGE_MAX)
        max = GOV_REWARD_EVENTS_PAGE_MAX;
    pthread_rwlock_rdlock(&g->lock);
    const rw_state_t *s = &g->rw;
    /* events ascend by day: find the first index with day >= before_day */
    size_t hi = s->nevents;
    if (before_day) {
        size_t lo = 0;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (s->events[mid].ev.day_after_genesis < before_day)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    size_t n = 0;
    while (hi > 0 && n < max)
        event_out(&s->events[--hi], &out[n++]);
    *more = hi > 0;
    pthread_rwlock_unlock(&g->lock);
    return n;
}

bool gov_latest_reward_event(gov_t *g, gov_reward_event_t *out)
{
    pthread_rwlock_rdlock(&g->lock);
    const rw_event_t *e = latest_event(&g->rw);
    if (e)
        event_out(e, out);
    pthread_rwlock_unlock(&g->lock);
    return e != NULL;
}

bool gov_reward_progress(gov_t *g, uint64_t *day_after_genesis, size_t *credited, size_t *total)
{
    pthread_rwlock_rdlock(&g->lock);
    const rw_state_t *s = &g->rw;
    bool pending = s->dist_n > s->dist_done;
    if (pending) {
        *day_after_genesis = s->dist_day;
        *credited = s->dist_done;
        *total = s->dist_n;
    }
    pthread_rwlock_unlock(&g->lock);
    return pending;
}

bool gov_monthly_np_rewards(gov_t *g, gov_monthly_np_rewards_t *out)
{
    pthread_rwlock_rdlock(&g->lock);
    bool have = g->rw.np != NULL;
    if (have)
        *out = *g->rw.np;
    pthread_rwlock_unlock(&g->lock);
    return have;
}
