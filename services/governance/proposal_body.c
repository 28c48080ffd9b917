#include "proposal_body.h"

#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "body.h"
#include "hex.h"
#include "jsonutil.h"

#define MEM_MAX 8

struct gov_submission {
    gov_submit_args_t args;
    json_t *root;      /* the body: the args' strings borrow from it */
    char *action_json; /* the action as submitted, compact */
    void *mem[MEM_MAX];
    size_t nmem;
    gov_np_reward_t *rewards; /* RewardNodeProviders: the rewards array (owned, in mem) */
};

static uint64_t random_nonzero(void)
{
    uint64_t v = 0;
    while (v == 0)
        randombytes_buf(&v, sizeof v);
    return v;
}

/* Memory owned by the submission: n elements of size each, zeroed. */
static void *own(gov_submission_t *s, size_t n, size_t size, nns_error_t *err)
{
    void *p = s->nmem < MEM_MAX ? calloc(n ? n : 1, size) : NULL;
    if (!p) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    s->mem[s->nmem++] = p;
    return p;
}

static bool invalid(nns_error_t *err, const char *what, const char *name)
{
    return nns_error_set(err, 400, "InvalidProposal", "action field '%s' %s", name, what);
}

/* A u64 given as a string of digits (the wire rule) or, for convenience, a non-negative JSON
 * integer. */
static bool get_u64_any(json_t *o, const char *name, bool required, uint64_t *out, bool *present,
                        nns_error_t *err)
{
    json_t *v = json_object_get(o, name);
    if (present)
        *present = v != NULL;
    if (!v) {
        if (required)
            return invalid(err, "is required", name);
        return true;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    if (json_is_string(v) && parse_u64(json_string_value(v), out))
        return true;
    return invalid(err, "must be a u64 (a string of decimal digits)", name);
}

static bool get_text(json_t *o, const char *name, bool required, size_t max, const char **out,
                     nns_error_t *err)
{
    json_t *v = json_object_get(o, name);
    *out = NULL;
    if (!v) {
        if (required)
            return invalid(err, "is required", name);
        return true;
    }
    if (!json_is_string(v))
        return invalid(err, "must be a string", name);
    if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v))
        return nns_error_set(err, 400, "InvalidProposal",
                             "action field '%s' is longer than %zu bytes (or holds NUL)", name,
                             max);
    *out = json_string_value(v);
    return true;
}

static bool get_principal_v(json_t *v, const char *name, principal_t *out, nns_error_t *err)
{
    nns_error_t e;
    if (!json_is_string(v) || !principal_from_text(json_string_value(v), out, &e))
        return nns_error_set(err, 400, "InvalidPrincipal", "'%s' must be a principal", name);
    return true;
}

static bool get_principal_m(json_t *o, const char *name, bool required, principal_t *out,
                            bool *present, nns_error_t *err)
{
    json_t *v = json_object_get(o, name);
    if (present)
        *present = v != NULL;
    if (!v)
        return required ? invalid(err, "is required", name) : true;
    return get_principal_v(v, name, out, err);
}

static bool get_account(json_t *v, const char *name, account_id_t *out, nns_error_t *err)
{
    nns_error_t e;
    if (!json_is_string(v) || json_string_length(v) != ACCOUNT_HEX_LEN ||
        !account_id_from_hex(json_string_value(v), ACCOUNT_HEX_LEN, out, &e))
        return nns_error_set(err, 400, "InvalidAccount",
                             "'%s' must be a 64-hex account identifier with a valid checksum",
                             name);
    return true;
}

static bool get_bool(json_t *o, const char *name, bool *out, nns_error_t *err)
{
    json_t *v = json_object_get(o, name);
    if (!v)
        return true;
    if (!json_is_boolean(v))
        return invalid(err, "must be true or false", name);
    *out = json_is_true(v);
    return true;
}

static bool only(json_t *o, const char *const *fields, nns_error_t *err)
{
    if (json_only_fields(o, fields, err))
        return true;
    err->status = 400;
    snprintf(err->code, sizeof err->code, "InvalidProposal");
    return false;
}

/* An array of principals (at most max). */
static bool get_principals(gov_submission_t *s, json_t *o, const char *name, bool required,
                           size_t max, const principal_t **out, size_t *n, nns_error_t *err)
{
    json_t *arr = json_object_get(o, name);
    *n = 0;
    *out = NULL;
    if (!arr)
        return required ? invalid(err, "is required", name) : true;
    if (!json_is_array(arr))
        return invalid(err, "must be an array of principals", name);
    if (json_array_size(arr) > max)
        return nns_error_set(err, 400, "InvalidProposal", "'%s' holds more than %zu principals",
                             name, max);
    principal_t *v = own(s, json_array_size(arr), sizeof *v, err);
    if (!v)
        return false;
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) if (!get_principal_v(x, name, &v[i], err)) return false;
    *out = v;
    *n = json_array_size(arr);
    return true;
}

/* reward_mode: {to_account: hex} | {to_neuron: {dissolve_delay_seconds}} */
static bool get_np_reward(json_t *o, const char *where, gov_np_reward_t *out, nns_error_t *err)
{
    static const char *const fields[] = {"node_provider", "amount_e8s", "reward_mode", NULL};
    static const char *const mode_fields[] = {"to_account", "to_neuron", NULL};
    static const char *const neuron_fields[] = {"dissolve_delay_seconds", NULL};
    if (!json_is_object(o))
        return invalid(err, "must be an object", where);
    if (!only(o, fields, err) ||
        !get_principal_m(o, "node_provider", true, &out->node_provider, NULL, err) ||
        !get_u64_any(o, "amount_e8s", true, &out->amount_e8s, NULL, err))
        return false;
    json_t *m = json_object_get(o, "reward_mode");
    if (!json_is_object(m) || json_object_size(m) != 1 || !only(m, mode_fields, err))
        return invalid(err, "must be {to_account: hex} or {to_neuron: {dissolve_delay_seconds}}",
                       "reward_mode");
    json_t *acc = json_object_get(m, "to_account"), *nr = json_object_get(m, "to_neuron");
    if (acc)
        return get_account(acc, "reward_mode.to_account", &out->to_account, err);
    if (!json_is_object(nr) || !only(nr, neuron_fields, err) ||
        !get_u64_any(nr, "dissolve_delay_seconds", true, &out->dissolve_delay_seconds, NULL, err))
        return false;
    out->to_neuron = true;
    out->candidate_id = random_nonzero();
    out->candidate_nonce = random_nonzero();
    return true;
}

static bool parse_motion(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    static const char *const fields[] = {"type", "motion_text", NULL};
    (void)s;
    return only(o, fields, err) &&
           get_text(o, "motion_text", true, GOV_MOTION_TEXT_MAX, &a->u.motion.motion_text, err);
}

static bool parse_manage_neuron(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    static const char *const fields[] = {"type", "neuron_id", "command", NULL};
    uint64_t id = 0;
    if (!only(o, fields, err) || !get_u64_any(o, "neuron_id", true, &id, NULL, err))
        return false;
    json_t *c = json_object_get(o, "command");
    const char *type = json_string_value(json_object_get(c, "type"));
    gov_command_kind_t kind = type ? gov_command_from_name(type) : 0;
    if (!json_is_object(c) || !kind)
        return nns_error_set(err, 400, "InvalidProposal",
                             "'command' must be {type: a neuron command route name (e.g. "
                             "\"increase-dissolve-delay\", \"follow\", \"disburse\"), ...}");
    json_t *copy = json_deep_copy(c);
    char *text = NULL;
    if (copy) {
        json_object_del(copy, "type");
        text = json_dumps(copy, JSON_COMPACT);
    }
    json_decref(copy);
    if (!text)
        return nns_error_set(err, 503, "Unavailable", "out of memory");
    /* the caller is ignored at execution (the managed neuron's controller acts) */
    bool ok = gov_body_command(kind, id, (const uint8_t *)text, strlen(text), &s->args.caller,
                               &a->u.manage_neuron.command, err);
    free(text);
    if (!ok) {
        char detail[sizeof err->detail];
        snprintf(detail, sizeof detail, "%s", err->detail);
        return nns_error_set(err, 400, "InvalidProposal", "ManageNeuron command: %s", detail);
    }
    gov_command_t *cmd = &a->u.manage_neuron.command;
    if (kind == GOV_CMD_SPLIT) {
        cmd->u.split.candidate_id = random_nonzero();
        randombytes_buf(cmd->u.split.candidate_subaccount, SUBACCOUNT_BYTES);
    } else if (kind == GOV_CMD_SPAWN) {
        cmd->u.spawn.candidate_id = random_nonzero();
        randombytes_buf(cmd->u.spawn.candidate_subaccount, SUBACCOUNT_BYTES);
    }
    return true;
}

/* ManageNetworkEconomics: the fields of GET /v1/governance's economics, any subset. */
static const struct {
    const char *name;
    uint32_t bit;
    size_t offset;
    bool u32;
} ECONOMICS[] = {
    {"reject_cost_e8s", GOV_ECO_REJECT_COST, offsetof(gov_economics_t, reject_cost_e8s), false},
    {"neuron_minimum_stake_e8s", GOV_ECO_NEURON_MINIMUM_STAKE,
     offsetof(gov_economics_t, neuron_minimum_stake_e8s), false},
    {"neuron_management_fee_per_proposal_e8s", GOV_ECO_NEURON_MANAGEMENT_FEE,
     offsetof(gov_economics_t, neuron_management_fee_per_proposal_e8s), false},
    {"minimum_icp_xdr_rate", GOV_ECO_MINIMUM_ICP_XDR_RATE,
     offsetof(gov_economics_t, minimum_icp_xdr_rate), false},
    {"neuron_spawn_dissolve_delay_seconds", GOV_ECO_NEURON_SPAWN_DISSOLVE_DELAY,
     offsetof(gov_economics_t, neuron_spawn_dissolve_delay_seconds), false},
    {"maximum_node_provider_rewards_e8s", GOV_ECO_MAXIMUM_NODE_PROVIDER_REWARDS,
     offsetof(gov_economics_t, maximum_node_provider_rewards_e8s), false},
    {"transaction_fee_e8s", GOV_ECO_TRANSACTION_FEE, offsetof(gov_economics_t, transaction_fee_e8s),
     false},
    {"max_proposals_to_keep_per_topic", GOV_ECO_MAX_PROPOSALS_TO_KEEP_PER_TOPIC,
     offsetof(gov_economics_t, max_proposals_to_keep_per_topic), true},
    {"max_sustained_neurons_per_hour", GOV_ECO_MAX_SUSTAINED_NEURONS_PER_HOUR,
     offsetof(gov_economics_t, max_sustained_neurons_per_hour), false},
    {"neuron_creation_spike", GOV_ECO_NEURON_CREATION_SPIKE,
     offsetof(gov_economics_t, neuron_creation_spike), false},
};
static const struct {
    const char *name;
    uint32_t bit;
    size_t offset;
} VP_ECONOMICS[] = {
    {"start_reducing_voting_power_after_seconds", GOV_ECO_START_REDUCING_VOTING_POWER_AFTER,
     offsetof(gov_economics_t, start_reducing_voting_power_after_seconds)},
    {"clear_following_after_seconds", GOV_ECO_CLEAR_FOLLOWING_AFTER,
     offsetof(gov_economics_t, clear_following_after_seconds)},
    {"neuron_minimum_dissolve_delay_to_vote_seconds", GOV_ECO_MIN_DISSOLVE_DELAY_TO_VOTE,
     offsetof(gov_economics_t, neuron_minimum_dissolve_delay_to_vote_seconds)},
};

static bool parse_economics(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    (void)s;
    const char *key;
    json_t *v;
    uint32_t mask = 0;
    gov_economics_t *e = &a->u.economics.values;
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "type") == 0)
            continue;
        if (strcmp(key, "voting_power_economics") == 0) {
            if (!json_is_object(v))
                return invalid(err, "must be an object", key);
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2)
            {
                size_t i = 0;
                for (; i < sizeof VP_ECONOMICS / sizeof VP_ECONOMICS[0]; i++)
                    if (strcmp(VP_ECONOMICS[i].name, k2) == 0)
                        break;
                if (i == sizeof VP_ECONOMICS / sizeof VP_ECONOMICS[0])
                    return nns_error_set(err, 400, "InvalidProposal",
                                         "unknown voting_power_economics field '%.60s'", k2);
                uint64_t x;
                if (!get_u64_any(v, k2, true, &x, NULL, err))
                    return false;
                memcpy((char *)e + VP_ECONOMICS[i].offset, &x, sizeof x);
                mask |= VP_ECONOMICS[i].bit;
            }
            continue;
        }
        size_t i = 0;
        for (; i < sizeof ECONOMICS / sizeof ECONOMICS[0]; i++)
            if (strcmp(ECONOMICS[i].name, key) == 0)
                break;
        if (i == sizeof ECONOMICS / sizeof ECONOMICS[0])
            return nns_error_set(err, 400, "InvalidProposal", "unknown economics field '%.60s'",
                                 key);
        uint64_t x;
        if (!get_u64_any(o, key, true, &x, NULL, err))
            return false;
        if (ECONOMICS[i].u32) {
            if (x > UINT32_MAX)
                return invalid(err, "must fit 32 bits", key);
            uint32_t y = (uint32_t)x;
            memcpy((char *)e + ECONOMICS[i].offset, &y, sizeof y);
        } else {
            memcpy((char *)e + ECONOMICS[i].offset, &x, sizeof x);
        }
        mask |= ECONOMICS[i].bit;
    }
    if (!mask)
        return nns_error_set(err, 400, "InvalidProposal",
                             "ManageNetworkEconomics needs at least one economics field");
    a->u.economics.mask = mask;
    return true;
}

static bool parse_register_known(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    static const char *const fields[] = {"type",  "neuron_id",        "name", "description",
                                         "links", "committed_topics", NULL};
    if (!only(o, fields, err) ||
        !get_u64_any(o, "neuron_id", true, &a->u.register_known_neuron.neuron_id, NULL, err) ||
        !get_text(o, "name", true, 4 * GOV_KNOWN_NEURON_NAME_MAX, &a->u.register_known_neuron.name,
                  err) ||
        !get_text(o, "description", false, 4 * GOV_KNOWN_NEURON_DESCRIPTION_MAX,
                  &a->u.register_known_neuron.description, err))
        return false;
    json_t *links = json_object_get(o, "links");
    if (links) {
        if (!json_is_array(links) || json_array_size(links) > GOV_KNOWN_NEURON_LINKS_MAX)
            return nns_error_set(err, 400, "InvalidProposal",
                                 "'links' must be an array of at most %d texts",
                                 GOV_KNOWN_NEURON_LINKS_MAX);
        const char **l = own(s, json_array_size(links), sizeof *l, err);
        if (!l)
            return false;
        size_t i;
        json_t *x;
        json_array_foreach(links, i, x)
        {
            if (!json_is_string(x) || json_string_length(x) > GOV_LINK_MAX)
                return nns_error_set(err, 400, "InvalidProposal",
                                     "'links'[%zu] must be a text of at most %d bytes", i,
                                     GOV_LINK_MAX);
            l[i] = json_string_value(x);
        }
        a->u.register_known_neuron.links = l;
        a->u.register_known_neuron.nlinks = json_array_size(links);
    }
    json_t *topics = json_object_get(o, "committed_topics");
    if (topics) {
        if (!json_is_array(topics) || json_array_size(topics) > GOV_TOPICS)
            return invalid(err, "must be an array of topic ids", "committed_topics");
        int32_t *t = own(s, json_array_size(topics), sizeof *t, err);
        if (!t)
            return false;
        size_t i;
        json_t *x;
        json_array_foreach(topics, i, x)
        {
            int32_t id = -1;
            if (json_is_integer(x) && json_integer_value(x) >= 0 &&
                json_integer_value(x) < GOV_TOPICS)
                id = (int32_t)json_integer_value(x);
            else if (json_is_string(x))
                id = gov_topic_from_name(json_string_value(x));
            if (id < 0)
                return nns_error_set(err, 400, "InvalidProposal",
                                     "'committed_topics'[%zu] is not a topic", i);
            t[i] = id;
        }
        a->u.register_known_neuron.committed_topics = t;
        a->u.register_known_neuron.ntopics = json_array_size(topics);
    }
    return true;
}

static bool parse_deregister_known(gov_submission_t *s, json_t *o, gov_action_t *a,
                                   nns_error_t *err)
{
    static const char *const fields[] = {"type", "neuron_id", NULL};
    (void)s;
    return only(o, fields, err) &&
           get_u64_any(o, "neuron_id", true, &a->u.deregister_known_neuron.neuron_id, NULL, err);
}

static bool parse_kyc(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    static const char *const fields[] = {"type", "principals", NULL};
    return only(o, fields, err) &&
           get_principals(s, o, "principals", true, GOV_LIST_ITEMS_MAX,
                          &a->u.approve_genesis_kyc.principals, &a->u.approve_genesis_kyc.n, err);
}

static bool parse_node_provider(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    static const char *const fields[] = {"type", "change", "node_provider", NULL};
    static const char *const np_fields[] = {"id", "reward_account", NULL};
    (void)s;
    const char *change = NULL;
    if (!only(o, fields, err) || !get_text(o, "change", true, 16, &change, err))
        return false;
    if (strcmp(change, "add") != 0 && strcmp(change, "remove") != 0)
        return invalid(err, "must be \"add\" or \"remove\"", "change");
    a->u.node_provider.add = strcmp(change, "add") == 0;
    json_t *np = json_object_get(o, "node_provider");
    if (!json_is_object(np))
        return invalid(err, "must be {id, reward_account?}", "node_provider");
    if (!only(np, np_fields, err) ||
        !get_principal_m(np, "id", true, &a->u.node_provider.id, NULL, err))
        return false;
    json_t *acc = json_object_get(np, "reward_account");
    a->u.node_provider.has_reward_account = acc != NULL;
    return !acc || get_account(acc, "node_provider.reward_account",
                               &a->u.node_provider.reward_account, err);
}

static bool parse_reward_np(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    (void)s;
    json_t *copy = json_deep_copy(o);
    if (!copy)
        return nns_error_set(err, 503, "Unavailable", "out of memory");
    json_object_del(copy, "type");
    bool ok = get_np_reward(copy, "RewardNodeProvider", &a->u.reward_node_provider.reward, err);
    json_decref(copy);
    return ok;
}

static bool parse_reward_nps(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    static const char *const fields[] = {"type", "rewards", "use_registry_derived_rewards", NULL};
    if (!only(o, fields, err) ||
        !get_bool(o, "use_registry_derived_rewards",
                  &a->u.reward_node_providers.use_registry_derived_rewards, err))
        return false;
    json_t *arr = json_object_get(o, "rewards");
    if (!arr)
        return true;
    if (!json_is_array(arr) || json_array_size(arr) > GOV_LIST_ITEMS_MAX)
        return nns_error_set(err, 400, "InvalidProposal",
                             "'rewards' must be an array of at most %d rewards",
                             GOV_LIST_ITEMS_MAX);
    gov_np_reward_t *r = own(s, json_array_size(arr), sizeof *r, err);
    if (!r)
        return false;
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) if (!get_np_reward(x, "rewards[]", &r[i], err)) return false;
    a->u.reward_node_providers.rewards = r;
    s->rewards = r;
    a->u.reward_node_providers.n = json_array_size(arr);
    return true;
}

/* A subnet type name: printable, 1..GOV_TEXT_MAX bytes. */
static bool check_type_name(json_t *v, const char *name, const char **out, nns_error_t *err)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > GOV_TEXT_MAX)
        return invalid(err, "must be a subnet type name (a non-empty text)", name);
    *out = json_string_value(v);
    return true;
}

static bool parse_nns(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    static const char *const fields[] = {"type", "nns_function", "payload", NULL};
    if (!only(o, fields, err))
        return false;
    json_t *f = json_object_get(o, "nns_function");
    if (!json_is_integer(f) || json_integer_value(f) <= 0 ||
        json_integer_value(f) > GOV_NNS_FUNCTION_MAX)
        return nns_error_set(err, 400, "InvalidProposal",
                             "'nns_function' must be an NnsFunction id (1..%d)",
                             GOV_NNS_FUNCTION_MAX);
    int32_t fn = (int32_t)json_integer_value(f);
    a->u.nns.nns_function = fn;
    if (gov_nns_function_topic(fn) < 0)
        return nns_error_set(err, 400, "InvalidProposal", "NnsFunction %d is obsolete or unknown",
                             (int)fn);
    json_t *p = json_object_get(o, "payload");
    if (!p)
        return invalid(err, "is required", "payload");
    if (!gov_nns_function_is_json(fn)) {
        if (!json_is_string(p) || json_string_length(p) % 2 != 0 ||
            json_string_length(p) / 2 > GOV_NNS_PAYLOAD_MAX)
            return nns_error_set(err, 400, "InvalidProposal",
                                 "'payload' of NnsFunction %d must be hex bytes (at most %d)",
                                 (int)fn, GOV_NNS_PAYLOAD_MAX);
        size_t n = json_string_length(p) / 2;
        uint8_t *b = own(s, n, 1, err);
        if (!b)
            return false;
        if (hex_decode(json_string_value(p), json_string_length(p), b, n) != (long)n)
            return invalid(err, "must be lower-case hex", "payload");
        a->u.nns.payload = b;
        a->u.nns.payload_len = n;
        return true;
    }
    if (!json_is_object(p))
        return nns_error_set(err, 400, "InvalidProposal",
                             "'payload' of NnsFunction %d must be a JSON object", (int)fn);
    switch (fn) {
    case GOV_NNS_ICP_XDR_CONVERSION_RATE: {
        static const char *const pf[] = {"xdr_permyriad_per_icp", "timestamp_seconds", NULL};
        return only(p, pf, err) &&
               get_u64_any(p, "xdr_permyriad_per_icp", true, &a->u.nns.xdr_permyriad_per_icp, NULL,
                           err) &&
               get_u64_any(p, "timestamp_seconds", true, &a->u.nns.timestamp_seconds, NULL, err);
    }
    case GOV_NNS_SET_AUTHORIZED_SUBNETWORKS: {
        static const char *const pf[] = {"who", "subnets", NULL};
        return only(p, pf, err) &&
               get_principal_m(p, "who", false, &a->u.nns.who, &a->u.nns.has_who, err) &&
               get_principals(s, p, "subnets", true, GOV_SUBNETS_MAX, &a->u.nns.subnets,
                              &a->u.nns.nsubnets, err);
    }
    case GOV_NNS_UPDATE_NODE_REWARDS_TABLE: {
        static const char *const pf[] = {"rewards", NULL};
        static const char *const ef[] = {"node_provider", "xdr_permyriad_per_month", NULL};
        json_t *arr = json_object_get(p, "rewards");
        if (!only(p, pf, err))
            return false;
        if (!json_is_array(arr) || json_array_size(arr) > GOV_LIST_ITEMS_MAX)
            return invalid(err, "must be an array of {node_provider, xdr_permyriad_per_month}",
                           "payload.rewards");
        gov_rewards_table_entry_t *t = own(s, json_array_size(arr), sizeof *t, err);
        if (!t)
            return false;
        size_t i;
        json_t *x;
        json_array_foreach(arr, i, x)
        {
            if (!json_is_object(x) || !only(x, ef, err) ||
                !get_principal_m(x, "node_provider", true, &t[i].node_provider, NULL, err) ||
                !get_u64_any(x, "xdr_permyriad_per_month", true, &t[i].xdr_permyriad_per_month,
                             NULL, err))
                return json_is_object(x) ? false
                                         : invalid(err, "must hold objects", "payload.rewards");
        }
        a->u.nns.rewards = t;
        a->u.nns.nrewards = json_array_size(arr);
        return true;
    }
    case GOV_NNS_UPDATE_SUBNET_TYPE: {
        json_t *add = json_object_get(p, "add"), *rm = json_object_get(p, "remove");
        if (json_object_size(p) != 1 || (!add && !rm))
            return nns_error_set(err, 400, "InvalidProposal",
                                 "the payload of NnsFunction 32 must be {add: type} or "
                                 "{remove: type}");
        a->u.nns.add = add != NULL;
        return check_type_name(add ? add : rm, add ? "add" : "remove", &a->u.nns.subnet_type, err);
    }
    case GOV_NNS_CHANGE_SUBNET_TYPE_ASSIGNMENT: {
        static const char *const af[] = {"subnets", "subnet_type", NULL};
        json_t *add = json_object_get(p, "add"), *rm = json_object_get(p, "remove");
        json_t *v = add ? add : rm;
        if (json_object_size(p) != 1 || !json_is_object(v))
            return nns_error_set(err, 400, "InvalidProposal",
                                 "the payload of NnsFunction 33 must be {add | remove: "
                                 "{subnets, subnet_type}}");
        a->u.nns.add = add != NULL;
        return only(v, af, err) &&
               check_type_name(json_object_get(v, "subnet_type"), "subnet_type",
                               &a->u.nns.subnet_type, err) &&
               get_principals(s, v, "subnets", true, GOV_SUBNETS_MAX, &a->u.nns.subnets,
                              &a->u.nns.nsubnets, err);
    }
    default:
        return nns_error_set(err, 400, "InvalidProposal", "NnsFunction %d has no JSON payload",
                             (int)fn);
    }
}

static bool parse_install_code(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    static const char *const fields[] = {
        "type", "canister_id", "install_mode", "wasm_module_hash", "arg_hex", NULL};
    const char *mode = NULL;
    if (!only(o, fields, err) ||
        !get_principal_m(o, "canister_id", true, &a->u.install_code.canister_id, NULL, err) ||
        !get_text(o, "install_mode", true, 16, &mode, err))
        return false;
    if (strcmp(mode, "install") == 0)
        a->u.install_code.install_mode = 1;
    else if (strcmp(mode, "reinstall") == 0)
        a->u.install_code.install_mode = 2;
    else if (strcmp(mode, "upgrade") == 0)
        a->u.install_code.install_mode = 3;
    else
        return invalid(err, "must be \"install\", \"reinstall\" or \"upgrade\"", "install_mode");
    json_t *h = json_object_get(o, "wasm_module_hash");
    if (h) {
        if (!json_is_string(h) || json_string_length(h) != 64 ||
            hex_decode(json_string_value(h), 64, a->u.install_code.wasm_module_hash, 32) != 32)
            return invalid(err, "must be 64 hex characters (a SHA-256)", "wasm_module_hash");
        a->u.install_code.has_wasm_module_hash = true;
    }
    json_t *arg = json_object_get(o, "arg_hex");
    if (arg) {
        if (!json_is_string(arg) || json_string_length(arg) % 2 != 0 ||
            json_string_length(arg) / 2 > GOV_NNS_PAYLOAD_MAX)
            return invalid(err, "must be hex bytes", "arg_hex");
        size_t n = json_string_length(arg) / 2;
        uint8_t *b = own(s, n, 1, err);
        if (!b)
            return false;
        if (hex_decode(json_string_value(arg), json_string_length(arg), b, n) != (long)n)
            return invalid(err, "must be lower-case hex", "arg_hex");
        a->u.install_code.arg = b;
        a->u.install_code.arg_len = n;
    }
    return true;
}

static bool parse_stop_start(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    static const char *const fields[] = {"type", "canister_id", "action", NULL};
    const char *act = NULL;
    (void)s;
    if (!only(o, fields, err) ||
        !get_principal_m(o, "canister_id", true, &a->u.stop_or_start.canister_id, NULL, err) ||
        !get_text(o, "action", true, 16, &act, err))
        return false;
    if (strcmp(act, "stop") != 0 && strcmp(act, "start") != 0)
        return invalid(err, "must be \"stop\" or \"start\"", "action");
    a->u.stop_or_start.stop = strcmp(act, "stop") == 0;
    return true;
}

static bool parse_canister_settings(gov_submission_t *s, json_t *o, gov_action_t *a,
                                    nns_error_t *err)
{
    static const char *const fields[] = {"type", "canister_id", "settings", NULL};
    (void)s;
    if (!only(o, fields, err) ||
        !get_principal_m(o, "canister_id", true, &a->u.update_canister_settings.canister_id, NULL,
                         err))
        return false;
    if (!json_is_object(json_object_get(o, "settings")))
        return invalid(err, "must be an object", "settings");
    return true;
}

static bool parse_create_sns(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    (void)s;
    /* the other fields of CreateServiceNervousSystem are recorded with the action as
     * submitted (action_json): this project runs no SNS */
    return get_text(o, "name", true, GOV_TEXT_MAX, &a->u.create_sns.name, err) &&
           get_bool(o, "neurons_fund_participation", &a->u.create_sns.neurons_fund_participation,
                    err);
}

static bool parse_subnet_rental(gov_submission_t *s, json_t *o, gov_action_t *a, nns_error_t *err)
{
    static const char *const fields[] = {"type", "user", "node_ids", "replica_version_id", NULL};
    const char *rv = NULL;
    const principal_t *nodes;
    size_t nnodes;
    return only(o, fields, err) &&
           get_principal_m(o, "user", true, &a->u.subnet_rental.user, NULL, err) &&
           get_principals(s, o, "node_ids", false, GOV_LIST_ITEMS_MAX, &nodes, &nnodes, err) &&
           get_text(o, "replica_version_id", false, GOV_TEXT_MAX, &rv, err);
}

typedef bool (*action_parser_t)(gov_submission_t *, json_t *, gov_action_t *, nns_error_t *);

static const action_parser_t PARSERS[GOV_ACTION_KIND_MAX + 1] = {
    [GOV_ACTION_MOTION] = parse_motion,
    [GOV_ACTION_MANAGE_NEURON] = parse_manage_neuron,
    [GOV_ACTION_MANAGE_NETWORK_ECONOMICS] = parse_economics,
    [GOV_ACTION_REGISTER_KNOWN_NEURON] = parse_register_known,
    [GOV_ACTION_DEREGISTER_KNOWN_NEURON] = parse_deregister_known,
    [GOV_ACTION_APPROVE_GENESIS_KYC] = parse_kyc,
    [GOV_ACTION_ADD_OR_REMOVE_NODE_PROVIDER] = parse_node_provider,
    [GOV_ACTION_REWARD_NODE_PROVIDER] = parse_reward_np,
    [GOV_ACTION_REWARD_NODE_PROVIDERS] = parse_reward_nps,
    [GOV_ACTION_EXECUTE_NNS_FUNCTION] = parse_nns,
    [GOV_ACTION_INSTALL_CODE] = parse_install_code,
    [GOV_ACTION_STOP_OR_START_CANISTER] = parse_stop_start,
    [GOV_ACTION_UPDATE_CANISTER_SETTINGS] = parse_canister_settings,
    [GOV_ACTION_CREATE_SERVICE_NERVOUS_SYSTEM] = parse_create_sns,
    [GOV_ACTION_FULFILL_SUBNET_RENTAL_REQUEST] = parse_subnet_rental,
};

void gov_submission_free(gov_submission_t **sp)
{
    gov_submission_t *s = sp ? *sp : NULL;
    if (!s)
        return;
    json_decref(s->root);
    free(s->action_json);
    for (size_t i = 0; i < s->nmem; i++)
        free(s->mem[i]);
    free(s);
    *sp = NULL;
}

gov_submit_args_t *gov_submission_args(gov_submission_t *s)
{
    return &s->args;
}

void gov_submission_redraw(gov_submission_t *s)
{
    gov_action_t *a = &s->args.action;
    if (a->kind == GOV_ACTION_MANAGE_NEURON) {
        gov_command_t *c = &a->u.manage_neuron.command;
        if (c->kind == GOV_CMD_SPLIT)
            c->u.split.candidate_id = random_nonzero();
        else if (c->kind == GOV_CMD_SPAWN)
            c->u.spawn.candidate_id = random_nonzero();
    } else if (a->kind == GOV_ACTION_REWARD_NODE_PROVIDER) {
        a->u.reward_node_provider.reward.candidate_id = random_nonzero();
    } else if (a->kind == GOV_ACTION_REWARD_NODE_PROVIDERS) {
        for (size_t i = 0; s->rewards && i < a->u.reward_node_providers.n; i++)
            s->rewards[i].candidate_id = random_nonzero();
    }
}

gov_submission_t *gov_body_proposal(const uint8_t *body, size_t len, const principal_t *caller,
                                    nns_error_t *err)
{
    static const char *const fields[] = {"neuron_id", "title", "summary", "url", "action", NULL};
    gov_submission_t *s = calloc(1, sizeof *s);
    if (!s) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    s->args.caller = *caller;
    s->root = json_parse_object(body, len, err);
    if (!s->root)
        goto fail;
    json_drop_nulls(s->root);
    json_t *o = s->root;
    if (!json_only_fields(o, fields, err) ||
        !json_get_u64(o, "neuron_id", true, &s->args.neuron_id, NULL, err) ||
        !json_get_str(o, "title", false, &s->args.title, NULL, err) ||
        !json_get_str(o, "summary", true, &s->args.summary, NULL, err) ||
        !json_get_str(o, "url", false, &s->args.url, NULL, err))
        goto fail;
    json_t *action = json_object_get(o, "action");
    const char *type = json_string_value(json_object_get(action, "type"));
    if (!json_is_object(action) || !type) {
        nns_error_set(err, 400, "BadRequest", "'action' must be an object {type, ...}");
        goto fail;
    }
    gov_action_kind_t kind = gov_action_from_name(type);
    if (!kind || kind > GOV_ACTION_KIND_MAX || !PARSERS[kind]) {
        nns_error_set(err, 400, "InvalidProposal",
                      "unknown or obsolete action type '%.60s' (Motion, ManageNeuron, "
                      "ManageNetworkEconomics, ExecuteNnsFunction, ...)",
                      type);
        goto fail;
    }
    s->args.action.kind = kind;
    if (!PARSERS[kind](s, action, &s->args.action, err))
        goto fail;
    s->action_json = json_dumps(action, JSON_COMPACT);
    if (!s->action_json) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        goto fail;
    }
    s->args.action_json = s->action_json;
    return s;
fail:
    gov_submission_free(&s);
    return NULL;
}

/* ---- the stored form (proposal_body.h) ---- */

#define DRAWS_VERSION 1

/* The candidates an action holds, in the order the parsers draw them: pointers into the
 * action (and into rewards, the writable RewardNodeProviders array when given). Returns how
 * many (at most max). */
typedef struct {
    const uint64_t *id;
    const uint8_t *subaccount; /* split and spawn */
    const uint64_t *nonce;     /* rewards to a neuron */
} draw_slot_t;

static size_t draw_slots(const gov_action_t *a, draw_slot_t *out, size_t max)
{
    size_t n = 0;
    if (a->kind == GOV_ACTION_MANAGE_NEURON) {
        const gov_command_t *c = &a->u.manage_neuron.command;
        if (c->kind == GOV_CMD_SPLIT && max > 0)
            out[n++] =
                (draw_slot_t){&c->u.split.candidate_id, c->u.split.candidate_subaccount, NULL};
        else if (c->kind == GOV_CMD_SPAWN && max > 0)
            out[n++] =
                (draw_slot_t){&c->u.spawn.candidate_id, c->u.spawn.candidate_subaccount, NULL};
    } else if (a->kind == GOV_ACTION_REWARD_NODE_PROVIDER) {
        const gov_np_reward_t *w = &a->u.reward_node_provider.reward;
        if (w->to_neuron && max > 0)
            out[n++] = (draw_slot_t){&w->candidate_id, NULL, &w->candidate_nonce};
    } else if (a->kind == GOV_ACTION_REWARD_NODE_PROVIDERS) {
        for (size_t i = 0; i < a->u.reward_node_providers.n && n < max; i++) {
            const gov_np_reward_t *w = &a->u.reward_node_providers.rewards[i];
            if (w->to_neuron)
                out[n++] = (draw_slot_t){&w->candidate_id, NULL, &w->candidate_nonce};
        }
    }
    return n;
}

char *gov_action_draws_json(const gov_action_t *a)
{
    draw_slot_t slots[GOV_LIST_ITEMS_MAX + 1];
    size_t n = draw_slots(a, slots, GOV_LIST_ITEMS_MAX + 1);
    json_t *o = json_object(), *list = json_array();
    bool ok = o && list && json_object_set_new(o, "version", json_integer(DRAWS_VERSION)) == 0;
    for (size_t i = 0; ok && i < n; i++) {
        json_t *c = json_object();
        ok = c && json_object_set_new(c, "candidate_id", json_u64(*slots[i].id)) == 0;
        if (ok && slots[i].subaccount) {
            char hex[2 * SUBACCOUNT_BYTES + 1];
            hex_encode(slots[i].subaccount, SUBACCOUNT_BYTES, hex);
            ok = json_object_set_new(c, "candidate_subaccount", json_string(hex)) == 0;
        }
        if (ok && slots[i].nonce)
            ok = json_object_set_new(c, "candidate_nonce", json_u64(*slots[i].nonce)) == 0;
        if (!ok) {
            json_decref(c);
            break;
        }
        ok = json_array_append_new(list, c) == 0; /* takes c, also on failure */
    }
    char *text = NULL;
    if (ok && json_object_set_new(o, "candidates", list) == 0) {
        list = NULL;
        text = json_dumps(o, JSON_COMPACT);
    }
    json_decref(list);
    json_decref(o);
    return text;
}

static bool corrupt_draws(nns_error_t *err, const char *what)
{
    return nns_error_set(err, 500, "CorruptState", "stored action draws: %s", what);
}

/* Puts the draws back into the parsed action a (its candidates are writable: they live in the
 * submission's memory or in a itself). */
static bool put_draws(gov_action_t *a, const char *draws_json, nns_error_t *err)
{
    draw_slot_t slots[GOV_LIST_ITEMS_MAX + 1];
    size_t n = draw_slots(a, slots, GOV_LIST_ITEMS_MAX + 1);
    json_t *o = draws_json ? json_loads(draws_json, 0, NULL) : NULL;
    json_t *version = json_object_get(o, "version");
    bool ok = json_is_integer(version) || corrupt_draws(err, "not an object {version, candidates}");
    if (ok && json_integer_value(version) == 0) {
        json_decref(o); /* not recorded (a finished proposal): the candidates stay 0 */
        return true;
    }
    json_t *list = json_object_get(o, "candidates");
    if (ok && (json_integer_value(version) != DRAWS_VERSION || !json_is_array(list)))
        ok = corrupt_draws(err, "unknown version or no candidates");
    if (ok && json_array_size(list) != n)
        ok = corrupt_draws(err, "as many candidates as the action draws expected");
    for (size_t i = 0; ok && i < n; i++) {
        json_t *c = json_array_get(list, i);
        uint64_t id = 0, nonce = 0;
        nns_error_t ignored;
        if (!json_is_object(c) || !json_get_u64(c, "candidate_id", true, &id, NULL, &ignored)) {
            ok = corrupt_draws(err, "a candidate without candidate_id");
            break;
        }
        /* the slots point into the action's own writable memory: a cast back to writable */
        *(uint64_t *)(uintptr_t)slots[i].id = id;
        if (slots[i].subaccount) {
            const char *hex = json_string_value(json_object_get(c, "candidate_subaccount"));
            if (!hex || strlen(hex) != 2 * SUBACCOUNT_BYTES ||
                hex_decode(hex, strlen(hex), (uint8_t *)(uintptr_t)slots[i].subaccount,
                           SUBACCOUNT_BYTES) != SUBACCOUNT_BYTES)
                ok = corrupt_draws(err, "a candidate_subaccount of 64 hex characters expected");
        }
        if (ok && slots[i].nonce) {
            if (!json_get_u64(c, "candidate_nonce", true, &nonce, NULL, &ignored))
                ok = corrupt_draws(err, "a candidate without candidate_nonce");
            else
                *(uint64_t *)(uintptr_t)slots[i].nonce = nonce;
        }
    }
    json_decref(o);
    return ok;
}

gov_action_t *gov_action_from_stored(const char *action_json, const char *draws_json,
                                     nns_error_t *err)
{
    gov_action_t *out = NULL;
    gov_submission_t *s = calloc(1, sizeof *s);
    if (!s) {
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    /* the caller stays empty: a ManageNeuron command's is fixed at execution */
    s->root = action_json ? json_loads(action_json, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(s->root, "type"));
    gov_action_kind_t kind = type ? gov_action_from_name(type) : 0;
    if (!json_is_object(s->root) || !kind || kind > GOV_ACTION_KIND_MAX || !PARSERS[kind]) {
        nns_error_set(err, 500, "CorruptState", "stored action_json: not an action object");
        goto done;
    }
    json_drop_nulls(s->root);
    s->args.action.kind = kind;
    if (!PARSERS[kind](s, s->root, &s->args.action, err)) {
        char detail[sizeof err->detail];
        snprintf(detail, sizeof detail, "%s", err->detail);
        if (err->status != 503)
            nns_error_set(err, 500, "CorruptState", "stored action_json refused: %s", detail);
        goto done;
    }
    if (!put_draws(&s->args.action, draws_json, err))
        goto done;
    if (!(out = gov_action_copy(&s->args.action)))
        nns_error_set(err, 503, "Unavailable", "out of memory");
done:
    gov_submission_free(&s);
    return out;
}

bool gov_body_vote(const uint8_t *body, size_t len, const principal_t *caller, uint64_t proposal_id,
                   gov_vote_args_t *out, nns_error_t *err)
{
    static const char *const fields[] = {"neuron_id", "vote", NULL};
    memset(out, 0, sizeof *out);
    json_t *o = json_parse_object(body, len, err);
    if (!o)
        return false;
    bool ok = json_only_fields(o, fields, err) &&
              json_get_u64(o, "neuron_id", true, &out->neuron_id, NULL, err);
    if (ok) {
        json_t *v = json_object_get(o, "vote");
        int vote = -1;
        if (json_is_string(v))
            vote = gov_vote_from_name(json_string_value(v));
        else if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 2)
            vote = (int)json_integer_value(v);
        if (vote != GOV_VOTE_YES && vote != GOV_VOTE_NO)
            ok = nns_error_set(err, 400, "BadRequest", "'vote' must be \"yes\" or \"no\"");
        out->vote = vote;
    }
    json_decref(o);
    out->caller = *caller;
    out->proposal_id = proposal_id;
    return ok;
}
