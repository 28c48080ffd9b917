#include "genesis.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

/* A u64 given as a digit string or, where the file allows it, a non-negative JSON number. */
static bool get_u64_loose(json_t *o, const char *name, uint64_t *out, bool *present,
                          nns_error_t *err)
{
    json_t *v = json_object_get(o, name);
    if (v && json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return nns_error_set(err, 400, "BadRequest", "'%s' must not be negative", name);
        *out = (uint64_t)json_integer_value(v);
        if (present)
            *present = true;
        return true;
    }
    return json_get_u64(o, name, false, out, present, err);
}

static bool get_principal(json_t *v, const char *what, principal_t *out, nns_error_t *err)
{
    nns_error_t e;
    if (!json_is_string(v) || !principal_from_text(json_string_value(v), out, &e))
        return nns_error_set(err, 400, "BadRequest", "%s is not a principal", what);
    return true;
}

static bool read_economics(json_t *o, gov_economics_t *e, nns_error_t *err)
{
    static const char *const fields[] = {"reject_cost_e8s",
                                         "neuron_minimum_stake_e8s",
                                         "neuron_management_fee_per_proposal_e8s",
                                         "minimum_icp_xdr_rate",
                                         "neuron_spawn_dissolve_delay_seconds",
                                         "maximum_node_provider_rewards_e8s",
                                         "transaction_fee_e8s",
                                         "max_proposals_to_keep_per_topic",
                                         "max_sustained_neurons_per_hour",
                                         "neuron_creation_spike",
                                         "voting_power_economics",
                                         NULL};
    static const char *const vp_fields[] = {"start_reducing_voting_power_after_seconds",
                                            "clear_following_after_seconds",
                                            "neuron_minimum_dissolve_delay_to_vote_seconds", NULL};
    if (!json_is_object(o))
        return nns_error_set(err, 400, "BadRequest", "'economics' must be an object");
    json_drop_nulls(o);
    if (!json_only_fields(o, fields, err) ||
        !json_get_u64(o, "reject_cost_e8s", false, &e->reject_cost_e8s, NULL, err) ||
        !json_get_u64(o, "neuron_minimum_stake_e8s", false, &e->neuron_minimum_stake_e8s, NULL,
                      err) ||
        !json_get_u64(o, "neuron_management_fee_per_proposal_e8s", false,
                      &e->neuron_management_fee_per_proposal_e8s, NULL, err) ||
        !json_get_u64(o, "minimum_icp_xdr_rate", false, &e->minimum_icp_xdr_rate, NULL, err) ||
        !json_get_u64(o, "neuron_spawn_dissolve_delay_seconds", false,
                      &e->neuron_spawn_dissolve_delay_seconds, NULL, err) ||
        !json_get_u64(o, "maximum_node_provider_rewards_e8s", false,
                      &e->maximum_node_provider_rewards_e8s, NULL, err) ||
        !json_get_u64(o, "transaction_fee_e8s", false, &e->transaction_fee_e8s, NULL, err) ||
        !json_get_u32(o, "max_proposals_to_keep_per_topic", false,
                      &e->max_proposals_to_keep_per_topic, NULL, err) ||
        !get_u64_loose(o, "max_sustained_neurons_per_hour", &e->max_sustained_neurons_per_hour,
                       NULL, err) ||
        !get_u64_loose(o, "neuron_creation_spike", &e->neuron_creation_spike, NULL, err))
        return false;
    json_t *vp = json_object_get(o, "voting_power_economics");
    if (!vp)
        return true;
    if (!json_is_object(vp))
        return nns_error_set(err, 400, "BadRequest",
                             "'economics.voting_power_economics' must be an object");
    json_drop_nulls(vp);
    return json_only_fields(vp, vp_fields, err) &&
           json_get_u64(vp, "start_reducing_voting_power_after_seconds", false,
                        &e->start_reducing_voting_power_after_seconds, NULL, err) &&
           json_get_u64(vp, "clear_following_after_seconds", false,
                        &e->clear_following_after_seconds, NULL, err) &&
           json_get_u64(vp, "neuron_minimum_dissolve_delay_to_vote_seconds", false,
                        &e->neuron_minimum_dissolve_delay_to_vote_seconds, NULL, err);
}

static bool read_followees(json_t *arr, gov_genesis_neuron_t *n, nns_error_t *err)
{
    static const char *const fields[] = {"topic", "followees", NULL};
    if (!json_is_array(arr))
        return nns_error_set(err, 400, "BadRequest", "'followees' must be an array");
    if (json_array_size(arr) > GOV_TOPICS)
        return nns_error_set(err, 400, "BadRequest", "'followees' holds more than %d topics",
                             GOV_TOPICS);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_object(v) || !json_only_fields(v, fields, err))
            return nns_error_set(err, 400, "BadRequest",
                                 "'followees'[%zu] must be {topic, followees}", i);
        uint32_t topic = 0;
        json_t *ids = json_object_get(v, "followees");
        if (!json_get_u32(v, "topic", true, &topic, NULL, err))
            return false;
        if (!json_is_array(ids) || json_array_size(ids) > GOV_FOLLOWEES_MAX)
            return nns_error_set(err, 400, "BadRequest",
                                 "'followees'[%zu].followees must be at most %d neuron ids", i,
                                 GOV_FOLLOWEES_MAX);
        gov_followees_t *f = &n->followees[i];
        f->topic = topic > (uint32_t)INT32_MAX ? INT32_MAX : (int32_t)topic;
        size_t k;
        json_t *id;
        json_array_foreach(ids, k, id)
        {
            if (!json_is_string(id) || !parse_u64(json_string_value(id), &f->ids[k]))
                return nns_error_set(err, 400, "BadRequest",
                                     "'followees'[%zu].followees[%zu] must be a u64 string", i, k);
        }
        f->n = (uint8_t)json_array_size(ids);
    }
    n->nfollowees = (uint8_t)json_array_size(arr);
    return true;
}

static bool read_neuron(json_t *o, gov_genesis_neuron_t *n, nns_error_t *err)
{
    static const char *const fields[] = {"id",
                                         "controller",
                                         "memo",
                                         "stake_e8s",
                                         "dissolve_delay_seconds",
                                         "followees",
                                         "hot_keys",
                                         "maturity_e8s_equivalent",
                                         "dissolving",
                                         "visibility",
                                         NULL};
    if (!json_is_object(o))
        return nns_error_set(err, 400, "BadRequest", "a neuron must be an object");
    json_drop_nulls(o);
    bool has_delay = false;
    if (!json_only_fields(o, fields, err) || !json_get_u64(o, "id", true, &n->id, NULL, err) ||
        !get_principal(json_object_get(o, "controller"), "'controller'", &n->controller, err) ||
        !json_get_u64(o, "memo", true, &n->memo, NULL, err) ||
        !json_get_u64(o, "stake_e8s", true, &n->stake_e8s, NULL, err) ||
        !get_u64_loose(o, "dissolve_delay_seconds", &n->dissolve_delay_seconds, &has_delay, err) ||
        !json_get_u64(o, "maturity_e8s_equivalent", false, &n->maturity_e8s_equivalent, NULL, err))
        return false;
    if (!has_delay)
        return nns_error_set(err, 400, "BadRequest", "'dissolve_delay_seconds' is required");
    json_t *d = json_object_get(o, "dissolving");
    if (d && !json_is_boolean(d))
        return nns_error_set(err, 400, "BadRequest", "'dissolving' must be true or false");
    n->dissolving = d && json_is_true(d);
    const char *vis = NULL;
    bool has_vis = false;
    if (!json_get_str(o, "visibility", false, &vis, &has_vis, err))
        return false;
    n->visibility = GOV_VISIBILITY_PRIVATE;
    if (has_vis && strcmp(vis, "public") == 0)
        n->visibility = GOV_VISIBILITY_PUBLIC;
    else if (has_vis && strcmp(vis, "private") != 0)
        return nns_error_set(err, 400, "BadRequest", "'visibility' must be private or public");
    json_t *hk = json_object_get(o, "hot_keys");
    if (hk) {
        if (!json_is_array(hk) || json_array_size(hk) > GOV_HOT_KEYS_MAX)
            return nns_error_set(err, 400, "BadRequest",
                                 "'hot_keys' must be an array of at most %d principals",
                                 GOV_HOT_KEYS_MAX);
        size_t i;
        json_t *v;
        json_array_foreach(hk, i, v)
        {
            if (!get_principal(v, "a hot key", &n->hot_keys[i], err))
                return false;
        }
        n->nhot_keys = (uint8_t)json_array_size(hk);
    }
    json_t *f = json_object_get(o, "followees");
    return !f || read_followees(f, n, err);
}

static bool read_file(json_t *g, uint64_t now, gov_genesis_t *out, nns_error_t *err)
{
    static const char *const fields[] = {"rule_set",  "genesis_timestamp_seconds",
                                         "economics", "maturity_modulation_permyriad",
                                         "neurons",   NULL};
    json_drop_nulls(g);
    if (!json_only_fields(g, fields, err))
        return false;
    const char *rules = NULL;
    bool has_rules = false;
    if (!json_get_str(g, "rule_set", false, &rules, &has_rules, err))
        return false;
    if (has_rules && strcmp(rules, "legacy") == 0)
        out->rules = GOV_RULES_LEGACY;
    else if (!has_rules || strcmp(rules, "current") == 0)
        out->rules = GOV_RULES_CURRENT;
    else
        return nns_error_set(err, 400, "BadRequest",
                             "'rule_set' must be \"current\" or \"legacy\", not '%.40s'", rules);
    gov_economics_default(out->rules, &out->economics);
    bool has_ts = false;
    if (!get_u64_loose(g, "genesis_timestamp_seconds", &out->genesis_timestamp_seconds, &has_ts,
                       err))
        return false;
    if (!has_ts)
        out->genesis_timestamp_seconds = now;
    json_t *e = json_object_get(g, "economics");
    if (e && !read_economics(e, &out->economics, err))
        return false;
    json_t *mm = json_object_get(g, "maturity_modulation_permyriad");
    if (mm) {
        /* the rule set's range ([-1000, 200] current, [-500, 500] legacy) is the state
         * machine's check (gov_apply_genesis); here only the shape */
        json_int_t v = json_is_integer(mm) ? json_integer_value(mm) : INT32_MAX;
        if (v < -10000 || v > 10000)
            return nns_error_set(err, 400, "BadRequest",
                                 "'maturity_modulation_permyriad' must be an integer in "
                                 "[-10000, 10000]");
        out->has_modulation = true;
        out->maturity_modulation_permyriad = (int32_t)v;
    }
    json_t *ns = json_object_get(g, "neurons");
    if (!ns)
        return true;
    if (!json_is_array(ns))
        return nns_error_set(err, 400, "BadRequest", "'neurons' must be an array");
    size_t n = json_array_size(ns);
    if (n > GOV_NEURONS_MAX)
        return nns_error_set(err, 400, "BadRequest", "'neurons' holds more than %d neurons",
                             GOV_NEURONS_MAX);
    gov_genesis_neuron_t *neurons = n ? calloc(n, sizeof *neurons) : NULL;
    if (n && !neurons)
        return nns_error_set(err, 503, "Unavailable", "out of memory reading %zu neurons", n);
    out->neurons = neurons;
    out->nneurons = n;
    size_t i;
    json_t *v;
    json_array_foreach(ns, i, v)
    {
        if (!read_neuron(v, &neurons[i], err)) {
            char detail[sizeof err->detail];
            snprintf(detail, sizeof detail, "%s", err->detail);
            return nns_error_set(err, err->status, err->code, "neurons[%zu]: %s", i, detail);
        }
    }
    return true;
}

bool gov_genesis_read(const char *path, uint64_t now_seconds, gov_genesis_t *out, nns_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->rules = GOV_RULES_CURRENT;
    out->genesis_timestamp_seconds = now_seconds;
    gov_economics_default(out->rules, &out->economics);
    if (!path)
        return true;
    json_error_t je;
    json_t *g = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(g)) {
        json_decref(g);
        return nns_error_set(err, 400, "InvalidGenesis", "%s: %s (line %d)", path,
                             g ? "not a JSON object" : je.text, je.line);
    }
    bool ok = read_file(g, now_seconds, out, err);
    json_decref(g);
    if (!ok) {
        if (err->status != 503) {
            char detail[sizeof err->detail];
            snprintf(detail, sizeof detail, "%s", err->detail);
            nns_error_set(err, 400, "InvalidGenesis", "%s: %s", path, detail);
        }
        gov_genesis_free(out);
    }
    return ok;
}

void gov_genesis_free(gov_genesis_t *g)
{
    gov_genesis_neuron_t *mine; /* allocated by gov_genesis_read, held through a const view */
    memcpy(&mine, &g->neurons, sizeof mine);
    free(mine);
    g->neurons = NULL;
    g->nneurons = 0;
}
