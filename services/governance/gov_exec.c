/*
 * gov_exec.c: execution of adopted proposals (spec 4.9, Decision 3 and 5; governance.rs
 * perform_action), the answers of their calls, and the periodic proposal work of gov_apply_tick
 * (decisions at deadlines, the daily voting-power snapshot, the release of ManageNeuron ballots,
 * the forgetting of settled proposals beyond max_proposals_to_keep_per_topic: governance.rs
 * maybe_gc).
 *
 * Executed here: Motion, ManageNeuron (the command with the managed neuron's controller as
 * caller; a command with a ledger flow settles the proposal when the flow ends),
 * ManageNetworkEconomics, Register/DeregisterKnownNeuron, ApproveGenesisKyc,
 * AddOrRemoveNodeProvider, UpdateNodeRewardsTable (20), RewardNodeProvider(s) (ledger mints, one
 * flow minting each reward in turn), the cmc's functions 10, 14, 32, 33 (a signed POST of a JSON
 * body). Everything else is recorded Executed (its payload is in action_json).
 */
#include "gov_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool proposal_settle_execution(gov_round_t *r, uint64_t id, bool ok, const char *reason,
                               uint64_t now, nns_error_t *err)
{
    rprop_t *rp = rprop_edit(r, id, false, err);
    if (!rp)
        return false;
    gov_proposal_t *p = &rp->p.f.p;
    p->exec_flow_id = 0;
    if (ok) {
        p->executed_timestamp_seconds = now;
    } else {
        p->failed_timestamp_seconds = now;
        snprintf(p->failure_reason, sizeof p->failure_reason, "%s",
                 reason && *reason ? reason : "execution failed");
    }
    return revent(r, p->proposer, ok ? "proposal_executed" : "proposal_failed", now, 0, 0, err,
                  "proposal %llu", (unsigned long long)id);
}

void error_reason(const nns_error_t *e, char out[GOV_FAILURE_REASON_MAX])
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s: %s", e->code, e->detail);
    memcpy(out, buf, GOV_FAILURE_REASON_MAX - 1);
    out[GOV_FAILURE_REASON_MAX - 1] = '\0';
}

static bool fail(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static bool fail(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err, const char *fmt, ...)
{
    char reason[GOV_FAILURE_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return proposal_settle_execution(r, rp->p.f.p.id, false, reason, now, err);
}

static bool done(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err)
{
    return proposal_settle_execution(r, rp->p.f.p.id, true, NULL, now, err);
}

static bool is_oom(const nns_error_t *e)
{
    return e->status == 500 && strcmp(e->code, "OutOfMemory") == 0;
}

/* ---- ManageNeuron ---- */

static bool exec_manage_neuron(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err)
{
    gov_command_t cmd = rp->p.f.action->u.manage_neuron.command;
    static _Thread_local gov_neuron_full_t m;
    if (!rget(r, cmd.neuron_id, &m))
        return fail(r, rp, now, err, "NotFound: managed neuron '%llu' not found",
                    (unsigned long long)cmd.neuron_id);
    cmd.caller = m.n.controller; /* spec 2.12 */
    gov_outcome_t out;
    nns_error_t e;
    nns_error_clear(&e);
    if (!gov_apply_command(r->g, r, &cmd, now, &out, &e)) {
        if (is_oom(&e))
            return oom(err);
        return fail(r, rp, now, err, "%s: %s", e.code, e.detail);
    }
    if (out.finished)
        return out.ok ? done(r, rp, now, err)
                      : fail(r, rp, now, err, "%s: %s", out.error.code, out.error.detail);
    /* a ledger flow: no request waits for it; its end settles the proposal */
    gov_inflight_t f;
    if (!rflow(r, out.flow_id, &f))
        return nns_error_set(err, 500, "CorruptState", "the command's flow is missing");
    f.has_request = false;
    f.proposal_id = rp->p.f.p.id;
    rp->p.f.p.exec_flow_id = f.id;
    return rflow_put(r, &f, err);
}

/* ---- known neurons (2.13) ---- */

static bool name_taken(const gov_round_t *r, const char *name, uint64_t except)
{
    for (size_t i = 0; i < r->nkncs; i++)
        if (r->kncs[i].k && r->kncs[i].id != except && strcmp(r->kncs[i].k->name, name) == 0)
            return true;
    const gov_t *g = r->g;
    for (size_t i = 0; i < g->nkns; i++) {
        const gov_known_neuron_t *k = g->kns[i];
        if (k->id == except || strcmp(k->name, name) != 0)
            continue;
        if (rknown(r, k->id) == k) /* unchanged by the round */
            return true;
    }
    return false;
}

static bool exec_register_known(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err)
{
    const gov_action_t *a = rp->p.f.action;
    uint64_t id = a->u.register_known_neuron.neuron_id;
    static _Thread_local gov_neuron_full_t n;
    if (!rget(r, id, &n))
        return fail(r, rp, now, err, "NotFound: neuron '%llu' not found", (unsigned long long)id);
    if (name_taken(r, a->u.register_known_neuron.name, id))
        return fail(r, rp, now, err, "InvalidProposal: the name '%s' is already taken",
                    a->u.register_known_neuron.name);
    gov_known_neuron_t k = {
        .id = id,
        .name = a->u.register_known_neuron.name,
        .description = a->u.register_known_neuron.description,
        .nlinks = a->u.register_known_neuron.nlinks,
        .links = a->u.register_known_neuron.links,
        .ntopics = a->u.register_known_neuron.ntopics,
        .committed_topics = a->u.register_known_neuron.committed_topics,
    };
    if (!rknown_put(r, id, &k, err))
        return false;
    if (n.n.visibility != GOV_VISIBILITY_PUBLIC) { /* known neurons are always public */
        n.n.visibility = GOV_VISIBILITY_PUBLIC;
        if (!rput(r, &n, false, err))
            return false;
    }
    return revent(r, id, "known_neuron_registered", now, 0, 0, err, "%s",
                  a->u.register_known_neuron.name) &&
           done(r, rp, now, err);
}

static bool exec_deregister_known(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err)
{
    uint64_t id = rp->p.f.action->u.deregister_known_neuron.neuron_id;
    if (!rknown(r, id))
        return fail(r, rp, now, err, "NotFound: neuron '%llu' is not a known neuron",
                    (unsigned long long)id);
    return rknown_put(r, id, NULL, err) &&
           revent(r, id, "known_neuron_deregistered", now, 0, 0, err, "proposal %llu",
                  (unsigned long long)rp->p.f.p.id) &&
           done(r, rp, now, err);
}

/* ---- ApproveGenesisKyc (Decision 5) ---- */

typedef struct {
    const principal_t *ps;
    size_t nps;
    uint64_t *ids;
    size_t n, cap;
    bool failed;
} kyc_t;

static bool kyc_collect(gov_round_t *r, const nrec_t *rec, void *ctx)
{
    (void)r;
    kyc_t *k = ctx;
    if (rec->n.kyc_verified)
        return true;
    for (size_t i = 0; i < k->nps; i++)
        if (principal_equal(&k->ps[i], &rec->n.controller)) {
            if (k->n == k->cap) {
                size_t cap = k->cap ? k->cap * 2 : 16;
                uint64_t *grown = realloc(k->ids, cap * sizeof *grown);
                if (!grown) {
                    k->failed = true;
                    return false;
                }
                k->ids = grown;
                k->cap = cap;
            }
            k->ids[k->n++] = rec->n.id;
            break;
        }
    return true;
}

static bool exec_kyc(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err)
{
    const gov_action_t *a = rp->p.f.action;
    kyc_t k = {.ps = a->u.approve_genesis_kyc.principals, .nps = a->u.approve_genesis_kyc.n};
    rforeach(r, kyc_collect, &k);
    if (k.failed) {
        free(k.ids);
        return oom(err);
    }
    static _Thread_local gov_neuron_full_t n;
    for (size_t i = 0; i < k.n; i++) {
        if (!rget(r, k.ids[i], &n))
            continue;
        n.n.kyc_verified = true;
        if (!rput(r, &n, false, err) ||
            !revent(r, n.n.id, "kyc_approved", now, 0, 0, err, "proposal %llu",
                    (unsigned long long)rp->p.f.p.id)) {
            free(k.ids);
            return false;
        }
    }
    free(k.ids);
    return done(r, rp, now, err);
}

/* ---- node providers (9) ---- */

static bool exec_node_provider(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err)
{
    const gov_action_t *a = rp->p.f.action;
    gov_node_provider_t np;
    bool exists = rnp_get(r, &a->u.node_provider.id, &np);
    if (a->u.node_provider.add) {
        if (exists)
            return fail(r, rp, now, err, "InvalidProposal: the node provider already exists");
        memset(&np, 0, sizeof np);
        np.id = a->u.node_provider.id;
        np.has_reward_account = a->u.node_provider.has_reward_account;
        np.reward_account = a->u.node_provider.reward_account;
        return rnp_put(r, &np, false, err) && done(r, rp, now, err);
    }
    if (!exists)
        return fail(r, rp, now, err, "NotFound: the node provider is not registered");
    return rnp_put(r, &np, true, err) && done(r, rp, now, err);
}

/* UpdateNodeRewardsTable (NnsFunction 20): the table replaces every provider's monthly XDR
 * amount; every listed provider must be registered. */
static bool exec_rewards_table(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err)
{
    const gov_action_t *a = rp->p.f.action;
    gov_node_provider_t np;
    for (size_t i = 0; i < a->u.nns.nrewards; i++)
        if (!rnp_get(r, &a->u.nns.rewards[i].node_provider, &np))
            return fail(r, rp, now, err, "NotFound: node provider %zu of the table is unknown", i);
    gov_node_provider_t *all;
    size_t n;
    if (!rnp_all(r, &all, &n))
        return oom(err);
    for (size_t j = 0; j < n; j++) {
        bool listed = false;
        for (size_t i = 0; i < a->u.nns.nrewards; i++)
            if (principal_equal(&a->u.nns.rewards[i].node_provider, &all[j].id)) {
                listed = true;
                all[j].has_xdr_permyriad_per_month = true;
                all[j].xdr_permyriad_per_month = a->u.nns.rewards[i].xdr_permyriad_per_month;
            }
        if (!listed) {
            if (!all[j].has_xdr_permyriad_per_month)
                continue;
            all[j].has_xdr_permyriad_per_month = false;
            all[j].xdr_permyriad_per_month = 0;
        }
        if (!rnp_put(r, &all[j], false, err)) {
            free(all);
            return false;
        }
    }
    free(all);
    return done(r, rp, now, err);
}

/* ---- mints of node-provider rewards (governance.rs reward_node_provider(s)) ---- */

static const gov_np_reward_t *reward_at(const gov_action_t *a, size_t i, size_t *n)
{
    if (a->kind == GOV_ACTION_REWARD_NODE_PROVIDER) {
        *n = 1;
        return &a->u.reward_node_provider.reward;
    }
    *n = a->u.reward_node_providers.n;
    return &a->u.reward_node_providers.rewards[i];
}

/* Starts the mint of reward i (the flow f exists in the round or is new). */
static bool mint_reward(gov_round_t *r, gov_inflight_t *f, const gov_np_reward_t *w, uint64_t now,
                        nns_error_t *err)
{
    gov_node_provider_t np;
    memset(&np, 0, sizeof np);
    (void)rnp_get(r, &w->node_provider, &np);
    if (w->to_neuron) {
        /* RewardToNeuron: a new neuron of the provider, locked until minted */
        static _Thread_local gov_neuron_full_t n;
        memset(&n, 0, sizeof n);
        n.n.id = w->candidate_id;
        n.n.controller = w->node_provider;
        gov_neuron_staking_subaccount(&w->node_provider, w->candidate_nonce, n.n.subaccount);
        uint64_t max = gov_max_dissolve_delay(r->core.rules);
        uint64_t d = w->dissolve_delay_seconds < max ? w->dissolve_delay_seconds : max;
        if (d > 0) {
            n.n.dissolve.dissolve_delay_seconds = d;
            n.n.dissolve.aging_since_timestamp_seconds = now;
        } else {
            n.n.dissolve.dissolving = true;
            n.n.dissolve.when_dissolved_timestamp_seconds = now;
        }
        n.n.cached_neuron_stake_e8s = w->amount_e8s;
        n.n.created_timestamp_seconds = now;
        n.n.visibility = GOV_VISIBILITY_PRIVATE;
        n.n.voting_power_refreshed_timestamp_seconds = now;
        uint64_t other;
        if (rexists(r, n.n.id) || rsub(r, n.n.subaccount, &other))
            return nns_error_set(err, 409, "IdInUse", "neuron id or subaccount in use");
        if (!rput(r, &n, true, err) || !rlock(r, n.n.id, f->id, err) ||
            !revent(r, n.n.id, "created", now, w->amount_e8s, 0, err,
                    "node provider reward (proposal %llu)", (unsigned long long)f->proposal_id))
            return false;
        f->neuron_id = n.n.id;
        account_id_of(&r->g->cfg.governance_id, n.n.subaccount, &f->to);
    } else {
        f->neuron_id = 0;
        f->to = w->to_account;
    }
    f->amount_e8s = w->amount_e8s;
    gov_intent_t in;
    memset(&in, 0, sizeof in);
    in.kind = GOV_INTENT_TRANSFER;
    in.purpose = GOV_PURPOSE_MINT;
    in.target = GOV_TARGET_LEDGER;
    in.to = f->to;
    in.amount = w->amount_e8s;
    in.fee = 0;
    return rintent(r, f, &in, now, err) && rflow_put(r, f, err);
}

static bool exec_rewards(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err)
{
    const gov_action_t *a = rp->p.f.action;
    if (a->kind == GOV_ACTION_REWARD_NODE_PROVIDERS &&
        a->u.reward_node_providers.use_registry_derived_rewards) {
        /* governance.rs reward_node_providers with use_registry_derived_rewards: the monthly
         * node-provider rewards start now (gov_reward_flow.c rw_np_request) */
        nns_error_t busy;
        nns_error_clear(&busy);
        if (!rw_np_request(r, now, &busy)) {
            if (busy.status >= 500) {
                *err = busy;
                return false;
            }
            return fail(r, rp, now, err, "%s: %s", busy.code, busy.detail);
        }
        return done(r, rp, now, err);
    }
    size_t n;
    reward_at(a, 0, &n);
    const gov_economics_t *e = &r->core.eco;
    for (size_t i = 0; i < n; i++) {
        const gov_np_reward_t *w = reward_at(a, i, &n);
        gov_node_provider_t np;
        if (!rnp_get(r, &w->node_provider, &np))
            return fail(r, rp, now, err, "NotFound: node provider of reward %zu is unknown", i);
        if (w->amount_e8s > e->maximum_node_provider_rewards_e8s)
            return fail(r, rp, now, err,
                        "PreconditionFailed: reward %zu exceeds maximum_node_provider_rewards_e8s",
                        i);
        if (w->to_neuron) {
            uint64_t other;
            uint8_t sub[SUBACCOUNT_BYTES];
            gov_neuron_staking_subaccount(&w->node_provider, w->candidate_nonce, sub);
            if (rexists(r, w->candidate_id) || rsub(r, sub, &other))
                return fail(r, rp, now, err, "IdInUse: the new neuron's id is in use");
        }
    }
    gov_inflight_t f;
    memset(&f, 0, sizeof f);
    f.id = flow_new_id(r);
    f.kind = GOV_FLOW_PROPOSAL_MINT;
    f.step = GOV_STEP_MINT;
    f.proposal_id = rp->p.f.p.id;
    f.mints_left = (uint32_t)(n - 1);
    f.started_at_seconds = now;
    rp->p.f.p.exec_flow_id = f.id;
    nns_error_t e2;
    nns_error_clear(&e2);
    if (!mint_reward(r, &f, reward_at(a, 0, &n), now, &e2)) {
        if (is_oom(&e2))
            return oom(err);
        return fail(r, rp, now, err, "%s: %s", e2.code, e2.detail);
    }
    return true;
}

/* ---- the cmc's functions (Decision 3, 5): a signed POST with a JSON body ---- */

static size_t json_principals(char *out, size_t cap, const principal_t *ps, size_t n)
{
    size_t off = (size_t)snprintf(out, cap, "[");
    for (size_t i = 0; i < n && off < cap; i++) {
        char t[PRINCIPAL_TEXT_MAX];
        principal_to_text(&ps[i], t);
        off += (size_t)snprintf(out + off, cap - off, "%s\"%s\"", i ? "," : "", t);
    }
    if (off < cap)
        off += (size_t)snprintf(out + off, cap - off, "]");
    return off;
}

static bool exec_cmc(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err)
{
    const gov_action_t *a = rp->p.f.action;
    gov_intent_t in_, *in = &in_;
    memset(in, 0, sizeof *in);
    char *list = malloc(GOV_INTENT_BODY_MAX), *body = malloc(GOV_INTENT_BODY_MAX);
    if (!body || !list) {
        free(body);
        free(list);
        return oom(err);
    }
    in->kind = GOV_INTENT_POST;
    in->purpose = GOV_PURPOSE_CMC_POST;
    in->target = GOV_TARGET_CMC;
    in->body = body;
    size_t cap = GOV_INTENT_BODY_MAX, len = 0;
    switch (a->u.nns.nns_function) {
    case GOV_NNS_ICP_XDR_CONVERSION_RATE:
        snprintf(in->path, sizeof in->path, "/v1/cycles/conversion-rate");
        len = (size_t)snprintf(
            in->body, cap, "{\"timestamp_seconds\":\"%llu\",\"xdr_permyriad_per_icp\":\"%llu\"}",
            (unsigned long long)a->u.nns.timestamp_seconds,
            (unsigned long long)a->u.nns.xdr_permyriad_per_icp);
        break;
    case GOV_NNS_SET_AUTHORIZED_SUBNETWORKS: {
        snprintf(in->path, sizeof in->path, "/v1/subnets/authorized");
        json_principals(list, GOV_INTENT_BODY_MAX, a->u.nns.subnets, a->u.nns.nsubnets);
        if (a->u.nns.has_who) {
            char who[PRINCIPAL_TEXT_MAX];
            principal_to_text(&a->u.nns.who, who);
            len = (size_t)snprintf(in->body, cap, "{\"who\":\"%s\",\"subnets\":%s}", who, list);
        } else {
            len = (size_t)snprintf(in->body, cap, "{\"subnets\":%s}", list);
        }
        break;
    }
    case GOV_NNS_UPDATE_SUBNET_TYPE:
        snprintf(in->path, sizeof in->path, "/v1/subnets/types");
        len = (size_t)snprintf(in->body, cap, "{\"%s\":\"%s\"}", a->u.nns.add ? "add" : "remove",
                               a->u.nns.subnet_type);
        break;
    default: /* GOV_NNS_CHANGE_SUBNET_TYPE_ASSIGNMENT */
        snprintf(in->path, sizeof in->path, "/v1/subnets/type-assignments");
        json_principals(list, GOV_INTENT_BODY_MAX, a->u.nns.subnets, a->u.nns.nsubnets);
        len = (size_t)snprintf(in->body, cap, "{\"%s\":{\"subnets\":%s,\"subnet_type\":\"%s\"}}",
                               a->u.nns.add ? "add" : "remove", list, a->u.nns.subnet_type);
        break;
    }
    free(list);
    if (len >= cap) {
        free(body);
        return fail(r, rp, now, err, "InvalidProposal: the payload is too large to send");
    }
    gov_inflight_t f;
    memset(&f, 0, sizeof f);
    f.id = flow_new_id(r);
    f.kind = GOV_FLOW_PROPOSAL_CALL;
    f.step = GOV_STEP_POST;
    f.proposal_id = rp->p.f.p.id;
    f.started_at_seconds = now;
    rp->p.f.p.exec_flow_id = f.id;
    bool ok = rintent(r, &f, in, now, err) && rflow_put(r, &f, err);
    free(body);
    return ok;
}

/* RewardNodeProviders with use_registry_derived_rewards starts the monthly rewards
 * (gov_reward_flow.c). */
bool execute_proposal(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err)
{
    const gov_action_t *a = rp->p.f.action;
    switch (a->kind) {
    case GOV_ACTION_MANAGE_NEURON:
        return exec_manage_neuron(r, rp, now, err);
    case GOV_ACTION_MANAGE_NETWORK_ECONOMICS: {
        gov_economics_t merged;
        nns_error_t e;
        nns_error_clear(&e);
        if (!economics_merge(r->core.rules, &r->core.eco, a->u.economics.mask,
                             &a->u.economics.values, &merged, &e))
            return fail(r, rp, now, err, "%s: %s", e.code, e.detail);
        rcore(r)->eco = merged;
        return done(r, rp, now, err);
    }
    case GOV_ACTION_REGISTER_KNOWN_NEURON:
        return exec_register_known(r, rp, now, err);
    case GOV_ACTION_DEREGISTER_KNOWN_NEURON:
        return exec_deregister_known(r, rp, now, err);
    case GOV_ACTION_APPROVE_GENESIS_KYC:
        return exec_kyc(r, rp, now, err);
    case GOV_ACTION_ADD_OR_REMOVE_NODE_PROVIDER:
        return exec_node_provider(r, rp, now, err);
    case GOV_ACTION_REWARD_NODE_PROVIDER:
    case GOV_ACTION_REWARD_NODE_PROVIDERS:
        return exec_rewards(r, rp, now, err);
    case GOV_ACTION_EXECUTE_NNS_FUNCTION:
        switch (a->u.nns.nns_function) {
        case GOV_NNS_ICP_XDR_CONVERSION_RATE:
        case GOV_NNS_SET_AUTHORIZED_SUBNETWORKS:
        case GOV_NNS_UPDATE_SUBNET_TYPE:
        case GOV_NNS_CHANGE_SUBNET_TYPE_ASSIGNMENT:
            return exec_cmc(r, rp, now, err);
        case GOV_NNS_UPDATE_NODE_REWARDS_TABLE:
            return exec_rewards_table(r, rp, now, err);
        default:
            return done(r, rp, now, err); /* recorded with its payload (Decision 3) */
        }
    default: /* Motion; infrastructure actions recorded with their payload (Decision 3) */
        return done(r, rp, now, err);
    }
}

/* ---- answers ---- */

static bool intent_flow(gov_round_t *r, uint64_t intent_id, gov_intent_kind_t kind,
                        gov_intent_t *in, gov_inflight_t *f, nns_error_t *err)
{
    if (!rintent_get(r, intent_id, in))
        return nns_error_set(err, 404, "UnknownIntent", "intent %llu is not in flight",
                             (unsigned long long)intent_id);
    if (in->kind != kind)
        return nns_error_set(err, 409, "WrongIntent", "intent %llu is not of that kind",
                             (unsigned long long)intent_id);
    if (!rflow(r, in->flow_id, f) || f->intent_id != intent_id)
        return nns_error_set(err, 404, "UnknownIntent", "intent %llu has no operation in flight",
                             (unsigned long long)intent_id);
    return rintent_finish(r, intent_id, err);
}

static void outcome_of(gov_outcome_t *out, const gov_inflight_t *f, bool finished)
{
    memset(out, 0, sizeof *out);
    out->finished = finished;
    out->ok = true;
    out->flow_id = f->id;
    out->has_request = false;
}

bool gov_apply_call_done(gov_t *g, gov_round_t *r, uint64_t intent_id, const gov_call_result_t *res,
                         uint64_t now, gov_outcome_t *out, nns_error_t *err)
{
    (void)g;
    nns_error_clear(err);
    memset(out, 0, sizeof *out);
    gov_intent_t in;
    gov_inflight_t f;
    if (!intent_flow(r, intent_id, GOV_INTENT_POST, &in, &f, err))
        return false;
    if (!rflow_end(r, &f, err))
        return false;
    char reason[GOV_FAILURE_REASON_MAX];
    snprintf(reason, sizeof reason, "External: the cycles minting service answered %d: %s",
             res->status, res->error);
    if (f.proposal_id &&
        !proposal_settle_execution(r, f.proposal_id, res->ok, res->ok ? NULL : reason, now, err))
        return false;
    outcome_of(out, &f, true);
    out->ok = res->ok;
    return true;
}

/* The answer of a node-provider reward mint (gov_apply_transfer_done hands it over). */
bool proposal_mint_done(gov_round_t *r, const gov_inflight_t *fl, const gov_transfer_result_t *res,
                        uint64_t now, gov_outcome_t *out, nns_error_t *err)
{
    gov_inflight_t f = *fl;
    const prop_t *p = rprop_get(r, f.proposal_id);
    if (!p)
        return nns_error_set(err, 500, "CorruptState", "the rewarded proposal is gone");
    size_t n;
    reward_at(p->f.action, 0, &n);
    size_t i = n - 1 - f.mints_left;
    const gov_np_reward_t *w = reward_at(p->f.action, i, &n);
    if (f.neuron_id && !rflow_end(r, &f, err)) /* unlocks the rewarded neuron */
        return false;
    if (!res->ok) {
        if (f.neuron_id && !rremove(r, f.neuron_id, err))
            return false;
        if (!f.neuron_id && !rflow_end(r, &f, err))
            return false;
        char reason[GOV_FAILURE_REASON_MAX];
        snprintf(reason, sizeof reason, "External: the ledger refused mint %zu: %s", i, res->error);
        if (!proposal_settle_execution(r, f.proposal_id, false, reason, now, err))
            return false;
        outcome_of(out, &f, true);
        out->ok = false;
        return true;
    }
    gov_node_provider_t np;
    if (rnp_get(r, &w->node_provider, &np)) {
        np.has_last_reward = true;
        np.last_reward_amount_e8s = w->amount_e8s;
        np.last_reward_timestamp_seconds = now;
        np.last_reward_block_index = res->block_index;
        if (!rnp_put(r, &np, false, err))
            return false;
    }
    if (f.mints_left == 0) {
        if (!f.neuron_id && !rflow_end(r, &f, err))
            return false;
        if (!proposal_settle_execution(r, f.proposal_id, true, NULL, now, err))
            return false;
        outcome_of(out, &f, true);
        return true;
    }
    /* the next reward, same flow */
    f.mints_left--;
    gov_inflight_t next = f;
    next.neuron_id = 0;
    nns_error_t e2;
    nns_error_clear(&e2);
    if (!mint_reward(r, &next, reward_at(p->f.action, i + 1, &n), now, &e2)) {
        if (is_oom(&e2))
            return oom(err);
        char reason[GOV_FAILURE_REASON_MAX];
        error_reason(&e2, reason);
        if (!rflow_end(r, &next, err) ||
            !proposal_settle_execution(r, f.proposal_id, false, reason, now, err))
            return false;
        outcome_of(out, &f, true);
        out->ok = false;
        return true;
    }
    outcome_of(out, &next, false);
    return true;
}

/* ---- periodic work ---- */

static bool purgeable(const gov_proposal_t *p, uint64_t now)
{
    gov_proposal_status_t s = gov_proposal_status(p);
    gov_reward_status_t w = gov_proposal_reward_status(p, now);
    return (s == GOV_PROPOSAL_REJECTED || s == GOV_PROPOSAL_EXECUTED || s == GOV_PROPOSAL_FAILED) &&
           (w == GOV_REWARD_SETTLED || w == GOV_REWARD_INELIGIBLE) && !p->ballots_held;
}

static bool release_due(const gov_proposal_t *p, uint64_t now)
{
    return p->action_kind == GOV_ACTION_MANAGE_NEURON && p->ballots_held &&
           p->decided_timestamp_seconds != 0 && now >= gov_proposal_deadline(p);
}

/* Visits the proposals as of the round (committed ones not in the round, then the round's). */
static size_t all_props(const gov_round_t *r, const prop_t **out, size_t cap)
{
    size_t n = 0;
    const gov_t *g = r->g;
    for (size_t i = 0; i < g->nprops && n < cap; i++) {
        const prop_t *p = rprop_get(r, g->props[i]->f.p.id);
        if (p)
            out[n++] = p;
    }
    for (size_t i = 0; i < r->nrprops && n < cap; i++)
        if (r->rprops[i]->created && !r->rprops[i]->forgotten)
            out[n++] = &r->rprops[i]->p;
    return n;
}

bool proposals_due(const gov_t *g, uint64_t now)
{
    if (g->core.neurons > 0 && g->nprops > 0 && now / GOV_ONE_DAY > g->core.last_snapshot_day)
        return true;
    size_t per_topic[GOV_TOPICS] = {0};
    for (size_t i = 0; i < g->nprops; i++) {
        const gov_proposal_t *p = &g->props[i]->f.p;
        if ((p->decided_timestamp_seconds == 0 && now >= gov_proposal_deadline(p)) ||
            release_due(p, now))
            return true;
        if (p->topic >= 0 && p->topic < GOV_TOPICS && purgeable(p, now))
            per_topic[p->topic]++;
    }
    for (int t = 0; t < GOV_TOPICS; t++)
        if (per_topic[t] > 0 && per_topic[t] > g->core.eco.max_proposals_to_keep_per_topic)
            return true;
    return false;
}

bool proposals_tick(gov_round_t *r, uint64_t now, bool *work, nns_error_t *err)
{
    const gov_t *g = r->g;
    size_t cap = g->nprops + r->nrprops + 1;
    const prop_t **ps = malloc(cap * sizeof *ps);
    uint64_t *ids = malloc(cap * sizeof *ids);
    if (!ps || !ids) {
        free(ps);
        free(ids);
        return oom(err);
    }
    size_t n = all_props(r, ps, cap);
    for (size_t i = 0; i < n; i++)
        ids[i] = ps[i]->f.p.id;
    bool ok = true;
    /* decisions at deadlines and the release of ManageNeuron ballots */
    for (size_t i = 0; ok && i < n; i++) {
        const prop_t *p = rprop_get(r, ids[i]);
        if (!p)
            continue;
        if (p->f.p.decided_timestamp_seconds == 0 && now >= gov_proposal_deadline(&p->f.p)) {
            rprop_t *rp = rprop_edit(r, ids[i], false, err);
            ok = rp && process_proposal(r, rp, now, err);
            *work = true;
        }
        p = rprop_get(r, ids[i]);
        if (ok && p && release_due(&p->f.p, now)) {
            ok = rprop_release_ballots(r, ids[i], err);
            *work = true;
        }
    }
    /* governance.rs maybe_gc: per topic, the oldest purgeable proposals beyond the maximum */
    uint32_t keep = r->core.eco.max_proposals_to_keep_per_topic;
    for (int32_t t = 0; ok && t < GOV_TOPICS; t++) {
        size_t count = 0;
        for (size_t i = 0; i < n; i++) {
            const prop_t *p = rprop_get(r, ids[i]);
            if (p && p->f.p.topic == t)
                count++;
        }
        for (size_t i = 0; ok && i < n && count > keep; i++) {
            const prop_t *p = rprop_get(r, ids[i]);
            if (!p || p->f.p.topic != t || !purgeable(&p->f.p, now))
                continue;
            rprop_t *rp = rprop_edit(r, ids[i], false, err);
            if (!rp) {
                ok = false;
                break;
            }
            rp->forgotten = true;
            count--;
            *work = true;
        }
    }
    free(ps);
    free(ids);
    if (!ok)
        return false;
    /* the daily voting-power snapshot (4.5), once proposals exist */
    if (r->core.neurons > 0 && (g->nprops > 0 || r->nrprops > 0) &&
        now / GOV_ONE_DAY > r->core.last_snapshot_day) {
        if (!rsnapshot_take(r, now, err))
            return false;
        *work = true;
    }
    return true;
}
