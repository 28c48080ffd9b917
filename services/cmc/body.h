/*
 * body: reading the cycles minting service's request bodies (parsed JSON trees, borrowed) and
 * the ledger's block answers into the state machine's types (cmc.h), for api.c. Every
 * function returns false with err (400 "BadRequest" naming the field) on a value it refuses;
 * the outputs are then partly written and must not be used. Nothing is allocated.
 */
#ifndef NNS_CMC_BODY_H
#define NNS_CMC_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cmc.h"
#include "error.h"
#include "principal.h"

/* Member name of o as a principal text; absent is an error when required, else *present
 * (may be NULL) says whether it was there. */
bool body_principal(json_t *o, const char *name, bool required, principal_t *out, bool *present,
                    nns_error_t *err) __attribute__((warn_unused_result));
/* arr: an array of at most max principal texts, into out[0 .. *n). */
bool body_principal_list(json_t *arr, const char *name, principal_t *out, size_t max, size_t *n,
                         nns_error_t *err) __attribute__((warn_unused_result));
/* v: a subnet type name of 1 to CMC_SUBNET_TYPE_MAX - 1 bytes. */
bool body_type_name(json_t *v, const char *name, char out[CMC_SUBNET_TYPE_MAX], nns_error_t *err)
    __attribute__((warn_unused_result));
/* A create-canister notify's subnet_selection: {"subnet": {"subnet": principal}} (or the
 * principal alone) or {"filter": {"subnet_type"?: text}}, into n's select fields. */
bool body_selection(json_t *sel, cmc_notify_args_t *n, nns_error_t *err)
    __attribute__((warn_unused_result));
/* The ledger's block object (services/ledger/render.c render_block) as the state machine wants
 * it. False (no err) when it does not have that shape. */
bool body_ledger_block(const char *body, size_t len, cmc_fetched_block_t *b)
    __attribute__((warn_unused_result));

#endif
