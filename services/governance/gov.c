/*
 * gov.c: the governance state, its rounds, loads and reads, and the neuron store as of a round
 * (gov_internal.h). The commands are gov_cmd.c's, the flows, answers, periodic work and genesis
 * gov_flow.c's.
 */
#include "gov_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

/* ---- configuration and economics ---- */

void gov_config_default(gov_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    principal_canister(CANISTER_GOVERNANCE, &cfg->governance_id);
    cfg->has_cmc = true;
    cfg->max_neurons = GOV_NEURONS_MAX;
}

/* network_economics.rs NetworkEconomics::with_default_values, VotingPowerEconomics defaults;
 * the minimum dissolve delay to vote per rule set (spec 2.3). */
void gov_economics_default(gov_rules_t rules, gov_economics_t *out)
{
    memset(out, 0, sizeof *out);
    out->reject_cost_e8s = GOV_E8;
    out->neuron_minimum_stake_e8s = GOV_E8;
    out->neuron_management_fee_per_proposal_e8s = 1000000;
    out->minimum_icp_xdr_rate = 100;
    out->neuron_spawn_dissolve_delay_seconds = 7 * GOV_ONE_DAY;
    out->maximum_node_provider_rewards_e8s = 100000000000000ULL;
    out->transaction_fee_e8s = 10000;
    out->max_proposals_to_keep_per_topic = 100;
    out->max_sustained_neurons_per_hour = GOV_MAX_SUSTAINED_NEURONS_PER_HOUR;
    out->neuron_creation_spike = GOV_MAX_NEURON_CREATION_SPIKE;
    out->start_reducing_voting_power_after_seconds = GOV_START_REDUCING_VOTING_POWER_AFTER;
    out->clear_following_after_seconds = GOV_CLEAR_FOLLOWING_AFTER;
    out->neuron_minimum_dissolve_delay_to_vote_seconds =
        rules == GOV_RULES_LEGACY ? GOV_MIN_DISSOLVE_DELAY_TO_VOTE_LEGACY
                                  : GOV_MIN_DISSOLVE_DELAY_TO_VOTE_CURRENT;
}

bool rules_valid(gov_rules_t rules)
{
    return rules == GOV_RULES_CURRENT || rules == GOV_RULES_LEGACY;
}

uint64_t minted_stake(const gov_neuron_t *n)
{
    return n->cached_neuron_stake_e8s > n->neuron_fees_e8s
               ? n->cached_neuron_stake_e8s - n->neuron_fees_e8s
               : 0;
}

/* types.rs Neuron::state, stake_e8s, potential_and_deciding_voting_power. */
void gov_neuron_derive(gov_rules_t rules, const gov_economics_t *e, const gov_neuron_t *n,
                       uint64_t now, gov_derived_t *out)
{
    memset(out, 0, sizeof *out);
    out->state = n->has_spawn_at ? GOV_STATE_SPAWNING : gov_dissolve_state(&n->dissolve, now);
    out->minted_stake_e8s = minted_stake(n);
    uint64_t s = out->minted_stake_e8s + n->staked_maturity_e8s_equivalent;
    out->stake_e8s = s < out->minted_stake_e8s ? UINT64_MAX : s;
    out->dissolve_delay_seconds = gov_dissolve_delay(&n->dissolve, now);
    out->age_seconds = gov_age(&n->dissolve, now);
    out->potential_voting_power =
        gov_potential_voting_power(rules, out->stake_e8s, out->dissolve_delay_seconds,
                                   out->age_seconds, n->eight_year_gang_bonus_base_e8s);
    out->deciding_voting_power = gov_deciding_voting_power(
        out->potential_voting_power, n->voting_power_refreshed_timestamp_seconds, now,
        e->start_reducing_voting_power_after_seconds, e->clear_following_after_seconds);
}

/* ---- commands by name ---- */

static const char *const command_names[] = {
    [GOV_CMD_INCREASE_DISSOLVE_DELAY] = "increase-dissolve-delay",
    [GOV_CMD_SET_DISSOLVE_TIMESTAMP] = "set-dissolve-timestamp",
    [GOV_CMD_START_DISSOLVING] = "start-dissolving",
    [GOV_CMD_STOP_DISSOLVING] = "stop-dissolving",
    [GOV_CMD_ADD_HOT_KEY] = "add-hot-key",
    [GOV_CMD_REMOVE_HOT_KEY] = "remove-hot-key",
    [GOV_CMD_DISBURSE] = "disburse",
    [GOV_CMD_SPLIT] = "split",
    [GOV_CMD_MERGE] = "merge",
    [GOV_CMD_SPAWN] = "spawn",
    [GOV_CMD_STAKE_MATURITY] = "stake-maturity",
    [GOV_CMD_DISBURSE_MATURITY] = "disburse-maturity",
    [GOV_CMD_AUTO_STAKE_MATURITY] = "auto-stake-maturity",
    [GOV_CMD_FOLLOW] = "follow",
    [GOV_CMD_SET_FOLLOWING] = "set-following",
    [GOV_CMD_REFRESH_VOTING_POWER] = "refresh-voting-power",
    [GOV_CMD_SET_VISIBILITY] = "set-visibility",
    [GOV_CMD_JOIN_COMMUNITY_FUND] = "join-community-fund",
    [GOV_CMD_LEAVE_COMMUNITY_FUND] = "leave-community-fund",
};
#define NCOMMANDS (sizeof command_names / sizeof command_names[0])

gov_command_kind_t gov_command_from_name(const char *name)
{
    if (!name)
        return 0;
    for (size_t k = 1; k < NCOMMANDS; k++)
        if (command_names[k] && strcmp(command_names[k], name) == 0)
            return (gov_command_kind_t)k;
    return 0;
}

const char *gov_command_name(gov_command_kind_t kind)
{
    return (size_t)kind >= 1 && (size_t)kind < NCOMMANDS ? command_names[kind] : NULL;
}

/* ---- small helpers ---- */

void key_u64(uint64_t v, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

bool oom(nns_error_t *err)
{
    return nns_error_set(err, 500, "OutOfMemory", "out of memory");
}

/* The controller index's key: the first CTRL_KEY bytes of SHA-256(len || principal). A
 * collision would only put two controllers' ids under one key: listings check each neuron's
 * controller. */
#define CTRL_KEY 16

static void ctrl_key(const principal_t *p, uint8_t out[CTRL_KEY])
{
    uint8_t buf[1 + PRINCIPAL_MAX_BYTES], digest[32];
    buf[0] = p->len;
    memcpy(buf + 1, p->bytes, p->len);
    sha256(buf, 1u + p->len, digest);
    memcpy(out, digest, CTRL_KEY);
}

/* ---- variable parts ---- */

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* One block: header, followees, disbursements, hot keys. NULL in *out when there is nothing. */
static bool ext_build(const gov_neuron_full_t *f, gext_t **out)
{
    *out = NULL;
    if (!f->nhot_keys && !f->nfollowees && !f->ndisbursements)
        return true;
    size_t off_fol = align8(sizeof(gext_t));
    size_t off_disb = off_fol + (size_t)f->nfollowees * sizeof(gov_followees_t);
    off_disb = align8(off_disb);
    size_t off_hot = off_disb + (size_t)f->ndisbursements * sizeof(gov_disbursement_t);
    size_t size = off_hot + (size_t)f->nhot_keys * sizeof(principal_t);
    uint8_t *block = malloc(size);
    if (!block)
        return false;
    gext_t *e = (gext_t *)(void *)block;
    e->nhot = f->nhot_keys;
    e->nfol = f->nfollowees;
    e->ndisb = f->ndisbursements;
    e->fol = (gov_followees_t *)(void *)(block + off_fol);
    e->disb = (gov_disbursement_t *)(void *)(block + off_disb);
    e->hot = (principal_t *)(void *)(block + off_hot);
    if (e->nfol)
        memcpy(e->fol, f->followees, (size_t)e->nfol * sizeof *e->fol);
    if (e->ndisb)
        memcpy(e->disb, f->disbursements, (size_t)e->ndisb * sizeof *e->disb);
    if (e->nhot)
        memcpy(e->hot, f->hot_keys, (size_t)e->nhot * sizeof *e->hot);
    *out = e;
    return true;
}

size_t ext_size(const gext_t *e)
{
    if (!e)
        return 0;
    size_t off_disb = align8(align8(sizeof(gext_t)) + (size_t)e->nfol * sizeof(gov_followees_t));
    return off_disb + (size_t)e->ndisb * sizeof(gov_disbursement_t) +
           (size_t)e->nhot * sizeof(principal_t);
}

void full_from_rec(const nrec_t *rec, gov_neuron_full_t *out)
{
    out->n = rec->n;
    out->nhot_keys = out->nfollowees = out->ndisbursements = 0;
    out->locked = false;
    memset(&out->d, 0, sizeof out->d);
    const gext_t *e = rec->ext;
    if (!e)
        return;
    out->nhot_keys = e->nhot;
    out->nfollowees = e->nfol;
    out->ndisbursements = e->ndisb;
    if (e->nhot)
        memcpy(out->hot_keys, e->hot, (size_t)e->nhot * sizeof *e->hot);
    if (e->nfol)
        memcpy(out->followees, e->fol, (size_t)e->nfol * sizeof *e->fol);
    if (e->ndisb)
        memcpy(out->disbursements, e->disb, (size_t)e->ndisb * sizeof *e->disb);
}

/* ---- controller index (committed state only) ---- */

static bool ctrl_add(gov_t *g, const principal_t *p, uint64_t id)
{
    uint8_t k[CTRL_KEY];
    ctrl_key(p, k);
    bool created = false;
    hval_t *v = hmap_put(&g->ctrl, k, &created);
    if (!v)
        return false;
    if (created || v->a == 0) {
        v->a = 1;
        v->b = id;
        return true;
    }
    cvec_t *c;
    if (v->a == 1) {
        c = malloc(sizeof *c + 4 * sizeof(uint64_t));
        if (!c)
            return false;
        c->n = 1;
        c->cap = 4;
        c->ids[0] = v->b;
        v->b = (uint64_t)(uintptr_t)c;
    } else {
        c = (cvec_t *)(uintptr_t)v->b;
    }
    if (c->n == c->cap) {
        cvec_t *grown = realloc(c, sizeof *c + 2 * c->cap * sizeof(uint64_t));
        if (!grown)
            return false;
        grown->cap *= 2;
        c = grown;
        v->b = (uint64_t)(uintptr_t)c;
    }
    size_t i = c->n;
    while (i > 0 && c->ids[i - 1] > id) {
        c->ids[i] = c->ids[i - 1];
        i--;
    }
    c->ids[i] = id;
    c->n++;
    v->a = c->n;
    return true;
}

static void ctrl_del(gov_t *g, const principal_t *p, uint64_t id)
{
    uint8_t k[CTRL_KEY];
    ctrl_key(p, k);
    hval_t *v = hmap_get(&g->ctrl, k);
    if (!v)
        return;
    if (v->a <= 1) {
        if (v->b == id)
            hmap_del(&g->ctrl, k);
        return;
    }
    cvec_t *c = (cvec_t *)(uintptr_t)v->b;
    size_t j = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->ids[i] != id)
            c->ids[j++] = c->ids[i];
    c->n = j;
    if (j == 1) {
        uint64_t only = c->ids[0];
        free(c);
        v->a = 1;
        v->b = only;
    } else {
        v->a = j;
    }
}

static void ctrl_free(gov_t *g)
{
    for (size_t i = 0; i < g->ctrl.cap; i++)
        if (g->ctrl.used[i] && g->ctrl.vals[i].a > 1)
            free((void *)(uintptr_t)g->ctrl.vals[i].b);
    hmap_free(&g->ctrl);
}

/* ---- life cycle ---- */

static void core_init(core_t *c)
{
    memset(c, 0, sizeof *c);
    c->rules = GOV_RULES_CURRENT;
    gov_economics_default(GOV_RULES_CURRENT, &c->eco);
    gov_creation_limiter_init(&c->lim, c->eco.neuron_creation_spike, 0);
    c->next_intent_id = 1;
    c->next_flow_id = 1;
    c->next_due = UINT64_MAX;
}

gov_t *gov_new(const gov_config_t *cfg)
{
    gov_t *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->cfg = *cfg;
    if (!table_init(&g->neurons, 8, sizeof(nrec_t), NULL) ||
        !hmap_init(&g->subs, SUBACCOUNT_BYTES, 64) ||
        !table_init(&g->flows, 8, sizeof(gov_inflight_t), NULL) ||
        !table_init(&g->intents, 8, sizeof(gov_intent_t), NULL) ||
        !table_init(&g->locks, 8, sizeof(uint64_t), NULL) ||
        !table_init(&g->sublocks, SUBACCOUNT_BYTES, sizeof(uint64_t), NULL) ||
        !hmap_init(&g->ctrl, CTRL_KEY, 64) || !hmap_init(&g->follow, 9, 64)) {
        table_free(&g->neurons);
        hmap_free(&g->subs);
        table_free(&g->flows);
        table_free(&g->intents);
        table_free(&g->locks);
        table_free(&g->sublocks);
        hmap_free(&g->ctrl);
        hmap_free(&g->follow);
        free(g);
        return NULL;
    }
    core_init(&g->core);
    rw_init(g);
    stats_init(&g->stats);
    modulation_source_default(cfg, GOV_RULES_CURRENT, &g->core.mm);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&g->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    return g;
}

void gov_destroy(gov_t **gp)
{
    gov_t *g = gp ? *gp : NULL;
    if (!g)
        return;
    for (size_t i = 0; i < g->neurons.map.cap; i++) {
        const nrec_t *rec = table_slot(&g->neurons, i);
        if (rec)
            free(rec->ext);
    }
    table_free(&g->neurons);
    hmap_free(&g->subs);
    table_free(&g->flows);
    for (size_t i = 0; i < g->intents.map.cap; i++) {
        const gov_intent_t *in = table_slot(&g->intents, i);
        if (in)
            free(in->body);
    }
    table_free(&g->intents);
    table_free(&g->locks);
    table_free(&g->sublocks);
    ctrl_free(g);
    props_destroy(g);
    hmap_free(&g->follow);
    rw_free(g);
    stats_free(&g->stats);
    pthread_rwlock_destroy(&g->lock);
    free(g);
    *gp = NULL;
}

const gov_config_t *gov_config(const gov_t *g)
{
    return &g->cfg;
}

/* ---- loading ---- */

void gov_load_info(gov_t *g, const gov_info_t *info)
{
    core_t *c = &g->core;
    c->genesis_done = info->genesis_done;
    c->rules = rules_valid(info->rules) ? info->rules : GOV_RULES_CURRENT;
    c->genesis_ts = info->genesis_timestamp_seconds;
    c->eco = info->economics;
    c->mm = info->modulation;
    c->lim = info->limiter;
    c->next_intent_id =
        info->next_intent_id > c->next_intent_id ? info->next_intent_id : c->next_intent_id;
    c->next_flow_id = info->next_flow_id > c->next_flow_id ? info->next_flow_id : c->next_flow_id;
    c->last_created_at = info->last_created_at;
}

static bool corrupt(nns_error_t *err, const char *what, uint64_t id)
{
    return nns_error_set(err, 500, "CorruptState", "%s %llu", what, (unsigned long long)id);
}

static bool full_valid(const gov_neuron_full_t *f)
{
    if (f->n.id == 0 || f->nhot_keys > GOV_HOT_KEYS_MAX || f->nfollowees > GOV_TOPICS ||
        f->ndisbursements > GOV_DISBURSEMENTS_MAX || f->n.controller.len > PRINCIPAL_MAX_BYTES)
        return false;
    for (uint8_t i = 0; i < f->nfollowees; i++)
        if (!gov_topic_valid(f->followees[i].topic) || f->followees[i].n > GOV_FOLLOWEES_MAX ||
            (i > 0 && f->followees[i].topic <= f->followees[i - 1].topic))
            return false;
    for (uint8_t i = 0; i < f->nhot_keys; i++)
        if (f->hot_keys[i].len > PRINCIPAL_MAX_BYTES)
            return false;
    return true;
}

bool gov_load_neuron(gov_t *g, const gov_neuron_full_t *f, nns_error_t *err)
{
    if (!full_valid(f))
        return corrupt(err, "bad neuron", f->n.id);
    uint8_t k[8];
    key_u64(f->n.id, k);
    if (table_get(&g->neurons, k))
        return corrupt(err, "duplicate neuron", f->n.id);
    if (hmap_get(&g->subs, f->n.subaccount))
        return corrupt(err, "duplicate subaccount of neuron", f->n.id);
    nrec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.n = f->n;
    if (!ext_build(f, &rec.ext))
        return oom(err);
    if (!table_put(&g->neurons, k, &rec)) {
        free(rec.ext);
        return oom(err);
    }
    stats_neuron(g, &rec, +1);
    hval_t *sv = hmap_put(&g->subs, f->n.subaccount, NULL);
    if (!sv)
        return oom(err); /* the caller gives up loading: gov_destroy frees what was put */
    sv->a = f->n.id;
    if (!ctrl_add(g, &f->n.controller, f->n.id))
        return oom(err);
    g->core.neurons++;
    return true;
}

bool gov_load_reserve(gov_t *g, size_t neurons, nns_error_t *err)
{
    if (!hmap_reserve(&g->neurons.map, neurons) || !hmap_reserve(&g->subs, neurons))
        return oom(err);
    return true;
}

bool gov_load_inflight(gov_t *g, const gov_inflight_t *f, nns_error_t *err)
{
    if (f->id == 0 || f->kind < GOV_FLOW_CLAIM || f->kind > GOV_FLOW_NODE_PROVIDER_MINT)
        return corrupt(err, "bad operation in flight", f->id);
    uint8_t k[8];
    key_u64(f->id, k);
    if (!table_put(&g->flows, k, f))
        return oom(err);
    uint64_t ids[2] = {f->neuron_id, f->other_neuron_id};
    for (int i = 0; i < 2; i++) {
        if (!ids[i])
            continue;
        uint8_t nk[8];
        key_u64(ids[i], nk);
        if (!table_get(&g->neurons, nk) && f->kind != GOV_FLOW_CLAIM)
            return corrupt(err, "operation in flight on an unknown neuron", ids[i]);
        if (table_get(&g->neurons, nk) && !table_put(&g->locks, nk, &f->id))
            return oom(err);
    }
    if (f->kind == GOV_FLOW_CLAIM && !table_put(&g->sublocks, f->subaccount, &f->id))
        return oom(err);
    if (f->kind == GOV_FLOW_MODULATION)
        g->core.mm_flow = f->id;
    rw_load_flow(g, f);
    if (f->id >= g->core.next_flow_id)
        g->core.next_flow_id = f->id + 1;
    return true;
}

bool gov_load_intent(gov_t *g, const gov_intent_t *i, nns_error_t *err)
{
    if (i->id == 0 ||
        (i->kind != GOV_INTENT_GET && i->kind != GOV_INTENT_TRANSFER && i->kind != GOV_INTENT_POST))
        return corrupt(err, "bad intent", i->id);
    if ((i->kind == GOV_INTENT_POST) != (i->body != NULL) ||
        (i->body && strnlen(i->body, GOV_INTENT_BODY_MAX) >= GOV_INTENT_BODY_MAX))
        return corrupt(err, "bad intent body", i->id);
    uint8_t k[8];
    key_u64(i->id, k);
    gov_intent_t copy = *i;
    if (i->body && !(copy.body = strdup(i->body)))
        return oom(err);
    const gov_intent_t *old = table_get(&g->intents, k);
    char *old_body = old ? old->body : NULL;
    if (!table_put(&g->intents, k, &copy)) {
        free(copy.body);
        return oom(err);
    }
    free(old_body);
    if (i->id >= g->core.next_intent_id)
        g->core.next_intent_id = i->id + 1;
    if (i->kind == GOV_INTENT_TRANSFER && i->created_at_time > g->core.last_created_at)
        g->core.last_created_at = i->created_at_time;
    return true;
}

uint64_t neuron_due(const core_t *c, const gov_neuron_t *n, const gext_t *e)
{
    uint64_t due = UINT64_MAX;
    if (n->has_spawn_at && n->spawn_at_timestamp_seconds < due)
        due = n->spawn_at_timestamp_seconds;
    if (e && e->ndisb && e->disb[0].finalize_disbursement_timestamp_seconds < due)
        due = e->disb[0].finalize_disbursement_timestamp_seconds; /* oldest first */
    if (n->staked_maturity_e8s_equivalent > 0 && n->dissolve.dissolving &&
        n->dissolve.when_dissolved_timestamp_seconds < due)
        due = n->dissolve.when_dissolved_timestamp_seconds;
    bool prunable = false;
    for (uint8_t i = 0; e && i < e->nfol; i++)
        if (e->fol[i].topic != GOV_TOPIC_NEURON_MANAGEMENT)
            prunable = true;
    if (prunable) {
        uint64_t t = n->voting_power_refreshed_timestamp_seconds +
                     c->eco.start_reducing_voting_power_after_seconds +
                     c->eco.clear_following_after_seconds;
        if (t < due)
            due = t;
    }
    return due;
}

uint64_t neuron_due_full(const core_t *c, const gov_neuron_full_t *f)
{
    gext_t e = {.nhot = f->nhot_keys,
                .nfol = f->nfollowees,
                .ndisb = f->ndisbursements,
                .hot = (principal_t *)(uintptr_t)f->hot_keys,
                .fol = (gov_followees_t *)(uintptr_t)f->followees,
                .disb = (gov_disbursement_t *)(uintptr_t)f->disbursements};
    return neuron_due(c, &f->n, &e);
}

void gov_load_done(gov_t *g)
{
    uint64_t due = UINT64_MAX, count = 0;
    for (size_t i = 0; i < g->neurons.map.cap; i++) {
        const nrec_t *rec = table_slot(&g->neurons, i);
        if (!rec)
            continue;
        count++;
        uint64_t d = neuron_due(&g->core, &rec->n, rec->ext);
        if (d < due)
            due = d;
    }
    g->core.neurons = count;
    g->core.next_due = due;
    if (!follow_build(g))
        abort(); /* crash-only: out of memory while loading */
}

/* ---- reads ---- */

static void info_core(const core_t *c, gov_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->genesis_done = c->genesis_done;
    out->rules = c->rules;
    out->genesis_timestamp_seconds = c->genesis_ts;
    out->economics = c->eco;
    out->modulation = c->mm;
    out->limiter = c->lim;
    out->next_intent_id = c->next_intent_id;
    out->next_flow_id = c->next_flow_id;
    out->last_created_at = c->last_created_at;
    out->next_due_seconds = c->next_due == UINT64_MAX ? 0 : c->next_due;
    out->neurons = c->neurons;
}

void gov_info(gov_t *g, uint64_t now, gov_info_t *out)
{
    pthread_rwlock_rdlock(&g->lock);
    info_core(&g->core, out);
    stats_read(g, now, out, NULL);
    out->in_flight = g->flows.map.count;
    out->intents = g->intents.map.count;
    out->locked_neurons = g->locks.map.count;
    pthread_rwlock_unlock(&g->lock);
}

void gov_info_scan(gov_t *g, uint64_t now, gov_info_t *out)
{
    pthread_rwlock_rdlock(&g->lock);
    info_core(&g->core, out);
    for (size_t i = 0; i < g->neurons.map.cap; i++) {
        const nrec_t *rec = table_slot(&g->neurons, i);
        if (!rec)
            continue;
        const gov_neuron_t *n = &rec->n;
        out->total_staked_e8s += minted_stake(n);
        out->total_maturity_e8s += n->maturity_e8s_equivalent;
        out->total_staked_maturity_e8s += n->staked_maturity_e8s_equivalent;
        gov_neuron_state_t s =
            n->has_spawn_at ? GOV_STATE_SPAWNING : gov_dissolve_state(&n->dissolve, now);
        if ((int)s >= 1 && (int)s <= 4)
            out->neurons_by_state[s]++;
    }
    out->in_flight = g->flows.map.count;
    out->intents = g->intents.map.count;
    out->locked_neurons = g->locks.map.count;
    pthread_rwlock_unlock(&g->lock);
}

bool gov_genesis_done(gov_t *g)
{
    pthread_rwlock_rdlock(&g->lock);
    bool done = g->core.genesis_done;
    pthread_rwlock_unlock(&g->lock);
    return done;
}

gov_rules_t gov_rules(gov_t *g)
{
    pthread_rwlock_rdlock(&g->lock);
    gov_rules_t rules = g->core.rules;
    pthread_rwlock_unlock(&g->lock);
    return rules;
}

void gov_economics(gov_t *g, gov_economics_t *out)
{
    pthread_rwlock_rdlock(&g->lock);
    *out = g->core.eco;
    pthread_rwlock_unlock(&g->lock);
}

void gov_modulation(gov_t *g, gov_modulation_t *out)
{
    pthread_rwlock_rdlock(&g->lock);
    *out = g->core.mm;
    pthread_rwlock_unlock(&g->lock);
}

/* Under the read lock. */
static bool neuron_locked(const gov_t *g, uint64_t id, uint64_t now, gov_neuron_full_t *out)
{
    uint8_t k[8];
    key_u64(id, k);
    const nrec_t *rec = table_get(&g->neurons, k);
    if (!rec)
        return false;
    full_from_rec(rec, out);
    out->locked = table_get(&g->locks, k) != NULL;
    gov_neuron_derive(g->core.rules, &g->core.eco, &out->n, now, &out->d);
    return true;
}

bool gov_neuron(gov_t *g, uint64_t id, uint64_t now, gov_neuron_full_t *out)
{
    pthread_rwlock_rdlock(&g->lock);
    bool found = neuron_locked(g, id, now, out);
    pthread_rwlock_unlock(&g->lock);
    return found;
}

bool gov_find_by_subaccount(gov_t *g, const uint8_t subaccount[SUBACCOUNT_BYTES], uint64_t *id)
{
    pthread_rwlock_rdlock(&g->lock);
    const hval_t *v = hmap_get(&g->subs, subaccount);
    if (v)
        *id = v->a;
    pthread_rwlock_unlock(&g->lock);
    return v != NULL;
}

size_t gov_neurons_by_controller(gov_t *g, const principal_t *controller, uint64_t after_id,
                                 uint64_t now, gov_neuron_full_t *out, size_t max, bool *more)
{
    *more = false;
    if (max > GOV_LIST_MAX)
        max = GOV_LIST_MAX;
    uint8_t k[CTRL_KEY];
    ctrl_key(controller, k);
    size_t n = 0;
    pthread_rwlock_rdlock(&g->lock);
    const hval_t *v = hmap_get(&g->ctrl, k);
    if (v && v->a > 0) {
        const uint64_t *ids = v->a == 1 ? &v->b : ((const cvec_t *)(uintptr_t)v->b)->ids;
        size_t count = (size_t)v->a;
        size_t lo = 0, hi = count; /* first index with ids[i] > after_id */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (ids[mid] <= after_id)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < count; i++) {
            if (n == max) {
                *more = true;
                break;
            }
            if (neuron_locked(g, ids[i], now, &out[n]) &&
                principal_equal(&out[n].n.controller, controller))
                n++;
        }
    }
    pthread_rwlock_unlock(&g->lock);
    return n;
}

bool gov_is_controller_or_hot_key(const gov_neuron_full_t *n, const principal_t *caller)
{
    if (principal_equal(&n->n.controller, caller))
        return true;
    for (uint8_t i = 0; i < n->nhot_keys; i++)
        if (principal_equal(&n->hot_keys[i], caller))
            return true;
    return false;
}

/* The daily modulation read is due (gov_flow.c emits it): a cmc source, none in flight, not yet
 * read today, and past the retry time of a failed read. */
bool modulation_due(const core_t *c, uint64_t now)
{
    if (c->mm_flow || (c->mm.source != GOV_MM_CMC && c->mm.source != GOV_MM_RATE_HISTORY))
        return false;
    if (now < c->mm.retry_at_seconds)
        return false;
    return c->mm.requested_day == 0 || c->mm.requested_day < now / GOV_ONE_DAY;
}

void modulation_source_default(const gov_config_t *cfg, gov_rules_t rules, gov_modulation_t *mm)
{
    memset(mm, 0, sizeof *mm);
    if (cfg->has_cmc)
        mm->source = rules == GOV_RULES_LEGACY ? GOV_MM_CMC : GOV_MM_RATE_HISTORY;
    else
        mm->source = GOV_MM_NONE;
}

bool gov_tick_due(gov_t *g, uint64_t now)
{
    pthread_rwlock_rdlock(&g->lock);
    bool due = g->core.next_due <= now || modulation_due(&g->core, now) || proposals_due(g, now) ||
               rw_tick_due(g, now);
    pthread_rwlock_unlock(&g->lock);
    return due;
}

/* What the indexes beside the neurons hold: the maps, the controllers' vectors (a controller
 * with more than one neuron) and the reward state. Called with the lock held. */
static size_t index_memory(const gov_t *g)
{
    size_t bytes = hmap_memory(&g->neurons.map) + hmap_memory(&g->subs) + hmap_memory(&g->ctrl);
    for (size_t i = 0; i < g->ctrl.cap; i++)
        if (g->ctrl.used[i] && g->ctrl.vals[i].a > 1)
            bytes += sizeof(cvec_t) +
                     ((const cvec_t *)(uintptr_t)g->ctrl.vals[i].b)->cap * sizeof(uint64_t);
    return bytes + rw_memory(g);
}

size_t gov_memory(gov_t *g)
{
    pthread_rwlock_rdlock(&g->lock);
    uint64_t neuron_bytes = 0;
    gov_info_t info;
    stats_read(g, 0, &info, &neuron_bytes); /* kept at commit: no scan */
    size_t bytes = index_memory(g) + (size_t)neuron_bytes;
    pthread_rwlock_unlock(&g->lock);
    return bytes;
}

size_t gov_memory_scan(gov_t *g)
{
    pthread_rwlock_rdlock(&g->lock);
    size_t bytes = index_memory(g);
    for (size_t i = 0; i < g->neurons.map.cap; i++) {
        const nrec_t *rec = table_slot(&g->neurons, i);
        if (rec)
            bytes += sizeof *rec + ext_size(rec->ext);
    }
    pthread_rwlock_unlock(&g->lock);
    return bytes;
}

size_t gov_intent_memory(gov_t *g)
{
    pthread_rwlock_rdlock(&g->lock);
    size_t bytes = hmap_memory(&g->intents.map);
    for (size_t i = 0; i < g->intents.map.cap; i++) {
        const gov_intent_t *in = table_slot(&g->intents, i);
        if (in)
            bytes += sizeof *in + (in->body ? strlen(in->body) + 1 : 0);
    }
    pthread_rwlock_unlock(&g->lock);
    return bytes;
}

/* ---- rounds ---- */

gov_round_t *gov_round_begin(gov_t *g)
{
    gov_round_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->g = g;
    r->core = g->core;
    rw_round_begin(r);
    if (!overlay_init(&r->neurons, 8, sizeof(nrec_t)) ||
        !overlay_init(&r->subs, SUBACCOUNT_BYTES, sizeof(uint64_t)) ||
        !overlay_init(&r->flows, 8, sizeof(gov_inflight_t)) ||
        !overlay_init(&r->intents, 8, sizeof(gov_intent_t)) ||
        !overlay_init(&r->locks, 8, sizeof(uint64_t)) ||
        !overlay_init(&r->sublocks, SUBACCOUNT_BYTES, sizeof(uint64_t))) {
        gov_round_discard(g, &r);
        return NULL;
    }
    return r;
}

static void round_free(gov_round_t *r)
{
    overlay_free(&r->neurons);
    overlay_free(&r->subs);
    overlay_free(&r->flows);
    overlay_free(&r->intents);
    overlay_free(&r->locks);
    overlay_free(&r->sublocks);
    free(r->new_intents);
    free(r->finished);
    free(r->events);
    props_round_free(r);
    rw_round_free(r);
    free(r);
}

void gov_round_discard(gov_t *g, gov_round_t **rp)
{
    (void)g;
    gov_round_t *r = rp ? *rp : NULL;
    if (!r)
        return;
    for (size_t i = 0; i < r->nnew; i++)
        free(r->new_intents[i].body);
    for (size_t i = 0; i < r->neurons.n; i++) {
        const nrec_t *rec = overlay_rec(&r->neurons, i);
        if (rec->round_ext)
            free(rec->ext);
    }
    round_free(r);
    *rp = NULL;
}

void gov_round_commit(gov_t *g, gov_round_t **rp)
{
    gov_round_t *r = *rp;
    pthread_rwlock_wrlock(&g->lock);
    follow_commit(g, r); /* before the neurons: it reads their committed followees */
    for (size_t i = 0; i < r->neurons.n; i++) {
        const uint8_t *k = r->neurons.keys + i * 8;
        nrec_t rec = *(const nrec_t *)overlay_rec(&r->neurons, i);
        const nrec_t *old = table_get(&g->neurons, k);
        if (old)
            stats_neuron(g, old, -1); /* before its parts are freed */
        if (r->neurons.removed[i]) {
            if (old) {
                ctrl_del(g, &old->n.controller, old->n.id);
                free(old->ext);
                table_del(&g->neurons, k);
            }
            if (rec.round_ext)
                free(rec.ext);
            continue;
        }
        if (old && old->ext != rec.ext)
            free(old->ext);
        if (!old && !ctrl_add(g, &rec.n.controller, rec.n.id))
            abort();
        rec.round_ext = false;
        rec.parts_changed = false;
        rec.reward_only = false;
        if (!table_put(&g->neurons, k, &rec))
            abort();
        stats_neuron(g, &rec, +1);
    }
    for (size_t i = 0; i < r->subs.n; i++) {
        const uint8_t *k = r->subs.keys + i * SUBACCOUNT_BYTES;
        if (r->subs.removed[i]) {
            hmap_del(&g->subs, k);
            continue;
        }
        hval_t *v = hmap_put(&g->subs, k, NULL);
        if (!v)
            abort();
        v->a = *(const uint64_t *)overlay_rec(&r->subs, i);
    }
    overlay_merge(&r->flows, &g->flows);
    /* the POST bodies: a finished intent's goes with it; a new intent's moves to the committed
     * table, unless the round also finished it */
    for (size_t i = 0; i < r->intents.n; i++) {
        if (!r->intents.removed[i])
            continue;
        const gov_intent_t *old = table_get(&g->intents, r->intents.keys + i * 8);
        if (old)
            free(old->body);
    }
    for (size_t i = 0; i < r->nnew; i++) {
        uint8_t k[8];
        key_u64(r->new_intents[i].id, k);
        long at = overlay_find(&r->intents, k);
        if (at >= 0 && r->intents.removed[at])
            free(r->new_intents[i].body);
    }
    overlay_merge(&r->intents, &g->intents);
    overlay_merge(&r->locks, &g->locks);
    overlay_merge(&r->sublocks, &g->sublocks);
    props_commit(g, r);
    g->core = r->core;
    rw_commit(g, r);
    pthread_rwlock_unlock(&g->lock);
    round_free(r);
    *rp = NULL;
}

/* ---- what the round changed ---- */

size_t gov_round_neuron_count(const gov_round_t *r)
{
    return r->neurons.n;
}

void gov_round_neuron(const gov_round_t *r, size_t i, gov_neuron_full_t *out, bool *removed,
                      bool *parts_changed)
{
    const nrec_t *rec = overlay_rec(&r->neurons, i);
    full_from_rec(rec, out);
    *removed = r->neurons.removed[i];
    *parts_changed = rec->parts_changed;
}

const gov_inflight_t *gov_round_inflight(const gov_round_t *r, const bool **removed, size_t *n)
{
    *removed = r->flows.removed;
    *n = r->flows.n;
    return (const gov_inflight_t *)(const void *)r->flows.recs;
}

const gov_intent_t *gov_round_intents(const gov_round_t *r, size_t *n)
{
    *n = r->nnew;
    return r->new_intents;
}

void gov_intents_free(gov_intent_t *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].body);
    free(v);
}

const uint64_t *gov_round_finished_intents(const gov_round_t *r, size_t *n)
{
    *n = r->nfinished;
    return r->finished;
}

const gov_event_t *gov_round_events(const gov_round_t *r, size_t *n)
{
    *n = r->nevents;
    return r->events;
}

bool gov_round_info(const gov_round_t *r, gov_info_t *out)
{
    info_core(&r->core, out);
    return r->core_dirty;
}

/* ---- the neuron store as of a round ---- */

core_t *rcore(gov_round_t *r)
{
    r->core_dirty = true;
    return &r->core;
}

static const nrec_t *rrec(const gov_round_t *r, uint64_t id)
{
    uint8_t k[8];
    key_u64(id, k);
    return overlay_lookup(&r->g->neurons, &r->neurons, k);
}

bool rget(const gov_round_t *r, uint64_t id, gov_neuron_full_t *out)
{
    const nrec_t *rec = rrec(r, id);
    if (!rec)
        return false;
    full_from_rec(rec, out);
    return true;
}

bool rexists(const gov_round_t *r, uint64_t id)
{
    return rrec(r, id) != NULL;
}

bool rput(gov_round_t *r, const gov_neuron_full_t *f, bool parts_changed, nns_error_t *err)
{
    uint8_t k[8];
    key_u64(f->n.id, k);
    long pos = overlay_find(&r->neurons, k);
    const nrec_t *inov = pos >= 0 && !r->neurons.removed[pos]
                             ? (const nrec_t *)overlay_rec(&r->neurons, (size_t)pos)
                             : NULL;
    const nrec_t *committed = table_get(&r->g->neurons, k);
    const nrec_t *prev = pos >= 0 ? inov : committed;
    nrec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.n = f->n;
    if (!prev)
        parts_changed = true; /* a new neuron: the store writes all of it */
    gext_t *old_round_ext = inov && inov->round_ext ? inov->ext : NULL;
    if (parts_changed) {
        if (!ext_build(f, &rec.ext))
            return oom(err);
        rec.round_ext = rec.ext != NULL;
        rec.parts_changed = true;
    } else {
        rec.ext = prev->ext;
        rec.round_ext = inov ? inov->round_ext : false;
        rec.parts_changed = inov ? inov->parts_changed : false;
        old_round_ext = NULL;
    }
    if (!prev) {
        uint64_t id = f->n.id;
        if (!overlay_set(&r->subs, f->n.subaccount, &id, false)) {
            if (rec.round_ext)
                free(rec.ext);
            return oom(err);
        }
    }
    if (!overlay_set(&r->neurons, k, &rec, false)) {
        if (rec.round_ext)
            free(rec.ext);
        return oom(err);
    }
    if (!prev)
        r->core.neurons++;
    free(old_round_ext);
    rdue_full(r, f);
    return true;
}

bool rremove(gov_round_t *r, uint64_t id, nns_error_t *err)
{
    uint8_t k[8];
    key_u64(id, k);
    long pos = overlay_find(&r->neurons, k);
    const nrec_t *prev = overlay_lookup(&r->g->neurons, &r->neurons, k);
    if (!prev)
        return true;
    nrec_t rec = *prev;
    gext_t *round_ext = pos >= 0 && rec.round_ext ? rec.ext : NULL;
    rec.ext = NULL;
    rec.round_ext = false;
    if (!overlay_set(&r->subs, rec.n.subaccount, &id, true) ||
        !overlay_set(&r->neurons, k, &rec, true))
        return oom(err);
    r->core.neurons--;
    free(round_ext);
    return true;
}

bool rsub(const gov_round_t *r, const uint8_t sub[SUBACCOUNT_BYTES], uint64_t *id)
{
    long pos = overlay_find(&r->subs, sub);
    if (pos >= 0) {
        if (r->subs.removed[pos])
            return false;
        *id = *(const uint64_t *)overlay_rec(&r->subs, (size_t)pos);
        return true;
    }
    const hval_t *v = hmap_get(&r->g->subs, sub);
    if (v)
        *id = v->a;
    return v != NULL;
}

uint64_t rlocked(const gov_round_t *r, uint64_t id)
{
    uint8_t k[8];
    key_u64(id, k);
    const uint64_t *v = overlay_lookup(&r->g->locks, &r->locks, k);
    return v ? *v : 0;
}

uint64_t rsublocked(const gov_round_t *r, const uint8_t sub[SUBACCOUNT_BYTES])
{
    const uint64_t *v = overlay_lookup(&r->g->sublocks, &r->sublocks, sub);
    return v ? *v : 0;
}

bool rlock(gov_round_t *r, uint64_t id, uint64_t flow, nns_error_t *err)
{
    uint8_t k[8];
    key_u64(id, k);
    return overlay_set(&r->locks, k, &flow, false) || oom(err);
}

bool rsublock(gov_round_t *r, const uint8_t sub[SUBACCOUNT_BYTES], uint64_t flow, nns_error_t *err)
{
    return overlay_set(&r->sublocks, sub, &flow, false) || oom(err);
}

bool rflow(const gov_round_t *r, uint64_t id, gov_inflight_t *out)
{
    uint8_t k[8];
    key_u64(id, k);
    return overlay_lookup_read(&r->g->flows, &r->flows, k, out);
}

bool rflow_put(gov_round_t *r, const gov_inflight_t *f, nns_error_t *err)
{
    uint8_t k[8];
    key_u64(f->id, k);
    return overlay_set(&r->flows, k, f, false) || oom(err);
}

bool rflow_end(gov_round_t *r, const gov_inflight_t *f, nns_error_t *err)
{
    uint8_t k[8];
    key_u64(f->id, k);
    if (!overlay_set(&r->flows, k, f, true))
        return oom(err);
    uint64_t ids[2] = {f->neuron_id, f->other_neuron_id};
    for (int i = 0; i < 2; i++) {
        if (!ids[i] || rlocked(r, ids[i]) != f->id)
            continue;
        uint8_t nk[8];
        key_u64(ids[i], nk);
        uint64_t zero = 0;
        if (!overlay_set(&r->locks, nk, &zero, true))
            return oom(err);
        const nrec_t *rec = overlay_lookup(&r->g->neurons, &r->neurons, nk);
        if (rec) {
            uint64_t due = neuron_due(&r->core, &rec->n, rec->ext);
            if (due < r->core.next_due)
                rcore(r)->next_due = due;
        }
    }
    if (f->kind == GOV_FLOW_CLAIM && rsublocked(r, f->subaccount) == f->id) {
        uint64_t zero = 0;
        if (!overlay_set(&r->sublocks, f->subaccount, &zero, true))
            return oom(err);
    }
    if (f->kind == GOV_FLOW_MODULATION && r->core.mm_flow == f->id)
        rcore(r)->mm_flow = 0;
    return true;
}

uint64_t flow_new_id(gov_round_t *r)
{
    return rcore(r)->next_flow_id++;
}

bool rintent(gov_round_t *r, gov_inflight_t *f, gov_intent_t *i, uint64_t now, nns_error_t *err)
{
    core_t *c = rcore(r);
    i->id = c->next_intent_id;
    i->flow_id = f->id;
    if (i->kind == GOV_INTENT_TRANSFER) {
        uint64_t t = now * 1000000000ULL + r->seq;
        if (t <= c->last_created_at)
            t = c->last_created_at + 1;
        i->created_at_time = t;
        if (!i->memo)
            i->memo = f->id;
    }
    uint8_t k[8];
    key_u64(i->id, k);
    if (r->nnew == r->capnew) {
        size_t cap = r->capnew ? r->capnew * 2 : 8;
        gov_intent_t *grown = realloc(r->new_intents, cap * sizeof *grown);
        if (!grown)
            return oom(err);
        r->new_intents = grown;
        r->capnew = cap;
    }
    /* the round owns its copy of a POST's body (the caller keeps its own) */
    gov_intent_t rec = *i;
    rec.body = NULL;
    if (i->kind == GOV_INTENT_POST &&
        !(rec.body = strndup(i->body ? i->body : "", GOV_INTENT_BODY_MAX - 1)))
        return oom(err);
    if (!overlay_set(&r->intents, k, &rec, false)) {
        free(rec.body);
        return oom(err);
    }
    r->new_intents[r->nnew++] = rec;
    c->next_intent_id++;
    if (i->kind == GOV_INTENT_TRANSFER) {
        c->last_created_at = i->created_at_time;
        r->seq++;
    }
    f->intent_id = i->id;
    return true;
}

bool rintent_get(const gov_round_t *r, uint64_t id, gov_intent_t *out)
{
    uint8_t k[8];
    key_u64(id, k);
    return overlay_lookup_read(&r->g->intents, &r->intents, k, out);
}

bool rintent_finish(gov_round_t *r, uint64_t id, nns_error_t *err)
{
    uint8_t k[8];
    key_u64(id, k);
    gov_intent_t i;
    memset(&i, 0, sizeof i);
    if (r->nfinished == r->capfinished) {
        size_t cap = r->capfinished ? r->capfinished * 2 : 8;
        uint64_t *grown = realloc(r->finished, cap * sizeof *grown);
        if (!grown)
            return oom(err);
        r->finished = grown;
        r->capfinished = cap;
    }
    if (!overlay_set(&r->intents, k, &i, true))
        return oom(err);
    r->finished[r->nfinished++] = id;
    return true;
}

bool revent(gov_round_t *r, uint64_t neuron_id, const char *kind, uint64_t at, uint64_t amount,
            uint64_t other, nns_error_t *err, const char *fmt, ...)
{
    if (r->nevents == r->capevents) {
        size_t cap = r->capevents ? r->capevents * 2 : 8;
        gov_event_t *grown = realloc(r->events, cap * sizeof *grown);
        if (!grown)
            return oom(err);
        r->events = grown;
        r->capevents = cap;
    }
    gov_event_t *e = &r->events[r->nevents++];
    memset(e, 0, sizeof *e);
    e->neuron_id = neuron_id;
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    e->at_seconds = at;
    e->amount_e8s = amount;
    e->other_neuron_id = other;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
    return true;
}

void rdue_full(gov_round_t *r, const gov_neuron_full_t *f)
{
    uint64_t due = neuron_due_full(&r->core, f);
    if (due < r->core.next_due)
        rcore(r)->next_due = due;
}

bool rforeach(gov_round_t *r, neuron_fn fn, void *ctx)
{
    const gov_t *g = r->g;
    for (size_t i = 0; i < g->neurons.map.cap; i++) {
        if (!g->neurons.map.used[i])
            continue;
        const uint8_t *k = hmap_key_at(&g->neurons.map, i);
        const nrec_t *rec = overlay_lookup(&g->neurons, &r->neurons, k);
        if (rec && !fn(r, rec, ctx))
            return false;
    }
    for (size_t i = 0; i < r->neurons.n; i++) {
        const uint8_t *k = r->neurons.keys + i * 8;
        if (r->neurons.removed[i] || table_get(&g->neurons, k))
            continue;
        if (!fn(r, overlay_rec(&r->neurons, i), ctx))
            return false;
    }
    return true;
}
