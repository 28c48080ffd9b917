/*
 * render: the cmc's answers as JSON (services/ledger/render.c is the ledger's): u128 values,
 * principals and accounts as text, the signed rates, notification statuses and results, and
 * the subnet lists' grouping.
 */
#include "render.h"

#include <string.h>

#include "crypto.h"
#include "jsonutil.h"

/* A u128 as a JSON string of decimal digits; NULL when out of memory (as every render_*). */
json_t *render_u128(cmc_cycles_t v)
{
    char t[40];
    return json_string(u128_text(v, t));
}

json_t *render_principal(const principal_t *p)
{
    char t[PRINCIPAL_TEXT_MAX];
    principal_to_text(p, t);
    return json_string(t);
}

json_t *render_account(const account_id_t *a)
{
    char t[ACCOUNT_HEX_LEN + 1];
    account_id_to_hex(a, t);
    return json_string(t);
}

/* The signed rate (API.md "Signed rates"): Ed25519 over len(domain) || domain ||
 * timestamp_seconds (u64 BE) || xdr_permyriad_per_icp (u64 BE). */
json_t *render_rate(const identity_t *key, uint64_t cycles_per_xdr, const cmc_rate_t *rate,
                    const char *domain)
{
    uint8_t msg[1 + 32 + 16];
    size_t dl = strlen(domain), at = 0;
    msg[at++] = (uint8_t)dl;
    memcpy(msg + at, domain, dl);
    at += dl;
    for (int i = 0; i < 8; i++)
        msg[at++] = (uint8_t)(rate->timestamp_seconds >> (56 - 8 * i));
    for (int i = 0; i < 8; i++)
        msg[at++] = (uint8_t)(rate->xdr_permyriad_per_icp >> (56 - 8 * i));
    uint8_t sig[64];
    ed25519_sign(key->sk, msg, at, sig);
    json_t *o = json_object();
    json_object_set_new(o, "timestamp_seconds", json_u64(rate->timestamp_seconds));
    json_object_set_new(o, "xdr_permyriad_per_icp", json_u64(rate->xdr_permyriad_per_icp));
    json_object_set_new(
        o, "cycles_per_icp",
        render_u128(cmc_to_cycles(100000000ULL, rate->xdr_permyriad_per_icp, cycles_per_xdr)));
    json_object_set_new(o, "signature", json_hex(sig, sizeof sig));
    return o;
}

json_t *render_find_or_add(json_t *list, const char *key, const char *value, const char *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, key)), value) == 0)
            return json_object_get(v, arr);
    }
    json_t *o = json_object();
    json_object_set_new(o, key, json_string(value));
    json_t *a = json_array();
    json_object_set_new(o, arr, a);
    json_array_append_new(list, o);
    return a;
}

const char *render_status_name(cmc_status_t s)
{
    switch (s) {
    case CMC_STATUS_PROCESSING:
        return "Processing";
    case CMC_STATUS_NOTIFIED_TOP_UP:
        return "NotifiedTopUp";
    case CMC_STATUS_NOTIFIED_CREATE_CANISTER:
        return "NotifiedCreateCanister";
    case CMC_STATUS_NOTIFIED_MINT:
        return "NotifiedMint";
    case CMC_STATUS_NOT_MEANINGFUL_MEMO:
        return "NotMeaningfulMemo";
    default:
        return "None";
    }
}

const char *render_kind_name(cmc_notify_kind_t k)
{
    return k == CMC_NOTIFY_TOP_UP ? "top-up" : k == CMC_NOTIFY_CREATE_CANISTER ? "create" : "mint";
}

/* The success body of a finished notification. */
json_t *render_result(cmc_notify_kind_t kind, const cmc_result_t *res)
{
    json_t *o = json_object();
    if (kind == CMC_NOTIFY_TOP_UP) {
        json_object_set_new(o, "cycles", render_u128(res->cycles));
    } else if (kind == CMC_NOTIFY_CREATE_CANISTER) {
        json_object_set_new(o, "canister_id", render_principal(&res->canister_id));
    } else {
        json_object_set_new(o, "minted", render_u128(res->minted));
        json_object_set_new(o, "balance", render_u128(res->balance));
        json_object_set_new(o, "block_index", json_u64(res->mint_block_index));
    }
    return o;
}
