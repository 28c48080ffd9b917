/*
 * body: the governance service's write bodies (docs/api.md section 12, the wire contract of
 * api/openapi.yaml) into the state machine's commands.
 *
 * Strict, like every body of the project (jsonutil.h): one JSON object, known fields only (an
 * unknown field is a 400), null meaning "absent", u64 values (ids, e8s, timestamps, memo, nonce)
 * as digit strings, u32 values (topics, percentages, additional_dissolve_delay_seconds) as
 * numbers or digit strings, principals as text (400 InvalidPrincipal), account identifiers as 64
 * hex digits with a valid checksum and ICRC-1 accounts as their text (400 InvalidAccount). An
 * empty body reads as {} (the commands without fields).
 *
 * Only the shape is checked here; the rules (ranges, limits, permissions) are the state
 * machine's, which words each refusal with the spec's error name. The random candidate ids and
 * subaccounts of claims, splits and spawns are left zero: the API draws them. Pure: no I/O, no
 * state; thread-safe. Failures fill err (400) and leave *out partly written.
 */
#ifndef NNS_GOV_BODY_H
#define NNS_GOV_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "gov.h"
#include "principal.h"

/* POST /v1/neurons {memo, controller?}: the controller is the body's, else the caller. */
bool gov_body_claim(const uint8_t *body, size_t len, const principal_t *caller,
                    gov_claim_args_t *out, nns_error_t *err) __attribute__((warn_unused_result));

/* POST /v1/neurons/{neuron_id}/{kind}: the body of the command kind (a known command). */
bool gov_body_command(gov_command_kind_t kind, uint64_t neuron_id, const uint8_t *body, size_t len,
                      const principal_t *caller, gov_command_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));

#endif
