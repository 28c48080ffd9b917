/*
 * genesis: the ledger's genesis file (docs/operations.md), read once at start.
 *
 * {"initial_balances": [{"account": "<hex or ICRC-1 text>", "amount_e8s": "N"}, ...],
 *  "fee_e8s", "token_symbol", "token_name", "transaction_window_seconds",
 *  "max_transactions_in_window"}: every field optional, nothing else allowed, duplicate keys
 * refused. The whole file is checked before anything is used; the balances are minted (one Mint
 * block each, in one round) only when the chain is empty.
 *
 * Life cycle: genesis_read() fills a genesis_t the caller owns -> genesis_free().
 */
#ifndef NNS_LEDGER_GENESIS_H
#define NNS_LEDGER_GENESIS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "ledger.h"
#include "store.h"

typedef struct {
    account_id_t account;
    uint64_t amount_e8s;
    bool has_owner; /* the account was given as ICRC-1 text: its owner fact is known */
    owner_fact_t owner;
} genesis_balance_t;

typedef struct {
    ledger_config_t config;
    genesis_balance_t *balances; /* malloc'd */
    size_t nbalances;
} genesis_t;

/* Reads path (NULL: the defaults, no balances) into g. Returns false with err 400
 * "InvalidGenesis" naming the file and what is wrong, or 503 when out of memory; g is then
 * empty. */
bool genesis_read(const char *path, genesis_t *g, nns_error_t *err)
    __attribute__((warn_unused_result));

void genesis_free(genesis_t *g);

#endif
