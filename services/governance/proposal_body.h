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

/* The body of POST /v1/proposals/{id}/votes {neuron_id, vote}: vote "yes" | "no" (or 1 | 2). */
bool gov_body_vote(const uint8_t *body, size_t len, const principal_t *caller, uint64_t proposal_id,
                   gov_vote_args_t *out, nns_error_t *err) __attribute__((warn_unused_result));

#endif
