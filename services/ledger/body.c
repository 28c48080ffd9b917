#include "body.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "jsonutil.h"
#include "principal.h"

static void add_fact(ledger_op_t *op, const principal_t *owner, const uint8_t *sub)
{
    owner_fact_t *f = &op->facts[op->nfacts++];
    f->owner = *owner;
    if (sub)
        memcpy(f->subaccount, sub, SUBACCOUNT_BYTES);
    else
        memset(f->subaccount, 0, SUBACCOUNT_BYTES);
    account_id_of(owner, f->subaccount, &f->account);
}

/* An ICRC-1 account field: text, or {owner, subaccount}. */
static bool parse_icrc1_field(json_t *o, const char *name, icrc1_account_t *acc, nns_error_t *err)
{
    memset(acc, 0, sizeof *acc);
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return nns_error_set(err, 400, "BadRequest", "missing field '%s'", name);
    if (json_is_string(v))
        return icrc1_account_from_text(json_string_value(v), acc, err);
    if (!json_is_object(v))
        return nns_error_set(err, 400, "InvalidAccount",
                             "field '%s' must be ICRC-1 text or {owner, subaccount}", name);
    static const char *const fields[] = {"owner", "subaccount", NULL};
    const char *owner;
    return json_only_fields(v, fields, err) && json_get_str(v, "owner", true, &owner, NULL, err) &&
           principal_from_text(owner, &acc->owner, err) &&
           json_get_hex(v, "subaccount", false, SUBACCOUNT_BYTES, true, acc->subaccount, NULL, NULL,
                        err);
}

/* The memo and created_at_time fields every ICRC write shares. */
static bool parse_icrc_common(json_t *o, bool *has_memo, uint8_t *memo_len, uint8_t *memo,
                              bool *has_cat, uint64_t *cat, nns_error_t *err)
{
    size_t n = 0;
    if (!json_get_hex(o, "icrc1_memo", false, ICRC1_MEMO_MAX, false, memo, &n, has_memo, err) ||
        !json_get_u64(o, "created_at_time", false, cat, has_cat, err))
        return false;
    *memo_len = (uint8_t)n;
    return true;
}

bool ledger_body_transfer(json_t *o, const principal_t *caller, ledger_op_t *op, nns_error_t *err)
{
    static const char *const legacy_fields[] = {
        "to", "amount_e8s", "fee_e8s", "memo", "from_subaccount", "created_at_time", NULL};
    static const char *const icrc1_fields[] = {"to_account", "amount_e8s",      "fee_e8s",
                                               "icrc1_memo", "from_subaccount", "created_at_time",
                                               NULL};
    transfer_args_t *a = &op->u.transfer;
    op->kind = LEDGER_CMD_TRANSFER;
    a->caller = *caller;
    json_drop_nulls(o); /* {"to": null, "to_account": ...} is an ICRC-1 transfer */
    json_t *to = json_object_get(o, "to"), *to_account = json_object_get(o, "to_account");
    if (to && to_account)
        return nns_error_set(
            err, 400, "BadRequest",
            "give either 'to' (legacy transfer) or 'to_account' (ICRC-1), not both");
    if (!to && !to_account)
        return nns_error_set(err, 400, "BadRequest", "missing field 'to' or 'to_account'");
    if (!json_only_fields(o, to ? legacy_fields : icrc1_fields, err) ||
        !json_get_u64(o, "amount_e8s", true, &a->amount, NULL, err) ||
        !json_get_hex(o, "from_subaccount", false, SUBACCOUNT_BYTES, true, a->from_subaccount, NULL,
                      NULL, err) ||
        !json_get_u64(o, "created_at_time", false, &a->created_at_time, &a->has_created_at_time,
                      err))
        return false;
    add_fact(op, caller, a->from_subaccount);
    if (to) {
        const char *hexs;
        a->kind = TRANSFER_LEGACY;
        a->has_fee = true;
        if (!json_get_str(o, "to", true, &hexs, NULL, err) ||
            !json_get_u64(o, "fee_e8s", true, &a->fee, NULL, err) ||
            !json_get_u64(o, "memo", true, &a->memo, NULL, err))
            return false;
        if (strlen(hexs) != ACCOUNT_HEX_LEN)
            return nns_error_set(
                err, 400, "InvalidAccount",
                "field 'to' must be a 64-hex account identifier with its checksum");
        return account_id_from_hex(hexs, strlen(hexs), &a->to, err);
    }
    icrc1_account_t acc;
    a->kind = TRANSFER_ICRC1;
    if (!parse_icrc1_field(o, "to_account", &acc, err) ||
        !json_get_u64(o, "fee_e8s", false, &a->fee, &a->has_fee, err) ||
        !parse_icrc_common(o, &a->has_icrc1_memo, &a->icrc1_memo_len, a->icrc1_memo,
                           &a->has_created_at_time, &a->created_at_time, err))
        return false;
    account_id_of_icrc1(&acc, &a->to);
    add_fact(op, &acc.owner, acc.subaccount);
    return true;
}

bool ledger_body_approve(json_t *o, const principal_t *caller, ledger_op_t *op, nns_error_t *err)
{
    static const char *const fields[] = {
        "spender",    "amount_e8s",      "expected_allowance_e8s", "expires_at", "fee_e8s",
        "icrc1_memo", "from_subaccount", "created_at_time",        NULL};
    approve_args_t *a = &op->u.approve;
    icrc1_account_t spender;
    op->kind = LEDGER_CMD_APPROVE;
    a->caller = *caller;
    json_drop_nulls(o);
    if (!json_only_fields(o, fields, err) || !parse_icrc1_field(o, "spender", &spender, err) ||
        !json_get_u64(o, "amount_e8s", true, &a->amount, NULL, err) ||
        !json_get_u64(o, "expected_allowance_e8s", false, &a->expected_allowance,
                      &a->has_expected_allowance, err) ||
        !json_get_u64(o, "expires_at", false, &a->expires_at, &a->has_expires_at, err) ||
        !json_get_u64(o, "fee_e8s", false, &a->fee, &a->has_fee, err) ||
        !json_get_hex(o, "from_subaccount", false, SUBACCOUNT_BYTES, true, a->from_subaccount, NULL,
                      NULL, err) ||
        !parse_icrc_common(o, &a->has_icrc1_memo, &a->icrc1_memo_len, a->icrc1_memo,
                           &a->has_created_at_time, &a->created_at_time, err))
        return false;
    a->spender_owner = spender.owner;
    account_id_of_icrc1(&spender, &a->spender);
    add_fact(op, caller, a->from_subaccount);
    add_fact(op, &spender.owner, spender.subaccount);
    return true;
}

bool ledger_body_transfer_from(json_t *o, const principal_t *caller, ledger_op_t *op,
                               nns_error_t *err)
{
    static const char *const fields[] = {
        "from",    "to",         "amount_e8s",      "spender_subaccount",
        "fee_e8s", "icrc1_memo", "created_at_time", NULL};
    transfer_from_args_t *a = &op->u.transfer_from;
    icrc1_account_t from, to;
    op->kind = LEDGER_CMD_TRANSFER_FROM;
    a->caller = *caller;
    json_drop_nulls(o);
    if (!json_only_fields(o, fields, err) || !parse_icrc1_field(o, "from", &from, err) ||
        !parse_icrc1_field(o, "to", &to, err) ||
        !json_get_u64(o, "amount_e8s", true, &a->amount, NULL, err) ||
        !json_get_hex(o, "spender_subaccount", false, SUBACCOUNT_BYTES, true, a->spender_subaccount,
                      NULL, NULL, err) ||
        !json_get_u64(o, "fee_e8s", false, &a->fee, &a->has_fee, err) ||
        !parse_icrc_common(o, &a->has_icrc1_memo, &a->icrc1_memo_len, a->icrc1_memo,
                           &a->has_created_at_time, &a->created_at_time, err))
        return false;
    account_id_of_icrc1(&from, &a->from);
    account_id_of_icrc1(&to, &a->to);
    add_fact(op, &from.owner, from.subaccount);
    add_fact(op, &to.owner, to.subaccount);
    add_fact(op, caller, a->spender_subaccount);
    return true;
}

bool ledger_body_parse(const uint8_t *body, size_t len, ledger_body_fn parse,
                       const principal_t *caller, ledger_op_t *op, nns_error_t *err)
{
    json_t *o = json_parse_object(body, len, err);
    if (!o)
        return false;
    bool ok = parse(o, caller, op, err);
    json_decref(o);
    return ok;
}

/* Verifies and parses one batch item given its four strings: the body was signed exactly as a
 * POST /v1/transfers. parsed is the body already parsed (the fast path), or NULL to parse it
 * after the signature check. Thread-safe: the items of a batch are checked in parallel. */
static void check_batch_item(service_t *svc, const batch_item_t *it, json_t *parsed,
                             ledger_op_t *op)
{
    nns_error_t err;
    sign_headers_t h = {it->public_key_der_hex, it->expiry_nanos, it->signature_hex};
    principal_t caller;
    if (!service_verify_item(svc, &h, "POST", "/v1/transfers", (const uint8_t *)it->body,
                             it->body_len, &caller, &op->w))
        return;
    bool ok = parsed ? ledger_body_transfer(parsed, &caller, op, &err)
                     : ledger_body_parse((const uint8_t *)it->body, it->body_len,
                                         ledger_body_transfer, &caller, op, &err);
    if (!ok)
        write_fail(&op->w, &err, true);
}

/* The general path's item: a member of the batch's array as jansson read it. */
static void parse_batch_item(service_t *svc, json_t *item, ledger_op_t *op)
{
    static const char *const fields[] = {"public_key_der_hex", "expiry_nanos", "signature_hex",
                                         "body", NULL};
    nns_error_t err;
    batch_item_t it;
    if (!json_is_object(item)) {
        nns_error_set(&err, 400, "BadRequest", "a batch item must be an object");
        write_fail(&op->w, &err, true);
        return;
    }
    if (!json_only_fields(item, fields, &err) ||
        !json_get_str(item, "public_key_der_hex", true, &it.public_key_der_hex, NULL, &err) ||
        !json_get_str(item, "expiry_nanos", true, &it.expiry_nanos, NULL, &err) ||
        !json_get_str(item, "signature_hex", true, &it.signature_hex, NULL, &err) ||
        !json_get_str(item, "body", true, &it.body, NULL, &err)) {
        write_fail(&op->w, &err, true);
        return;
    }
    it.body_len = json_string_length(json_object_get(item, "body"));
    check_batch_item(svc, &it, NULL, op);
}

typedef struct {
    service_t *svc;
    service_cmd_t *cmd;
    json_t *items;       /* the general path: the array as jansson read it */
    const batch_t *fast; /* the fast path: the items' strings as batch_read() found them */
    json_t **bodies;     /* the fast path: each item's body, parsed */
    atomic_bool body_failed;
} batch_check_t;

static void batch_check_item(void *ctx, size_t i)
{
    batch_check_t *b = ctx;
    ledger_op_t *op = (ledger_op_t *)(void *)service_cmd_op(b->svc, b->cmd, i);
    if (b->fast)
        check_batch_item(b->svc, &b->fast->items[i], b->bodies[i], op);
    else
        parse_batch_item(b->svc, json_array_get(b->items, i), op);
}

/* The fast path's first pass: every body must be a JSON object before any signature is checked.
 * One that is not (malformed, another value, or bytes yajl let through in the batch that jansson
 * refuses) sends the whole batch to the general path, which answers it exactly as it always
 * does. */
static void batch_parse_body(void *ctx, size_t i)
{
    batch_check_t *b = ctx;
    const batch_item_t *it = &b->fast->items[i];
    nns_error_t err;
    b->bodies[i] = json_parse_object((const uint8_t *)it->body, it->body_len, &err);
    if (!b->bodies[i])
        atomic_store(&b->body_failed, true);
}

static void free_bodies(json_t **bodies, size_t n)
{
    for (size_t i = 0; bodies && i < n; i++)
        json_decref(bodies[i]);
    free(bodies);
}

service_cmd_t *ledger_body_batch(service_t *svc, const uint8_t *body, size_t len, nns_error_t *err)
{
    workpool_t *pool = service_workpool(svc);
    batch_check_t check = {.svc = svc};
    batch_t fast;
    if (batch_read(body, len, LEDGER_BATCH_MAX, &fast)) {
        check.fast = &fast;
        check.bodies = calloc(fast.n, sizeof *check.bodies);
        if (check.bodies) {
            workpool_run(pool, fast.n, batch_parse_body, &check);
            if (!atomic_load(&check.body_failed) && (check.cmd = service_cmd_new(svc, fast.n)))
                workpool_run(pool, fast.n, batch_check_item, &check);
        }
        free_bodies(check.bodies, fast.n);
        batch_free(&fast);
        if (check.cmd)
            return check.cmd;
        check.fast = NULL;
    }

    static const char *const fields[] = {"transfers", NULL};
    json_t *o = json_parse_object(body, len, err);
    if (!o || !json_only_fields(o, fields, err)) {
        json_decref(o);
        return NULL;
    }
    json_t *items = json_object_get(o, "transfers");
    size_t n = json_array_size(items);
    if (!json_is_array(items) || n == 0 || n > LEDGER_BATCH_MAX) {
        json_decref(o);
        nns_error_set(err, 400, "BadRequest",
                      "field 'transfers' must be an array of 1 to %d signed transfers",
                      LEDGER_BATCH_MAX);
        return NULL;
    }
    if (!(check.cmd = service_cmd_new(svc, n))) {
        json_decref(o);
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    check.items = items;
    workpool_run(pool, n, batch_check_item, &check);
    json_decref(o);
    return check.cmd;
}
