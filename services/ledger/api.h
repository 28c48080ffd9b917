/*
 * api: the ledger's REST routes (API.md, Ledger) and its round: HTTP requests become commands,
 * commands are applied by the state machine in rounds on the state thread, each round is written
 * by the store in one transaction, and only then is each request answered.
 *
 * The service object ties the parts together; main.c creates it and owns its life cycle:
 * ledger_service_new() -> ledger_service_start() (load, genesis, serve) ->
 * ledger_service_destroy(&svc).
 */
#ifndef NNS_LEDGER_API_H
#define NNS_LEDGER_API_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "ledger.h"

typedef struct ledger_service ledger_service_t;

typedef struct {
    const char *listen;
    const char *database;
    const char *keys_dir;
    const char *genesis_path; /* may be NULL */
    bool read_only;
    unsigned http_threads;    /* 0 = number of cores */
    unsigned max_round;       /* commands per round at most */
    unsigned round_gather_ms; /* how long a round may wait for batches being checked */
} ledger_service_config_t;

/* Reads the genesis file (NULL: defaults) into the ledger configuration. Returns false with
 * err 400 "InvalidGenesis" on a malformed file. */
bool ledger_genesis_config(const char *path, ledger_config_t *cfg, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Creates the service: keys, database (migrations), committed state, genesis blocks when the
 * chain is empty, the state thread and the HTTP server. Returns NULL with err on failure. */
ledger_service_t *ledger_service_new(const ledger_service_config_t *cfg, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Stops serving, finishes the round in progress and frees everything. Safe on NULL. */
void ledger_service_destroy(ledger_service_t **svc);

#endif
