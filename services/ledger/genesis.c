#include "genesis.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

static void defaults(ledger_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->fee_e8s = LEDGER_DEFAULT_FEE;
    cfg->window_nanos = LEDGER_DEFAULT_WINDOW_NANOS;
    cfg->max_in_window = LEDGER_DEFAULT_MAX_IN_WINDOW;
    snprintf(cfg->token_symbol, sizeof cfg->token_symbol, "ICP");
    snprintf(cfg->token_name, sizeof cfg->token_name, "Internet Computer");
    principal_t gov;
    principal_canister(CANISTER_GOVERNANCE, &gov);
    account_id_of(&gov, NULL, &cfg->minting_account);
}

static bool read_config(json_t *g, ledger_config_t *cfg, nns_error_t *err)
{
    static const char *const fields[] = {"initial_balances",
                                         "fee_e8s",
                                         "token_symbol",
                                         "token_name",
                                         "transaction_window_seconds",
                                         "max_transactions_in_window",
                                         NULL};
    const char *sym = NULL, *name = NULL;
    bool has_sym = false, has_name = false, has_window = false;
    uint64_t window = 0;
    if (!json_only_fields(g, fields, err) ||
        !json_get_u64(g, "fee_e8s", false, &cfg->fee_e8s, NULL, err) ||
        !json_get_str(g, "token_symbol", false, &sym, &has_sym, err) ||
        !json_get_str(g, "token_name", false, &name, &has_name, err) ||
        !json_get_u64(g, "transaction_window_seconds", false, &window, &has_window, err) ||
        !json_get_u64(g, "max_transactions_in_window", false, &cfg->max_in_window, NULL, err))
        return false;
    if (has_window) {
        if (window == 0 || window > UINT64_MAX / 1000000000ULL / 4)
            return nns_error_set(err, 400, "InvalidGenesis",
                                 "transaction_window_seconds out of range");
        cfg->window_nanos = window * 1000000000ULL;
    }
    if (has_sym)
        snprintf(cfg->token_symbol, sizeof cfg->token_symbol, "%s", sym);
    if (has_name)
        snprintf(cfg->token_name, sizeof cfg->token_name, "%s", name);
    return true;
}

static bool read_balance(json_t *entry, size_t idx, genesis_balance_t *b, nns_error_t *err)
{
    static const char *const fields[] = {"account", "amount_e8s", NULL};
    const char *text;
    icrc1_account_t icrc1;
    if (!json_is_object(entry))
        return nns_error_set(err, 400, "InvalidGenesis", "initial_balances[%zu]: not an object",
                             idx);
    if (!json_only_fields(entry, fields, err) ||
        !json_get_str(entry, "account", true, &text, NULL, err) ||
        !account_parse_any(text, &b->account, &icrc1, &b->has_owner, err) ||
        !json_get_u64(entry, "amount_e8s", true, &b->amount_e8s, NULL, err)) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", err->detail);
        return nns_error_set(err, 400, "InvalidGenesis", "initial_balances[%zu]: %s", idx, detail);
    }
    if (b->has_owner) {
        b->owner.account = b->account;
        b->owner.owner = icrc1.owner;
        memcpy(b->owner.subaccount, icrc1.subaccount, SUBACCOUNT_BYTES);
    }
    return true;
}

bool genesis_read(const char *path, genesis_t *g, nns_error_t *err)
{
    memset(g, 0, sizeof *g);
    defaults(&g->config);
    if (!path)
        return true;
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc || !json_is_object(doc)) {
        json_decref(doc);
        return nns_error_set(err, 400, "InvalidGenesis", "genesis file '%s': %s", path,
                             doc ? "not a JSON object" : jerr.text);
    }
    json_t *balances = json_object_get(doc, "initial_balances");
    bool ok = read_config(doc, &g->config, err);
    if (ok && balances && !json_is_array(balances))
        ok = nns_error_set(err, 400, "InvalidGenesis", "'initial_balances' must be an array");
    size_t n = json_array_size(balances);
    if (ok && n && !(g->balances = calloc(n, sizeof *g->balances)))
        ok = nns_error_set(err, 503, "Unavailable", "out of memory reading the genesis file");
    for (size_t i = 0; ok && i < n; i++)
        ok = read_balance(json_array_get(balances, i), i, &g->balances[g->nbalances++], err);
    if (!ok && err->status == 400 && strncmp(err->detail, "genesis file", 12) != 0) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", err->detail);
        nns_error_set(err, 400, "InvalidGenesis", "genesis file '%s': %s", path, detail);
    }
    json_decref(doc);
    if (!ok)
        genesis_free(g);
    return ok;
}

void genesis_free(genesis_t *g)
{
    free(g->balances);
    g->balances = NULL;
    g->nbalances = 0;
}
