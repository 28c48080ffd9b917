#include "body.h"

#include <jansson.h>
#include <limits.h>
#include <string.h>

#include "account.h"
#include "jsonutil.h"

/* A principal member: 400 InvalidPrincipal when it is not principal text. */
static bool get_principal(json_t *o, const char *name, bool required, principal_t *out,
                          bool *present, nns_error_t *err)
{
    return json_get_principal(o, name, required, "InvalidPrincipal", out, present, err);
}

/* A topic: a u32 as the wire rules read it, kept as the state machine's int32 (a value beyond
 * INT32_MAX becomes INT32_MAX, an unknown topic the state machine refuses). */
static bool get_topic(json_t *o, const char *name, int32_t *out, nns_error_t *err)
{
    uint32_t v = 0;
    if (!json_get_u32(o, name, true, &v, NULL, err))
        return false;
    *out = v > (uint32_t)INT32_MAX ? INT32_MAX : (int32_t)v;
    return true;
}

/* A followee list {topic, followees: ["id", ...]} (or the members of the follow body itself):
 * the first GOV_FOLLOWEES_MAX ids and the real count. */
static bool get_follow_list(json_t *o, const char *where, gov_follow_list_t *out, nns_error_t *err)
{
    if (!get_topic(o, "topic", &out->topic, err))
        return false;
    json_t *arr = json_object_get(o, "followees");
    if (!json_is_array(arr))
        return nns_error_set(err, 400, "BadRequest", "'%sfollowees' must be an array of neuron ids",
                             where);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        uint64_t id;
        if (!json_is_string(v) || !parse_u64(json_string_value(v), &id))
            return nns_error_set(err, 400, "BadRequest",
                                 "'%sfollowees'[%zu] must be a neuron id (a u64 string)", where, i);
        if (i < GOV_FOLLOWEES_MAX)
            out->ids[i] = id;
    }
    out->n = json_array_size(arr);
    return true;
}

static bool get_account_id(json_t *o, const char *name, bool *present, account_id_t *out,
                           nns_error_t *err)
{
    const char *t = NULL;
    if (!json_get_str(o, name, false, &t, present, err))
        return false;
    if (!*present)
        return true;
    nns_error_t e;
    if (!account_id_from_hex(t, strlen(t), out, &e) || strlen(t) != ACCOUNT_HEX_LEN)
        return nns_error_set(err, 400, "InvalidAccount",
                             "'%s' must be a 64-hex account identifier with a valid checksum",
                             name);
    return true;
}

static bool parse_command(json_t *o, gov_command_t *c, nns_error_t *err)
{
    switch (c->kind) {
    case GOV_CMD_INCREASE_DISSOLVE_DELAY: {
        static const char *const f[] = {"additional_dissolve_delay_seconds", NULL};
        return json_only_fields(o, f, err) &&
               json_get_u32(o, "additional_dissolve_delay_seconds", true,
                            &c->u.increase_dissolve_delay.additional_dissolve_delay_seconds, NULL,
                            err);
    }
    case GOV_CMD_SET_DISSOLVE_TIMESTAMP: {
        static const char *const f[] = {"dissolve_timestamp_seconds", NULL};
        return json_only_fields(o, f, err) &&
               json_get_u64(o, "dissolve_timestamp_seconds", true,
                            &c->u.set_dissolve_timestamp.dissolve_timestamp_seconds, NULL, err);
    }
    case GOV_CMD_ADD_HOT_KEY: {
        static const char *const f[] = {"new_hot_key", NULL};
        return json_only_fields(o, f, err) &&
               get_principal(o, "new_hot_key", true, &c->u.add_hot_key.new_hot_key, NULL, err);
    }
    case GOV_CMD_REMOVE_HOT_KEY: {
        static const char *const f[] = {"hot_key_to_remove", NULL};
        return json_only_fields(o, f, err) &&
               get_principal(o, "hot_key_to_remove", true, &c->u.remove_hot_key.hot_key_to_remove,
                             NULL, err);
    }
    case GOV_CMD_DISBURSE: {
        static const char *const f[] = {"to_account", "amount_e8s", NULL};
        return json_only_fields(o, f, err) &&
               get_account_id(o, "to_account", &c->u.disburse.has_to_account,
                              &c->u.disburse.to_account, err) &&
               json_get_u64(o, "amount_e8s", false, &c->u.disburse.amount_e8s,
                            &c->u.disburse.has_amount, err);
    }
    case GOV_CMD_SPLIT: {
        static const char *const f[] = {"amount_e8s", "memo", NULL};
        return json_only_fields(o, f, err) &&
               json_get_u64(o, "amount_e8s", true, &c->u.split.amount_e8s, NULL, err) &&
               json_get_u64(o, "memo", false, &c->u.split.memo, &c->u.split.has_memo, err);
    }
    case GOV_CMD_MERGE: {
        static const char *const f[] = {"source_neuron_id", NULL};
        return json_only_fields(o, f, err) &&
               json_get_u64(o, "source_neuron_id", true, &c->u.merge.source_neuron_id, NULL, err);
    }
    case GOV_CMD_SPAWN: {
        static const char *const f[] = {"percentage_to_spawn", "new_controller", "nonce", NULL};
        return json_only_fields(o, f, err) &&
               json_get_u32(o, "percentage_to_spawn", false, &c->u.spawn.percentage_to_spawn,
                            &c->u.spawn.has_percentage, err) &&
               get_principal(o, "new_controller", false, &c->u.spawn.new_controller,
                             &c->u.spawn.has_new_controller, err) &&
               json_get_u64(o, "nonce", false, &c->u.spawn.nonce, &c->u.spawn.has_nonce, err);
    }
    case GOV_CMD_STAKE_MATURITY: {
        static const char *const f[] = {"percentage_to_stake", NULL};
        return json_only_fields(o, f, err) &&
               json_get_u32(o, "percentage_to_stake", false,
                            &c->u.stake_maturity.percentage_to_stake,
                            &c->u.stake_maturity.has_percentage, err);
    }
    case GOV_CMD_DISBURSE_MATURITY: {
        static const char *const f[] = {"percentage_to_disburse", "to_account",
                                        "to_account_identifier", NULL};
        if (!json_only_fields(o, f, err) ||
            !json_get_u32(o, "percentage_to_disburse", true,
                          &c->u.disburse_maturity.percentage_to_disburse, NULL, err))
            return false;
        const char *text = NULL;
        bool has_icrc1 = false, has_id = false;
        if (!json_get_str(o, "to_account", false, &text, &has_icrc1, err) ||
            !get_account_id(o, "to_account_identifier", &has_id, &c->u.disburse_maturity.to_account,
                            err))
            return false;
        if (has_icrc1 && has_id)
            return nns_error_set(err, 400, "InvalidCommand",
                                 "give 'to_account' or 'to_account_identifier', not both");
        if (has_icrc1) {
            icrc1_account_t acc;
            if (!icrc1_account_from_text(text, &acc, err))
                return false;
            account_id_of_icrc1(&acc, &c->u.disburse_maturity.to_account);
        }
        c->u.disburse_maturity.has_to_account = has_icrc1 || has_id;
        return true;
    }
    case GOV_CMD_AUTO_STAKE_MATURITY: {
        static const char *const f[] = {"requested_setting_for_auto_stake_maturity", NULL};
        if (!json_only_fields(o, f, err))
            return false;
        json_t *v = json_object_get(o, "requested_setting_for_auto_stake_maturity");
        if (!json_is_boolean(v))
            return nns_error_set(err, 400, "BadRequest",
                                 "'requested_setting_for_auto_stake_maturity' must be true or "
                                 "false");
        c->u.auto_stake_maturity.requested_setting_for_auto_stake_maturity = json_is_true(v);
        return true;
    }
    case GOV_CMD_FOLLOW: {
        static const char *const f[] = {"topic", "followees", NULL};
        return json_only_fields(o, f, err) && get_follow_list(o, "", &c->u.follow, err);
    }
    case GOV_CMD_SET_FOLLOWING: {
        static const char *const f[] = {"topic_following", NULL};
        static const char *const item_f[] = {"topic", "followees", NULL};
        if (!json_only_fields(o, f, err))
            return false;
        json_t *arr = json_object_get(o, "topic_following");
        if (!json_is_array(arr))
            return nns_error_set(err, 400, "BadRequest",
                                 "'topic_following' must be an array of {topic, followees}");
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v)
        {
            if (!json_is_object(v))
                return nns_error_set(err, 400, "BadRequest",
                                     "'topic_following'[%zu] must be {topic, followees}", i);
            json_drop_nulls(v);
            gov_follow_list_t scratch;
            if (!json_only_fields(v, item_f, err) ||
                !get_follow_list(v, "topic_following[].",
                                 i < GOV_TOPICS ? &c->u.set_following.topics[i] : &scratch, err))
                return false;
        }
        c->u.set_following.n = json_array_size(arr);
        return true;
    }
    case GOV_CMD_SET_VISIBILITY: {
        static const char *const f[] = {"visibility", NULL};
        const char *t = NULL;
        if (!json_only_fields(o, f, err) || !json_get_str(o, "visibility", true, &t, NULL, err))
            return false;
        if (strcmp(t, "private") == 0)
            c->u.set_visibility.visibility = GOV_VISIBILITY_PRIVATE;
        else if (strcmp(t, "public") == 0)
            c->u.set_visibility.visibility = GOV_VISIBILITY_PUBLIC;
        else
            return nns_error_set(err, 400, "InvalidCommand",
                                 "'visibility' must be \"private\" or \"public\", not '%.40s'", t);
        return true;
    }
    case GOV_CMD_START_DISSOLVING:
    case GOV_CMD_STOP_DISSOLVING:
    case GOV_CMD_REFRESH_VOTING_POWER:
    case GOV_CMD_JOIN_COMMUNITY_FUND:
    case GOV_CMD_LEAVE_COMMUNITY_FUND: {
        static const char *const none[] = {NULL};
        return json_only_fields(o, none, err);
    }
    }
    return nns_error_set(err, 404, "NotFound", "no such neuron command");
}

/* The body as an object with its nulls dropped; an empty body is {}. NULL with err 400. */
static json_t *body_object(const uint8_t *body, size_t len, nns_error_t *err)
{
    json_t *o = len == 0 ? json_object() : json_parse_object(body, len, err);
    if (!o && len == 0)
        nns_error_set(err, 503, "Unavailable", "out of memory");
    if (o)
        json_drop_nulls(o);
    return o;
}

bool gov_body_claim(const uint8_t *body, size_t len, const principal_t *caller,
                    gov_claim_args_t *out, nns_error_t *err)
{
    static const char *const f[] = {"memo", "controller", NULL};
    memset(out, 0, sizeof *out);
    out->caller = *caller;
    out->controller = *caller;
    json_t *o = body_object(body, len, err);
    bool ok = o && json_only_fields(o, f, err) &&
              json_get_u64(o, "memo", true, &out->memo, NULL, err) &&
              get_principal(o, "controller", false, &out->controller, NULL, err);
    json_decref(o);
    return ok;
}

bool gov_body_command(gov_command_kind_t kind, uint64_t neuron_id, const uint8_t *body, size_t len,
                      const principal_t *caller, gov_command_t *out, nns_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->caller = *caller;
    out->neuron_id = neuron_id;
    json_t *o = body_object(body, len, err);
    bool ok = o && parse_command(o, out, err);
    json_decref(o);
    return ok;
}
