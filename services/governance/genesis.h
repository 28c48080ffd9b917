/*
 * genesis: the governance genesis file (--genesis FILE; shared/API.md "Running the services",
 * docs/operations.md section 11), read once, on a database without governance state.
 *
 *   {"rule_set": "current" | "legacy", "genesis_timestamp_seconds": "<u64>",
 *    "economics": {field overrides as GET /v1/governance names them, voting_power_economics
 *                  nested},
 *    "maturity_modulation_permyriad": <integer>,
 *    "neurons": [{"id", "controller", "memo", "stake_e8s", "dissolve_delay_seconds" (number or
 *                 string), "followees": [{topic, followees}], "hot_keys": [principal],
 *                 "maturity_e8s_equivalent", "dissolving": bool, "visibility":
 *                 "private" | "public"}]}
 *
 * Every member but rule_set is optional (genesis_timestamp_seconds defaults to now); unknown
 * members are refused. The neurons' rules (unique ids and subaccounts, minimum stake, limits) are
 * the state machine's (gov_apply_genesis).
 */
#ifndef NNS_GOV_GENESIS_H
#define NNS_GOV_GENESIS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "gov.h"

/* Reads path (NULL: the default genesis, the current rule set at now with no neurons) into
 * *out; out->neurons is malloc'd (the caller frees it with gov_genesis_free). False with err
 * 400 "InvalidGenesis" naming the file and the member, or 503 when out of memory. */
bool gov_genesis_read(const char *path, uint64_t now_seconds, gov_genesis_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));
void gov_genesis_free(gov_genesis_t *g);

#endif
