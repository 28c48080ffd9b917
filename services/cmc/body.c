/*
 * body: the cmc's request bodies and the ledger's answers read into the state machine's types
 * (services/ledger/body.c is the ledger's). Strict: known fields only, u64 as strings,
 * principals as text; a refusal is 400 "BadRequest" naming the field.
 */
#include "body.h"

#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "jsonutil.h"

bool body_principal(json_t *o, const char *name, bool required, principal_t *out, bool *present,
                    nns_error_t *err)
{
    return json_get_principal(o, name, required, "BadRequest", out, present, err);
}

bool body_principal_list(json_t *arr, const char *name, principal_t *out, size_t max, size_t *n,
                         nns_error_t *err)
{
    if (!json_is_array(arr))
        return nns_error_set(err, 400, "BadRequest", "'%s' must be an array of principals", name);
    if (json_array_size(arr) > max)
        return nns_error_set(err, 400, "BadRequest", "'%s' holds more than %zu principals", name,
                             max);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        nns_error_t e;
        if (!json_is_string(v) || !principal_from_text(json_string_value(v), &out[i], &e))
            return nns_error_set(err, 400, "BadRequest", "'%s'[%zu] is not a principal", name, i);
    }
    *n = json_array_size(arr);
    return true;
}

bool body_type_name(json_t *v, const char *name, char out[CMC_SUBNET_TYPE_MAX], nns_error_t *err)
{
    const char *t = json_string_value(v);
    if (!t || !*t || strlen(t) >= CMC_SUBNET_TYPE_MAX)
        return nns_error_set(err, 400, "BadRequest",
                             "'%s' must be a subnet type name of 1 to %d bytes", name,
                             CMC_SUBNET_TYPE_MAX - 1);
    snprintf(out, CMC_SUBNET_TYPE_MAX, "%s", t);
    return true;
}

bool body_selection(json_t *sel, cmc_notify_args_t *n, nns_error_t *err)
{
    json_t *subnet = json_object_get(sel, "subnet"), *filter = json_object_get(sel, "filter");
    if (!json_is_object(sel) || json_object_size(sel) != 1 || (!subnet && !filter))
        return nns_error_set(err, 400, "BadRequest",
                             "'subnet_selection' must be {\"subnet\": {\"subnet\": principal}} "
                             "or {\"filter\": {\"subnet_type\"?: text}}");
    if (subnet) {
        n->select = CMC_SELECT_SUBNET;
        if (json_is_string(subnet)) {
            nns_error_t e;
            if (!principal_from_text(json_string_value(subnet), &n->select_subnet, &e))
                return nns_error_set(err, 400, "BadRequest",
                                     "'subnet_selection.subnet' is not a principal");
            return true;
        }
        if (!json_is_object(subnet))
            return nns_error_set(err, 400, "BadRequest",
                                 "'subnet_selection.subnet' must be {\"subnet\": principal}");
        return body_principal(subnet, "subnet", true, &n->select_subnet, NULL, err);
    }
    n->select = CMC_SELECT_FILTER;
    if (!json_is_object(filter))
        return nns_error_set(err, 400, "BadRequest",
                             "'subnet_selection.filter' must be {\"subnet_type\"?: text}");
    json_t *t = json_object_get(filter, "subnet_type");
    if (t && !json_is_null(t)) {
        n->select_has_type = true;
        return body_type_name(t, "subnet_selection.filter.subnet_type", n->select_type, err);
    }
    return true;
}

static bool parse_account_field(json_t *o, const char *name, account_id_t *out)
{
    const char *t = json_string_value(json_object_get(o, name));
    nns_error_t e;
    return t && account_id_from_hex(t, strlen(t), out, &e);
}

static bool parse_u64_field(json_t *o, const char *name, uint64_t *out)
{
    const char *t = json_string_value(json_object_get(o, name));
    return t && parse_u64(t, out);
}

/* The ledger's block object (services/ledger/render.c render_block) as the state machine
 * wants it. False when it does not have that shape. */
bool body_ledger_block(const char *body, size_t len, cmc_fetched_block_t *b)
{
    json_error_t je;
    json_t *o = json_loadb(body, len, 0, &je);
    json_t *tx = json_object_get(o, "transaction");
    json_t *op = json_object_get(tx, "operation");
    const char *type = json_string_value(json_object_get(op, "type"));
    bool ok = type != NULL;
    if (ok) {
        if (strcmp(type, "transfer") == 0)
            b->op = CMC_OP_TRANSFER;
        else if (strcmp(type, "mint") == 0)
            b->op = CMC_OP_MINT;
        else if (strcmp(type, "burn") == 0)
            b->op = CMC_OP_BURN;
        else
            b->op = CMC_OP_APPROVE;
    }
    if (ok && b->op == CMC_OP_TRANSFER)
        ok = parse_account_field(op, "from", &b->from) && parse_account_field(op, "to", &b->to) &&
             parse_u64_field(op, "amount_e8s", &b->amount) &&
             parse_u64_field(op, "fee_e8s", &b->fee);
    ok = ok && parse_u64_field(tx, "memo", &b->memo);
    const char *m = json_string_value(json_object_get(tx, "icrc1_memo"));
    if (ok && m) {
        long n = hex_decode(m, strlen(m), b->icrc1_memo, sizeof b->icrc1_memo);
        ok = n >= 0;
        b->has_icrc1_memo = true;
        b->icrc1_memo_len = (uint8_t)(n > 0 ? n : 0);
    }
    if (ok && json_object_get(tx, "created_at_time"))
        b->has_created_at_time = parse_u64_field(tx, "created_at_time", &b->created_at_time);
    json_decref(o);
    return ok;
}
