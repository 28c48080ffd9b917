/*
 * proposal_body: the request bodies of POST /v1/proposals and POST /v1/proposals/{id}/votes
 * parsed into the state machine's arguments (gov_proposal.h), on the HTTP thread, before the
 * round: the wire contract's shapes (docs/api.md, api/openapi.yaml), field by field, every
 * member checked (unknown members refused). Sizes, topics and the rules that depend on state
 * (the neuron, the fee, capacity) are the state machine's (gov_apply_submit).
 *
 * Errors: 400 BadRequest for the envelope (not an object, a missing or malformed member), 400
 * InvalidProposal for the action (unknown or obsolete type, a malformed or oversized field),
 * 400 InvalidPrincipal / InvalidAccount for bad principals and accounts. Pure but for malloc.
 */
#ifndef NNS_GOV_PROPOSAL_BODY_H
#define NNS_GOV_PROPOSAL_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "gov_proposal.h"
#include "principal.h"

/* A parsed submission: args' strings and arrays point into the submission's own memory. */
typedef struct gov_submission gov_submission_t;

/* Parses the body of POST /v1/proposals for caller. Returns the submission (free it with
 * gov_submission_free) or NULL with err (503 Unavailable when out of memory). Random candidates
 * (a ManageNeuron split or spawn, a RewardNodeProvider to a neuron) are drawn here. */
gov_submission_t *gov_body_proposal(const uint8_t *body, size_t len, const principal_t *caller,
                                    nns_error_t *err);
/* The arguments for gov_apply_submit (valid until gov_submission_free). */
gov_submit_args_t *gov_submission_args(gov_submission_t *s);
/* Draws the random candidates again (after IdInUse). */
void gov_submission_redraw(gov_submission_t *s);
void gov_submission_free(gov_submission_t **s);

/* ---- the stored form of an action ----
 * The mirror keeps a proposal's action as submitted (action_json, the compact "action" member
 * of the body) and, apart, the candidates the API drew for it at submission (the draws: a
 * ManageNeuron split's or spawn's new neuron id and subaccount, a RewardNodeProvider(s)
 * to_neuron reward's id and nonce), a versioned JSON text:
 *   {"version":1,"candidates":[{"candidate_id":"u64","candidate_subaccount":"64 hex"}
 *                              | {"candidate_id":"u64","candidate_nonce":"u64"}, ...]}
 * in the order the parser draws them. A restart parses action_json again through the parser
 * of POST /v1/proposals and puts the draws back, so that no in-memory layout is ever stored.
 * {"version":0} marks rows written before the draws were kept (finished proposals only,
 * schema/governance/005_action_draws.sql): their candidates are drawn again by the parse and
 * never used. */

/* The draws of an action as a malloc'd JSON text (free()), NULL when out of memory. */
char *gov_action_draws_json(const gov_action_t *a);
/* The action parsed from its stored form: a malloc'd action in one allocation (free()), as
 * gov_action_copy. NULL with err: 500 CorruptState when action_json or the draws do not parse
 * (or do not match the action's candidates), 503 Unavailable when out of memory. A
 * ManageNeuron command's caller is left empty (fixed at execution, as at submission). */
gov_action_t *gov_action_from_stored(const char *action_json, const char *draws_json,
                                     nns_error_t *err);

/* The body of POST /v1/proposals/{id}/votes {neuron_id, vote}: vote "yes" | "no" (or 1 | 2). */
bool gov_body_vote(const uint8_t *body, size_t len, const principal_t *caller, uint64_t proposal_id,
                   gov_vote_args_t *out, nns_error_t *err) __attribute__((warn_unused_result));

#endif
