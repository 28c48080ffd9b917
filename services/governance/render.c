#include "render.h"

#include "account.h"
#include "jsonutil.h"

static json_t *principal_json(const principal_t *p)
{
    char t[PRINCIPAL_TEXT_MAX];
    principal_to_text(p, t);
    return json_string(t);
}

static json_t *account_json(const account_id_t *a)
{
    char t[ACCOUNT_HEX_LEN + 1];
    account_id_to_hex(a, t);
    return json_string(t);
}

static const char *state_name(gov_neuron_state_t s)
{
    switch (s) {
    case GOV_STATE_NOT_DISSOLVING:
        return "NotDissolving";
    case GOV_STATE_DISSOLVING:
        return "Dissolving";
    case GOV_STATE_DISSOLVED:
        return "Dissolved";
    case GOV_STATE_SPAWNING:
        return "Spawning";
    }
    return "NotDissolving";
}

static json_t *followees_json(const gov_neuron_full_t *n)
{
    json_t *arr = json_array();
    for (uint8_t i = 0; i < n->nfollowees && i < GOV_TOPICS; i++) {
        const gov_followees_t *f = &n->followees[i];
        json_t *ids = json_array();
        for (uint8_t k = 0; k < f->n && k < GOV_FOLLOWEES_MAX; k++)
            json_array_append_new(ids, json_u64(f->ids[k]));
        const char *name = gov_topic_name(f->topic);
        json_t *o = json_object();
        json_object_set_new(o, "topic", json_integer(f->topic));
        json_object_set_new(o, "topic_name", json_string(name ? name : "Unknown"));
        json_object_set_new(o, "followees", ids);
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *hot_keys_json(const gov_neuron_full_t *n)
{
    json_t *arr = json_array();
    for (uint8_t i = 0; i < n->nhot_keys && i < GOV_HOT_KEYS_MAX; i++)
        json_array_append_new(arr, principal_json(&n->hot_keys[i]));
    return arr;
}

json_t *gov_render_neuron(const gov_neuron_full_t *full_n, const principal_t *governance, bool full)
{
    const gov_neuron_t *n = &full_n->n;
    const gov_derived_t *d = &full_n->d;
    json_t *o = json_object();
    account_id_t acc;
    account_id_of(governance, n->subaccount, &acc);
    json_object_set_new(o, "id", json_u64(n->id));
    json_object_set_new(o, "account_identifier", account_json(&acc));
    json_object_set_new(o, "subaccount_hex", json_hex(n->subaccount, SUBACCOUNT_BYTES));
    json_object_set_new(o, "state", json_string(state_name(d->state)));
    json_object_set_new(o, "stake_e8s", json_u64(d->stake_e8s));
    json_object_set_new(o, "cached_neuron_stake_e8s", json_u64(n->cached_neuron_stake_e8s));
    json_object_set_new(o, "neuron_fees_e8s", json_u64(n->neuron_fees_e8s));
    json_object_set_new(o, "maturity_e8s_equivalent", json_u64(n->maturity_e8s_equivalent));
    json_object_set_new(o, "staked_maturity_e8s_equivalent",
                        json_u64(n->staked_maturity_e8s_equivalent));
    json_object_set_new(o, "dissolve_delay_seconds", json_u64(d->dissolve_delay_seconds));
    json_object_set_new(o, "age_seconds", json_u64(d->age_seconds));
    if (n->dissolve.dissolving)
        json_object_set_new(o, "when_dissolved_timestamp_seconds",
                            json_u64(n->dissolve.when_dissolved_timestamp_seconds));
    else
        json_object_set_new(o, "aging_since_timestamp_seconds",
                            json_u64(n->dissolve.aging_since_timestamp_seconds));
    json_object_set_new(o, "potential_voting_power", json_u64(d->potential_voting_power));
    json_object_set_new(o, "deciding_voting_power", json_u64(d->deciding_voting_power));
    json_object_set_new(o, "voting_power_refreshed_timestamp_seconds",
                        json_u64(n->voting_power_refreshed_timestamp_seconds));
    bool public_neuron = n->visibility == GOV_VISIBILITY_PUBLIC;
    json_object_set_new(o, "visibility", json_string(public_neuron ? "public" : "private"));
    json_object_set_new(o, "known_neuron", json_null());
    json_object_set_new(o, "created_timestamp_seconds", json_u64(n->created_timestamp_seconds));
    json_object_set_new(o, "neuron_type", json_integer(n->neuron_type));
    json_object_set_new(o, "eight_year_gang_bonus_base_e8s",
                        json_u64(n->eight_year_gang_bonus_base_e8s));
    if (full || public_neuron) {
        json_object_set_new(o, "controller", principal_json(&n->controller));
        json_object_set_new(o, "hot_keys", hot_keys_json(full_n));
        json_object_set_new(o, "followees", followees_json(full_n));
    }
    if (!full)
        return o;
    json_object_set_new(o, "kyc_verified", json_boolean(n->kyc_verified));
    json_object_set_new(o, "not_for_profit", json_boolean(n->not_for_profit));
    json_object_set_new(o, "auto_stake_maturity", json_boolean(n->auto_stake_maturity));
    if (n->has_joined_community_fund)
        json_object_set_new(o, "joined_community_fund_timestamp_seconds",
                            json_u64(n->joined_community_fund_timestamp_seconds));
    if (n->has_spawn_at)
        json_object_set_new(o, "spawn_at_timestamp_seconds",
                            json_u64(n->spawn_at_timestamp_seconds));
    json_t *ds = json_array();
    for (uint8_t i = 0; i < full_n->ndisbursements && i < GOV_DISBURSEMENTS_MAX; i++) {
        const gov_disbursement_t *m = &full_n->disbursements[i];
        json_t *x = json_object();
        json_object_set_new(x, "amount_e8s", json_u64(m->amount_e8s));
        json_object_set_new(x, "timestamp_of_disbursement_seconds",
                            json_u64(m->timestamp_of_disbursement_seconds));
        json_object_set_new(x, "finalize_disbursement_timestamp_seconds",
                            json_u64(m->finalize_disbursement_timestamp_seconds));
        json_object_set_new(x, "account_identifier", account_json(&m->to));
        json_array_append_new(ds, x);
    }
    json_object_set_new(o, "maturity_disbursements_in_progress", ds);
    json_object_set_new(o, "locked", json_boolean(full_n->locked));
    return o;
}

json_t *gov_render_economics(const gov_economics_t *e)
{
    json_t *vp = json_object();
    json_object_set_new(vp, "start_reducing_voting_power_after_seconds",
                        json_u64(e->start_reducing_voting_power_after_seconds));
    json_object_set_new(vp, "clear_following_after_seconds",
                        json_u64(e->clear_following_after_seconds));
    json_object_set_new(vp, "neuron_minimum_dissolve_delay_to_vote_seconds",
                        json_u64(e->neuron_minimum_dissolve_delay_to_vote_seconds));
    json_t *o = json_object();
    json_object_set_new(o, "reject_cost_e8s", json_u64(e->reject_cost_e8s));
    json_object_set_new(o, "neuron_minimum_stake_e8s", json_u64(e->neuron_minimum_stake_e8s));
    json_object_set_new(o, "neuron_management_fee_per_proposal_e8s",
                        json_u64(e->neuron_management_fee_per_proposal_e8s));
    json_object_set_new(o, "minimum_icp_xdr_rate", json_u64(e->minimum_icp_xdr_rate));
    json_object_set_new(o, "neuron_spawn_dissolve_delay_seconds",
                        json_u64(e->neuron_spawn_dissolve_delay_seconds));
    json_object_set_new(o, "maximum_node_provider_rewards_e8s",
                        json_u64(e->maximum_node_provider_rewards_e8s));
    json_object_set_new(o, "transaction_fee_e8s", json_u64(e->transaction_fee_e8s));
    json_object_set_new(o, "max_proposals_to_keep_per_topic",
                        json_integer(e->max_proposals_to_keep_per_topic));
    json_object_set_new(o, "max_sustained_neurons_per_hour",
                        json_integer((json_int_t)e->max_sustained_neurons_per_hour));
    json_object_set_new(o, "neuron_creation_spike",
                        json_integer((json_int_t)e->neuron_creation_spike));
    json_object_set_new(o, "voting_power_economics", vp);
    return o;
}

const char *gov_render_mm_source(gov_mm_source_t s)
{
    switch (s) {
    case GOV_MM_GENESIS:
        return "genesis";
    case GOV_MM_CMC:
        return "cmc";
    case GOV_MM_RATE_HISTORY:
        return "rate-history";
    case GOV_MM_NONE:
        break;
    }
    return "none";
}

json_t *gov_render_info(const gov_info_t *info, const gov_modulation_t *mm)
{
    json_t *by_state = json_object();
    json_object_set_new(by_state, "not_dissolving",
                        json_u64(info->neurons_by_state[GOV_STATE_NOT_DISSOLVING]));
    json_object_set_new(by_state, "dissolving",
                        json_u64(info->neurons_by_state[GOV_STATE_DISSOLVING]));
    json_object_set_new(by_state, "dissolved",
                        json_u64(info->neurons_by_state[GOV_STATE_DISSOLVED]));
    json_object_set_new(by_state, "spawning", json_u64(info->neurons_by_state[GOV_STATE_SPAWNING]));
    json_t *m = json_object();
    json_object_set_new(m, "neurons", json_u64(info->neurons));
    json_object_set_new(m, "total_staked_e8s", json_u64(info->total_staked_e8s));
    json_object_set_new(m, "total_maturity_e8s", json_u64(info->total_maturity_e8s));
    json_object_set_new(m, "total_staked_maturity_e8s", json_u64(info->total_staked_maturity_e8s));
    json_object_set_new(m, "neurons_by_state", by_state);
    json_object_set_new(m, "operations_in_flight", json_u64(info->in_flight));
    json_object_set_new(m, "locked_neurons", json_u64(info->locked_neurons));
    json_t *o = json_object();
    json_object_set_new(o, "rule_set",
                        json_string(info->rules == GOV_RULES_LEGACY ? "legacy" : "current"));
    json_object_set_new(o, "genesis_timestamp_seconds", json_u64(info->genesis_timestamp_seconds));
    json_object_set_new(o, "economics", gov_render_economics(&info->economics));
    json_object_set_new(o, "max_dissolve_delay_seconds",
                        json_u64(gov_max_dissolve_delay(info->rules)));
    json_object_set_new(o, "maturity_modulation_permyriad", json_integer(mm->permyriad));
    json_object_set_new(o, "maturity_modulation_source",
                        json_string(mm->source == GOV_MM_RATE_HISTORY && !mm->computed
                                        ? "none" /* the history is too short yet: 0 applies */
                                        : gov_render_mm_source(mm->source)));
    json_object_set_new(o, "metrics", m);
    json_object_set_new(o, "latest_reward_event", json_null());
    return o;
}
