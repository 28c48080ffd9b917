/*
 * gov_flow.c: the flows' later steps (the answers of intents), the periodic work and genesis.
 * Every answer finishes its intent exactly once; the flow then emits its next intent or ends,
 * unlocking its neurons (and a claim's subaccount).
 */
#include "gov_internal.h"

#include <stdio.h>
#include <string.h>

void outcome_pending(gov_outcome_t *out, const gov_inflight_t *f)
{
    memset(out, 0, sizeof *out);
    out->finished = false;
    out->flow_id = f->id;
    out->has_request = f->has_request;
    out->command = f->command;
    out->neuron_id = f->neuron_id;
}

static void outcome_done(gov_outcome_t *out, const gov_inflight_t *f)
{
    outcome_pending(out, f);
    out->finished = true;
    out->ok = true;
}

/* A flow ends with an error for its request (the round itself goes on). */
static void outcome_failed(gov_outcome_t *out, const gov_inflight_t *f, const nns_error_t *e)
{
    outcome_pending(out, f);
    out->finished = true;
    out->ok = false;
    out->error = *e;
}

static void external(nns_error_t *e, const char *what, const gov_transfer_result_t *res)
{
    nns_error_set(e, 502, "External", "the ledger refused the %s: %s", what, res->error);
    nns_error_add(e, "error_code", (uint64_t)res->error_code);
}

static void minting_account(const gov_round_t *r, account_id_t *out)
{
    account_id_of(&r->g->cfg.governance_id, NULL, out);
}

static bool transfer_intent(gov_round_t *r, gov_inflight_t *f, gov_purpose_t purpose,
                            const uint8_t *from_sub, const account_id_t *to, uint64_t amount,
                            uint64_t fee, uint64_t now, nns_error_t *err)
{
    gov_intent_t in;
    memset(&in, 0, sizeof in);
    in.kind = GOV_INTENT_TRANSFER;
    in.purpose = purpose;
    in.target = GOV_TARGET_LEDGER;
    if (from_sub)
        memcpy(in.from_subaccount, from_sub, SUBACCOUNT_BYTES);
    in.to = *to;
    in.amount = amount;
    in.fee = fee;
    return rintent(r, f, &in, now, err);
}

/* ---- merge (governance.rs merge_neurons; merge_neurons.rs MergeNeuronsEffect) ---- */

static bool merge_effects(gov_round_t *r, gov_inflight_t *f, uint64_t now, gov_outcome_t *out,
                          nns_error_t *err)
{
    static _Thread_local gov_neuron_full_t src, tgt;
    if (!rget(r, f->other_neuron_id, &src) || !rget(r, f->neuron_id, &tgt))
        return nns_error_set(err, 500, "CorruptState", "a merged neuron is gone");
    uint64_t moved = f->amount_e8s;
    if (moved > 0) {
        uint64_t out_of_source = moved + f->fee_e8s;
        src.n.cached_neuron_stake_e8s = src.n.cached_neuron_stake_e8s > out_of_source
                                            ? src.n.cached_neuron_stake_e8s - out_of_source
                                            : 0;
        tgt.n.cached_neuron_stake_e8s += moved;
    }
    src.n.dissolve.dissolving = false;
    src.n.dissolve.when_dissolved_timestamp_seconds = 0;
    src.n.dissolve.aging_since_timestamp_seconds = f->merge_source_aging_since_seconds;
    tgt.n.dissolve.dissolving = false;
    tgt.n.dissolve.when_dissolved_timestamp_seconds = 0;
    tgt.n.dissolve.dissolve_delay_seconds = f->merge_target_dissolve_delay_seconds;
    tgt.n.dissolve.aging_since_timestamp_seconds = f->merge_target_aging_since_seconds;
    uint64_t mat = src.n.maturity_e8s_equivalent, smat = src.n.staked_maturity_e8s_equivalent;
    uint64_t gang = src.n.eight_year_gang_bonus_base_e8s; /* M70: the whole base moves */
    tgt.n.maturity_e8s_equivalent += mat;
    tgt.n.staked_maturity_e8s_equivalent += smat;
    tgt.n.eight_year_gang_bonus_base_e8s += gang;
    src.n.maturity_e8s_equivalent = 0;
    src.n.staked_maturity_e8s_equivalent = 0;
    src.n.eight_year_gang_bonus_base_e8s = 0;
    if (!rput(r, &src, false, err) || !rput(r, &tgt, false, err) || !rflow_end(r, f, err) ||
        !revent(r, src.n.id, "merged_into", now, moved, tgt.n.id, err,
                "stake %llu e8s and maturity %llu e8s moved to neuron %llu",
                (unsigned long long)moved, (unsigned long long)mat, (unsigned long long)tgt.n.id) ||
        !revent(r, tgt.n.id, "merged", now, moved, src.n.id, err,
                "neuron %llu merged in: stake %llu e8s, maturity %llu e8s",
                (unsigned long long)src.n.id, (unsigned long long)moved, (unsigned long long)mat))
        return false;
    outcome_done(out, f);
    out->source_neuron_id = src.n.id;
    return true;
}

bool merge_next(gov_round_t *r, gov_inflight_t *f, uint64_t now, gov_outcome_t *out,
                nns_error_t *err)
{
    static _Thread_local gov_neuron_full_t src;
    if (!rget(r, f->other_neuron_id, &src))
        return nns_error_set(err, 500, "CorruptState", "the source neuron is gone");
    if (f->step == 0) {
        if (f->burn_e8s > f->fee_e8s) {
            account_id_t mint;
            minting_account(r, &mint);
            f->step = GOV_STEP_BURN_FEES;
            if (!transfer_intent(r, f, GOV_PURPOSE_BURN, src.n.subaccount, &mint, f->burn_e8s, 0,
                                 now, err) ||
                !rflow_put(r, f, err))
                return false;
            outcome_pending(out, f);
            return true;
        }
        if (src.n.neuron_fees_e8s) { /* too small to burn: dropped from the stake */
            uint64_t fees = src.n.neuron_fees_e8s;
            src.n.cached_neuron_stake_e8s =
                src.n.cached_neuron_stake_e8s > fees ? src.n.cached_neuron_stake_e8s - fees : 0;
            src.n.neuron_fees_e8s = 0;
            if (!rput(r, &src, false, err))
                return false;
        }
    }
    if (f->amount_e8s > 0) {
        account_id_t to;
        gov_neuron_full_t *tgt = &src; /* reuse: only the subaccount is needed */
        uint8_t from[SUBACCOUNT_BYTES];
        memcpy(from, src.n.subaccount, SUBACCOUNT_BYTES);
        if (!rget(r, f->neuron_id, tgt))
            return nns_error_set(err, 500, "CorruptState", "the target neuron is gone");
        account_id_of(&r->g->cfg.governance_id, tgt->n.subaccount, &to);
        f->step = GOV_STEP_TRANSFER;
        if (!transfer_intent(r, f, GOV_PURPOSE_TRANSFER, from, &to, f->amount_e8s, f->fee_e8s, now,
                             err) ||
            !rflow_put(r, f, err))
            return false;
        outcome_pending(out, f);
        return true;
    }
    return merge_effects(r, f, now, out, err);
}

/* ---- answers ---- */

static bool intent_and_flow(gov_round_t *r, uint64_t intent_id, gov_intent_kind_t kind,
                            gov_intent_t *in, gov_inflight_t *f, nns_error_t *err)
{
    if (!rintent_get(r, intent_id, in))
        return nns_error_set(err, 404, "UnknownIntent", "intent %llu is not in flight",
                             (unsigned long long)intent_id);
    if (in->kind != kind)
        return nns_error_set(err, 409, "WrongIntent", "intent %llu is not a %s",
                             (unsigned long long)intent_id,
                             kind == GOV_INTENT_TRANSFER ? "transfer" : "read");
    if (!rflow(r, in->flow_id, f) || f->intent_id != intent_id)
        return nns_error_set(err, 404, "UnknownIntent", "intent %llu has no operation in flight",
                             (unsigned long long)intent_id);
    return rintent_finish(r, intent_id, err);
}

/* governance.rs claim_neuron / refresh_neuron after the balance read. */
bool gov_apply_balance_read(gov_t *g, gov_round_t *r, uint64_t intent_id,
                            const gov_balance_result_t *res, uint64_t now, gov_outcome_t *out,
                            nns_error_t *err)
{
    nns_error_clear(err);
    memset(out, 0, sizeof *out);
    gov_intent_t in;
    gov_inflight_t f;
    if (!intent_and_flow(r, intent_id, GOV_INTENT_GET, &in, &f, err))
        return false;
    if (f.kind != GOV_FLOW_CLAIM)
        return nns_error_set(err, 409, "WrongIntent", "intent %llu is not a balance read",
                             (unsigned long long)intent_id);
    if (!rflow_end(r, &f, err))
        return false;
    const gov_economics_t *e = &r->core.eco;
    nns_error_t fail;
    nns_error_clear(&fail);
    bool creating = f.neuron_id == 0;
    if (!res->ok) {
        nns_error_set(&fail, 502, "External", "the ledger balance read failed: %s", res->error);
    } else if (res->balance_e8s < e->neuron_minimum_stake_e8s) {
        /* a new neuron is not created (upstream creates and removes it) */
        nns_error_set(&fail, 422, "InsufficientFunds",
                      "account balance %llu e8s is below the minimum stake %llu e8s",
                      (unsigned long long)res->balance_e8s,
                      (unsigned long long)e->neuron_minimum_stake_e8s);
        nns_error_add(&fail, "balance_e8s", res->balance_e8s);
        nns_error_add(&fail, "minimum_stake_e8s", e->neuron_minimum_stake_e8s);
    } else if (creating && (rexists(r, f.candidate_id) || f.candidate_id == 0)) {
        nns_error_set(&fail, 500, "IdInUse", "neuron id '%llu' is in use",
                      (unsigned long long)f.candidate_id);
    } else if (creating && r->core.neurons >= g->cfg.max_neurons) {
        nns_error_set(&fail, 422, "ResourceExhausted", "the maximum of %zu neurons is reached",
                      g->cfg.max_neurons);
    }
    if (nns_error_is_set(&fail)) {
        if (creating)
            gov_creation_limiter_give_back(&rcore(r)->lim, e->neuron_creation_spike);
        outcome_failed(out, &f, &fail);
        return true;
    }
    static _Thread_local gov_neuron_full_t n;
    if (creating) {
        memset(&n, 0, sizeof n);
        n.n.id = f.candidate_id;
        memcpy(n.n.subaccount, f.subaccount, SUBACCOUNT_BYTES);
        n.n.controller = f.controller;
        n.n.dissolve.dissolve_delay_seconds = GOV_INITIAL_NEURON_DISSOLVE_DELAY;
        n.n.dissolve.aging_since_timestamp_seconds = now;
        n.n.cached_neuron_stake_e8s = res->balance_e8s;
        n.n.created_timestamp_seconds = now;
        n.n.kyc_verified = true;
        n.n.visibility = GOV_VISIBILITY_PRIVATE;
        n.n.voting_power_refreshed_timestamp_seconds = now;
        if (!rput(r, &n, true, err) ||
            !revent(r, n.n.id, "created", now, res->balance_e8s, 0, err, "claimed with memo %llu",
                    (unsigned long long)f.memo))
            return false;
        outcome_done(out, &f);
        out->neuron_id = n.n.id;
        out->created = true;
        return true;
    }
    if (!rget(r, f.neuron_id, &n))
        return nns_error_set(err, 500, "CorruptState", "the refreshed neuron is gone");
    if (res->balance_e8s != n.n.cached_neuron_stake_e8s) {
        uint64_t before = n.n.cached_neuron_stake_e8s;
        gov_update_stake_adjust_age(&n.n.dissolve, &n.n.cached_neuron_stake_e8s, res->balance_e8s,
                                    now);
        if (!rput(r, &n, false, err) ||
            !revent(r, n.n.id, "refreshed", now, res->balance_e8s, 0, err,
                    "stake %llu e8s -> %llu e8s", (unsigned long long)before,
                    (unsigned long long)res->balance_e8s))
            return false;
    }
    outcome_done(out, &f);
    out->neuron_id = n.n.id;
    return true;
}

/* Split refused by the ledger: the parent gets its stake and maturity back, the child goes
 * (split_neuron.rs, the revert on a failed transfer). */
static bool split_revert(gov_round_t *r, const gov_inflight_t *f, uint64_t now, nns_error_t *err)
{
    static _Thread_local gov_neuron_full_t p;
    if (!rget(r, f->neuron_id, &p))
        return nns_error_set(err, 500, "CorruptState", "the split parent is gone");
    p.n.cached_neuron_stake_e8s += f->amount_e8s;
    p.n.maturity_e8s_equivalent += f->moved_maturity_e8s;
    p.n.staked_maturity_e8s_equivalent += f->moved_staked_maturity_e8s;
    p.n.eight_year_gang_bonus_base_e8s += f->moved_gang_base_e8s;
    gov_creation_limiter_give_back(&rcore(r)->lim, r->core.eco.neuron_creation_spike);
    return rput(r, &p, false, err) && rremove(r, f->other_neuron_id, err) &&
           revent(r, p.n.id, "split_reverted", now, f->amount_e8s, f->other_neuron_id, err,
                  "the ledger refused the transfer to neuron %llu",
                  (unsigned long long)f->other_neuron_id);
}

static bool transfer_done(gov_t *g, gov_round_t *r, uint64_t intent_id,
                          const gov_transfer_result_t *res, uint64_t now, gov_outcome_t *out,
                          nns_error_t *err)
{
    (void)g;
    nns_error_clear(err);
    memset(out, 0, sizeof *out);
    gov_intent_t in;
    gov_inflight_t f;
    if (!intent_and_flow(r, intent_id, GOV_INTENT_TRANSFER, &in, &f, err))
        return false;
    static _Thread_local gov_neuron_full_t n;
    nns_error_t fail;
    nns_error_clear(&fail);
    if (f.kind == GOV_FLOW_NODE_PROVIDER_MINT) /* monthly node-provider rewards */
        return rw_np_mint_done(r, &f, res, now, out, err);
    switch (f.kind) {
    case GOV_FLOW_DISBURSE:
        /* governance.rs disburse_neuron */
        if (!res->ok) {
            external(&fail, f.step == GOV_STEP_BURN_FEES ? "burn of the fees" : "disbursement",
                     res);
            break;
        }
        if (!rget(r, f.neuron_id, &n))
            return nns_error_set(err, 500, "CorruptState", "the disbursed neuron is gone");
        if (f.step == GOV_STEP_BURN_FEES) {
            uint64_t fees = n.n.neuron_fees_e8s;
            n.n.cached_neuron_stake_e8s =
                n.n.cached_neuron_stake_e8s > fees ? n.n.cached_neuron_stake_e8s - fees : 0;
            n.n.neuron_fees_e8s = 0;
            f.step = GOV_STEP_TRANSFER;
            if (!rput(r, &n, false, err) ||
                !revent(r, n.n.id, "fees_burned", now, fees, 0, err, "block %llu",
                        (unsigned long long)res->block_index) ||
                !transfer_intent(r, &f, GOV_PURPOSE_TRANSFER, n.n.subaccount, &f.to, f.amount_e8s,
                                 f.fee_e8s, now, err) ||
                !rflow_put(r, &f, err))
                return false;
            outcome_pending(out, &f);
            return true;
        }
        {
            uint64_t total = f.amount_e8s + f.fee_e8s;
            n.n.cached_neuron_stake_e8s =
                n.n.cached_neuron_stake_e8s > total ? n.n.cached_neuron_stake_e8s - total : 0;
            char hex[ACCOUNT_HEX_LEN + 1];
            account_id_to_hex(&f.to, hex);
            if (!rput(r, &n, false, err) || !rflow_end(r, &f, err) ||
                !revent(r, n.n.id, "disbursed", now, f.amount_e8s, 0, err, "to %s, block %llu", hex,
                        (unsigned long long)res->block_index))
                return false;
            outcome_done(out, &f);
            out->transfer_block_height = res->block_index;
            return true;
        }
    case GOV_FLOW_SPLIT:
        if (!res->ok) {
            if (!split_revert(r, &f, now, err))
                return false;
            external(&fail, "transfer to the split neuron", res);
            break;
        }
        if (!rget(r, f.other_neuron_id, &n))
            return nns_error_set(err, 500, "CorruptState", "the split child is gone");
        n.n.cached_neuron_stake_e8s = f.amount_e8s - f.fee_e8s;
        if (!rput(r, &n, false, err) || !rflow_end(r, &f, err))
            return false;
        outcome_done(out, &f);
        out->created_neuron_id = f.other_neuron_id;
        return true;
    case GOV_FLOW_MERGE:
        if (!res->ok) {
            external(&fail, f.step == GOV_STEP_BURN_FEES ? "burn of the fees" : "merge transfer",
                     res);
            break;
        }
        if (f.step == GOV_STEP_BURN_FEES) {
            if (!rget(r, f.other_neuron_id, &n))
                return nns_error_set(err, 500, "CorruptState", "the merged neuron is gone");
            uint64_t fees = n.n.neuron_fees_e8s;
            n.n.cached_neuron_stake_e8s =
                n.n.cached_neuron_stake_e8s > fees ? n.n.cached_neuron_stake_e8s - fees : 0;
            n.n.neuron_fees_e8s = 0;
            if (!rput(r, &n, false, err) ||
                !revent(r, n.n.id, "fees_burned", now, fees, 0, err, "block %llu",
                        (unsigned long long)res->block_index))
                return false;
            f.step = GOV_STEP_TRANSFER; /* merge_next: the transfer, or the effects at once */
            return merge_next(r, &f, now, out, err);
        }
        return merge_effects(r, &f, now, out, err);
    case GOV_FLOW_SPAWN_MINT:
        /* governance.rs maybe_spawn_neurons */
        if (!rget(r, f.neuron_id, &n))
            return nns_error_set(err, 500, "CorruptState", "the spawning neuron is gone");
        if (!res->ok) {
            /* the child stays Spawning; a later tick mints again */
            if (!rflow_end(r, &f, err))
                return false;
            external(&fail, "mint of the spawned neuron", res);
            break;
        }
        n.n.cached_neuron_stake_e8s = f.amount_e8s;
        n.n.maturity_e8s_equivalent = 0;
        n.n.has_spawn_at = false;
        n.n.spawn_at_timestamp_seconds = 0;
        if (!rput(r, &n, false, err) || !rflow_end(r, &f, err) ||
            !revent(r, n.n.id, "spawn_minted", now, f.amount_e8s, 0, err,
                    "modulation %d permyriad, block %llu", (int)f.modulation_permyriad,
                    (unsigned long long)res->block_index))
            return false;
        outcome_done(out, &f);
        return true;
    case GOV_FLOW_MATURITY_MINT:
        /* governance/disburse_maturity.rs finalize_maturity_disbursement */
        if (!rget(r, f.neuron_id, &n))
            return nns_error_set(err, 500, "CorruptState", "the disbursing neuron is gone");
        if (!res->ok) {
            if (!rflow_end(r, &f, err))
                return false;
            external(&fail, "maturity disbursement", res);
            break;
        }
        for (uint8_t i = 0; i < n.ndisbursements; i++) {
            if (n.disbursements[i].timestamp_of_disbursement_seconds !=
                f.disbursement_timestamp_seconds)
                continue;
            memmove(&n.disbursements[i], &n.disbursements[i + 1],
                    (size_t)(n.ndisbursements - i - 1) * sizeof n.disbursements[0]);
            n.ndisbursements--;
            break;
        }
        if (!rput(r, &n, true, err) || !rflow_end(r, &f, err) ||
            !revent(r, n.n.id, "maturity_disbursement_finalized", now, f.amount_e8s, 0, err,
                    "modulation %d permyriad, block %llu", (int)f.modulation_permyriad,
                    (unsigned long long)res->block_index))
            return false;
        outcome_done(out, &f);
        return true;
    case GOV_FLOW_GENESIS_MINT:
        if (!res->ok && strncmp(res->error, "TxTooOld", 8) == 0) {
            /* never executed and never will be (call.h): the same mint with a new
             * created_at_time, the neuron still locked */
            account_id_t to = f.to;
            if (!transfer_intent(r, &f, GOV_PURPOSE_MINT, NULL, &to, f.amount_e8s, 0, now, err) ||
                !rflow_put(r, &f, err))
                return false;
            outcome_pending(out, &f);
            return true;
        }
        if (!rflow_end(r, &f, err))
            return false;
        if (!res->ok) {
            if (!revent(r, f.neuron_id, "genesis_mint_failed", now, f.amount_e8s, 0, err, "%s",
                        res->error))
                return false;
            external(&fail, "genesis mint", res);
            break;
        }
        if (!revent(r, f.neuron_id, "genesis_minted", now, f.amount_e8s, 0, err, "block %llu",
                    (unsigned long long)res->block_index))
            return false;
        outcome_done(out, &f);
        return true;
    default:
        return nns_error_set(err, 409, "WrongIntent", "intent %llu is not a transfer",
                             (unsigned long long)intent_id);
    }
    /* a refusal: the flow ends with the error (the split was reverted above) */
    if ((f.kind == GOV_FLOW_DISBURSE || f.kind == GOV_FLOW_SPLIT || f.kind == GOV_FLOW_MERGE) &&
        !rflow_end(r, &f, err))
        return false;
    outcome_failed(out, &f, &fail);
    return true;
}

/* The transfers of neuron flows (above), of node-provider reward mints (gov_exec.c), and the
 * end of a ManageNeuron proposal's command flow, which settles the proposal. */
bool gov_apply_transfer_done(gov_t *g, gov_round_t *r, uint64_t intent_id,
                             const gov_transfer_result_t *res, uint64_t now, gov_outcome_t *out,
                             nns_error_t *err)
{
    gov_intent_t in;
    gov_inflight_t f;
    if (rintent_get(r, intent_id, &in) && in.kind == GOV_INTENT_TRANSFER &&
        rflow(r, in.flow_id, &f) && f.intent_id == intent_id && f.kind == GOV_FLOW_PROPOSAL_MINT) {
        nns_error_clear(err);
        memset(out, 0, sizeof *out);
        if (!rintent_finish(r, intent_id, err))
            return false;
        return proposal_mint_done(r, &f, res, now, out, err);
    }
    uint64_t proposal_id = 0;
    if (rintent_get(r, intent_id, &in) && rflow(r, in.flow_id, &f))
        proposal_id = f.proposal_id;
    if (!transfer_done(g, r, intent_id, res, now, out, err))
        return false;
    if (proposal_id && out->finished) {
        char reason[GOV_FAILURE_REASON_MAX];
        error_reason(&out->error, reason);
        if (!proposal_settle_execution(r, proposal_id, out->ok, out->ok ? NULL : reason, now, err))
            return false;
    }
    return true;
}

/* timer_tasks/update_icp_xdr_rate_related_data.rs (current) or the cmc's
 * neuron_maturity_modulation (legacy, VALID_MATURITY_MODULATION_BASIS_POINTS_RANGE). */
bool gov_apply_modulation_read(gov_t *g, gov_round_t *r, uint64_t intent_id,
                               const gov_modulation_result_t *res, uint64_t now, gov_outcome_t *out,
                               nns_error_t *err)
{
    (void)g;
    nns_error_clear(err);
    memset(out, 0, sizeof *out);
    gov_intent_t in;
    gov_inflight_t f;
    if (!intent_and_flow(r, intent_id, GOV_INTENT_GET, &in, &f, err))
        return false;
    if (f.kind != GOV_FLOW_MODULATION)
        return nns_error_set(err, 409, "WrongIntent", "intent %llu is not a modulation read",
                             (unsigned long long)intent_id);
    if (!rflow_end(r, &f, err))
        return false;
    core_t *c = rcore(r);
    uint64_t today = now / GOV_ONE_DAY;
    if (!res->ok) {
        c->mm.requested_day = 0;
        c->mm.retry_at_seconds = now + 3600;
        nns_error_t fail;
        nns_error_set(&fail, 502, "External", "the modulation read failed: %s", res->error);
        outcome_failed(out, &f, &fail);
        return true;
    }
    c->mm.retry_at_seconds = 0;
    if (in.purpose == GOV_PURPOSE_MODULATION) {
        if (res->permyriad >= GOV_MODULATION_LEGACY_MIN &&
            res->permyriad <= GOV_MODULATION_LEGACY_MAX) {
            c->mm.permyriad = res->permyriad;
            c->mm.computed = true;
            c->mm.computed_day = today;
        }
    } else {
        int32_t v = 0;
        uint64_t elapsed =
            c->mm.computed && today > c->mm.computed_day ? today - c->mm.computed_day : 0;
        if (gov_m70_modulation(res->days, res->ndays, today, c->mm.computed, c->mm.permyriad,
                               elapsed, &v)) {
            c->mm.permyriad = v;
            c->mm.computed = true;
            c->mm.computed_day = today;
        } else if (!c->mm.computed) {
            c->mm.permyriad = 0; /* the history is shorter than the rule needs */
        }
    }
    outcome_done(out, &f);
    return true;
}

/* ---- periodic work (spec 10) ---- */

typedef struct {
    uint64_t now;
    size_t spawns, finalizations, returns, prunes;
    bool work;
    uint64_t next_due;
    nns_error_t *err;
    bool failed;
} tick_t;

static bool start_mint(gov_round_t *r, gov_flow_kind_t kind, const gov_neuron_full_t *n,
                       const account_id_t *to, uint64_t amount, uint64_t disb_ts, uint64_t now,
                       nns_error_t *err)
{
    gov_inflight_t f;
    memset(&f, 0, sizeof f);
    f.id = flow_new_id(r);
    f.kind = kind;
    f.step = GOV_STEP_MINT;
    f.neuron_id = n->n.id;
    f.to = *to;
    f.amount_e8s = amount;
    f.disbursement_timestamp_seconds = disb_ts;
    f.modulation_permyriad = r->core.mm.permyriad;
    f.started_at_seconds = now;
    return transfer_intent(r, &f, GOV_PURPOSE_MINT, NULL, to, amount, 0, now, err) &&
           rflow_put(r, &f, err) && rlock(r, n->n.id, f.id, err);
}

static bool tick_neuron(gov_round_t *r, const nrec_t *rec, void *ctx)
{
    tick_t *t = ctx;
    static _Thread_local gov_neuron_full_t n;
    uint64_t now = t->now;
    if (rlocked(r, rec->n.id))
        return true; /* its flow's end brings it back */
    full_from_rec(rec, &n);
    const gov_economics_t *e = &r->core.eco;
    bool changed = false, parts = false;
    /* staked maturity back to maturity when dissolved (spec 2.9; governance.rs
     * unstake_maturity_of_dissolved_neurons) */
    if (n.n.staked_maturity_e8s_equivalent > 0 && !n.n.has_spawn_at &&
        gov_dissolve_state(&n.n.dissolve, now) == GOV_STATE_DISSOLVED &&
        t->returns < GOV_STAKED_MATURITY_RETURNS_PER_TICK) {
        uint64_t s = n.n.staked_maturity_e8s_equivalent;
        n.n.maturity_e8s_equivalent += s;
        n.n.staked_maturity_e8s_equivalent = 0;
        t->returns++;
        changed = true;
        if (!revent(r, n.n.id, "staked_maturity_returned", now, s, 0, t->err,
                    "the neuron is dissolved"))
            goto fail;
    }
    /* following pruned (spec 3; neuron_store prune_some_following): all followees but
     * NeuronManagement once the voting power was not refreshed for R + C */
    uint64_t limit = n.n.voting_power_refreshed_timestamp_seconds +
                     e->start_reducing_voting_power_after_seconds +
                     e->clear_following_after_seconds;
    if (now >= limit && t->prunes < GOV_PRUNES_PER_TICK) {
        uint8_t j = 0, before = n.nfollowees;
        for (uint8_t i = 0; i < n.nfollowees; i++)
            if (n.followees[i].topic == GOV_TOPIC_NEURON_MANAGEMENT)
                n.followees[j++] = n.followees[i];
        if (j != before) {
            n.nfollowees = j;
            t->prunes++;
            changed = parts = true;
            if (!revent(r, n.n.id, "following_pruned", now, 0, 0, t->err,
                        "%u topics cleared after %llu seconds without refresh",
                        (unsigned)(before - j),
                        (unsigned long long)(now - n.n.voting_power_refreshed_timestamp_seconds)))
                goto fail;
        }
    }
    if (changed && !rput(r, &n, parts, t->err))
        goto fail;
    if (changed)
        t->work = true;
    /* spawning (governance.rs maybe_spawn_neurons) */
    if (n.n.has_spawn_at && n.n.spawn_at_timestamp_seconds <= now &&
        t->spawns < GOV_SPAWNS_PER_TICK) {
        uint64_t stake =
            gov_apply_maturity_modulation(n.n.maturity_e8s_equivalent, r->core.mm.permyriad);
        t->spawns++;
        t->work = true;
        if (stake == 0) {
            n.n.maturity_e8s_equivalent = 0;
            n.n.has_spawn_at = false;
            n.n.spawn_at_timestamp_seconds = 0;
            if (!rput(r, &n, false, t->err) ||
                !revent(r, n.n.id, "spawn_minted", now, 0, 0, t->err, "nothing to mint"))
                goto fail;
        } else {
            account_id_t to;
            account_id_of(&r->g->cfg.governance_id, n.n.subaccount, &to);
            if (!start_mint(r, GOV_FLOW_SPAWN_MINT, &n, &to, stake, 0, now, t->err))
                goto fail;
            return true;
        }
    }
    /* maturity disbursements (disburse_maturity.rs finalize_maturity_disbursement) */
    if (n.ndisbursements && n.disbursements[0].finalize_disbursement_timestamp_seconds <= now &&
        t->finalizations < GOV_FINALIZATIONS_PER_TICK) {
        const gov_disbursement_t *d = &n.disbursements[0];
        uint64_t amount = gov_apply_maturity_modulation(d->amount_e8s, r->core.mm.permyriad);
        t->finalizations++;
        t->work = true;
        if (amount == 0) {
            memmove(&n.disbursements[0], &n.disbursements[1],
                    (size_t)(n.ndisbursements - 1) * sizeof n.disbursements[0]);
            n.ndisbursements--;
            if (!rput(r, &n, true, t->err) || !revent(r, n.n.id, "maturity_disbursement_finalized",
                                                      now, 0, 0, t->err, "nothing to mint"))
                goto fail;
        } else {
            if (!start_mint(r, GOV_FLOW_MATURITY_MINT, &n, &d->to, amount,
                            d->timestamp_of_disbursement_seconds, now, t->err))
                goto fail;
            return true;
        }
    }
    uint64_t due = neuron_due_full(&r->core, &n);
    if (due < t->next_due)
        t->next_due = due;
    return true;
fail:
    t->failed = true;
    return false;
}

bool gov_apply_tick(gov_t *g, gov_round_t *r, uint64_t now, bool *work, nns_error_t *err)
{
    (void)g;
    nns_error_clear(err);
    *work = false;
    tick_t t;
    memset(&t, 0, sizeof t);
    t.now = now;
    t.err = err;
    t.next_due = UINT64_MAX;
    if (r->core.next_due <= now) {
        if (!rforeach(r, tick_neuron, &t))
            return false;
        rcore(r)->next_due = t.next_due;
        t.work = true;
    }
    if (modulation_due(&r->core, now)) {
        /* the daily modulation read: timer_tasks/update_icp_xdr_rate_related_data.rs (current),
         * governance.rs update maturity modulation from the cmc (legacy) */
        gov_inflight_t f;
        memset(&f, 0, sizeof f);
        f.id = flow_new_id(r);
        f.kind = GOV_FLOW_MODULATION;
        f.step = GOV_STEP_READ;
        f.started_at_seconds = now;
        gov_intent_t in;
        memset(&in, 0, sizeof in);
        in.kind = GOV_INTENT_GET;
        in.target = GOV_TARGET_CMC;
        uint64_t today = now / GOV_ONE_DAY;
        if (r->core.mm.source == GOV_MM_CMC) {
            in.purpose = GOV_PURPOSE_MODULATION;
            snprintf(in.path, sizeof in.path, "/v1/cycles/maturity-modulation");
        } else {
            in.purpose = GOV_PURPOSE_RATE_HISTORY;
            in.from_day = today >= GOV_MODULATION_REFERENCE_DAYS - 1
                              ? today - (GOV_MODULATION_REFERENCE_DAYS - 1)
                              : 0;
            in.to_day = today;
            snprintf(in.path, sizeof in.path,
                     "/v1/cycles/rate-history?from_day=%llu&to_day=%llu&limit=1000",
                     (unsigned long long)in.from_day, (unsigned long long)in.to_day);
        }
        core_t *c = rcore(r);
        c->mm.requested_day = today;
        c->mm_flow = f.id;
        if (!rintent(r, &f, &in, now, err) || !rflow_put(r, &f, err))
            return false;
        t.work = true;
    }
    /* proposals: decisions at deadlines, snapshots, forgetting (gov_exec.c) */
    if (!proposals_tick(r, now, &t.work, err))
        return false;
    /* the daily voting rewards and the monthly node-provider rewards (gov_reward_flow.c) */
    bool rewards = false;
    if (!rw_tick(r, now, &rewards, err))
        return false;
    *work = t.work || rewards;
    return true;
}

/* ---- genesis ---- */

static bool genesis_neuron_valid(const gov_round_t *r, const gov_genesis_t *gen,
                                 const gov_genesis_neuron_t *gn, nns_error_t *err)
{
    unsigned long long id = (unsigned long long)gn->id;
    if (gn->id == 0)
        return nns_error_set(err, 400, "BadRequest", "genesis neuron id 0 is not allowed");
    if (rexists(r, gn->id))
        return nns_error_set(err, 400, "BadRequest", "genesis neuron '%llu' is given twice", id);
    if (gn->controller.len == 0)
        return nns_error_set(err, 400, "BadRequest", "genesis neuron '%llu' has no controller", id);
    if (gn->stake_e8s < gen->economics.neuron_minimum_stake_e8s)
        return nns_error_set(err, 400, "BadRequest",
                             "genesis neuron '%llu' has a stake below the minimum", id);
    if (gn->dissolve_delay_seconds > gov_max_dissolve_delay(gen->rules))
        return nns_error_set(err, 400, "BadRequest",
                             "genesis neuron '%llu' has a dissolve delay above the maximum", id);
    if (gn->nhot_keys > GOV_HOT_KEYS_MAX || gn->nfollowees > GOV_TOPICS)
        return nns_error_set(err, 400, "BadRequest",
                             "genesis neuron '%llu' has too many hot keys or topics", id);
    for (uint8_t i = 0; i < gn->nhot_keys; i++)
        for (uint8_t j = 0; j < i; j++)
            if (principal_equal(&gn->hot_keys[i], &gn->hot_keys[j]))
                return nns_error_set(err, 400, "BadRequest",
                                     "genesis neuron '%llu' has a duplicate hot key", id);
    for (uint8_t i = 0; i < gn->nfollowees; i++) {
        if (!gov_topic_valid(gn->followees[i].topic) || gn->followees[i].n > GOV_FOLLOWEES_MAX)
            return nns_error_set(err, 400, "BadRequest",
                                 "genesis neuron '%llu' has a bad followee list", id);
        for (uint8_t j = 0; j < i; j++)
            if (gn->followees[j].topic == gn->followees[i].topic)
                return nns_error_set(err, 400, "BadRequest",
                                     "genesis neuron '%llu' repeats a topic", id);
    }
    if (gn->visibility != 0 && gn->visibility != GOV_VISIBILITY_PRIVATE &&
        gn->visibility != GOV_VISIBILITY_PUBLIC)
        return nns_error_set(err, 400, "BadRequest", "genesis neuron '%llu' has a bad visibility",
                             id);
    return true;
}

bool gov_apply_genesis(gov_t *g, gov_round_t *r, const gov_genesis_t *gen, uint64_t now,
                       nns_error_t *err)
{
    nns_error_clear(err);
    if (r->core.genesis_done)
        return nns_error_set(err, 422, "PreconditionFailed", "genesis was already applied");
    if (!rules_valid(gen->rules))
        return nns_error_set(err, 400, "BadRequest", "unknown rule set");
    if (gen->economics.neuron_minimum_stake_e8s == 0 ||
        gen->economics.max_proposals_to_keep_per_topic == 0)
        return nns_error_set(err, 400, "BadRequest",
                             "neuron_minimum_stake_e8s and max_proposals_to_keep_per_topic must "
                             "be positive");
    if (gen->has_modulation) {
        int32_t lo =
            gen->rules == GOV_RULES_LEGACY ? GOV_MODULATION_LEGACY_MIN : GOV_MODULATION_CURRENT_MIN;
        int32_t hi =
            gen->rules == GOV_RULES_LEGACY ? GOV_MODULATION_LEGACY_MAX : GOV_MODULATION_CURRENT_MAX;
        if (gen->maturity_modulation_permyriad < lo || gen->maturity_modulation_permyriad > hi)
            return nns_error_set(err, 400, "BadRequest",
                                 "maturity_modulation_permyriad must be in [%d, %d]", (int)lo,
                                 (int)hi);
    }
    /* neurons first (checks), so that a bad file changes nothing the caller keeps: the round is
     * discarded on failure */
    core_t *c = rcore(r);
    c->genesis_done = true;
    c->rules = gen->rules;
    c->genesis_ts = gen->genesis_timestamp_seconds;
    c->eco = gen->economics;
    if (gen->has_modulation) {
        memset(&c->mm, 0, sizeof c->mm);
        c->mm.source = GOV_MM_GENESIS;
        c->mm.permyriad = gen->maturity_modulation_permyriad;
        c->mm.computed = true;
    } else {
        modulation_source_default(&g->cfg, gen->rules, &c->mm);
    }
    gov_creation_limiter_init(&c->lim, c->eco.neuron_creation_spike, now);
    static _Thread_local gov_neuron_full_t n;
    for (size_t k = 0; k < gen->nneurons; k++) {
        const gov_genesis_neuron_t *gn = &gen->neurons[k];
        if (!genesis_neuron_valid(r, gen, gn, err))
            return false;
        memset(&n, 0, sizeof n);
        n.n.id = gn->id;
        gov_neuron_staking_subaccount(&gn->controller, gn->memo, n.n.subaccount);
        uint64_t other;
        if (rsub(r, n.n.subaccount, &other))
            return nns_error_set(err, 400, "BadRequest",
                                 "genesis neurons '%llu' and '%llu' have the same controller and "
                                 "memo",
                                 (unsigned long long)other, (unsigned long long)gn->id);
        n.n.controller = gn->controller;
        if (gn->dissolving) {
            n.n.dissolve.dissolving = true;
            n.n.dissolve.when_dissolved_timestamp_seconds = now + gn->dissolve_delay_seconds;
        } else {
            n.n.dissolve.dissolve_delay_seconds = gn->dissolve_delay_seconds;
            n.n.dissolve.aging_since_timestamp_seconds = now;
        }
        n.n.cached_neuron_stake_e8s = gn->stake_e8s;
        n.n.created_timestamp_seconds = now;
        n.n.kyc_verified = true;
        n.n.maturity_e8s_equivalent = gn->maturity_e8s_equivalent;
        n.n.visibility = gn->visibility ? gn->visibility : GOV_VISIBILITY_PRIVATE;
        n.n.voting_power_refreshed_timestamp_seconds = now;
        n.nhot_keys = gn->nhot_keys;
        memcpy(n.hot_keys, gn->hot_keys, (size_t)gn->nhot_keys * sizeof n.hot_keys[0]);
        /* followees in ascending topic order, empty lists dropped */
        for (uint8_t i = 0; i < gn->nfollowees; i++) {
            if (gn->followees[i].n == 0)
                continue;
            uint8_t j = n.nfollowees;
            while (j > 0 && n.followees[j - 1].topic > gn->followees[i].topic) {
                n.followees[j] = n.followees[j - 1];
                j--;
            }
            n.followees[j] = gn->followees[i];
            n.nfollowees++;
        }
        account_id_t to;
        account_id_of(&g->cfg.governance_id, n.n.subaccount, &to);
        if (!rput(r, &n, true, err) ||
            !revent(r, n.n.id, "genesis", now, gn->stake_e8s, 0, err, "genesis neuron, memo %llu",
                    (unsigned long long)gn->memo) ||
            !start_mint(r, GOV_FLOW_GENESIS_MINT, &n, &to, gn->stake_e8s, 0, now, err))
            return false;
    }
    return true;
}
